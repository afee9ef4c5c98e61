//! The page of one data source: every fact, the access rules with route, decider and
//! deliverer, the variables (paged and searchable), and the provenance.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::{OriginalUri, Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use helsedata::proto as pb;

use super::{
    Chrome, error_page, render,
    view::{self, Freshness, form_pairs, many, one},
};
use crate::web::{WebState, error::WebError, i18n::Lang};

/// Variables per page.
const VARIABLE_PAGE: i32 = 10;

/// A labelled fact.
pub struct Fact {
    term: &'static str,
    value: String,
}

/// One variable row.
pub struct VariableRow {
    name: String,
    label: String,
    value_type: String,
    unit: String,
    code_system: String,
    documented: bool,
}

/// A route with its condition.
pub struct Route {
    condition: String,
    channel: String,
    processed_by: String,
    url: String,
    note: String,
}

/// The route under the national rules: who decides, who prepares and delivers, the channel,
/// and the rule behind each part.
pub struct Effective {
    channel: String,
    address: String,
    address_href: String,
    decided_by: String,
    prepared_by: String,
    delivered_by: String,
    rules: Vec<RuleRow>,
    revision: String,
}

/// One rule applied to the published route.
pub struct RuleRow {
    rule: String,
    origin: String,
    parts: String,
    explanation: String,
}

#[derive(Template)]
#[template(path = "source.html")]
struct SourcePage {
    chrome: Chrome,
    lang: Lang,
    id: String,
    name: String,
    other_name: String,
    description: String,
    facts: Vec<Fact>,
    routes: Vec<Route>,
    effective: Option<Effective>,
    access: Vec<Fact>,
    deadlines: Vec<String>,
    prices: Vec<String>,
    requirements: Vec<String>,
    notes: Vec<String>,
    contact_href: String,
    contact: String,
    variables: Vec<VariableRow>,
    variable_total: u32,
    variable_query: String,
    variable_error: String,
    next_variables: String,
    provenance: Vec<Fact>,
    freshness: Freshness,
}

/// `GET /sources/{id}`.
pub async fn page(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let pairs = form_pairs(query);
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (lang, remember) = Lang::of_page(&get("lang"), &headers);
    let ask = state.ask(&headers);
    let answer = state
        .backend
        .source(
            pb::GetDataSourceRequest {
                id: id.clone(),
                view: pb::DataSourceView::Full as i32,
            },
            ask,
        )
        .await;
    let result = match answer {
        Ok(answer) => answer.result.unwrap_or_default(),
        Err(status) => return error_page(&WebError::from(status), lang),
    };
    let source = result.data_source.unwrap_or_default();
    let variable_query = get("vq");
    let listed = if variable_query.is_empty() {
        state
            .backend
            .variables(
                pb::ListVariablesRequest {
                    data_source_id: id.clone(),
                    page_size: VARIABLE_PAGE,
                    page_token: get("vpage"),
                },
                ask,
            )
            .await
            .map(|page| (page.variables, page.total_size, page.next_page_token))
    } else {
        state
            .backend
            .search_variables(
                pb::SearchVariablesRequest {
                    query: variable_query.clone(),
                    page_size: VARIABLE_PAGE,
                    page_token: get("vpage"),
                    data_source_ids: vec![id.clone()],
                },
                ask,
            )
            .await
            .map(|page| {
                let variables = page.hits.into_iter().filter_map(|h| h.variable).collect();
                (variables, page.total_size, page.next_page_token)
            })
    };
    let (variables, variable_total, next_token, variable_error) = match listed {
        Ok((variables, total, token)) => (variables, total, token, String::new()),
        Err(status) => (
            Vec::new(),
            0,
            String::new(),
            WebError::from(status).public_message(),
        ),
    };
    let here = format!("/sources/{}?{query}", source.id);
    let name = lang.pick(source.name.as_ref()).to_string();
    let other_name = lang.other().pick(source.name.as_ref()).to_string();
    let chrome = Chrome::new(lang, &name, "", &here);
    let provenance = result.provenance.unwrap_or_default();
    let rules = source.access_rules.clone().unwrap_or_default();
    let page = SourcePage {
        chrome,
        lang,
        id: source.id.clone(),
        other_name: if other_name == name {
            String::new()
        } else {
            other_name
        },
        description: lang.pick(source.description.as_ref()).to_string(),
        facts: facts(lang, &source),
        routes: routes(lang, &rules),
        effective: result.effective_route.as_ref().map(|e| effective(lang, e)),
        access: access(lang, &rules),
        deadlines: rules
            .deadlines
            .iter()
            .map(|d| {
                let days = match (d.days, d.working_days) {
                    (Some(n), true) => format!("{n} {}: ", lang.t("virkedager", "working days")),
                    (Some(n), false) => format!("{n} {}: ", lang.t("dager", "days")),
                    (None, _) => String::new(),
                };
                format!(
                    "{}: {days}{}",
                    one(lang, d.localized_applies_to.as_ref(), d.applies_to.clone()),
                    one(lang, d.localized_text.as_ref(), d.text.clone())
                )
            })
            .collect(),
        prices: rules.prices.iter().map(|p| price(lang, p)).collect(),
        requirements: many(
            lang,
            &rules.localized_requirements,
            rules.requirements.clone(),
        ),
        notes: many(lang, &rules.localized_notes, rules.notes.clone()),
        contact_href: view::address_href(&rules.contact_email).unwrap_or_default(),
        contact: rules.contact_email.clone(),
        variables: variables
            .iter()
            .map(|v| VariableRow {
                name: v.name.clone(),
                label: lang.pick(v.label.as_ref()).to_string(),
                value_type: view::enum_label(lang, v.value_type, pb::ValueType::as_str_name),
                unit: v.unit.clone(),
                code_system: v.code_system.clone(),
                documented: v.documentation != pb::VariableDocumentation::Illustrative as i32,
            })
            .collect(),
        variable_total,
        variable_query,
        variable_error,
        next_variables: if next_token.is_empty() {
            String::new()
        } else {
            view::with_param(&here, "vpage", &next_token)
        },
        freshness: view::freshness(lang, Some(&provenance)),
        provenance: vec![
            Fact {
                term: lang.t("Publisert av", "Published by"),
                value: provenance.custodian_id.clone(),
            },
            Fact {
                term: lang.t("Katalogversjon", "Catalogue revision"),
                value: provenance.catalogue_revision.clone(),
            },
            Fact {
                term: lang.t("Hentet", "Fetched"),
                value: view::timestamp(provenance.fetched_at.as_ref()),
            },
        ],
        name,
    };
    render(&page, StatusCode::OK, remember)
}

fn price(lang: Lang, p: &pb::Price) -> String {
    let mut text = format!(
        "{}: {}",
        p.invoiced_by,
        one(lang, p.localized_text.as_ref(), p.text.clone())
    );
    if let Some(amount) = p.amount_nok {
        text.push_str(&format!(
            " ({amount} NOK{}{})",
            if p.unit.is_empty() { "" } else { " / " },
            p.unit
        ));
    }
    if let Some(min) = p.minimum_units {
        text.push_str(&format!(", {} {min}", lang.t("minst", "at least")));
    }
    text
}

fn facts(lang: Lang, s: &pb::DataSource) -> Vec<Fact> {
    let org = |o: Option<&pb::Organisation>| {
        o.map(|o| {
            let basis = view::enum_label(lang, o.basis, pb::FactBasis::as_str_name);
            let named = match (
                o.name.is_empty(),
                basis.is_empty() || basis.ends_with("UNSPECIFIED"),
            ) {
                (true, _) => return String::new(),
                (false, true) => o.name.clone(),
                (false, false) => format!("{} ({basis})", o.name),
            };
            let note = one(lang, o.localized_note.as_ref(), o.note.clone());
            if note.is_empty() {
                named
            } else {
                format!("{named} – {note}")
            }
        })
        .unwrap_or_default()
    };
    let legal = s
        .legal_basis
        .as_ref()
        .map(|l| {
            l.statutes
                .iter()
                .chain(&l.regulations)
                .chain(std::iter::once(&l.purpose_provision))
                .cloned()
                .chain(many(lang, &l.localized_other, l.other.clone()))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    let with_note = |label: String, localized: Option<&pb::LocalizedText>, note: &str| {
        let note = one(lang, localized, note.to_string());
        if note.is_empty() {
            label
        } else {
            format!("{label} – {note}")
        }
    };
    let candidates = [
        (lang.t("Id", "Id"), s.id.clone()),
        (
            lang.t("Forkortelse", "Abbreviation"),
            s.abbreviation.clone(),
        ),
        (lang.t("Andre navn", "Other names"), s.alt_names.join(", ")),
        (lang.t("Forvalter", "Custodian"), s.custodian_id.clone()),
        (
            lang.t("Type", "Kind"),
            with_note(
                view::enum_label(lang, s.kind, pb::DataSourceKind::as_str_name),
                None,
                &s.kind_as_stated,
            ),
        ),
        (
            lang.t("Dataansvarlig", "Controller"),
            org(s.controller.as_ref()),
        ),
        (
            lang.t("Databehandler", "Processor"),
            org(s.processor.as_ref()),
        ),
        (lang.t("Rettslig grunnlag", "Legal basis"), legal),
        (
            lang.t("Samtykke", "Consent"),
            with_note(
                view::enum_label(lang, s.consent, pb::ConsentRequirement::as_str_name),
                s.localized_consent_note.as_ref(),
                &s.consent_note,
            ),
        ),
        (
            lang.t("Identifiserbarhet", "Identifiability"),
            with_note(
                view::enum_label(lang, s.identifiability, pb::Identifiability::as_str_name),
                s.localized_identifiability_note.as_ref(),
                &s.identifiability_note,
            ),
        ),
        (
            lang.t("Årganger", "Years covered"),
            view::years(lang, s.coverage_years.as_ref()),
        ),
        (
            lang.t("Dekning", "Coverage"),
            lang.pick(s.coverage.as_ref()).to_string(),
        ),
        (
            lang.t("Emner", "Topics"),
            many(lang, &s.localized_topics, s.topics.clone()).join(", "),
        ),
        (
            lang.t("Biologisk materiale", "Biological material"),
            with_note(
                view::enum_label(
                    lang,
                    s.biomaterial,
                    pb::BiomaterialAvailability::as_str_name,
                ),
                s.localized_biomaterial_note.as_ref(),
                &s.biomaterial_note,
            ),
        ),
        (
            lang.t("Åpen statistikk", "Open statistics"),
            one(
                lang,
                s.localized_open_statistics.as_ref(),
                s.open_statistics.clone(),
            ),
        ),
        (
            lang.t("Variabeldokumentasjon", "Variable documentation"),
            many(
                lang,
                &s.localized_variable_documentation,
                s.variable_documentation.clone(),
            )
            .join(", "),
        ),
        (
            lang.t("HAP-fase", "HAP phase"),
            view::enum_label(lang, s.hap_phase, pb::HapPhase::as_str_name),
        ),
        (
            lang.t("Overordnet kilde", "Parent source"),
            s.parent_id.clone(),
        ),
        (
            lang.t("Beslektede kilder", "Related sources"),
            s.related_ids.join(", "),
        ),
        (
            lang.t("Identifikatorer", "Identifiers"),
            s.identifiers
                .iter()
                .map(|i| format!("{}: {}", i.scheme, i.value))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            lang.t("Avvik mellom kilder", "Discrepancies"),
            many(lang, &s.localized_discrepancies, s.discrepancies.clone()).join("; "),
        ),
    ];
    candidates
        .into_iter()
        .filter(|(_, v)| !v.is_empty() && !v.ends_with("UNSPECIFIED"))
        .map(|(term, value)| Fact { term, value })
        .collect()
}

fn route(lang: Lang, condition: String, r: &pb::ApplicationRoute) -> Route {
    Route {
        condition,
        channel: view::enum_label(lang, r.channel, pb::ApplicationChannel::as_str_name),
        processed_by: r.processed_by.clone(),
        url: view::address_href(&r.url).unwrap_or_default(),
        note: one(lang, r.localized_note.as_ref(), r.note.clone()),
    }
}

fn routes(lang: Lang, rules: &pb::AccessRules) -> Vec<Route> {
    let mut out = Vec::new();
    if let Some(r) = &rules.route {
        out.push(route(lang, lang.t("Vanligvis", "Usually").to_string(), r));
    }
    for c in &rules.conditional_routes {
        if let Some(r) = &c.route {
            out.push(route(
                lang,
                view::enum_label(lang, c.condition, pb::RouteCondition::as_str_name),
                r,
            ));
        }
    }
    out
}

fn effective(lang: Lang, e: &pb::EffectiveRoute) -> Effective {
    Effective {
        channel: view::enum_label(lang, e.channel, pb::ApplicationChannel::as_str_name),
        address_href: view::address_href(&e.address).unwrap_or_default(),
        address: match e.localized_address.as_ref() {
            Some(text) => lang.pick(Some(text)).to_string(),
            None => e.address.clone(),
        },
        decided_by: e.decided_by.clone(),
        prepared_by: e.prepared_by.clone(),
        delivered_by: e.delivered_by.clone(),
        rules: e
            .rules
            .iter()
            .map(|r| RuleRow {
                rule: lang.label(&r.rule),
                origin: view::origin(lang, &r.origin),
                parts: r
                    .parts
                    .iter()
                    .map(|p| view::enum_label(lang, *p, pb::RoutePart::as_str_name))
                    .collect::<Vec<_>>()
                    .join(", "),
                explanation: match r.localized_explanation.as_ref() {
                    Some(text) => lang.pick(Some(text)).to_string(),
                    None => r.explanation.clone(),
                },
            })
            .collect(),
        revision: e.rules_revision.clone(),
    }
}

fn access(lang: Lang, rules: &pb::AccessRules) -> Vec<Fact> {
    let linkage = rules.linkage.as_ref();
    [
        (
            lang.t("Utleveres av", "Delivered by"),
            rules.delivered_by.clone(),
        ),
        (
            lang.t("Kobling", "Linkage"),
            linkage
                .map(|l| view::enum_label(lang, l.policy, pb::LinkagePolicy::as_str_name))
                .unwrap_or_default(),
        ),
        (
            lang.t("Kobles av", "Linked by"),
            linkage.map(|l| l.linked_by.clone()).unwrap_or_default(),
        ),
        (
            lang.t("Om kobling", "About linkage"),
            linkage
                .map(|l| many(lang, &l.localized_notes, l.notes.clone()).join(" "))
                .unwrap_or_default(),
        ),
        (
            lang.t("Kontakt før søknad", "Contact before applying"),
            if rules.contact_before_applying {
                lang.t("Ja", "Yes").to_string()
            } else {
                String::new()
            },
        ),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty() && !v.ends_with("UNSPECIFIED"))
    .map(|(term, value)| Fact { term, value })
    .collect()
}
