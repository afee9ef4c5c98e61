//! The wording of the trace, notes and warnings.

use helsedata::proto as pb;

use super::*;

pub(super) fn channel_of(route: &pb::ApplicationRoute) -> pb::ApplicationChannel {
    match pb::ApplicationChannel::try_from(route.channel) {
        Ok(pb::ApplicationChannel::Unspecified) | Err(_) => pb::ApplicationChannel::Unknown,
        Ok(c) => c,
    }
}

/// `text` as a further sentence (with a leading space and a final full stop), or nothing.
pub(super) fn sentence(text: &str) -> String {
    match text.trim() {
        "" => String::new(),
        t if t.ends_with('.') => format!(" {t}"),
        t => format!(" {t}."),
    }
}

/// `text` in parentheses with a leading space, or nothing when it is empty.
pub(super) fn parenthesised(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" ({text})")
    }
}

pub(super) fn operated_by_words(rules: &NationalRules) -> String {
    let hds = &rules.helsedataservice;
    if hds.formerly_operated_by.is_empty() {
        format!("run by {}", hds.operated_by)
    } else {
        format!(
            "run by {}, earlier by {}",
            hds.operated_by, hds.formerly_operated_by
        )
    }
}

pub(super) fn describe_route(route: &pb::ApplicationRoute) -> String {
    let by = route.processed_by.trim();
    let processed = if by.is_empty() {
        String::new()
    } else {
        format!(", processed by {by}")
    };
    format!(
        "{}{}{}",
        channel_words(channel_of(route)),
        processed,
        parenthesised(route.url.trim())
    )
}

pub(super) fn channel_words(channel: pb::ApplicationChannel) -> &'static str {
    match channel {
        pb::ApplicationChannel::HelsedataForm => "the common helsedata.no application form",
        pb::ApplicationChannel::AltinnForm => "its own e-form behind an Altinn login",
        pb::ApplicationChannel::EmailToRegister => "an application sent to the register by e-mail",
        pb::ApplicationChannel::RegisterWebsite => {
            "the form or instructions on the register's own website"
        }
        pb::ApplicationChannel::Unknown | pb::ApplicationChannel::Unspecified => {
            "no application route"
        }
    }
}

pub(super) fn condition_words(condition: pb::RouteCondition) -> &'static str {
    match condition {
        pb::RouteCondition::NewResearchProject => "new research projects",
        pb::RouteCondition::ChangeNewPeriodOrNonResearch => {
            "changes to approved projects, new data periods and purposes other than research"
        }
        pb::RouteCondition::Legacy => "an older page",
        pb::RouteCondition::Unspecified => "an unstated condition",
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
