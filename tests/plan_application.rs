//! PlanApplication through the gateway against every bundled custodian: the cases of the
//! national rules (single-source, multi-source, linkage, consent), end to end, with the rules fetched live from the custodians.

use fixture::Federation;
use helsedata::proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient};
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

fn request(
    sources: &[&str],
    purpose: pb::Purpose,
    stage: pb::ProjectStage,
    level: pb::DataLevel,
) -> pb::PlanApplicationRequest {
    pb::PlanApplicationRequest {
        data_source_ids: sources.iter().map(|s| s.to_string()).collect(),
        variable_ids: vec![],
        purpose: purpose as i32,
        stage: stage as i32,
        data_level: level as i32,
        linkage_wanted: false,
        biomaterial_wanted: false,
    }
}

async fn plan(
    client: &mut FederatedCatalogueClient<Channel>,
    req: pb::PlanApplicationRequest,
) -> pb::ApplicationPlan {
    client
        .plan_application(req)
        .await
        .expect("plan")
        .into_inner()
}

fn application_for<'a>(plan: &'a pb::ApplicationPlan, source: &str) -> &'a pb::PlannedApplication {
    plan.applications
        .iter()
        .find(|a| a.data_source_ids.iter().any(|s| s == source))
        .unwrap_or_else(|| panic!("no application covers {source}: {plan:#?}"))
}

fn codes(application: &pb::PlannedApplication) -> Vec<&str> {
    application
        .prerequisites
        .iter()
        .map(|p| p.code.as_str())
        .collect()
}

const RESEARCH: pb::Purpose = pb::Purpose::Research;
const NEW: pb::ProjectStage = pb::ProjectStage::New;
const DEIDENTIFIED: pb::DataLevel = pb::DataLevel::DeidentifiedIndividual;

#[tokio::test]
async fn npr_new_research_project_goes_to_helsedataservice_and_a_change_to_helsedirektoratet() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let new = plan(
        &mut client,
        request(&["npr-somatikk"], RESEARCH, NEW, DEIDENTIFIED),
    )
    .await;
    let app = application_for(&new, "npr-somatikk");
    assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert_eq!(app.decided_by, "Helsedataservice");
    // FHI has held, prepared and delivered NPR since 2024-01-01 (Helsedirektoratet before).
    assert!(
        app.deliveries
            .iter()
            .any(|d| d.delivered_by.contains("FHI")),
        "{:?}",
        app.deliveries
    );
    assert!(
        app.deadlines
            .iter()
            .any(|d| d.days == Some(30) && d.working_days),
        "{:?}",
        app.deadlines
    );
    assert!(
        app.invoices
            .iter()
            .any(|i| i.invoiced_by.contains("Helsedataservice"))
    );
    assert!(
        app.invoices
            .iter()
            .any(|i| i.price.as_ref().and_then(|p| p.amount_nok) == Some(1100.0)),
        "NPR's hourly price: {:?}",
        app.invoices
    );
    assert!(
        new.trace
            .iter()
            .any(|t| t.origin == "national-rules" && t.explanation.contains("2023-03-15")),
        "{:#?}",
        new.trace
    );
    assert!(new.trace.iter().any(|t| t.origin.starts_with("custodian:")));
    assert!(!new.appeals.is_empty());
    assert!(
        new.custodians
            .iter()
            .any(|o| o.custodian_id == "fhi" && o.status == pb::OutcomeStatus::Ok as i32)
    );

    let change = plan(
        &mut client,
        request(
            &["npr-somatikk"],
            RESEARCH,
            pb::ProjectStage::Change,
            DEIDENTIFIED,
        ),
    )
    .await;
    let app = application_for(&change, "npr-somatikk");
    assert_eq!(app.channel, pb::ApplicationChannel::RegisterWebsite as i32);
    assert!(
        app.decided_by.contains("Helsedirektoratet"),
        "{}",
        app.decided_by
    );
}

#[tokio::test]
async fn an_fhi_population_survey_with_biomaterial_is_decided_by_fhi_with_contact_first() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let mut req = request(
        &["moba"],
        RESEARCH,
        NEW,
        pb::DataLevel::IdentifiableIndividual,
    );
    req.biomaterial_wanted = true;
    let result = plan(&mut client, req).await;
    let app = application_for(&result, "moba");
    assert_eq!(app.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert!(
        app.decided_by.contains("FHI") || app.decided_by.contains("Folkehelseinstituttet"),
        "{}",
        app.decided_by
    );
    let codes = codes(app);
    for code in ["contact-custodian-first", "rek-approval", "consent-scope"] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(
        app.notes.iter().any(
            |n| n.to_lowercase().contains("biolog") || n.to_lowercase().contains("biomaterial")
        ),
        "{:?}",
        app.notes
    );
}

#[tokio::test]
async fn a_cancer_register_and_an_ssb_dataset_with_linkage_make_two_applications_linked_by_ssb() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let mut req = request(
        &["krg-brystkreft", "ssb-inntekt"],
        RESEARCH,
        NEW,
        DEIDENTIFIED,
    );
    req.linkage_wanted = true;
    let result = plan(&mut client, req).await;
    let cancer = application_for(&result, "krg-brystkreft");
    let ssb = application_for(&result, "ssb-inntekt");
    assert_ne!(cancer, ssb, "two applications");
    assert_eq!(cancer.decided_by, "Helsedataservice");
    assert_eq!(cancer.channel, pb::ApplicationChannel::HelsedataForm as i32);
    assert_eq!(ssb.channel, pb::ApplicationChannel::Unknown as i32);
    assert!(
        !ssb.address.is_empty(),
        "an unknown route names whom to ask"
    );
    let linkage = result.linkage.expect("linkage");
    assert!(linkage.requested && linkage.possible);
    assert_eq!(linkage.linked_by, "SSB");
}

#[tokio::test]
async fn a_health_trust_register_is_routed_by_email_to_the_register() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let result = plan(
        &mut client,
        request(&["cprn"], pb::Purpose::QualityAssurance, NEW, DEIDENTIFIED),
    )
    .await;
    let app = application_for(&result, "cprn");
    assert_eq!(app.channel, pb::ApplicationChannel::EmailToRegister as i32);
    assert_eq!(app.address, "cprnregister@siv.no");
    assert!(app.decided_by.contains("Vestfold"), "{}", app.decided_by);
}

#[tokio::test]
async fn linkage_with_a_de_identified_register_is_blocked() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let mut req = request(&["nois", "mfr"], RESEARCH, NEW, DEIDENTIFIED);
    req.linkage_wanted = true;
    let result = plan(&mut client, req).await;
    let linkage = result.linkage.expect("linkage");
    assert!(!linkage.possible);
    let blocker = linkage
        .blockers
        .iter()
        .find(|b| b.data_source_id == "nois")
        .expect("NOIS blocks");
    assert_eq!(blocker.policy, pb::LinkagePolicy::NotPossible as i32);
}

#[tokio::test]
async fn variables_resolve_to_their_sources_and_unknown_ids_are_reported() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let mut req = request(&["no-such-register"], RESEARCH, NEW, DEIDENTIFIED);
    req.variable_ids = vec![
        "mfr/fodselsvekt".into(),
        "mfr/mors_fodselsnummer".into(),
        "mfr/no_such_variable".into(),
    ];
    let result = plan(&mut client, req).await;
    assert_eq!(result.unknown_data_source_ids, ["no-such-register"]);
    assert_eq!(result.unknown_variable_ids, ["mfr/no_such_variable"]);
    assert_eq!(
        application_for(&result, "mfr").decided_by,
        "Helsedataservice"
    );
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.contains("mfr/mors_fodselsnummer")),
        "a direct identifier with de-identified data is flagged: {:?}",
        result.warnings
    );
}

#[tokio::test]
async fn incomplete_requests_are_refused_with_the_field_named() {
    let federation = Federation::start().await;
    let mut client = federation.client().await;
    let mut req = request(&["mfr"], RESEARCH, NEW, DEIDENTIFIED);
    req.purpose = 0;
    let status = client
        .plan_application(req)
        .await
        .expect_err("purpose missing");
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    assert!(
        details
            .bad_request()
            .expect("BadRequest")
            .field_violations
            .iter()
            .any(|v| v.field == "purpose")
    );
    let mut req = request(&[], RESEARCH, NEW, DEIDENTIFIED);
    req.variable_ids = vec!["not a variable id".into()];
    let status = client
        .plan_application(req)
        .await
        .expect_err("malformed variable id");
    assert_eq!(status.code(), Code::InvalidArgument);
}
