use super::*;

#[test]
fn cancer_quality_register_and_ssb_dataset_make_two_applications_linked_by_ssb() {
    let mut req = research_new(
        pb::DataLevel::DeidentifiedIndividual,
        vec![krg_brystkreft(), ssb_inntekt()],
    );
    req.linkage_wanted = true;
    let plan = plan(&req, &rules());
    assert_eq!(plan.applications.len(), 2);
    let krg = &plan.applications[0];
    assert_eq!(krg.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert_eq!(krg.decided_by, "Helsedataservice");
    assert_eq!(krg.data_source_ids, vec!["krg-brystkreft"]);
    assert_eq!(krg.deliveries[0].delivered_by, "Kreftregisteret");
    let ssb = &plan.applications[1];
    assert_eq!(ssb.channel, pb::ApplicationChannel::Unknown as i32);
    assert_eq!(ssb.decided_by, "Statistisk sentralbyrå (SSB)");
    assert_eq!(ssb.address, "ask Statistisk sentralbyrå (SSB)");
    assert!(
        traces(&plan, "national.common-form", "ssb-inntekt").is_empty(),
        "SSB is not covered by the common form"
    );

    let linkage = plan.linkage.as_ref().expect("linkage plan");
    assert!(linkage.requested && linkage.possible);
    assert_eq!(linkage.linked_by, "SSB");
    assert!(linkage.blockers.is_empty());
    assert!(
        linkage.notes.iter().any(|n| n.starts_with("ssb-inntekt:")),
        "unknown policy: ask"
    );
    assert_eq!(traces(&plan, "custodian.linkage", "ssb-inntekt").len(), 2);
}

#[test]
fn deidentified_register_blocks_linkage() {
    let mut req = research_new(
        pb::DataLevel::DeidentifiedIndividual,
        vec![nois_like(), npr_like("npr", "")],
    );
    req.linkage_wanted = true;
    let plan = plan(&req, &rules());
    let linkage = plan.linkage.as_ref().expect("linkage plan");
    assert!(linkage.requested);
    assert!(!linkage.possible);
    assert_eq!(linkage.blockers.len(), 1);
    assert_eq!(linkage.blockers[0].data_source_id, "nois");
    assert_eq!(
        linkage.blockers[0].policy,
        pb::LinkagePolicy::NotPossible as i32
    );
    assert!(
        linkage
            .notes
            .iter()
            .any(|n| n.contains("trusted third party")),
        "{:?}",
        linkage.notes
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("Linkage as asked is not possible"))
    );
    assert_eq!(
        application_for(&plan, "nois").decided_by,
        "Folkehelseinstituttet (FHI)"
    );
}

#[test]
fn own_pseudonym_model_restricts_linkage_and_names_the_linker() {
    let mut resept = source(
        "reseptregisteret",
        "fhi",
        "Folkehelseinstituttet (FHI)",
        route(pb::ApplicationChannel::HelsedataForm, "", ""),
    );
    resept.rules.linkage = linkage(pb::LinkagePolicy::OwnPseudonymModelOnly, "SSB");
    let mut iplos = source(
        "iplos",
        "helsedirektoratet",
        "Helsedirektoratet",
        route(
            pb::ApplicationChannel::HelsedataForm,
            "Helsedirektoratet",
            "",
        ),
    );
    iplos.rules.linkage = linkage(pb::LinkagePolicy::AnonymousOutputOnly, "");
    let mut req = research_new(pb::DataLevel::DeidentifiedIndividual, vec![resept, iplos]);
    req.linkage_wanted = true;
    let linkage = plan(&req, &rules()).linkage.expect("linkage plan");
    assert!(linkage.possible, "restrictions do not block");
    assert_eq!(linkage.linked_by, "SSB");
    let policies: Vec<i32> = linkage.blockers.iter().map(|b| b.policy).collect();
    assert_eq!(
        policies,
        vec![
            pb::LinkagePolicy::AnonymousOutputOnly as i32,
            pb::LinkagePolicy::OwnPseudonymModelOnly as i32
        ]
    );
    assert!(
        linkage
            .notes
            .iter()
            .any(|n| n.starts_with("iplos:") && n.contains("anonymous form")),
        "{:?}",
        linkage.notes
    );
}

#[test]
fn single_source_linkage_is_with_the_applicants_own_data() {
    let mut req = research_new(pb::DataLevel::IdentifiableIndividual, vec![cprn_like()]);
    req.linkage_wanted = true;
    let linkage = plan(&req, &rules()).linkage.expect("linkage plan");
    assert!(linkage.possible);
    assert!(
        linkage.notes.iter().any(|n| n.contains("already holds")),
        "{:?}",
        linkage.notes
    );
}

#[test]
fn linkage_not_requested_is_reported_as_such() {
    let linkage = plan(
        &research_new(pb::DataLevel::DeidentifiedIndividual, vec![nois_like()]),
        &rules(),
    )
    .linkage
    .expect("linkage plan");
    assert!(!linkage.requested);
    assert!(linkage.blockers.is_empty());
}

// ---- f. and n.: grouping, ordering, missing ids ----------------------------------------
