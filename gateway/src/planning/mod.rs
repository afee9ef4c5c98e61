//! Application planning: which applications a researcher files, where, decided by whom, with what
//! attached, and why.
//!
//! Everything here is pure: the caller fetches the sources, access rules and variables from the
//! custodians, and this module turns them into an [`ApplicationPlan`](pb::ApplicationPlan). A
//! plan is made in steps:
//!
//! 1. the contract ([`helsedata::contract`]) has validated the request before anything is
//!    fetched; [`requested_source_ids`] and [`wants_variables_of`] say what to fetch;
//! 2. [`resolve`] turns the custodians' answers ([`SourceAnswers`]) into the planner's input
//!    ([`PlanInput`]): resolved, unknown and unresolved sources and variables;
//! 3. [`plan`] applies the custodians' rules and the national rules ([`NationalRules`], the file
//!    `config/national-rules.toml`) and records every decision in the plan's trace.
//!
//! The national rules that change a source's route are applied in one place, [`effective`],
//! which the merged catalogue uses as well.

pub mod effective;
mod planner;
mod resolve;
pub mod rules;

use helsedata::proto as pb;

pub use planner::{PlanInput, ResolvedSource, plan};
pub use resolve::{Answer, SourceAnswers, resolve, wants_variables_of};
pub use rules::{NationalRules, RulesError};

pub use helsedata::contract::variable_source_id;

/// Every data source the request concerns: the named sources and the sources of the named
/// variables, sorted and without duplicates. Malformed variable ids contribute nothing.
pub fn requested_source_ids(req: &pb::PlanApplicationRequest) -> Vec<String> {
    let mut ids: Vec<String> = req
        .data_source_ids
        .iter()
        .map(String::as_str)
        .chain(
            req.variable_ids
                .iter()
                .filter_map(|v| variable_source_id(v)),
        )
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> pb::PlanApplicationRequest {
        pb::PlanApplicationRequest {
            data_source_ids: vec!["npr".into()],
            variable_ids: vec!["mfr/birth_weight".into()],
            purpose: pb::Purpose::Research as i32,
            stage: pb::ProjectStage::New as i32,
            data_level: pb::DataLevel::DeidentifiedIndividual as i32,
            linkage_wanted: false,
            biomaterial_wanted: false,
        }
    }

    #[test]
    fn requested_sources_include_variable_sources_once() {
        let req = pb::PlanApplicationRequest {
            data_source_ids: vec!["npr".into(), "mfr".into()],
            variable_ids: vec![
                "mfr/birth_weight".into(),
                "msis/disease".into(),
                "bad".into(),
            ],
            ..request()
        };
        assert_eq!(requested_source_ids(&req), vec!["mfr", "msis", "npr"]);
    }
}
