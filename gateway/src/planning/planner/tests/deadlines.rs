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

#[test]
fn the_plan_speaks_bokmal_and_english_with_the_english_in_the_plain_fields() {
    let sources = vec![
        npr_like("npr-somatikk", "npr"),
        npr_like("npr-psykisk", "npr"),
    ];
    let mut input = research_new(pb::DataLevel::IdentifiableIndividual, sources);
    input.linkage_wanted = true;
    let plan = plan(&input, &rules());
    let app = plan
        .applications
        .iter()
        .find(|a| a.decided_by == "Helsedataservice")
        .expect("an application decided by Helsedataservice");
    let statutory = app
        .deadlines
        .iter()
        .find(|d| d.days == Some(60))
        .expect("the statutory deadline for several sources");
    let text = statutory.localized_text.as_ref().expect("localized");
    assert!(text.nb.contains("60 virkedager"), "{text:?}");
    assert!(text.en.contains("60 working days"), "{text:?}");
    assert_eq!(text.en, statutory.text);
    let prerequisites: Vec<&pb::LocalizedText> = app
        .prerequisites
        .iter()
        .filter_map(|p| p.localized_text.as_ref())
        .collect();
    assert_eq!(prerequisites.len(), app.prerequisites.len());
    assert!(
        prerequisites.iter().any(|p| p.nb.contains("REK")),
        "{prerequisites:?}"
    );
    // Every list of texts runs parallel to its plain (English) list.
    assert_eq!(app.localized_notes.len(), app.notes.len());
    for (localized, plain) in app.localized_notes.iter().zip(&app.notes) {
        assert_eq!(&localized.en, plain);
    }
    assert!(
        app.localized_notes
            .iter()
            .any(|n| n.nb.contains("Behandlingstid i praksis")),
        "{:?}",
        app.localized_notes
    );
    let address = app.localized_address.as_ref().expect("localized");
    assert_eq!(
        (address.nb.as_str(), address.en.as_str()),
        (app.address.as_str(), app.address.as_str())
    );
    let appeal = &plan.appeals[0];
    let limit = appeal.localized_time_limit.as_ref().expect("localized");
    assert!(limit.nb.contains("3 uker"), "{limit:?}");
    // Every step of the trace has both languages; the national rules' steps in bokmål.
    for entry in &plan.trace {
        let text = entry.localized_explanation.as_ref().expect("localized");
        assert_eq!(text.en, entry.explanation);
        assert!(!text.nb.is_empty(), "{entry:?}");
    }
    let linkage = plan.linkage.as_ref().expect("linkage");
    assert_eq!(linkage.localized_notes.len(), linkage.notes.len());
}
