//! What the export derives from a merged record in words or typed values: whether it holds
//! personal data, its legal basis and provenance in words, freshness, revision dates, CSVW
//! datatypes and variable descriptions.

use helsedata::proto as pb;

use super::input::{CustodianState, DatasetInput};

/// Whether the facts say the source holds personal data: stored with identity, under a
/// pseudonym, or partly so.
pub(super) fn personal_data(identifiability: i32) -> bool {
    matches!(
        pb::Identifiability::try_from(identifiability),
        Ok(pb::Identifiability::DirectlyIdentifiable
            | pb::Identifiability::Pseudonymous
            | pb::Identifiability::Mixed)
    )
}

pub(super) fn legal_basis_text(legal: &pb::LegalBasis) -> String {
    let mut parts: Vec<&str> = Vec::new();
    parts.extend(legal.statutes.iter().map(String::as_str));
    parts.extend(legal.regulations.iter().map(String::as_str));
    if !legal.purpose_provision.trim().is_empty() {
        parts.push(legal.purpose_provision.as_str());
    }
    parts.retain(|p| !p.trim().is_empty());
    parts.join("; ")
}

pub(super) fn freshness_words(freshness: i32) -> &'static str {
    match pb::Freshness::try_from(freshness) {
        Ok(pb::Freshness::Live) => "fetched live",
        Ok(pb::Freshness::Cached) => "served from the gateway's cache within its time to live",
        Ok(pb::Freshness::Stale) => {
            "served from the gateway's last good answer because the custodian did not answer"
        }
        _ => "of unknown freshness",
    }
}

pub(super) fn provenance_text(d: &DatasetInput, custodian: Option<&CustodianState>) -> String {
    let p = &d.provenance;
    let mut text = format!(
        "Published by custodian `{}` in catalogue revision {}; {}",
        p.custodian_id,
        if p.catalogue_revision.is_empty() {
            "(none given)"
        } else {
            &p.catalogue_revision
        },
        freshness_words(p.freshness)
    );
    if let Some(fetched) = &p.fetched_at {
        text.push_str(&format!(", fetched at {fetched}"));
    }
    if p.freshness == pb::Freshness::Stale as i32
        && let Some(since) = custodian.and_then(|c| c.stale_since.as_ref())
    {
        text.push_str(&format!("; stale since {since}"));
    }
    if d.variables.is_none() {
        text.push_str("; its variable list could not be read when this catalogue was written");
    }
    text.push('.');
    text
}

/// The date a revision of the form `YYYY-MM-DD…` starts with, as midnight UTC.
pub(super) fn revision_date(revision: &str) -> Option<prost_types::Timestamp> {
    let date = revision.get(..10)?;
    let mut parts = date.split('-');
    let (y, mo, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || mo.len() != 2 || d.len() != 2 {
        return None;
    }
    prost_types::Timestamp::date(y.parse().ok()?, mo.parse().ok()?, d.parse().ok()?).ok()
}

pub(super) fn csvw_datatype(value_type: i32) -> &'static str {
    match pb::ValueType::try_from(value_type) {
        Ok(pb::ValueType::Integer) => "integer",
        Ok(pb::ValueType::Decimal) => "decimal",
        Ok(pb::ValueType::Date) => "date",
        Ok(pb::ValueType::Datetime) => "dateTime",
        Ok(pb::ValueType::Boolean) => "boolean",
        _ => "string",
    }
}

pub(super) fn variable_description(v: &pb::Variable, label: &pb::LocalizedText) -> String {
    let what = [label.en.trim(), label.nb.trim(), v.name.as_str()]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let kind = match pb::ValueType::try_from(v.value_type) {
        Ok(pb::ValueType::Text) => "text",
        Ok(pb::ValueType::Integer) => "whole number",
        Ok(pb::ValueType::Decimal) => "decimal number",
        Ok(pb::ValueType::Date) => "date",
        Ok(pb::ValueType::Datetime) => "date and time",
        Ok(pb::ValueType::Boolean) => "yes or no",
        Ok(pb::ValueType::Code) => "code",
        Ok(pb::ValueType::Identifier) => "identifier",
        _ => "value",
    };
    let mut text = format!("{what}: {kind}");
    if !v.code_system.trim().is_empty() {
        text.push_str(&format!(" ({})", v.code_system.trim()));
    }
    if !v.unit.trim().is_empty() {
        text.push_str(&format!(", in {}", v.unit.trim()));
    }
    text.push('.');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_dates_parse_only_when_they_are_dates() {
        assert_eq!(
            revision_date("2026-11-01.1").map(|t| t.to_string()),
            Some("2026-11-01T00:00:00Z".to_string())
        );
        assert_eq!(revision_date("r42"), None);
        assert_eq!(revision_date(""), None);
    }
}
