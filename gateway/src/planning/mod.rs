//! Application planning: which applications a researcher files, where, decided by whom, with what
//! attached, and why.
//!
//! Everything here is pure: the caller fetches the sources, access rules and variables from the
//! custodians, and this module turns them into an [`ApplicationPlan`](pb::ApplicationPlan). A
//! plan is made in steps:
//!
//! 1. [`validate_request`] checks a `PlanApplicationRequest` before anything is fetched, and
//!    [`requested_source_ids`] and [`wants_variables_of`] say what to fetch;
//! 2. [`resolve`] turns the custodians' answers ([`SourceAnswers`]) into the planner's input
//!    ([`PlanInput`]): resolved, unknown and unresolved sources and variables;
//! 3. [`plan`] applies the custodians' rules and the national rules ([`NationalRules`], the file
//!    `config/national-rules.toml`) and records every decision in the plan's trace.

mod planner;
mod resolve;
pub mod rules;

use helsedata::{
    proto as pb,
    status::{FieldError, RequestError, check_enum, check_id},
};

pub use planner::{PlanInput, ResolvedSource, plan};
pub use resolve::{Answer, SourceAnswers, resolve, wants_variables_of};
pub use rules::{NationalRules, RulesError};

/// Most data source ids one request may name.
pub const MAX_DATA_SOURCE_IDS: usize = 200;
/// Most variable ids one request may name.
pub const MAX_VARIABLE_IDS: usize = 2000;
/// Most field violations reported for one request; the rest are left out.
const MAX_VIOLATIONS: usize = 20;

/// Checks a `PlanApplicationRequest`: purpose, stage and data level set and known; at least one
/// data source id or variable id; at most [`MAX_DATA_SOURCE_IDS`] source ids and
/// [`MAX_VARIABLE_IDS`] variable ids; every source id well formed; every variable id of the form
/// `<data source id>/<name>` with `name` made of `[a-z0-9_]`.
///
/// All violations found (up to twenty) are returned together as `INVALID_ARGUMENT`.
pub fn validate_request(req: &pb::PlanApplicationRequest) -> Result<(), RequestError> {
    let mut errors: Vec<FieldError> = [
        check_required_enum::<pb::Purpose>("purpose", req.purpose, &PURPOSES),
        check_required_enum::<pb::ProjectStage>("stage", req.stage, &STAGES),
        check_required_enum::<pb::DataLevel>("data_level", req.data_level, &DATA_LEVELS),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    errors.extend(check_id_counts(req));
    let source_errors = req
        .data_source_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| check_id(&format!("data_source_ids[{i}]"), id).err());
    let variable_errors = req
        .variable_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| check_variable_id(&format!("variable_ids[{i}]"), id).err());
    errors.extend(source_errors.chain(variable_errors).take(MAX_VIOLATIONS));
    errors.truncate(MAX_VIOLATIONS);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(RequestError::InvalidArgument(errors))
    }
}

/// The data source id of a variable id `<data source id>/<name>`, or `None` when the id does not
/// have that form (see [`validate_request`]).
pub fn variable_source_id(variable_id: &str) -> Option<&str> {
    let (source, name) = variable_id.split_once('/')?;
    let source_ok = check_id("variable_id", source).is_ok();
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    (source_ok && name_ok).then_some(source)
}

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

const PURPOSES: [pb::Purpose; 5] = [
    pb::Purpose::Research,
    pb::Purpose::QualityAssurance,
    pb::Purpose::HealthAdministration,
    pb::Purpose::Statistics,
    pb::Purpose::Other,
];
const STAGES: [pb::ProjectStage; 3] = [
    pb::ProjectStage::New,
    pb::ProjectStage::Change,
    pb::ProjectStage::NewDataPeriod,
];
const DATA_LEVELS: [pb::DataLevel; 3] = [
    pb::DataLevel::AnonymousAggregated,
    pb::DataLevel::DeidentifiedIndividual,
    pb::DataLevel::IdentifiableIndividual,
];

/// An enum value that the contract knows by name.
trait NamedValue: Copy + TryFrom<i32> {
    fn name(self) -> &'static str;
}

impl NamedValue for pb::Purpose {
    fn name(self) -> &'static str {
        self.as_str_name()
    }
}

impl NamedValue for pb::ProjectStage {
    fn name(self) -> &'static str {
        self.as_str_name()
    }
}

impl NamedValue for pb::DataLevel {
    fn name(self) -> &'static str {
        self.as_str_name()
    }
}

/// Checks that a required enum field is set to a value the contract defines, naming the accepted
/// values in the error.
fn check_required_enum<E: NamedValue>(
    field: &str,
    value: i32,
    accepted: &[E],
) -> Result<(), FieldError> {
    let names = accepted
        .iter()
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .join(", ");
    if value == 0 {
        return Err(FieldError::new(
            field,
            format!("{field} is required; accepted values: {names}"),
        ));
    }
    check_enum::<E>(field, value).map_err(|_| {
        FieldError::new(
            field,
            format!("{field} = {value} is not a known value; accepted values: {names}"),
        )
    })
}

/// Checks that the request names something, and not too much.
fn check_id_counts(req: &pb::PlanApplicationRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if req.data_source_ids.is_empty() && req.variable_ids.is_empty() {
        errors.push(FieldError::new(
            "data_source_ids",
            "name at least one data source id in data_source_ids or one variable id in variable_ids",
        ));
    }
    if req.data_source_ids.len() > MAX_DATA_SOURCE_IDS {
        errors.push(FieldError::new(
            "data_source_ids",
            format!(
                "data_source_ids has {} entries; at most {MAX_DATA_SOURCE_IDS} are allowed",
                req.data_source_ids.len()
            ),
        ));
    }
    if req.variable_ids.len() > MAX_VARIABLE_IDS {
        errors.push(FieldError::new(
            "variable_ids",
            format!(
                "variable_ids has {} entries; at most {MAX_VARIABLE_IDS} are allowed",
                req.variable_ids.len()
            ),
        ));
    }
    errors
}

/// Checks that `value` is a variable id `<data source id>/<name>`.
fn check_variable_id(field: &str, value: &str) -> Result<(), FieldError> {
    if variable_source_id(value).is_some() {
        return Ok(());
    }
    let shown: String = value.chars().take(120).collect();
    Err(FieldError::new(
        field,
        format!(
            "{field} `{shown}` is not a variable id: write `<data source id>/<name>`, where the source id is lowercase letters, digits and '-' and the name lowercase letters, digits and '_' (for example `mfr/birth_weight`)"
        ),
    ))
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

    fn fields(err: &RequestError) -> Vec<&str> {
        err.violations().iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn well_formed_request_passes() {
        assert_eq!(validate_request(&request()), Ok(()));
    }

    #[test]
    fn missing_purpose_is_invalid_and_lists_accepted_values() {
        let req = pb::PlanApplicationRequest {
            purpose: 0,
            ..request()
        };
        let err = validate_request(&req).expect_err("purpose is required");
        assert_eq!(fields(&err), vec!["purpose"]);
        let text = &err.violations()[0].description;
        assert!(
            text.contains("required") && text.contains("PURPOSE_RESEARCH"),
            "{text}"
        );
        let status: tonic::Status = err.into();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn unknown_stage_and_data_level_values_are_invalid() {
        let req = pb::PlanApplicationRequest {
            stage: 42,
            data_level: -1,
            ..request()
        };
        let err = validate_request(&req).expect_err("unknown enum values refused");
        assert_eq!(fields(&err), vec!["stage", "data_level"]);
        assert!(
            err.violations()[0]
                .description
                .contains("PROJECT_STAGE_NEW_DATA_PERIOD")
        );
    }

    #[test]
    fn request_without_sources_or_variables_is_invalid() {
        let req = pb::PlanApplicationRequest {
            data_source_ids: vec![],
            variable_ids: vec![],
            ..request()
        };
        let err = validate_request(&req).expect_err("empty request refused");
        assert_eq!(fields(&err), vec!["data_source_ids"]);
    }

    #[test]
    fn malformed_variable_ids_are_named_by_index() {
        let req = pb::PlanApplicationRequest {
            variable_ids: vec![
                "mfr/birth_weight".into(),
                "birth_weight".into(),
                "mfr/Birth-Weight".into(),
                "MFR/x".into(),
                "mfr/".into(),
            ],
            ..request()
        };
        let err = validate_request(&req).expect_err("malformed variable ids refused");
        assert_eq!(
            fields(&err),
            vec![
                "variable_ids[1]",
                "variable_ids[2]",
                "variable_ids[3]",
                "variable_ids[4]"
            ]
        );
        assert!(
            err.violations()[0]
                .description
                .contains("<data source id>/<name>")
        );
    }

    #[test]
    fn malformed_source_ids_are_named_by_index() {
        let req = pb::PlanApplicationRequest {
            data_source_ids: vec!["npr".into(), "NPR".into()],
            ..request()
        };
        let err = validate_request(&req).expect_err("malformed source id refused");
        assert_eq!(fields(&err), vec!["data_source_ids[1]"]);
    }

    #[test]
    fn too_many_ids_are_refused_with_a_bounded_error_list() {
        let req = pb::PlanApplicationRequest {
            data_source_ids: (0..201).map(|i| format!("s{i}")).collect(),
            variable_ids: vec!["x".into(); 2001],
            ..request()
        };
        let err = validate_request(&req).expect_err("too many ids refused");
        let f = fields(&err);
        assert_eq!(&f[..2], &["data_source_ids", "variable_ids"]);
        assert_eq!(f.len(), MAX_VIOLATIONS);
    }

    #[test]
    fn variable_source_id_splits_well_formed_ids_only() {
        assert_eq!(
            variable_source_id("npr-somatikk/main_diagnosis"),
            Some("npr-somatikk")
        );
        assert_eq!(variable_source_id("npr"), None);
        assert_eq!(variable_source_id("/x"), None);
        assert_eq!(variable_source_id("npr/a/b"), None);
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
