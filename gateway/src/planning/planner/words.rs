//! The wording of the trace, notes and warnings.

use helsedata::proto as pb;

pub(super) use crate::planning::effective::{condition_words, describe_route, parenthesised};

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
