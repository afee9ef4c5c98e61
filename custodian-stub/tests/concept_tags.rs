//! Every bundled data source is tagged with at least one concept, and every tag names a
//! concept of the gateway's vocabulary (`gateway/config/health-concepts.toml`).

use helsedata::concepts::Vocabulary;

#[test]
fn every_bundled_source_carries_known_concepts() {
    let vocabulary = Vocabulary::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../gateway/config/health-concepts.toml"
    ))
    .expect("vocabulary");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut sources = 0;
    for file in &files {
        let loaded = helsedata::custodian_data::load::load_file(file).expect("data file");
        for bundle in &loaded.sources {
            let source = &bundle.source;
            sources += 1;
            assert!(
                !source.concepts.is_empty(),
                "{}: source `{}` has no concepts",
                file.display(),
                source.id
            );
            for concept in &source.concepts {
                assert!(
                    vocabulary.get(concept).is_some(),
                    "{}: source `{}` is tagged with `{concept}`, which the vocabulary does not define",
                    file.display(),
                    source.id
                );
            }
        }
    }
    assert_eq!(sources, 104, "bundled sources");
}
