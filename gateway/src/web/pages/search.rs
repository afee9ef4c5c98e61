//! The search page: a query box, facets with counts, results with custodian and freshness,
//! and a banner naming every custodian that did not answer.

use std::{collections::BTreeMap, sync::Arc};

use askama::Template;
use axum::{
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use helsedata::{proto as pb, status::FieldError};

use super::{
    Chrome, render,
    view::{self, Freshness, encode, form_pairs},
};
use crate::web::{WebState, error::WebError, i18n::Lang};

/// Data sources shown per search page (the `page_size` asked of SearchDataSources).
const PAGE_SIZE: i32 = 20;

/// The page parameters and the contract field each fills.
const PARAMS: &[(&str, &str)] = &[
    ("q", "query"),
    ("custodian", "custodian_ids"),
    ("kind", "kind"),
    ("consent", "consent"),
    ("identifiability", "identifiability"),
    ("from", "years.from_year"),
    ("to", "years.to_year"),
    ("hap", "hap_phase"),
    ("channel", "channel"),
    ("page", "page_token"),
    ("lang", "lang"),
];

/// One value of a facet: its label, result count, whether it is chosen, and the link that toggles it.
pub struct FacetValue {
    label: String,
    count: usize,
    selected: bool,
    href: String,
}

/// One filter box on the search page: its title and values; shown only when it has values.
pub struct Facet {
    title: &'static str,
    values: Vec<FacetValue>,
}

/// One data source in the result list, in the page's language, ready to render.
pub struct Row {
    id: String,
    name: String,
    abbreviation: String,
    custodian: String,
    kind: String,
    years: String,
    freshness: Freshness,
}

/// A custodian that did not answer.
pub struct Missing {
    name: String,
    status: String,
    freshness: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    lang: Lang,
    query: String,
    total: u32,
    rows: Vec<Row>,
    facets: Vec<Facet>,
    missing: Vec<Missing>,
    next_href: String,
    error: String,
    violations: Vec<(String, String)>,
    active_filters: bool,
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn enum_param<E>(
    pairs: &[(String, String)],
    key: &'static str,
    parse: fn(&str) -> Option<E>,
) -> Result<i32, FieldError>
where
    E: Into<i32>,
{
    match param(pairs, key) {
        None => Ok(0),
        Some(value) => parse(value).map(Into::into).ok_or_else(|| {
            FieldError::new(
                key,
                format!(
                    "`{}` is not a known value of the filter `{key}`; choose one of the filter links",
                    value.chars().take(80).collect::<String>()
                ),
            )
        }),
    }
}

fn year_param(pairs: &[(String, String)], key: &'static str) -> Result<Option<i32>, FieldError> {
    param(pairs, key)
        .map(|v| {
            v.parse::<i32>().map_err(|_| {
                FieldError::new(
                    key,
                    format!(
                        "`{}` is not a year; write a year such as 1990",
                        v.chars().take(80).collect::<String>()
                    ),
                )
            })
        })
        .transpose()
}

/// Reads the page parameters into a search request.
fn request(pairs: &[(String, String)]) -> Result<pb::SearchDataSourcesRequest, WebError> {
    if let Some((key, _)) = pairs
        .iter()
        .find(|(k, _)| !PARAMS.iter().any(|(p, _)| p == k))
    {
        return Err(WebError::invalid(FieldError::new(
            key.clone(),
            format!(
                "unknown parameter `{}`; the search page takes {}",
                key.chars().take(80).collect::<String>(),
                PARAMS
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )));
    }
    let from = year_param(pairs, "from").map_err(WebError::invalid)?;
    let to = year_param(pairs, "to").map_err(WebError::invalid)?;
    Ok(pb::SearchDataSourcesRequest {
        query: param(pairs, "q").unwrap_or_default().to_string(),
        custodian_ids: pairs
            .iter()
            .filter(|(k, v)| k == "custodian" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect(),
        kind: enum_param(pairs, "kind", pb::DataSourceKind::from_str_name)
            .map_err(WebError::invalid)?,
        consent: enum_param(pairs, "consent", pb::ConsentRequirement::from_str_name)
            .map_err(WebError::invalid)?,
        identifiability: enum_param(pairs, "identifiability", pb::Identifiability::from_str_name)
            .map_err(WebError::invalid)?,
        years: (from.is_some() || to.is_some()).then_some(pb::YearRange {
            from_year: from,
            to_year: to,
        }),
        hap_phase: enum_param(pairs, "hap", pb::HapPhase::from_str_name)
            .map_err(WebError::invalid)?,
        channel: enum_param(pairs, "channel", pb::ApplicationChannel::from_str_name)
            .map_err(WebError::invalid)?,
        page_size: PAGE_SIZE,
        page_token: param(pairs, "page").unwrap_or_default().to_string(),
        view: pb::DataSourceView::Full as i32,
    })
}

/// `GET /`.
pub async fn page(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let pairs = form_pairs(query);
    let (lang, remember) = Lang::of_page(param(&pairs, "lang").unwrap_or_default(), &headers);
    let here = format!("/?{query}");
    let chrome = Chrome::new(
        lang,
        lang.t("Søk i helsedata", "Search health data"),
        "search",
        &here,
    );
    let ask = state.ask(&headers);
    let mut page = SearchPage {
        chrome,
        lang,
        query: param(&pairs, "q")
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect(),
        total: 0,
        rows: Vec::new(),
        facets: Vec::new(),
        missing: Vec::new(),
        next_href: String::new(),
        error: String::new(),
        violations: Vec::new(),
        active_filters: pairs
            .iter()
            .any(|(k, v)| !v.is_empty() && !matches!(k.as_str(), "q" | "lang" | "page")),
    };
    let req = match request(&pairs) {
        Ok(req) => req,
        Err(e) => return refused(page, &e, remember),
    };
    let answer = state.backend.search(req, ask).await;
    // Asked after the search, which has just learnt every custodian's name.
    let custodians = state
        .backend
        .custodians(pb::ListCustodiansRequest { refresh: false }, ask)
        .await;
    let names: BTreeMap<String, String> = custodians
        .map(|c| c.custodians)
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let name = lang.pick(c.name.as_ref()).to_string();
            (c.id.clone(), if name.is_empty() { c.id } else { name })
        })
        .collect();
    let answer = match answer {
        Ok(answer) => answer,
        Err(status) => return refused(page, &WebError::from(status), remember),
    };
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    page.total = answer.total_size;
    page.rows = answer
        .results
        .iter()
        .filter_map(|r| {
            let source = r.data_source.as_ref()?;
            Some(Row {
                id: source.id.clone(),
                name: lang.pick(source.name.as_ref()).to_string(),
                // Shown after the name unless the name already carries it.
                abbreviation: if lang
                    .pick(source.name.as_ref())
                    .contains(&source.abbreviation)
                {
                    String::new()
                } else {
                    source.abbreviation.clone()
                },
                custodian: name_of(&source.custodian_id),
                kind: view::enum_label(lang, source.kind, pb::DataSourceKind::as_str_name),
                years: view::years(lang, source.coverage_years.as_ref()),
                freshness: view::freshness(lang, r.provenance.as_ref()),
            })
        })
        .collect();
    page.missing = answer
        .custodians
        .iter()
        .filter(|o| o.status != pb::OutcomeStatus::Ok as i32)
        .map(|o| Missing {
            name: name_of(&o.custodian_id),
            status: view::enum_label(lang, o.status, pb::OutcomeStatus::as_str_name),
            freshness: match (pb::Freshness::try_from(o.freshness), o.age.as_ref()) {
                (Ok(pb::Freshness::Stale), Some(age)) => format!(
                    "{}, {} {}",
                    lang.label("FRESHNESS_STALE"),
                    lang.age(std::time::Duration::from_secs(age.seconds.max(0) as u64)),
                    lang.t("gammel", "old")
                ),
                (Ok(f), _) => lang.label(f.as_str_name()),
                _ => String::new(),
            },
        })
        .collect();
    if !answer.next_page_token.is_empty() {
        page.next_href = view::with_param(&here, "page", &answer.next_page_token);
    }
    page.facets = facets(lang, &pairs, &answer.facets, &name_of);
    render(&page, StatusCode::OK, remember)
}

fn refused(mut page: SearchPage, error: &WebError, remember: Option<Lang>) -> Response {
    page.error = error.public_message();
    page.violations = error.violations();
    render(&page, error.http_status(), remember)
}

/// The page parameter and title of each facet the search answers with, in page order.
fn facet_keys(lang: Lang) -> [(&'static str, &'static str, &'static str); 7] {
    [
        (
            "custodian_ids",
            "custodian",
            lang.t("Forvalter", "Custodian"),
        ),
        ("kind", "kind", lang.t("Type", "Kind")),
        ("consent", "consent", lang.t("Samtykke", "Consent")),
        (
            "identifiability",
            "identifiability",
            lang.t("Identifiserbarhet", "Identifiability"),
        ),
        ("years", "decade", lang.t("År", "Years")),
        ("hap_phase", "hap", lang.t("HAP-fase", "HAP phase")),
        (
            "channel",
            "channel",
            lang.t("Søknadskanal", "Application channel"),
        ),
    ]
}

/// The facets of the answer (each counted by the search with every other filter applied):
/// for each, each value with its count and the link that adds (or, when chosen, removes) it
/// as a filter.
fn facets(
    lang: Lang,
    pairs: &[(String, String)],
    answered: &[pb::Facet],
    name_of: &dyn Fn(&str) -> String,
) -> Vec<Facet> {
    let link = |key: &str, value: &str, selected: bool| {
        let mut next: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, v)| k != "page" && !(k == key && (v == value || key != "custodian")))
            .filter(|(k, _)| !(key == "decade" && (k == "from" || k == "to")))
            .cloned()
            .collect();
        if !selected {
            if key == "decade" {
                let start: i32 = value.parse().unwrap_or_default();
                next.push(("from".into(), start.to_string()));
                next.push(("to".into(), (start + 9).to_string()));
            } else {
                next.push((key.to_string(), value.to_string()));
            }
        }
        format!("/?{}", encode(&next))
    };
    let chosen = |key: &str, value: &str| match key {
        "decade" => {
            let start: i32 = value.parse().unwrap_or_default();
            let (from, to) = (start.to_string(), (start + 9).to_string());
            param(pairs, "from") == Some(from.as_str()) && param(pairs, "to") == Some(to.as_str())
        }
        _ => pairs.iter().any(|(k, v)| k == key && v == value),
    };
    facet_keys(lang)
        .into_iter()
        .filter_map(|(field, key, title)| {
            let facet = answered.iter().find(|f| f.field == field)?;
            let mut values: Vec<FacetValue> = facet
                .counts
                .iter()
                .map(|c| {
                    let selected = chosen(key, &c.value);
                    FacetValue {
                        label: match key {
                            "custodian" => name_of(&c.value),
                            "decade" => format!(
                                "{}–{}",
                                c.value,
                                c.value.parse::<i32>().unwrap_or_default() + 9
                            ),
                            _ => lang.label(&c.value),
                        },
                        count: c.count as usize,
                        selected,
                        href: link(key, &c.value, selected),
                    }
                })
                .collect();
            if key == "decade" {
                values.sort_by(|a, b| a.label.cmp(&b.label));
            }
            (!values.is_empty()).then_some(Facet { title, values })
        })
        .collect()
}
