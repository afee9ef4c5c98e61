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

fn twin(nb: &str, en: &str) -> pb::LocalizedText {
    pb::LocalizedText {
        nb: nb.into(),
        en: en.into(),
    }
}

#[test]
fn a_custodians_bokmal_texts_reach_the_plan_in_its_bokmal_and_english_in_the_plain_fields() {
    let mut s = cprn_like();
    s.rules.requirements = vec!["A data protection impact assessment is needed.".into()];
    s.rules.localized_requirements = vec![twin(
        "En vurdering av personvernkonsekvenser trengs.",
        "A data protection impact assessment is needed.",
    )];
    let route = s.rules.route.as_mut().expect("route");
    route.note = "Send the application as one PDF.".into();
    route.localized_note = Some(twin(
        "Send søknaden som én PDF.",
        "Send the application as one PDF.",
    ));
    s.rules.prices = vec![pb::Price {
        invoiced_by: "SiV".into(),
        text: "per hour of preparation".into(),
        localized_text: Some(twin("per time tilrettelegging", "per hour of preparation")),
        ..Default::default()
    }];
    let mut linkage = s.rules.linkage.clone().unwrap_or_default();
    linkage.notes = vec!["Linkage keys are kept by SiV.".into()];
    linkage.localized_notes = vec![twin(
        "SiV oppbevarer koblingsnøklene.",
        "Linkage keys are kept by SiV.",
    )];
    s.rules.linkage = Some(linkage);
    let mut input = research_new(pb::DataLevel::DeidentifiedIndividual, vec![s]);
    input.linkage_wanted = true;
    let plan = plan(&input, &rules());
    let app = only_application(&plan);

    let requirement = prerequisite(app, "custodian-requirement");
    assert_eq!(
        requirement.localized_text,
        Some(twin(
            "En vurdering av personvernkonsekvenser trengs.",
            "A data protection impact assessment is needed."
        ))
    );
    assert_eq!(
        requirement.text,
        "A data protection impact assessment is needed."
    );
    let note = app
        .localized_notes
        .iter()
        .find(|n| n.en.contains("one PDF"))
        .expect("the route note");
    assert_eq!(note.nb, "cprn: Send søknaden som én PDF.");
    let invoice = app
        .invoices
        .iter()
        .find(|i| i.reason == "per hour of preparation")
        .expect("the published price");
    assert_eq!(
        invoice.localized_reason.as_ref().map(|r| r.nb.as_str()),
        Some("per time tilrettelegging")
    );
    let price_step = plan
        .trace
        .iter()
        .filter_map(|t| t.localized_explanation.as_ref())
        .find(|t| t.en.contains("publishes a price"))
        .expect("the price in the trace");
    assert!(
        price_step.nb.contains("per time tilrettelegging"),
        "{price_step:?}"
    );
    let linkage = plan.linkage.as_ref().expect("linkage");
    assert!(
        linkage
            .localized_notes
            .iter()
            .any(|n| n.nb == "cprn: SiV oppbevarer koblingsnøklene."
                && n.en == "cprn: Linkage keys are kept by SiV."),
        "{:?}",
        linkage.localized_notes
    );
}

#[test]
fn a_custodian_text_without_a_bokmal_version_is_quoted_in_english_only() {
    let mut s = cprn_like();
    s.rules.requirements = vec!["A data protection impact assessment is needed.".into()];
    // A twin that does not match its English text (a stale translation) is not used.
    s.rules.localized_notes = vec![twin("Noe annet.", "Something else.")];
    let plan = plan(
        &research_new(pb::DataLevel::DeidentifiedIndividual, vec![s]),
        &rules(),
    );
    let requirement = prerequisite(only_application(&plan), "custodian-requirement");
    let text = requirement.localized_text.as_ref().expect("localized");
    assert_eq!(
        (text.nb.as_str(), text.en.as_str()),
        ("", "A data protection impact assessment is needed.")
    );
}

#[test]
fn open_statistics_and_the_biomaterial_note_are_quoted_in_bokmal_where_given() {
    let mut s = moba_like();
    s.source.open_statistics = "Annual tables by county.".into();
    s.source.localized_open_statistics = Some(twin(
        "Årlige tabeller per fylke.",
        "Annual tables by county.",
    ));
    s.source.biomaterial_note = "Samples are held in the biobank.".into();
    s.source.localized_biomaterial_note = Some(twin(
        "Prøvene oppbevares i biobanken.",
        "Samples are held in the biobank.",
    ));
    let mut input = research_new(pb::DataLevel::AnonymousAggregated, vec![s.clone()]);
    input.biomaterial_wanted = true;
    let plan = plan(&input, &rules());
    let app = only_application(&plan);
    let stats = &app.open_statistics[0];
    assert_eq!(stats.text, "Annual tables by county.");
    assert_eq!(
        stats.localized_text.as_ref().map(|t| t.nb.as_str()),
        Some("Årlige tabeller per fylke.")
    );
    let nb: Vec<&str> = app.localized_notes.iter().map(|n| n.nb.as_str()).collect();
    assert!(
        nb.iter()
            .any(|n| n.contains("(Årlige tabeller per fylke.)")),
        "{nb:?}"
    );
    assert!(
        nb.iter()
            .any(|n| n.contains("biologisk materiale")
                && n.ends_with("Prøvene oppbevares i biobanken.")),
        "{nb:?}"
    );
    assert!(
        app.notes
            .iter()
            .any(|n| n.ends_with("Samples are held in the biobank.")),
        "{:?}",
        app.notes
    );
}
