use super::*;

const HEADER: &str = r#"[custodian]
id = "test"
name_nb = "Test"
name_en = "Test"
revision = "1"
last_modified = 2026-11-01T00:00:00Z
"#;

fn source(id: &str, extra: &str) -> String {
    format!(
        r#"
[[source]]
id = "{id}"
name_nb = "Register {id}"
name_en = "Register {id}"
kind = "central_health_register"
description_nb = "Et register."
description_en = "A register."
{extra}
[source.controller]
name = "Test"
[source.access]
channel = "helsedata_form"
"#
    )
}

fn load(text: &str) -> Result<LoadedCatalogue, LoadError> {
    load_str(Path::new("data/test.toml"), text)
}

#[test]
fn a_valid_file_loads() {
    let text = format!(
        "{HEADER}{}{}",
        source("a", ""),
        source("b", "parent = \"a\"")
    );
    let loaded = load(&text).unwrap();
    assert_eq!(loaded.sources.len(), 2);
    assert_eq!(loaded.info.data_source_count, 2);
    assert_eq!(loaded.info.last_modified.unwrap().seconds, 1_793_491_200);
}

#[test]
fn open_statistics_addresses_are_kept_and_checked() {
    let ok = format!(
        "{HEADER}{}",
        source(
            "a",
            "open_statistics = \"tables\"\nopen_statistics_url = \"https://stats.example/a\""
        )
    );
    let loaded = load(&ok).unwrap();
    assert_eq!(
        loaded.sources[0].source.open_statistics_url,
        "https://stats.example/a"
    );
    let not_web = format!(
        "{HEADER}{}",
        source(
            "a",
            "open_statistics = \"tables\"\nopen_statistics_url = \"stats.example\""
        )
    );
    let err = load(&not_web).unwrap_err().to_string();
    assert!(
        err.contains("source[a].open_statistics_url") && err.contains("https://"),
        "{err}"
    );
    let without_text = format!(
        "{HEADER}{}",
        source("a", "open_statistics_url = \"https://stats.example\"")
    );
    let err = load(&without_text).unwrap_err().to_string();
    assert!(err.contains("`open_statistics` text"), "{err}");
}

#[test]
fn duplicate_ids_are_refused_at_the_second_id() {
    let text = format!("{HEADER}{}{}", source("a", ""), source("a", ""));
    let err = load(&text).unwrap_err();
    assert_eq!(err.field, "source[a].id");
    let last = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "id = \"a\"")
        .map(|(i, _)| i)
        .last()
        .unwrap();
    assert_eq!(err.line, last + 1);
    assert!(err.message.contains("duplicate"));
    assert!(err.to_string().starts_with("data/test.toml:"));
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let text = format!("{HEADER}{}", source("a", "colour = \"red\""));
    let err = load(&text).unwrap_err();
    assert_eq!(err.field, "colour");
    let line = text.lines().position(|l| l.starts_with("colour")).unwrap() + 1;
    assert_eq!(err.line, line);
}

#[test]
fn malformed_or_repeated_concept_ids_are_refused() {
    let text = format!(
        "{HEADER}{}",
        source("a", "concepts = [\"cancer\", \"Lymfom\"]")
    );
    let err = load(&text).unwrap_err();
    assert_eq!(err.field, "source[a].concepts");
    assert!(err.message.contains("`Lymfom`"), "{err}");
    let text = format!(
        "{HEADER}{}",
        source("a", "concepts = [\"cancer\", \"cancer\"]")
    );
    let err = load(&text).unwrap_err();
    assert!(err.message.contains("twice"), "{err}");
    let text = format!("{HEADER}{}", source("a", "concepts = [\"cancer\"]"));
    assert_eq!(load(&text).unwrap().sources[0].source.concepts, ["cancer"]);
}

#[test]
fn dangling_parents_are_refused() {
    let text = format!("{HEADER}{}", source("a", "parent = \"nowhere\""));
    let err = load(&text).unwrap_err();
    assert_eq!(err.field, "source[a].parent");
    assert!(err.message.contains("nowhere"));
    let line = text.lines().position(|l| l.starts_with("parent")).unwrap() + 1;
    assert_eq!(err.line, line);
}

#[test]
fn parents_held_by_another_custodian_are_allowed_when_declared() {
    let text = format!(
        "{HEADER}{}",
        source("a", "parent = \"hkr\"\nparent_custodian = \"fhi\"")
    );
    assert!(load(&text).is_ok());
}

#[test]
fn impossible_years_are_refused() {
    let backwards = format!(
        "{HEADER}{}",
        source("a", "data_from_year = 2010\ndata_to_year = 2001")
    );
    let err = load(&backwards).unwrap_err();
    assert_eq!(err.field, "source[a].data_to_year");
    let future = format!("{HEADER}{}", source("a", "data_from_year = 3024"));
    let err = load(&future).unwrap_err();
    assert_eq!(err.field, "source[a].data_from_year");
    assert!(err.message.contains("3024"));
}

fn deadline(level: &str) -> String {
    format!("[[source.access.deadline]]\napplies_to = \"some data\"\ntext = \"30 days\"\n{level}\n")
}

#[test]
fn deadline_data_levels_are_converted_and_absent_means_every_level() {
    let text = format!(
        "{HEADER}{}{}{}",
        source("a", ""),
        deadline("data_level = \"deidentified_individual\""),
        deadline("")
    );
    let loaded = load(&text).expect("loads");
    let levels: Vec<i32> = loaded.sources[0]
        .access
        .deadlines
        .iter()
        .map(|d| d.data_level)
        .collect();
    assert_eq!(
        levels,
        vec![
            pb::DataLevel::DeidentifiedIndividual as i32,
            pb::DataLevel::Unspecified as i32
        ]
    );
}

#[test]
fn two_deadlines_for_one_data_level_are_refused_at_the_second() {
    let text = format!(
        "{HEADER}{}{}{}",
        source("a", ""),
        deadline("data_level = \"anonymous_aggregated\""),
        deadline("data_level = \"anonymous_aggregated\"")
    );
    let err = load(&text).unwrap_err();
    assert_eq!(err.field, "source[a].access.deadline.data_level");
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("data_level"))
        .nth(1)
        .map(|(i, _)| i + 1);
    assert_eq!(Some(err.line), second);
    assert!(err.message.contains("one deadline per level"), "{err}");
}

#[test]
fn unknown_deadline_data_levels_are_refused_with_the_accepted_values() {
    let text = format!(
        "{HEADER}{}{}",
        source("a", ""),
        deadline("data_level = \"anonymous\"")
    );
    let err = load(&text).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.starts_with("data_level"))
        .map(|i| i + 1);
    assert_eq!(Some(err.line), line, "{err}");
    assert!(err.message.contains("anonymous_aggregated"), "{err}");
}

#[test]
fn missing_required_fields_are_refused_by_name() {
    let text = format!("{HEADER}{}", source("a", "")).replace("name_en = \"Register a\"\n", "");
    let err = load(&text).unwrap_err();
    assert_eq!(err.field, "name_en");
    assert!(err.message.contains("required"));
    let empty = format!("{HEADER}{}", source("a", "")).replace(
        "description_nb = \"Et register.\"",
        "description_nb = \"  \"",
    );
    let err = load(&empty).unwrap_err();
    assert_eq!(err.field, "source[a].description_nb");
}

#[test]
fn duplicate_variable_names_are_refused() {
    let var = "[[source.variable]]\nname = \"sex\"\nlabel_nb = \"Kjønn\"\nlabel_en = \"Sex\"\nvalue_type = \"code\"\nidentifiability = \"none\"\ndocumented = true\n";
    let text = format!("{HEADER}{}{var}{var}", source("a", ""));
    let err = load(&text).unwrap_err();
    assert_eq!(err.field, "source[a].variable[sex].name");
}

#[test]
fn bokmal_texts_are_read_beside_the_english_ones() {
    let extra = r#"consent_note = "Opt-out applies."
consent_note_nb = "Reservasjonsrett gjelder."
topics = ["childhood cancer", "lymphoma"]
topics_nb = ["kreft hos barn", "lymfom"]
open_statistics = "Annual tables."
"#;
    let access = r#"note = "Apply early."
note_nb = "Søk tidlig."
requirements = ["REK approval is needed."]
requirements_nb = ["Godkjenning fra REK trengs."]
notes = ["Data are delivered encrypted."]
notes_nb = ["Dataene utleveres kryptert."]
[[source.access.price]]
invoiced_by = "Test"
text = "per hour of work"
text_nb = "per arbeidstime"
[[source.access.deadline]]
applies_to = "all applications"
applies_to_nb = "alle søknader"
text = "60 days"
text_nb = "60 dager"
[source.access.linkage]
notes = ["Linked by SSB."]
notes_nb = ["SSB kobler."]
"#;
    let text = format!("{HEADER}{}{access}", source("a", extra))
        .replace("[source.controller]\nname = \"Test\"", "[source.controller]\nname = \"Test\"\nnote = \"Named in law.\"\nnote_nb = \"Navngitt i lov.\"");
    let loaded = load(&text).expect("loads");
    let (s, a) = (&loaded.sources[0].source, &loaded.sources[0].access);
    let both = |nb: &str, en: &str| pb::LocalizedText {
        nb: nb.into(),
        en: en.into(),
    };
    assert_eq!(
        s.localized_consent_note,
        Some(both("Reservasjonsrett gjelder.", "Opt-out applies."))
    );
    assert_eq!(
        s.localized_topics,
        [
            both("kreft hos barn", "childhood cancer"),
            both("lymfom", "lymphoma")
        ]
    );
    assert_eq!(s.topics, ["childhood cancer", "lymphoma"]);
    // A text without a bokmål version has no twin: the English is the only wording.
    assert_eq!(s.localized_open_statistics, None);
    assert!(s.localized_discrepancies.is_empty());
    assert_eq!(
        s.controller.as_ref().and_then(|c| c.localized_note.clone()),
        Some(both("Navngitt i lov.", "Named in law."))
    );
    let route = a.route.as_ref().expect("route");
    assert_eq!(
        route.localized_note,
        Some(both("Søk tidlig.", "Apply early."))
    );
    assert_eq!(
        a.localized_requirements,
        [both(
            "Godkjenning fra REK trengs.",
            "REK approval is needed."
        )]
    );
    assert_eq!(
        a.localized_notes,
        [both(
            "Dataene utleveres kryptert.",
            "Data are delivered encrypted."
        )]
    );
    assert_eq!(
        a.prices[0].localized_text,
        Some(both("per arbeidstime", "per hour of work"))
    );
    assert_eq!(
        a.deadlines[0].localized_applies_to,
        Some(both("alle søknader", "all applications"))
    );
    assert_eq!(
        a.deadlines[0].localized_text,
        Some(both("60 dager", "60 days"))
    );
    let linkage = a.linkage.as_ref().expect("linkage");
    assert_eq!(
        linkage.localized_notes,
        [both("SSB kobler.", "Linked by SSB.")]
    );
}

#[test]
fn a_bokmal_list_of_another_length_is_refused_at_its_line_naming_both_keys() {
    let access = "requirements = [\"REK approval.\", \"A data protection impact assessment.\"]\nrequirements_nb = [\"Godkjenning fra REK.\"]\n";
    let text = format!("{HEADER}{}{access}", source("a", ""));
    let err = load(&text).unwrap_err();
    assert_eq!(err.field, "source[a].access.requirements_nb");
    let line = text
        .lines()
        .position(|l| l.starts_with("requirements_nb"))
        .map(|i| i + 1);
    assert_eq!(Some(err.line), line, "{err}");
    assert_eq!(err.column, "requirements_nb = ".len() + 1, "{err}");
    assert!(
        err.message.contains("`requirements_nb` has 1 entry")
            && err.message.contains("`requirements` has 2 entries"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("data/test.toml:{}:", err.line)),
        "{err}"
    );
    let topics = format!("{HEADER}{}", source("a", "topics_nb = [\"lymfom\"]"));
    let err = load(&topics).unwrap_err();
    assert_eq!(err.field, "source[a].topics_nb");
    assert!(err.message.contains("`topics` has 0 entries"), "{err}");
}

#[test]
fn syntax_errors_name_the_line() {
    let text = format!("{HEADER}[[source]\nid = 1\n");
    let err = load(&text).unwrap_err();
    assert_eq!(err.line, HEADER.lines().count() + 1);
}
