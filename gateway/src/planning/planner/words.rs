//! The wording of the trace, notes and warnings, in Norwegian bokmål and English.

use helsedata::proto as pb;

pub(super) use crate::planning::effective::{
    Text, both, both_fmt, condition_words, condition_words_nb, describe_route, describe_route_nb,
    parenthesised,
};

/// Text a custodian publishes, quoted as published: `plain` (its English text) in `en`, and in
/// `nb` its bokmål version from the `localized` twin when it gives one (else `nb` is empty:
/// the English is the only wording).
pub(super) fn as_published(plain: &str, localized: Option<&Text>) -> Text {
    let nb = localized
        .filter(|t| t.en.trim() == plain.trim())
        .map(|t| t.nb.trim())
        .unwrap_or_default();
    both(nb, plain.trim())
}

/// A list a custodian publishes, entry for entry as [`as_published`]; `localized` is its twin
/// list, used only when it runs parallel to `plain`.
pub(super) fn all_as_published(plain: &[String], localized: &[Text]) -> Vec<Text> {
    let parallel = localized.len() == plain.len();
    plain
        .iter()
        .enumerate()
        .map(|(i, p)| as_published(p, localized.get(i).filter(|_| parallel)))
        .collect()
}

/// The bokmål of a custodian's text where it gives one, else its English text: what a bokmål
/// sentence quotes.
pub(super) fn quoted_nb(text: &Text) -> &str {
    if text.nb.is_empty() {
        &text.en
    } else {
        &text.nb
    }
}

/// `prefix` before `text` in each language.
pub(super) fn prefixed(prefix: &str, text: &Text) -> Text {
    both(
        if text.nb.is_empty() {
            String::new()
        } else {
            format!("{prefix}{}", text.nb)
        },
        format!("{prefix}{}", text.en),
    )
}

/// `text` as a further sentence (with a leading space and a final full stop), or nothing.
pub(super) fn sentence(text: &str) -> String {
    match text.trim() {
        "" => String::new(),
        t if t.ends_with('.') => format!(" {t}"),
        t => format!(" {t}."),
    }
}

pub(super) fn purpose_words(purpose: pb::Purpose) -> &'static str {
    match purpose {
        pb::Purpose::Research => "research",
        pb::Purpose::QualityAssurance => "quality assurance",
        pb::Purpose::HealthAdministration => "health administration and planning",
        pb::Purpose::Statistics => "statistics",
        pb::Purpose::Other => "another purpose than research",
        pb::Purpose::Unspecified => "an unstated purpose",
    }
}

pub(super) fn purpose_words_nb(purpose: pb::Purpose) -> &'static str {
    match purpose {
        pb::Purpose::Research => "forskning",
        pb::Purpose::QualityAssurance => "kvalitetssikring",
        pb::Purpose::HealthAdministration => "helseforvaltning og planlegging",
        pb::Purpose::Statistics => "statistikk",
        pb::Purpose::Other => "et annet formål enn forskning",
        pb::Purpose::Unspecified => "et formål som ikke er oppgitt",
    }
}

pub(super) fn stage_words_nb(stage: pb::ProjectStage) -> &'static str {
    match stage {
        pb::ProjectStage::New => "et nytt prosjekt",
        pb::ProjectStage::Change => "en endring av et godkjent prosjekt",
        pb::ProjectStage::NewDataPeriod => "nye dataperioder for et godkjent prosjekt",
        pb::ProjectStage::Unspecified => "en prosjektfase som ikke er oppgitt",
    }
}

pub(super) fn level_words_nb(level: pb::DataLevel) -> &'static str {
    match level {
        pb::DataLevel::AnonymousAggregated => "anonyme, sammenstilte data",
        pb::DataLevel::DeidentifiedIndividual => "avidentifiserte data på individnivå",
        pb::DataLevel::IdentifiableIndividual => "identifiserbare data på individnivå",
        pb::DataLevel::Unspecified => "et datanivå som ikke er oppgitt",
    }
}

pub(super) fn stage_words(stage: pb::ProjectStage) -> &'static str {
    match stage {
        pb::ProjectStage::New => "a new project",
        pb::ProjectStage::Change => "a change to an approved project",
        pb::ProjectStage::NewDataPeriod => "new data periods for an approved project",
        pb::ProjectStage::Unspecified => "an unstated project stage",
    }
}

pub(super) fn level_words(level: pb::DataLevel) -> &'static str {
    match level {
        pb::DataLevel::AnonymousAggregated => "anonymous aggregated data",
        pb::DataLevel::DeidentifiedIndividual => "de-identified individual-level data",
        pb::DataLevel::IdentifiableIndividual => "identifiable individual-level data",
        pb::DataLevel::Unspecified => "an unstated data level",
    }
}
