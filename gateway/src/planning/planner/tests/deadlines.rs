use super::*;

/// The published deadlines listed for a source of `npr_like` at `level`.
fn listed_levels(level: pb::DataLevel) -> Vec<i32> {
    let mut s = npr_like("npr-somatikk", "npr");
    // Keep the custodian's own route so that only the source's deadlines are listed.
    s.rules.conditional_routes.clear();
    s.source.parent_id.clear();
    let app = only_application(&plan(&research_new(level, vec![s]), &rules())).clone();
    app.deadlines
        .iter()
        .filter(|d| !d.applies_to.starts_with("statutory"))
        .map(|d| d.data_level)
        .collect()
}

#[test]
fn deadlines_are_matched_to_the_requested_level() {
    for level in [
        pb::DataLevel::AnonymousAggregated,
        pb::DataLevel::DeidentifiedIndividual,
        pb::DataLevel::IdentifiableIndividual,
    ] {
        assert_eq!(listed_levels(level), vec![level as i32], "{level:?}");
    }
}

#[test]
fn source_deadlines_are_all_kept_when_none_fits_the_level() {
    let mut s = cprn_like();
    s.rules.deadlines = vec![
        deadline("all applications", pb::DataLevel::Unspecified, 30),
        deadline("statistics", pb::DataLevel::AnonymousAggregated, 10),
    ];
    let app = only_application(&plan(
        &research_new(pb::DataLevel::IdentifiableIndividual, vec![s]),
        &rules(),
    ))
    .clone();
    assert_eq!(app.deadlines.len(), 2);
}
