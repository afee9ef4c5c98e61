use super::*;

const BUNDLED: &str = include_str!("../../gateway/config/health-concepts.toml");

fn parse(text: &str) -> Result<Vocabulary, VocabularyError> {
    Vocabulary::from_toml("test-concepts.toml", text)
}

const SMALL: &str = r#"
[[concept]]
id = "cancer"
pref_nb = "kreft"
pref_en = "cancer"
lay_en = ["tumour"]
clinical_en = ["neoplasm"]
health_themes = ["CANCER_DISEASE"]
icd10_chapters = ["II"]

[[concept]]
id = "blood-cancer"
pref_nb = "blodkreft"
pref_en = "blood cancer"
broader = ["cancer"]

[[concept]]
id = "lymphoma"
pref_nb = "lymfom"
pref_en = "lymphoma"
broader = ["blood-cancer"]
health_categories = ["PHDR"]
"#;

#[test]
fn the_bundled_vocabulary_is_valid_and_maps_to_known_codes() {
    let vocabulary = parse(BUNDLED).expect("bundled vocabulary");
    assert!(vocabulary.len() > 100, "{} concepts", vocabulary.len());
    let cancer = vocabulary.get("cancer").expect("cancer");
    assert_eq!(cancer.health_themes, ["CANCER_DISEASE"]);
    assert_eq!(cancer.icd10_chapters, ["II"]);
    let lymphoma: Vec<&str> = vocabulary
        .with_broader("lymphoma")
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert!(lymphoma.contains(&"cancer"), "{lymphoma:?}");
    for concept in vocabulary.concepts() {
        assert!(
            concept.nb.alternatives().next().is_some()
                && concept.en.alternatives().next().is_some(),
            "{} has alternative labels in nb and en",
            concept.id
        );
    }
}

#[test]
fn narrower_links_are_derived_from_broader_and_walks_are_transitive() {
    let v = parse(SMALL).unwrap();
    assert_eq!(v.get("cancer").unwrap().narrower, ["blood-cancer"]);
    let up: Vec<&str> = v
        .with_broader("lymphoma")
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(up, ["lymphoma", "blood-cancer", "cancer"]);
    let down: Vec<&str> = v
        .with_narrower("cancer")
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(down, ["cancer", "blood-cancer", "lymphoma"]);
    assert!(v.with_broader("no-such").is_empty());
    let labels: Vec<&str> = v.get("cancer").unwrap().all_labels().collect();
    assert_eq!(labels, ["kreft", "cancer", "tumour", "neoplasm"]);
}

fn error_of(text: &str) -> VocabularyError {
    parse(text).expect_err("must be refused")
}

#[test]
fn an_unknown_broader_id_is_named_with_its_line_and_column() {
    let text = SMALL.replace(
        r#"broader = ["blood-cancer"]"#,
        r#"broader = ["blod-cancer"]"#,
    );
    let err = error_of(&text);
    assert_eq!(err.field, "concept[lymphoma].broader");
    let line = text
        .lines()
        .position(|l| l.contains("blod-cancer"))
        .unwrap()
        + 1;
    assert_eq!((err.line, err.column), (line, 12));
    assert!(err.message.contains("`blod-cancer`"), "{err}");
    assert!(err.to_string().starts_with("test-concepts.toml:"), "{err}");
}

#[test]
fn a_cycle_of_broader_links_is_refused() {
    let text = SMALL.replace(
        "id = \"cancer\"\n",
        "id = \"cancer\"\nbroader = [\"lymphoma\"]\n",
    );
    let err = error_of(&text);
    assert!(err.message.contains("cycle"), "{err}");
    assert!(err.field.ends_with(".broader"), "{err}");
}

#[test]
fn unknown_codes_and_fields_are_refused_with_the_known_ones() {
    let err = error_of(&SMALL.replace("CANCER_DISEASE", "CANCER"));
    assert_eq!(err.field, "concept[cancer].health_themes");
    assert!(err.message.contains("CANCER_DISEASE"), "{err}");
    let err = error_of(&SMALL.replace("\"PHDR\"", "\"PHD\""));
    assert_eq!(err.field, "concept[lymphoma].health_categories");
    let err = error_of(&SMALL.replace("[\"II\"]", "[\"C00\"]"));
    assert_eq!(err.field, "concept[cancer].icd10_chapters");
    let err = error_of(&SMALL.replace("lay_en", "lay_english"));
    assert_eq!(err.field, "lay_english");
    assert!(err.line > 0);
}

#[test]
fn duplicate_ids_labels_and_missing_labels_are_refused() {
    let err = error_of(&SMALL.replace("id = \"blood-cancer\"", "id = \"cancer\""));
    assert!(err.message.contains("duplicate concept id"), "{err}");
    let err = error_of(&SMALL.replace("[\"tumour\"]", "[\"Cancer\"]"));
    assert_eq!(err.field, "concept[cancer].lay_en");
    let err = error_of(&SMALL.replace("pref_en = \"lymphoma\"\n", ""));
    assert_eq!(err.field, "pref_en");
    let err = error_of(&SMALL.replace("\"tumour\"", "\" tumour\""));
    assert!(err.message.contains("spaces"), "{err}");
    let err = error_of("");
    assert_eq!(err.field, "concept");
}

#[test]
fn a_missing_file_is_named() {
    let err = Vocabulary::load("/nonexistent/concepts.toml").expect_err("missing");
    assert!(
        err.to_string().contains("/nonexistent/concepts.toml"),
        "{err}"
    );
}
