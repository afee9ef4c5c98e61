//! Variables are found the way researchers ask for them, in nb and en, across every bundled
//! custodian: the birth-weight variable by `fødselsvekt`, `birth weight` and `birthweight`;
//! ICD-10-coded diagnoses by `ICD-10 diagnosis`; municipality codes by `kommune` and
//! `municipality`.

use std::collections::BTreeSet;

use custodian_stub::catalogue::Catalogue;
use helsedata::proto as pb;

fn catalogues() -> Vec<Catalogue> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let loaded = helsedata::custodian_data::load::load_file(f).expect("data file");
            Catalogue::new(loaded.info, loaded.sources)
        })
        .collect()
}

/// Every hit of a query on every custodian, best first per custodian.
fn hits(catalogues: &[Catalogue], query: &str) -> Vec<pb::Variable> {
    catalogues
        .iter()
        .flat_map(|c| {
            c.search_variables(&pb::SearchVariablesRequest {
                query: query.into(),
                page_size: 1000,
                ..Default::default()
            })
            .expect("search")
            .hits
            .into_iter()
            .filter_map(|h| h.variable)
        })
        .collect()
}

/// Sources holding a variable for which `wanted` holds.
fn sources_with(
    catalogues: &[Catalogue],
    wanted: impl Fn(&pb::Variable) -> bool,
) -> BTreeSet<String> {
    catalogues
        .iter()
        .flat_map(|c| c.sources())
        .flat_map(|b| b.variables.iter())
        .filter(|v| wanted(v))
        .map(|v| v.data_source_id.clone())
        .collect()
}

fn label(v: &pb::Variable) -> String {
    v.label
        .as_ref()
        .map(|l| format!("{} {}", l.nb, l.en).to_lowercase())
        .unwrap_or_default()
}

#[test]
fn birth_weight_is_found_in_both_languages_and_as_one_word() {
    let catalogues = catalogues();
    for query in ["fødselsvekt", "fodselsvekt", "birth weight", "birthweight"] {
        let found = hits(&catalogues, query);
        let first_at_mfr = found.iter().find(|v| v.data_source_id == "mfr");
        assert_eq!(
            first_at_mfr.map(|v| v.name.as_str()),
            Some("fodselsvekt"),
            "{query}: {:?}",
            found.iter().map(|v| &v.id).collect::<Vec<_>>()
        );
    }
}

#[test]
fn icd10_diagnoses_are_found_at_every_source_that_codes_them() {
    let catalogues = catalogues();
    let expected = sources_with(&catalogues, |v| {
        v.code_system.to_lowercase().contains("icd-10") && label(v).contains("diagnos")
    });
    assert!(expected.len() >= 5, "{expected:?}");
    let found: BTreeSet<String> = hits(&catalogues, "ICD-10 diagnosis")
        .into_iter()
        .map(|v| v.data_source_id)
        .collect();
    let missing: Vec<_> = expected.difference(&found).collect();
    assert!(missing.is_empty(), "not found: {missing:?}");
}

#[test]
fn municipality_codes_are_found_by_kommune_and_municipality() {
    let catalogues = catalogues();
    let expected = sources_with(&catalogues, |v| {
        let l = label(v);
        l.contains("kommune") || l.contains("municipality")
    });
    assert!(expected.len() >= 5, "{expected:?}");
    for query in ["kommune", "municipality"] {
        let found: BTreeSet<String> = hits(&catalogues, query)
            .into_iter()
            .map(|v| v.data_source_id)
            .collect();
        let missing: Vec<_> = expected.difference(&found).collect();
        assert!(missing.is_empty(), "{query}: not found: {missing:?}");
    }
}
