use super::*;
use crate::planning::planner::deadlines::deadline_level;

#[test]
fn deadlines_are_matched_to_the_requested_level() {
    assert_eq!(
        deadline_level("statistics and anonymous data"),
        Some(pb::DataLevel::AnonymousAggregated)
    );
    assert_eq!(
        deadline_level("de-identified data"),
        Some(pb::DataLevel::DeidentifiedIndividual)
    );
    assert_eq!(
        deadline_level("pseudonymous data"),
        Some(pb::DataLevel::DeidentifiedIndividual)
    );
    assert_eq!(
        deadline_level("personally identifiable data"),
        Some(pb::DataLevel::IdentifiableIndividual)
    );
    assert_eq!(deadline_level("all applications"), None);
}

#[test]
fn source_deadlines_are_all_kept_when_none_fits_the_level() {
    let mut s = cprn_like();
    s.rules.deadlines = vec![deadline("all applications", 30), deadline("statistics", 10)];
    let app = only_application(&plan(
        &research_new(pb::DataLevel::IdentifiableIndividual, vec![s]),
        &rules(),
    ))
    .clone();
    assert_eq!(app.deadlines.len(), 2);
}
