use super::*;

/// Ids and `prefix*` patterns, as in the gateway's configuration.
struct Ownership(Vec<String>);

impl Ownership {
    fn new(patterns: Vec<String>) -> Self {
        Self(patterns)
    }
}

impl OwnsIds for Ownership {
    fn owns(&self, id: &str) -> bool {
        self.0.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => id.starts_with(prefix),
            None => p == id,
        })
    }
}

fn source(id: &str) -> pb::DataSource {
    pb::DataSource {
        id: id.to_string(),
        ..Default::default()
    }
}

fn provenance(custodian: &str) -> pb::Provenance {
    pb::Provenance {
        custodian_id: custodian.to_string(),
        ..Default::default()
    }
}

#[test]
fn records_carry_provenance_and_come_out_ordered_by_id() {
    let fhi_owns = Ownership::new(vec!["mfr".into(), "msis".into()]);
    let ssb_owns = Ownership::new(vec!["ssb-*".into()]);
    let fhi = [source("msis"), source("mfr")];
    let ssb = [source("ssb-inntekt")];
    let (pf, ps) = (provenance("fhi"), provenance("ssb"));
    let merged = merge(&[
        Contribution {
            custodian_id: "ssb",
            ownership: &ssb_owns,
            sources: &ssb,
            provenance: &ps,
        },
        Contribution {
            custodian_id: "fhi",
            ownership: &fhi_owns,
            sources: &fhi,
            provenance: &pf,
        },
    ]);
    let ids: Vec<_> = merged
        .records
        .iter()
        .map(|r| r.source.id.as_str())
        .collect();
    assert_eq!(ids, ["mfr", "msis", "ssb-inntekt"]);
    assert_eq!(merged.records[2].provenance.custodian_id, "ssb");
    assert_eq!(merged.records[0].source.custodian_id, "fhi");
    assert!(merged.issues.is_empty());
}

#[test]
fn a_record_for_another_custodians_source_is_dropped_and_reported() {
    let fhi_owns = Ownership::new(vec!["mfr".into()]);
    let rogue_owns = Ownership::new(vec!["rogue-*".into()]);
    let fhi = [source("mfr")];
    let rogue = [source("mfr"), source("rogue-1")];
    let (pf, pr) = (provenance("fhi"), provenance("rogue"));
    let merged = merge(&[
        Contribution {
            custodian_id: "rogue",
            ownership: &rogue_owns,
            sources: &rogue,
            provenance: &pr,
        },
        Contribution {
            custodian_id: "fhi",
            ownership: &fhi_owns,
            sources: &fhi,
            provenance: &pf,
        },
    ]);
    assert_eq!(merged.records.len(), 2);
    assert_eq!(merged.records[0].provenance.custodian_id, "fhi");
    assert_eq!(merged.issues.len(), 1);
    let issue = &merged.issues[0];
    assert_eq!(issue.kind, pb::merge_issue::Kind::NotOwned as i32);
    assert_eq!(
        (
            issue.custodian_id.as_str(),
            issue.other_custodian_id.as_str()
        ),
        ("rogue", "fhi")
    );
}

#[test]
fn overlapping_ownership_keeps_the_first_custodian_by_id_and_reports_a_duplicate() {
    let all = Ownership::new(vec!["*".into()]);
    let a = [source("x")];
    let b = [source("x")];
    let (pa, pb_) = (provenance("a"), provenance("b"));
    let forward = merge(&[
        Contribution {
            custodian_id: "b",
            ownership: &all,
            sources: &b,
            provenance: &pb_,
        },
        Contribution {
            custodian_id: "a",
            ownership: &all,
            sources: &a,
            provenance: &pa,
        },
    ]);
    let backward = merge(&[
        Contribution {
            custodian_id: "a",
            ownership: &all,
            sources: &a,
            provenance: &pa,
        },
        Contribution {
            custodian_id: "b",
            ownership: &all,
            sources: &b,
            provenance: &pb_,
        },
    ]);
    assert_eq!(forward, backward);
    assert_eq!(forward.records[0].provenance.custodian_id, "a");
    assert_eq!(
        forward.issues[0].kind,
        pb::merge_issue::Kind::DuplicateId as i32
    );
}
