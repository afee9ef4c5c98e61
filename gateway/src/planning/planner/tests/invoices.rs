use super::*;

#[test]
fn unpriced_custodian_fee_merges_with_the_helsedataservice_fee() {
    let mut hs = source(
        "hjertestans",
        "fhi",
        "Folkehelseinstituttet (FHI)",
        route(
            pb::ApplicationChannel::HelsedataForm,
            "Helsedataservice",
            "",
        ),
    );
    hs.source.parent_id = "hkr".into();
    hs.rules.prices = vec![
        pb::Price {
            invoiced_by: "Helsedataservice".into(),
            text: "application handling for helsedata.no applications".into(),
            ..Default::default()
        },
        pb::Price {
            invoiced_by: "Norsk hjertestansregister".into(),
            text: "preparing and releasing the data".into(),
            ..Default::default()
        },
    ];
    let req = research_new(
        pb::DataLevel::DeidentifiedIndividual,
        vec![hs, npr_like("npr", "")],
    );
    let plan = plan(&req, &rules());
    let app = only_application(&plan);
    let hds: Vec<&pb::Invoice> = app
        .invoices
        .iter()
        .filter(|i| i.invoiced_by == "Helsedataservice")
        .collect();
    assert_eq!(hds.len(), 1, "{:?}", app.invoices);
    assert_eq!(hds[0].data_source_ids, vec!["hjertestans", "npr"]);
    assert!(
        app.invoices
            .iter()
            .any(|i| i.invoiced_by == "Norsk hjertestansregister")
    );
    assert_eq!(
        app.invoices.len(),
        3,
        "fee, register preparation, NPR hourly price"
    );
}

// ---- i.: variables ---------------------------------------------------------------------
