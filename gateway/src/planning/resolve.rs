//! The first step of planning: turns the request and the custodians' answers about each
//! requested source into the planner's input.
//!
//! Nothing here fetches. The caller asks each owning custodian for a source's facts, its access
//! rules and (when the request names variables of that source) its variables, and hands the
//! answers to [`resolve`], which sorts every requested id into resolved, unknown or unresolved.

use std::collections::BTreeSet;

use helsedata::proto as pb;

use super::planner::{PlanInput, ResolvedSource};
use super::variable_source_id;

/// What one custodian answered to one question about a source.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    /// The custodian answered (live or from the cache).
    Found(T),
    /// The custodian says it does not publish the source.
    NotFound,
    /// No answer could be had: the custodian failed and nothing was cached.
    Unavailable,
}

impl<T> Answer<T> {
    fn found(self) -> Option<T> {
        match self {
            Self::Found(value) => Some(value),
            Self::NotFound | Self::Unavailable => None,
        }
    }
}

/// The owning custodian's answers about one requested source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceAnswers {
    /// The custodian that owns the source and was asked.
    pub custodian_id: String,
    /// The requested source id.
    pub data_source_id: String,
    /// The source's facts.
    pub source: Answer<pb::DataSource>,
    /// The source's access rules.
    pub rules: Answer<pb::AccessRules>,
    /// The source's variables, when they were asked for (see [`wants_variables_of`]) and the
    /// custodian answered; `None` otherwise.
    pub variables: Option<Vec<pb::Variable>>,
}

/// Whether the request names a variable of `data_source_id`, so that its variable list must be
/// fetched.
pub fn wants_variables_of(req: &pb::PlanApplicationRequest, data_source_id: &str) -> bool {
    req.variable_ids
        .iter()
        .any(|v| variable_source_id(v) == Some(data_source_id))
}

/// Builds the planner's input from a (validated) request, the requested source ids that no
/// custodian owns, and the owners' answers about the others.
///
/// A source is resolved when both its facts and its rules were answered; unknown when no
/// custodian owns it or its owner says it does not publish it; unresolved otherwise. A requested
/// variable is unknown when its source is resolved or unknown but the variable is not in the
/// source's list; variables of unresolved sources are neither found nor unknown. The lists are
/// sorted: sources by id, ids alphabetically without duplicates.
pub fn resolve(
    req: &pb::PlanApplicationRequest,
    unowned_source_ids: Vec<String>,
    answers: Vec<SourceAnswers>,
) -> PlanInput {
    let wanted_variables: BTreeSet<&str> = req.variable_ids.iter().map(String::as_str).collect();
    let mut input = PlanInput {
        purpose: pb::Purpose::try_from(req.purpose).unwrap_or_default(),
        stage: pb::ProjectStage::try_from(req.stage).unwrap_or_default(),
        data_level: pb::DataLevel::try_from(req.data_level).unwrap_or_default(),
        linkage_wanted: req.linkage_wanted,
        biomaterial_wanted: req.biomaterial_wanted,
        sources: Vec::new(),
        variables: Vec::new(),
        unknown_data_source_ids: unowned_source_ids,
        unknown_variable_ids: Vec::new(),
        unresolved_data_source_ids: Vec::new(),
    };
    let mut found_variables: BTreeSet<String> = BTreeSet::new();
    for a in answers {
        let not_found = a.source == Answer::NotFound || a.rules == Answer::NotFound;
        match (a.source.found(), a.rules.found()) {
            (Some(mut source), Some(rules)) => {
                source.custodian_id = a.custodian_id.clone();
                input.sources.push(ResolvedSource {
                    source,
                    rules,
                    custodian_id: a.custodian_id,
                });
            }
            _ if not_found => input.unknown_data_source_ids.push(a.data_source_id),
            _ => input.unresolved_data_source_ids.push(a.data_source_id),
        }
        for variable in a.variables.unwrap_or_default() {
            if wanted_variables.contains(variable.id.as_str()) {
                found_variables.insert(variable.id.clone());
                input.variables.push(variable);
            }
        }
    }
    let resolved: BTreeSet<&str> = input.sources.iter().map(|s| s.source.id.as_str()).collect();
    input.unknown_variable_ids = req
        .variable_ids
        .iter()
        .filter(|v| !found_variables.contains(*v))
        .filter(|v| {
            variable_source_id(v).is_some_and(|s| {
                resolved.contains(s) || input.unknown_data_source_ids.iter().any(|u| u == s)
            })
        })
        .cloned()
        .collect();
    input.unknown_variable_ids.sort();
    input.unknown_variable_ids.dedup();
    input.unknown_data_source_ids.sort();
    input.sources.sort_by(|a, b| a.source.id.cmp(&b.source.id));
    input
}

#[cfg(test)]
mod tests;
