use super::*;

#[test]
fn npr_new_research_project_is_decided_by_helsedataservice_through_the_common_form() {
    let plan = plan(
        &research_new(
            pb::DataLevel::DeidentifiedIndividual,
            vec![npr_like("npr", "")],
        ),
        &rules(),
    );
    let app = only_application(&plan);
    assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert_eq!(app.decided_by, "Helsedataservice");
    assert_eq!(app.processed_by, "Helsedataservice");
    assert_eq!(app.address, "https://helsedata.no");
    assert_eq!(
        app.deliveries,
        vec![pb::Delivery {
            data_source_id: "npr".into(),
            delivered_by: "Helsedirektoratet".into()
        }]
    );

    assert_eq!(statutory_days(app), Some(30));
    let statutory = &app.deadlines[0];
    assert!(
        statutory.working_days && statutory.text.contains("§ 19f"),
        "{statutory:?}"
    );
    let published: Vec<&str> = app.deadlines[1..]
        .iter()
        .map(|d| d.applies_to.as_str())
        .collect();
    assert_eq!(
        published,
        vec!["de-identified data"],
        "only the deadline for the requested level is kept"
    );
    assert!(
        app.notes.iter().any(|n| n.contains("5 to 8 months")),
        "{:?}",
        app.notes
    );

    let fee = app
        .invoices
        .iter()
        .find(|i| i.invoiced_by == "Helsedataservice")
        .expect("Helsedataservice fee");
    assert!(
        fee.price.is_none() && fee.reason.contains("2023-01-01"),
        "{fee:?}"
    );
    let hourly = app
        .invoices
        .iter()
        .find(|i| i.invoiced_by == "Helsedirektoratet")
        .expect("NPR price");
    assert_eq!(hourly.price, Some(npr_price()));
    assert_eq!(hourly.data_source_ids, vec!["npr"]);

    let national = traces(&plan, "national.helsedataservice-decides", "npr");
    assert_eq!(national.len(), 1);
    let text = &national[0].explanation;
    assert_eq!(national[0].origin, "national-rules");
    assert!(
        text.contains("processed by Helsedirektoratet") && text.contains("Since 2023-03-15"),
        "{text}"
    );
    assert_eq!(
        traces(&plan, "custodian.conditional-route", "npr")[0].origin,
        "custodian:helsedirektoratet"
    );
    assert_eq!(traces(&plan, "national.statutory-deadline", "").len(), 1);
    assert_eq!(plan.appeals.len(), 1);
    assert!(plan.appeals[0].final_instance.contains("Helseklage"));
    assert!(plan.custodians.is_empty());
}

#[test]
fn npr_project_change_goes_to_helsedirektoratet_own_route() {
    let req = input(
        pb::Purpose::Research,
        pb::ProjectStage::Change,
        pb::DataLevel::DeidentifiedIndividual,
        vec![npr_like("npr", "")],
    );
    let plan = plan(&req, &rules());
    let app = only_application(&plan);
    assert_eq!(app.channel, pb::ApplicationChannel::RegisterWebsite as i32);
    assert_eq!(app.decided_by, "Helsedirektoratet");
    assert_eq!(app.processed_by, "");
    assert_eq!(app.address, "https://www.helsedirektoratet.no/npr");
    assert_eq!(statutory_days(app), None);
    assert!(
        app.invoices
            .iter()
            .all(|i| i.invoiced_by != "Helsedataservice"),
        "no common-form fee: {:?}",
        app.invoices
    );
    assert!(codes(app).contains(&"project-reference"));
    assert!(plan.appeals.is_empty());
    let national = traces(&plan, "national.helsedataservice-decides", "npr");
    assert!(
        national[0].explanation.contains("That route is kept"),
        "{}",
        national[0].explanation
    );
}

#[test]
fn npr_dataset_for_quality_assurance_keeps_the_custodian_route() {
    let req = input(
        pb::Purpose::QualityAssurance,
        pb::ProjectStage::New,
        pb::DataLevel::AnonymousAggregated,
        vec![npr_like("npr-somatikk", "npr")],
    );
    let app = only_application(&plan(&req, &rules())).clone();
    assert_eq!(app.channel, pb::ApplicationChannel::RegisterWebsite as i32);
    assert_eq!(app.decided_by, "Helsedirektoratet");
    let published: Vec<&str> = app
        .deadlines
        .iter()
        .map(|d| d.applies_to.as_str())
        .collect();
    assert_eq!(published, vec!["statistics and anonymous data"]);
}

#[test]
fn legacy_route_is_never_chosen_and_is_traced_as_ignored() {
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
    iplos.rules.conditional_routes = vec![conditional(
        pb::RouteCondition::Legacy,
        route(pb::ApplicationChannel::AltinnForm, "Helsedirektoratet", ""),
    )];
    iplos.rules.delivered_by = "SSB".into();
    let plan = plan(
        &research_new(pb::DataLevel::AnonymousAggregated, vec![iplos]),
        &rules(),
    );
    let app = only_application(&plan);
    assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert_eq!(
        app.decided_by, "Helsedirektoratet",
        "IPLOS is not a Helsedataservice registry"
    );
    assert_eq!(app.deliveries[0].delivered_by, "SSB");
    assert_eq!(traces(&plan, "custodian.legacy-route", "iplos").len(), 1);
    assert_eq!(traces(&plan, "custodian.default-route", "iplos").len(), 1);
}

#[test]
fn several_helsedataservice_sources_make_one_application_with_sixty_working_days() {
    let kpr = source(
        "kpr",
        "helsedirektoratet",
        "Helsedirektoratet",
        route(pb::ApplicationChannel::AltinnForm, "Helsedirektoratet", ""),
    );
    let req = research_new(
        pb::DataLevel::DeidentifiedIndividual,
        vec![npr_like("npr", ""), krg_brystkreft(), kpr],
    );
    let plan = plan(&req, &rules());
    let app = only_application(&plan);
    assert_eq!(app.data_source_ids, vec!["kpr", "krg-brystkreft", "npr"]);
    assert_eq!(app.decided_by, "Helsedataservice");
    assert_eq!(statutory_days(app), Some(60));
    let fee = app
        .invoices
        .iter()
        .find(|i| i.invoiced_by == "Helsedataservice")
        .expect("fee");
    assert_eq!(
        fee.data_source_ids, app.data_source_ids,
        "one fee covers every source"
    );
    let rek = prerequisite(app, "rek-approval");
    assert_eq!(rek.data_source_ids, app.data_source_ids);
}

// ---- c. to e.: common form, deciders, addresses -----------------------------------------

#[test]
fn altinn_route_of_a_common_form_custodian_moves_to_the_common_form() {
    let kuhr = source(
        "kuhr",
        "helsedirektoratet",
        "Helsedirektoratet",
        route(pb::ApplicationChannel::AltinnForm, "Helsedirektoratet", ""),
    );
    let plan = plan(
        &research_new(pb::DataLevel::DeidentifiedIndividual, vec![kuhr]),
        &rules(),
    );
    let app = only_application(&plan);
    assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert_eq!(app.decided_by, "Helsedirektoratet");
    assert_eq!(app.address, "https://helsedata.no");
    let trace = traces(&plan, "national.common-form", "kuhr");
    assert!(
        trace[0].explanation.contains("Altinn"),
        "{}",
        trace[0].explanation
    );
    assert!(plan.appeals.is_empty());
}

#[test]
fn health_trust_register_with_email_route_is_sent_to_the_register_address() {
    let plan = plan(
        &research_new(pb::DataLevel::IdentifiableIndividual, vec![cprn_like()]),
        &rules(),
    );
    let app = only_application(&plan);
    assert_eq!(app.channel, pb::ApplicationChannel::EmailToRegister as i32);
    assert_eq!(app.address, "cprnregister@siv.no");
    assert_eq!(app.decided_by, "Sykehuset i Vestfold HF (SiV)");
    assert_eq!(
        traces(&plan, "custodian.decided-by", "cprn").len(),
        1,
        "no processing body named"
    );
    let invoice = &app.invoices[0];
    assert_eq!(invoice.invoiced_by, "Sykehuset i Vestfold HF (SiV)");
    assert!(
        invoice.reason.contains("price not published"),
        "{invoice:?}"
    );
    assert!(app.deadlines.is_empty());
}

#[test]
fn email_route_without_address_asks_the_controller_and_warns() {
    let mut nir = cprn_like();
    nir.rules.contact_email.clear();
    let plan = plan(
        &research_new(pb::DataLevel::IdentifiableIndividual, vec![nir]),
        &rules(),
    );
    let app = only_application(&plan);
    assert_eq!(app.address, "ask Sykehuset i Vestfold HF (SiV)");
    assert!(
        app.notes
            .iter()
            .any(|n| n.contains("no address is published")),
        "{:?}",
        app.notes
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("no address is published"))
    );
}

#[test]
fn website_route_without_url_leaves_a_note() {
    let mut s = npr_like("npr", "");
    s.rules.conditional_routes[1].route = Some(route(
        pb::ApplicationChannel::RegisterWebsite,
        "Helsedirektoratet",
        "",
    ));
    let req = input(
        pb::Purpose::Research,
        pb::ProjectStage::NewDataPeriod,
        pb::DataLevel::DeidentifiedIndividual,
        vec![s],
    );
    let app = only_application(&plan(&req, &rules())).clone();
    assert_eq!(app.address, "ask Helsedirektoratet");
    assert!(
        app.notes
            .iter()
            .any(|n| n.contains("helseregistre@helsedir.no")),
        "{:?}",
        app.notes
    );
}

// ---- g. and h.: prerequisites and biomaterial -------------------------------------------

#[test]
fn fhi_survey_with_biomaterial_is_decided_by_fhi_with_its_prerequisites() {
    let mut req = research_new(pb::DataLevel::IdentifiableIndividual, vec![moba_like()]);
    req.biomaterial_wanted = true;
    let plan = plan(&req, &rules());
    let app = only_application(&plan);
    assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert_eq!(app.decided_by, "FHI");
    assert_eq!(app.address, "https://helsedata.no");
    assert_eq!(
        statutory_days(app),
        None,
        "FHI, not Helsedataservice, decides"
    );
    let c = codes(app);
    for code in [
        "rek-approval",
        "legal-basis",
        "variable-list",
        "dpia-and-security",
        "contact-custodian-first",
        "consent-scope",
    ] {
        assert!(c.contains(&code), "{code} missing from {c:?}");
    }
    assert!(!c.contains(&"table-shells"));
    assert_eq!(
        prerequisite(app, "consent-scope").data_source_ids,
        vec!["moba"]
    );
    assert!(
        prerequisite(app, "contact-custodian-first")
            .text
            .contains("Folkehelseinstituttet")
    );
    assert!(
        app.notes
            .iter()
            .any(|n| n.contains("biological material") && n.contains("same form")),
        "{:?}",
        app.notes
    );
    assert_eq!(traces(&plan, "custodian.biomaterial", "moba").len(), 1);
    assert!(
        app.invoices
            .iter()
            .any(|i| i.invoiced_by == "Helsedataservice"),
        "common-form fee"
    );
    assert!(plan.appeals.is_empty());
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn biomaterial_without_a_published_route_notes_or_warns() {
    let mut ms = cprn_like();
    ms.source.id = "ms-register".into();
    ms.source.biomaterial = pb::BiomaterialAvailability::BiobankMentioned as i32;
    let mut req = research_new(
        pb::DataLevel::IdentifiableIndividual,
        vec![ms, npr_like("npr", "")],
    );
    req.biomaterial_wanted = true;
    let plan = plan(&req, &rules());
    let notes = &application_for(&plan, "ms-register").notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("biobank") && n.contains("cprnregister@siv.no")),
        "{notes:?}"
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.starts_with("npr:") && w.contains("biological material")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn applications_are_ordered_by_channel_then_decider_then_address() {
    let req = research_new(
        pb::DataLevel::DeidentifiedIndividual,
        vec![
            ssb_inntekt(),
            cprn_like(),
            nois_like(),
            moba_like(),
            npr_like("npr", ""),
        ],
    );
    let plan = plan(&req, &rules());
    let keys: Vec<(i32, &str)> = plan
        .applications
        .iter()
        .map(|a| (a.channel, a.decided_by.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (pb::ApplicationChannel::HelsedataForm as i32, "FHI"),
            (
                pb::ApplicationChannel::HelsedataForm as i32,
                "Folkehelseinstituttet (FHI)"
            ),
            (
                pb::ApplicationChannel::HelsedataForm as i32,
                "Helsedataservice"
            ),
            (
                pb::ApplicationChannel::EmailToRegister as i32,
                "Sykehuset i Vestfold HF (SiV)"
            ),
            (
                pb::ApplicationChannel::Unknown as i32,
                "Statistisk sentralbyrå (SSB)"
            ),
        ]
    );
    let again = super::plan(&req, &rules());
    assert_eq!(plan, again, "planning is deterministic");
}
