use std::path::Path;

use helsedata::custodian_data::load::load_str;

use super::*;
use crate::export::dcat::build::NoConcepts;

/// A data file of `custodian` publishing `sources`.
fn file(custodian: &str, sources: &[&str]) -> LoadedCatalogue {
    let mut text = format!(
        "[custodian]\nid = \"{custodian}\"\nname_nb = \"Test\"\nname_en = \"Test\"\ncontact_email = \"post@{custodian}.example\"\nrevision = \"7\"\nlast_modified = 2026-11-01T00:00:00Z\n"
    );
    for id in sources {
        text.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nname_nb = \"Register {id}\"\nname_en = \"Register {id}\"\nkind = \"central_health_register\"\ndescription_nb = \"Et register.\"\ndescription_en = \"A register.\"\n[source.controller]\nname = \"Test\"\n[source.access]\nchannel = \"helsedata_form\"\n"
        ));
    }
    load_str(Path::new(&format!("{custodian}.toml")), &text).expect("test data file")
}

#[test]
fn only_configured_custodians_and_the_sources_they_own_are_merged_and_the_rest_is_named() {
    let config = GatewayConfig::from_toml(crate::config::DEFAULT_CONFIG).expect("config");
    let rules = NationalRules::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/national-rules.toml"
    ))
    .expect("rules");
    let catalogues = [
        file("fhi", &["mfr", "not-owned-by-fhi"]),
        file("unlisted", &["unlisted-register"]),
    ];
    let export = inputs(&catalogues, &config, &rules, &NoConcepts);

    let ids: Vec<&str> = export
        .datasets
        .iter()
        .map(|d| d.source.id.as_str())
        .collect();
    assert_eq!(ids, ["mfr"]);
    let mfr = &export.datasets[0];
    assert_eq!(mfr.provenance.custodian_id, "fhi");
    assert_eq!(mfr.provenance.catalogue_revision, "7");
    assert_eq!(mfr.provenance.freshness, pb::Freshness::Live as i32);
    assert_eq!(export.unconfigured, ["unlisted"]);
    assert_eq!(export.issues.len(), 1);
    assert_eq!(export.issues[0].record_id, "not-owned-by-fhi");
    assert_eq!(
        export.issues[0].kind,
        pb::merge_issue::Kind::NotOwned as i32
    );

    assert_eq!(export.header.custodians.len(), config.custodians.len());
    let fhi = export
        .header
        .custodians
        .iter()
        .find(|c| c.id == "fhi")
        .expect("fhi listed");
    assert_eq!(fhi.freshness, pb::Freshness::Live);
    assert_eq!(fhi.last_modified, catalogues[0].info.last_modified);
    let ssb = export
        .header
        .custodians
        .iter()
        .find(|c| c.id == "ssb")
        .expect("every configured custodian is listed");
    assert_eq!(ssb.freshness, pb::Freshness::None);

    let warnings = export.warnings();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("`unlisted`"), "{warnings:?}");
    assert!(
        warnings[1].starts_with(&format!(
            "{} configured custodians have no data file",
            config.custodians.len() - 1
        )),
        "{warnings:?}"
    );
    assert!(warnings[2].contains("not-owned-by-fhi"), "{warnings:?}");
}
