//! The plan page: sources from the basket, variables, purpose, stage, data level, linkage
//! and biomaterial in a GET form (so the address is a permalink), and the plan the gateway
//! makes for them.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use helsedata::proto as pb;

use super::{
    Chrome, render,
    view::{self, form_pairs, many, one},
};
use crate::web::{WebState, error::WebError, i18n::Lang};

/// Largest page of variables offered per source.
const VARIABLES_OFFERED: i32 = 1000;

/// One choice of a select.
pub struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

/// A source in the form, with its variables.
pub struct SourceChoice {
    id: String,
    name: String,
    variables: Vec<(String, String, bool)>,
}

/// One application of the plan.
pub struct Application {
    channel: String,
    address: String,
    address_href: String,
    decided_by: String,
    processed_by: String,
    sources: String,
    deliveries: Vec<(String, String)>,
    prerequisites: Vec<(String, String)>,
    deadlines: Vec<String>,
    invoices: Vec<String>,
    notes: Vec<String>,
}

/// The plan as shown.
pub struct PlanView {
    applications: Vec<Application>,
    linkage_requested: bool,
    linkage_possible: bool,
    linked_by: String,
    blockers: Vec<(String, String, String)>,
    linkage_notes: Vec<String>,
    appeals: Vec<pb::AppealRoute>,
    warnings: Vec<String>,
    unknown: Vec<String>,
    unresolved: Vec<String>,
    trace: Vec<pb::RuleTraceEntry>,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    chrome: Chrome,
    lang: Lang,
    sources: Vec<SourceChoice>,
    purposes: Vec<Choice>,
    stages: Vec<Choice>,
    levels: Vec<Choice>,
    linkage: bool,
    biomaterial: bool,
    plan: Option<PlanView>,
    error: String,
    violations: Vec<(String, String)>,
    permalink: String,
}

fn choices(lang: Lang, names: &[&'static str], chosen: &str) -> Vec<Choice> {
    names
        .iter()
        .map(|&value| Choice {
            value,
            label: lang.label(value),
            selected: value == chosen,
        })
        .collect()
}

/// `GET /plan`.
pub async fn page(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let pairs = form_pairs(query);
    let all = |key: &str| -> Vec<String> {
        let mut values: Vec<String> = pairs
            .iter()
            .filter(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect();
        values.dedup();
        values
    };
    let one = |key: &str| all(key).into_iter().next().unwrap_or_default();
    let (lang, remember) = Lang::of_page(&one("lang"), &headers);
    let ask = state.ask(&headers);
    let source_ids = all("source");
    let variable_ids = all("variable");
    let (purpose, stage, level) = (one("purpose"), one("stage"), one("level"));
    let here = format!("/plan?{query}");
    let mut page = PlanPage {
        chrome: Chrome::new(
            lang,
            lang.t("Søknadsplan", "Application plan"),
            "plan",
            &here,
        ),
        lang,
        sources: Vec::new(),
        purposes: choices(
            lang,
            &[
                "PURPOSE_RESEARCH",
                "PURPOSE_QUALITY_ASSURANCE",
                "PURPOSE_HEALTH_ADMINISTRATION",
                "PURPOSE_STATISTICS",
                "PURPOSE_OTHER",
            ],
            &purpose,
        ),
        stages: choices(
            lang,
            &[
                "PROJECT_STAGE_NEW",
                "PROJECT_STAGE_CHANGE",
                "PROJECT_STAGE_NEW_DATA_PERIOD",
            ],
            &stage,
        ),
        levels: choices(
            lang,
            &[
                "DATA_LEVEL_ANONYMOUS_AGGREGATED",
                "DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL",
                "DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL",
            ],
            &level,
        ),
        linkage: !one("linkage").is_empty(),
        biomaterial: !one("biomaterial").is_empty(),
        plan: None,
        error: String::new(),
        violations: Vec::new(),
        permalink: here.clone(),
    };
    // The form lists each chosen source with its variables (at most the first 200 sources;
    // the planner refuses more and says so).
    let offered = futures::future::join_all(source_ids.iter().take(200).map(|id| {
        let backend = state.backend.clone();
        async move {
            let name = backend
                .source(
                    pb::GetDataSourceRequest {
                        id: id.clone(),
                        view: pb::DataSourceView::Basic as i32,
                    },
                    ask,
                )
                .await
                .ok()
                .and_then(|a| a.result)
                .and_then(|r| r.data_source)
                .map(|s| lang.pick(s.name.as_ref()).to_string())
                .unwrap_or_else(|| id.clone());
            let variables = backend
                .variables(
                    pb::ListVariablesRequest {
                        data_source_id: id.clone(),
                        page_size: VARIABLES_OFFERED,
                        page_token: String::new(),
                    },
                    ask,
                )
                .await
                .map(|p| p.variables)
                .unwrap_or_default();
            (id.clone(), name, variables)
        }
    }))
    .await;
    page.sources = offered
        .into_iter()
        .map(|(id, name, variables)| SourceChoice {
            id,
            name,
            variables: variables
                .into_iter()
                .map(|v| {
                    let chosen = variable_ids.contains(&v.id);
                    (
                        v.id,
                        format!("{} – {}", v.name, lang.pick(v.label.as_ref())),
                        chosen,
                    )
                })
                .collect(),
        })
        .collect();
    let asked = !source_ids.is_empty() || !variable_ids.is_empty();
    if !asked {
        return render(&page, StatusCode::OK, remember);
    }
    let enum_value = |name: &str, parse: fn(&str) -> Option<i32>| parse(name).unwrap_or(0);
    let req = pb::PlanApplicationRequest {
        data_source_ids: source_ids,
        variable_ids,
        purpose: enum_value(&purpose, |n| pb::Purpose::from_str_name(n).map(Into::into)),
        stage: enum_value(&stage, |n| {
            pb::ProjectStage::from_str_name(n).map(Into::into)
        }),
        data_level: enum_value(&level, |n| pb::DataLevel::from_str_name(n).map(Into::into)),
        linkage_wanted: page.linkage,
        biomaterial_wanted: page.biomaterial,
    };
    match state.backend.plan(req, ask).await {
        Ok(plan) => {
            page.plan = Some(shape(lang, plan));
            render(&page, StatusCode::OK, remember)
        }
        Err(status) => {
            let error = WebError::from(status);
            page.error = error.public_message();
            page.violations = error.violations();
            render(&page, error.http_status(), remember)
        }
    }
}

fn shape(lang: Lang, plan: pb::ApplicationPlan) -> PlanView {
    let linkage = plan.linkage.unwrap_or_default();
    PlanView {
        applications: plan
            .applications
            .into_iter()
            .map(|a| Application {
                channel: view::enum_label(lang, a.channel, pb::ApplicationChannel::as_str_name),
                address_href: view::address_href(&a.address).unwrap_or_default(),
                address: one(lang, a.localized_address.as_ref(), a.address),
                decided_by: a.decided_by,
                processed_by: a.processed_by,
                sources: a.data_source_ids.join(", "),
                deliveries: a
                    .deliveries
                    .into_iter()
                    .map(|d| (d.data_source_id, d.delivered_by))
                    .collect(),
                prerequisites: a
                    .prerequisites
                    .into_iter()
                    .map(|p| {
                        let text = one(lang, p.localized_text.as_ref(), p.text);
                        (p.code, text)
                    })
                    .collect(),
                deadlines: a
                    .deadlines
                    .into_iter()
                    .map(|d| {
                        let days = match (d.days, d.working_days) {
                            (Some(n), true) => {
                                format!(" ({n} {})", lang.t("virkedager", "working days"))
                            }
                            (Some(n), false) => format!(" ({n} {})", lang.t("dager", "days")),
                            (None, _) => String::new(),
                        };
                        format!(
                            "{}{days}: {}",
                            one(lang, d.localized_applies_to.as_ref(), d.applies_to),
                            one(lang, d.localized_text.as_ref(), d.text)
                        )
                    })
                    .collect(),
                invoices: a
                    .invoices
                    .into_iter()
                    .map(|i| {
                        let reason = one(lang, i.localized_reason.as_ref(), i.reason);
                        // The published price text, unless it is the reason already.
                        let price = i
                            .price
                            .map(|p| one(lang, p.localized_text.as_ref(), p.text))
                            .filter(|p| p.trim() != reason.trim())
                            .unwrap_or_default();
                        format!(
                            "{}: {}{}{} ({})",
                            i.invoiced_by,
                            reason,
                            if price.is_empty() { "" } else { " – " },
                            price,
                            i.data_source_ids.join(", ")
                        )
                    })
                    .collect(),
                notes: many(lang, &a.localized_notes, a.notes),
            })
            .collect(),
        linkage_requested: linkage.requested,
        linkage_possible: linkage.possible,
        linked_by: linkage.linked_by,
        blockers: linkage
            .blockers
            .into_iter()
            .map(|b| {
                (
                    b.data_source_id,
                    view::enum_label(lang, b.policy, pb::LinkagePolicy::as_str_name),
                    one(lang, b.localized_reason.as_ref(), b.reason),
                )
            })
            .collect(),
        linkage_notes: many(lang, &linkage.localized_notes, linkage.notes),
        appeals: plan
            .appeals
            .into_iter()
            .map(|a| pb::AppealRoute {
                send_to: one(lang, a.localized_send_to.as_ref(), a.send_to),
                time_limit: one(lang, a.localized_time_limit.as_ref(), a.time_limit),
                ..a
            })
            .collect(),
        warnings: many(lang, &plan.localized_warnings, plan.warnings),
        unknown: plan
            .unknown_data_source_ids
            .into_iter()
            .chain(plan.unknown_variable_ids)
            .collect(),
        unresolved: plan.unresolved_data_source_ids,
        trace: plan
            .trace
            .into_iter()
            .map(|t| pb::RuleTraceEntry {
                explanation: one(lang, t.localized_explanation.as_ref(), t.explanation),
                origin: view::origin(lang, &t.origin),
                ..t
            })
            .collect(),
    }
}
