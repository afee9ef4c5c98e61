use super::*;

#[test]
fn direct_identifier_below_identifiable_level_warns_and_traces() {
    let mut req = research_new(
        pb::DataLevel::DeidentifiedIndividual,
        vec![npr_like("npr", "")],
    );
    req.variables = vec![
        variable(
            "npr",
            "national_id",
            pb::VariableIdentifiability::DirectIdentifier,
        ),
        variable(
            "npr",
            "main_diagnosis",
            pb::VariableIdentifiability::IndirectIdentifier,
        ),
    ];
    let plan = plan(&req, &rules());
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    assert!(
        plan.warnings[0].contains("npr/national_id")
            && plan.warnings[0].contains("DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL")
    );
    let t = traces(&plan, "request.variable-identifiability", "npr");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].origin, "request");
}

#[test]
fn direct_identifier_at_identifiable_level_is_consistent() {
    let mut req = research_new(
        pb::DataLevel::IdentifiableIndividual,
        vec![npr_like("npr", "")],
    );
    req.variables = vec![variable(
        "npr",
        "national_id",
        pb::VariableIdentifiability::DirectIdentifier,
    )];
    assert!(plan(&req, &rules()).warnings.is_empty());
}

#[test]
fn anonymous_level_with_variables_notes_aggregated_tables_and_table_shells() {
    let mut req = input(
        pb::Purpose::Statistics,
        pb::ProjectStage::New,
        pb::DataLevel::AnonymousAggregated,
        vec![cprn_like()],
    );
    req.variables = vec![variable(
        "cprn",
        "gmfcs_level",
        pb::VariableIdentifiability::None,
    )];
    let plan = plan(&req, &rules());
    let app = only_application(&plan);
    assert_eq!(codes(app), vec!["table-shells"]);
    assert!(
        app.notes.iter().any(|n| n.contains("aggregated tables")),
        "{:?}",
        app.notes
    );
    assert!(
        app.notes
            .iter()
            .any(|n| n.contains("helseregisterloven § 19")),
        "{:?}",
        app.notes
    );
    assert_eq!(traces(&plan, "national.anonymous-data", "").len(), 1);
}

// ---- l.: linkage -----------------------------------------------------------------------

#[test]
fn unknown_and_unresolved_ids_are_copied_with_warnings() {
    let mut req = research_new(pb::DataLevel::DeidentifiedIndividual, vec![]);
    req.unknown_data_source_ids = vec!["zz".into(), "aa".into()];
    req.unknown_variable_ids = vec!["mfr/nope".into()];
    req.unresolved_data_source_ids = vec!["msis".into()];
    let plan = plan(&req, &rules());
    assert!(plan.applications.is_empty());
    assert_eq!(plan.unknown_data_source_ids, vec!["aa", "zz"]);
    assert_eq!(plan.unknown_variable_ids, vec!["mfr/nope"]);
    assert_eq!(plan.unresolved_data_source_ids, vec!["msis"]);
    assert_eq!(plan.warnings.len(), 4, "{:?}", plan.warnings);
    assert_eq!(traces(&plan, "request.unknown-data-source", "aa").len(), 1);
    assert_eq!(
        traces(&plan, "request.unresolved-data-source", "msis").len(),
        1
    );
}

#[test]
fn anonymous_data_names_the_open_statistics_to_check_first_with_their_address() {
    let mut msis = source(
        "msis",
        "fhi",
        "Folkehelseinstituttet",
        route(pb::ApplicationChannel::HelsedataForm, "", ""),
    );
    msis.source.open_statistics = "statistics from 1977 with custom tables".into();
    msis.source.open_statistics_url = "https://msis.no".into();
    let mut norm = source(
        "norm",
        "fhi",
        "Folkehelseinstituttet",
        route(pb::ApplicationChannel::HelsedataForm, "", ""),
    );
    norm.source.open_statistics = "public statistics".into();
    let quiet = source(
        "sysvak",
        "fhi",
        "Folkehelseinstituttet",
        route(pb::ApplicationChannel::HelsedataForm, "", ""),
    );
    let sources = vec![msis, norm, quiet];

    let anonymous = plan(
        &research_new(pb::DataLevel::AnonymousAggregated, sources.clone()),
        &rules(),
    );
    let mut listed: Vec<pb::OpenStatistics> = anonymous
        .applications
        .iter()
        .flat_map(|a| a.open_statistics.clone())
        .collect();
    listed.sort_by(|a, b| a.data_source_id.cmp(&b.data_source_id));
    assert_eq!(
        listed,
        vec![
            pb::OpenStatistics {
                data_source_id: "msis".into(),
                text: "statistics from 1977 with custom tables".into(),
                url: "https://msis.no".into(),
                // The custodian gives no bokmål text: the English is the only wording.
                localized_text: Some(pb::LocalizedText {
                    nb: String::new(),
                    en: "statistics from 1977 with custom tables".into(),
                }),
            },
            pb::OpenStatistics {
                data_source_id: "norm".into(),
                text: "public statistics".into(),
                url: String::new(),
                // The custodian gives no bokmål text: the English is the only wording.
                localized_text: Some(pb::LocalizedText {
                    nb: String::new(),
                    en: "public statistics".into(),
                }),
            },
        ]
    );
    let notes: Vec<&String> = anonymous
        .applications
        .iter()
        .flat_map(|a| &a.notes)
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with("msis:")
            && n.contains("https://msis.no")
            && n.contains("before applying")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("norm:") && n.contains("ask Folkehelseinstituttet")),
        "without an address the note says whom to ask: {notes:?}"
    );
    assert_eq!(
        traces(&anonymous, "custodian.open-statistics", "msis").len(),
        1
    );
    assert!(traces(&anonymous, "custodian.open-statistics", "sysvak").is_empty());

    let individual = plan(
        &research_new(pb::DataLevel::DeidentifiedIndividual, sources),
        &rules(),
    );
    assert!(
        individual
            .applications
            .iter()
            .all(|a| a.open_statistics.is_empty()),
        "open statistics are named for anonymous data only"
    );
}
