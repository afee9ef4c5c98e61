use super::{
    analysis::{Analysis, Analyzer},
    *,
};

fn source(id: &str, name_nb: &str, name_en: &str, concepts: &[&str]) -> pb::DataSource {
    pb::DataSource {
        id: id.into(),
        name: Some(pb::LocalizedText {
            nb: name_nb.into(),
            en: name_en.into(),
        }),
        concepts: concepts.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    }
}

fn vocabulary() -> Vocabulary {
    Vocabulary::from_toml(
        "health-concepts.toml",
        include_str!("../../gateway/config/health-concepts.toml"),
    )
    .expect("vocabulary")
}

fn sources() -> Vec<pb::DataSource> {
    vec![
        source(
            "mfr",
            "Medisinsk fødselsregister",
            "Medical Birth Registry",
            &["pregnancy-and-birth"],
        ),
        source(
            "krg-tykk-endetarm",
            "Nasjonalt kvalitetsregister for tykk- og endetarmskreft",
            "National Quality Registry for Colorectal Cancer",
            &["colorectal-cancer"],
        ),
        source(
            "hjertestans",
            "Norsk hjertestansregister",
            "Norwegian Cardiac Arrest Registry",
            &["cardiac-arrest"],
        ),
        source(
            "krg-lymfoide",
            "Nasjonalt kvalitetsregister for lymfoide maligniteter",
            "National Quality Registry for Lymphoid Malignancies",
            &["lymphoma"],
        ),
        source(
            "kreftregisteret",
            "Kreftregisteret",
            "Cancer Registry of Norway",
            &["cancer"],
        ),
        source("ssb-inntekt", "Inntekt", "Income and wealth", &["income"]),
    ]
}

fn find(query: &str) -> Vec<String> {
    let sources = sources();
    let index = source_index(&sources, &vocabulary());
    let mut hits = index.search(&terms(query));
    hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    hits.into_iter()
        .map(|(n, _)| sources[n as usize].id.clone())
        .collect()
}

#[test]
fn folding_keeps_and_folds_norwegian_letters() {
    let a = Analyzer::new();
    let terms = a.word(Analysis::Code, "fødsel");
    assert_eq!(terms.whole, ["fodsel", "fødsel", "foedsel"]);
    assert_eq!(find("fodselsregister"), ["mfr"]);
    assert_eq!(find("FØDSELSREGISTERET"), ["mfr"]);
    assert_eq!(find("foedselsregister"), ["mfr"]);
}

#[test]
fn compounds_split_with_linking_letters() {
    let a = Analyzer::new();
    assert_eq!(
        a.word(Analysis::Nb, "endetarmskreft").parts,
        ["endetarm", "end", "tarm", "kreft"]
    );
    assert_eq!(
        a.word(Analysis::Nb, "fødselsregisteret").parts,
        ["fodsel", "regist"]
    );
    assert_eq!(a.word(Analysis::Nb, "barnekreft").parts, ["barn", "kreft"]);
    assert_eq!(
        a.word(Analysis::En, "birthweight").parts,
        ["birth", "weight"]
    );
    assert!(a.word(Analysis::Nb, "register").parts.is_empty());
    assert_eq!(
        a.word(Analysis::Nb, "bosettingskommune").parts,
        ["kommun"],
        "the head alone"
    );
    assert!(find("tarmkreft").contains(&"krg-tykk-endetarm".to_string()));
    assert!(find("hjerte").contains(&"hjertestans".to_string()));
}

#[test]
fn a_concept_finds_sources_tagged_with_narrower_concepts_in_both_languages() {
    for query in ["kreft", "cancer", "tumour", "neoplasm"] {
        let hits = find(query);
        assert!(
            hits.contains(&"krg-lymfoide".to_string()),
            "{query}: {hits:?}"
        );
        assert!(
            hits.contains(&"krg-tykk-endetarm".to_string()),
            "{query}: {hits:?}"
        );
    }
    assert_eq!(find("lymfom"), ["krg-lymfoide"]);
    assert_eq!(find("heart"), ["hjertestans"]);
    assert_eq!(
        find("kreft")[0],
        "kreftregisteret",
        "the name outranks a concept"
    );
}

#[test]
fn typos_are_tolerated_by_word_length() {
    assert_eq!(index::typo_distance(4), 0);
    assert_eq!(index::typo_distance(5), 1);
    assert_eq!(index::typo_distance(9), 2);
    assert_eq!(find("fodselregister"), ["mfr"]);
    assert_eq!(find("kreftregistret")[0], "kreftregisteret");
    assert!(find("inntkt").contains(&"ssb-inntekt".to_string()));
}

#[test]
fn a_word_the_index_holds_is_taken_as_written() {
    // `lymfom` is indexed (a concept label), so it is not also looked up as a typo: its
    // edit-distance neighbours would be other words.
    let sources = sources();
    let index = source_index(&sources, &vocabulary());
    let a = Analyzer::new();
    let lymfom = a.word(Analysis::Nb, "lymfom");
    assert!(!lymfom.whole.is_empty());
    assert_eq!(find("lymfom"), ["krg-lymfoide"]);
    // A misspelling of it still finds the register: the index does not hold `lymfon`.
    assert_eq!(find("lymfon"), ["krg-lymfoide"]);
    assert!(index.search(&terms("lymfon")).len() == 1);
}

#[test]
fn an_inflection_that_doubles_the_last_consonant_meets_the_base_form() {
    let a = Analyzer::new();
    assert_eq!(
        a.word(Analysis::Nb, "sykdommer").whole,
        a.word(Analysis::Nb, "sykdom").whole
    );
    assert_eq!(
        a.word(Analysis::Nb, "karsykdommer").parts,
        a.word(Analysis::Nb, "karsykdom").parts
    );
}

#[test]
fn every_word_must_match_unless_none_match_all() {
    assert_eq!(find("kreft lymfom"), ["krg-lymfoide"]);
    assert_eq!(
        find("lymfom xyzzy"),
        ["krg-lymfoide"],
        "falls back to any word"
    );
    assert!(find("xyzzy").is_empty());
    let index = source_index(&sources(), &vocabulary());
    assert_eq!(index.search(&[]).len(), 6, "no words: every record");
    assert_eq!(
        find("of the and"),
        find(""),
        "stop words alone are no query"
    );
}

#[test]
fn variables_are_found_by_label_name_and_code_system() {
    let variables = vec![
        pb::Variable {
            id: "mfr/fodselsvekt".into(),
            name: "fodselsvekt".into(),
            label: Some(pb::LocalizedText {
                nb: "Fødselsvekt".into(),
                en: "Birth weight".into(),
            }),
            unit: "g".into(),
            ..Default::default()
        },
        pb::Variable {
            id: "npr/hoveddiagnose".into(),
            name: "hoveddiagnose".into(),
            label: Some(pb::LocalizedText {
                nb: "Hoveddiagnose".into(),
                en: "Main diagnosis".into(),
            }),
            code_system: "ICD-10".into(),
            ..Default::default()
        },
    ];
    let index = variable_index(&variables);
    let ids = |q: &str| -> Vec<u32> { index.search(&terms(q)).into_iter().map(|h| h.0).collect() };
    assert_eq!(ids("fødselsvekt"), [0]);
    assert_eq!(ids("birth weight"), [0]);
    assert_eq!(ids("birthweight"), [0]);
    assert_eq!(ids("ICD-10 diagnosis"), [1]);
}

#[test]
fn query_terms_are_lowercased_and_deduplicated() {
    assert_eq!(terms("  MFR, mfr fødsel "), ["mfr", "fødsel"]);
    assert!(terms(" ,; ").is_empty());
}

#[test]
fn a_bokmal_topic_is_found_and_filters_like_the_english_one() {
    let mut survey = source("undersokelse", "Undersøkelsen", "The survey", &[]);
    survey.topics = vec!["sleep habits".into()];
    survey.localized_topics = vec![pb::LocalizedText {
        nb: "søvnvaner".into(),
        en: "sleep habits".into(),
    }];
    let sources = vec![survey.clone(), source("annen", "Annen", "Other", &[])];
    let index = source_index(&sources, &vocabulary());
    for query in ["søvnvaner", "sleep habits"] {
        let hits = index.search(&terms(query));
        assert_eq!(
            hits.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![0],
            "{query}"
        );
    }
    assert!(has_topic(&survey, "Søvnvaner"));
    assert!(has_topic(&survey, "sleep"));
    assert!(!has_topic(&survey, "kosthold"));
}

#[test]
fn records_matching_every_word_score_the_same_sought_one_by_one_or_walked() {
    // Compound parts, a typo and plain words, over enough variables that some queries
    // match many records and others a few.
    let labels = [
        "fødselsvekt ved termin",
        "vekt ved fødsel",
        "hjertestans utenfor sykehus",
        "hjerte og kar",
        "diagnose ICD-10 hoveddiagnose",
        "kommune bosted",
    ];
    let variables: Vec<pb::Variable> = (0..600)
        .map(|i| pb::Variable {
            id: format!("v{i:04}"),
            name: format!("var{i}"),
            label: Some(pb::LocalizedText {
                nb: format!(
                    "{} {}",
                    labels[i % labels.len()],
                    labels[(i / 7) % labels.len()]
                ),
                en: String::new(),
            }),
            ..Default::default()
        })
        .collect();
    let index = variable_index(&variables);
    for query in [
        "vekt fødsel",
        "hjerte sykehus",
        "fodselsvekt termin",
        "hjertestans kommune",
        "diagnose kommune bosted",
        "hjerte kar",
    ] {
        let words = terms(query);
        let walked = index.search_scoring(&words, 0);
        let sought = index.search_scoring(&words, usize::MAX);
        assert!(!walked.is_empty(), "{query}: no hits");
        assert_eq!(walked, sought, "{query}");
    }
}

#[test]
fn a_query_has_words_exactly_when_its_terms_do() {
    for query in [
        "",
        "   ",
        "og",
        "og the",
        "kreft",
        "og kreft",
        "ICD-10",
        "🙂 !!",
        "Fødselsvekt",
        "the of and",
        "MFR",
    ] {
        assert_eq!(
            query_has_words(query),
            has_words(&terms(query)),
            "{query:?}"
        );
    }
}
