use super::*;

#[test]
fn custodian_requirements_and_purpose_provision_become_prerequisites_merged_across_sources() {
    let mut a = npr_like("npr-rsit", "npr");
    let mut b = npr_like("npr-somatikk", "npr");
    for s in [&mut a, &mut b] {
        s.rules.requirements = vec!["Only data needed for the project are released.".into()];
        s.source.legal_basis = Some(pb::LegalBasis {
            purpose_provision: "Norsk pasientregisterforskrift § 1-2".into(),
            ..Default::default()
        });
    }
    let plan = plan(
        &research_new(pb::DataLevel::DeidentifiedIndividual, vec![a, b]),
        &rules(),
    );
    let app = only_application(&plan);
    let both = vec!["npr-rsit", "npr-somatikk"];
    assert_eq!(
        prerequisite(app, "custodian-requirement").data_source_ids,
        both
    );
    assert_eq!(prerequisite(app, "purpose-match").data_source_ids, both);
    assert_eq!(
        app.prerequisites
            .iter()
            .filter(|p| p.code == "purpose-match")
            .count(),
        1
    );
    let price = app
        .invoices
        .iter()
        .find(|i| i.price.is_some())
        .expect("NPR price");
    assert_eq!(price.data_source_ids, both, "identical prices are merged");
    let published: Vec<&pb::Deadline> = app
        .deadlines
        .iter()
        .filter(|d| !d.applies_to.starts_with("statutory"))
        .collect();
    assert_eq!(published.len(), 1);
    assert!(
        published[0].text.contains("npr-rsit, npr-somatikk"),
        "{:?}",
        published[0]
    );
}
