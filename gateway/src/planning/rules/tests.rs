//! Tests of loading and validating the national rules file.

use super::*;

const RULES_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/national-rules.toml");

fn real_rules() -> NationalRules {
    match NationalRules::load(RULES_PATH) {
        Ok(r) => r,
        Err(e) => panic!("the shipped rules file must load: {e}"),
    }
}

fn real_text() -> String {
    std::fs::read_to_string(RULES_PATH).expect("rules file is readable")
}

/// The real file with the first occurrence of `from` replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    let text = real_text();
    assert!(
        text.contains(from),
        "fixture text `{from}` is in the rules file"
    );
    text.replacen(from, to, 1)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle is in the text")
        + 1
}

#[test]
fn shipped_rules_file_loads_with_eleven_registries() {
    let rules = real_rules();
    assert!(!rules.revision().is_empty());
    assert_eq!(rules.helsedataservice.registries.len(), 11);
    assert_eq!(rules.helsedataservice.name, "Helsedataservice");
    assert_eq!(rules.statutory_working_days(1), 30);
    assert_eq!(rules.statutory_working_days(3), 60);
}

#[test]
fn a_custodian_named_body_is_recognised_as_helsedataservice_whatever_its_case() {
    let rules = real_rules();
    assert!(rules.names_helsedataservice("Helsedataservice"));
    assert!(rules.names_helsedataservice("  helsedataservice "));
    assert!(!rules.names_helsedataservice("Folkehelseinstituttet (FHI)"));
    assert!(!rules.names_helsedataservice(""));
}

#[test]
fn helsedataservice_covers_listed_sources_and_children_only_where_included() {
    let rules = real_rules();
    assert_eq!(
        rules.helsedataservice_registry("npr", ""),
        Some("Norsk pasientregister (NPR)")
    );
    assert_eq!(
        rules.helsedataservice_registry("npr-somatikk", "npr"),
        Some("Norsk pasientregister (NPR)")
    );
    assert_eq!(
        rules.helsedataservice_registry("krg-brystkreft", "kreftregisteret"),
        Some("Kreftregisteret")
    );
    assert!(
        rules
            .helsedataservice_registry("hjertestans", "hkr")
            .is_some()
    );
    // HKR lists its quality registers one by one, so an unlisted child is not covered.
    assert_eq!(rules.helsedataservice_registry("abla-nor", "hkr"), None);
    assert_eq!(rules.helsedataservice_registry("moba", ""), None);
    assert_eq!(rules.helsedataservice_registry("ssb-inntekt", ""), None);
}

#[test]
fn common_form_covers_the_five_custodians() {
    let rules = real_rules();
    for c in [
        "fhi",
        "helsedirektoratet",
        "kreftregisteret",
        "arkivverket",
        "dmp",
    ] {
        assert!(rules.common_form_covers(c), "{c}");
    }
    assert!(!rules.common_form_covers("ssb"));
    assert!(!rules.common_form_covers("siv"));
}

#[test]
fn prerequisites_are_selected_by_purpose_level_and_stage() {
    let rules = real_rules();
    let codes = |p, s, l| {
        rules
            .prerequisites_for(p, s, l)
            .map(|r| r.code.get_ref().clone())
            .collect::<Vec<_>>()
    };
    let research_ident = codes(
        pb::Purpose::Research,
        pb::ProjectStage::New,
        pb::DataLevel::IdentifiableIndividual,
    );
    assert!(research_ident.contains(&"rek-approval".to_string()));
    assert!(research_ident.contains(&"variable-list".to_string()));
    assert!(!research_ident.contains(&"table-shells".to_string()));
    let stats_anon = codes(
        pb::Purpose::Statistics,
        pb::ProjectStage::Change,
        pb::DataLevel::AnonymousAggregated,
    );
    assert_eq!(
        stats_anon,
        vec!["table-shells".to_string(), "project-reference".to_string()]
    );
}

#[test]
fn unknown_key_error_names_the_line_and_key() {
    let text = edited("include_children = true", "include_childs = true");
    let err = NationalRules::from_str("rules.toml", &text).expect_err("unknown key refused");
    assert_eq!(err.line, line_of(&text, "include_childs"));
    assert_eq!(err.field, "include_childs");
    assert!(err.to_string().starts_with("rules.toml:"), "{err}");
}

#[test]
fn empty_registry_source_list_is_refused_at_its_line() {
    let text = edited("sources = [\"mfr\"]", "sources = []");
    let err = NationalRules::from_str("rules.toml", &text).expect_err("empty list refused");
    assert_eq!(err.line, line_of(&text, "sources = []"));
    assert_eq!(err.field, "helsedataservice.registry[2].sources");
}

#[test]
fn malformed_source_id_is_refused() {
    let text = edited("sources = [\"msis\"]", "sources = [\"MSIS\"]");
    let err = NationalRules::from_str("rules.toml", &text).expect_err("bad id refused");
    assert_eq!(err.line, line_of(&text, "\"MSIS\""));
    assert!(err.message.contains("`MSIS`"), "{}", err.message);
}

#[test]
fn zero_deadline_is_refused() {
    let text = edited(
        "single_source_working_days = 30",
        "single_source_working_days = 0",
    );
    let err = NationalRules::from_str("rules.toml", &text).expect_err("zero days refused");
    assert_eq!(err.line, line_of(&text, "single_source_working_days = 0"));
    assert_eq!(err.field, "statutory_deadline.single_source_working_days");
}

#[test]
fn impossible_date_is_refused() {
    let text = edited(
        "decides_since = \"2023-03-15\"",
        "decides_since = \"2023-02-30\"",
    );
    let err = NationalRules::from_str("rules.toml", &text).expect_err("bad date refused");
    assert_eq!(err.line, line_of(&text, "2023-02-30"));
    assert_eq!(err.field, "helsedataservice.decides_since");
}

#[test]
fn unknown_data_level_names_the_value() {
    let text = edited(
        "data_levels = [\"anonymous_aggregated\"]",
        "data_levels = [\"aggregated\"]",
    );
    let err = NationalRules::from_str("rules.toml", &text).expect_err("bad level refused");
    assert_eq!(err.line, line_of(&text, "[\"aggregated\"]"));
    assert_eq!(err.field, "aggregated");
}

#[test]
fn missing_file_is_reported_with_its_path() {
    let err =
        NationalRules::load("/nonexistent/national-rules.toml").expect_err("missing file refused");
    assert_eq!(err.line, 0);
    assert!(err.to_string().contains("/nonexistent/national-rules.toml"));
}

#[test]
fn dates_are_checked_for_shape_and_calendar() {
    assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
    assert_eq!(parse_date("2023-02-29"), None);
    assert_eq!(parse_date("2023-3-15"), None);
    assert_eq!(parse_date("2023-13-01"), None);
    assert_eq!(parse_date("2023/03/15"), None);
}

#[test]
fn shipped_linkage_fallback_names_ssb_for_its_statistics_datasets() {
    let rules = real_rules();
    let ssb = rules
        .linkage_fallback("ssb", pb::DataSourceKind::StatisticsDataset as i32)
        .expect("the shipped file has the SSB fallback");
    assert_eq!(ssb.linked_by.get_ref(), "SSB");
    assert!(
        rules
            .linkage_fallback("ssb", pb::DataSourceKind::CentralHealthRegister as i32)
            .is_none()
    );
    assert!(
        rules
            .linkage_fallback("fhi", pb::DataSourceKind::StatisticsDataset as i32)
            .is_none()
    );
}

#[test]
fn unknown_linkage_source_kind_names_line_field_and_accepted_values() {
    let text = edited(
        "source_kind = \"statistics_dataset\"",
        "source_kind = \"statistics\"",
    );
    let err = NationalRules::from_str("rules.toml", &text).expect_err("unknown kind refused");
    assert_eq!(err.field, "linkage.fallback[0].source_kind");
    assert_eq!(err.line, line_of(&text, "source_kind = \"statistics\""));
    assert!(err.column > 1, "{err}");
    assert!(err.message.contains("statistics_dataset"), "{err}");
}

#[test]
fn empty_linkage_reason_and_bad_custodian_id_are_refused() {
    let text = edited("linked_by = \"SSB\"", "linked_by = \" \"");
    let err = NationalRules::from_str("rules.toml", &text).expect_err("empty linked_by refused");
    assert_eq!(err.field, "linkage.fallback[0].linked_by");
    assert_eq!(err.line, line_of(&text, "linked_by = \" \""));

    let text = edited("custodian = \"ssb\"", "custodian = \"SSB\"");
    let err = NationalRules::from_str("rules.toml", &text).expect_err("bad id refused");
    assert_eq!(err.field, "linkage.fallback[0].custodian");
}

#[test]
fn a_file_without_linkage_fallbacks_loads_and_has_none() {
    let start = real_text();
    let from = start
        .find("[[linkage.fallback]]")
        .expect("fallback present");
    let to = from + start[from..].find("\n\n").expect("table ends");
    let text = format!("{}{}", &start[..from], &start[to..]);
    let rules = NationalRules::from_str("rules.toml", &text).expect("loads without fallbacks");
    assert!(rules.linkage.fallbacks.is_empty());
}
