//! The custodian service end to end: every bundled custodian on a loopback port with real
//! certificates, checked against the expected facts of every source (`fixtures/source-facts.json`); paging, errors and mutual TLS.

use std::{collections::BTreeMap, time::Duration};

use fixture::{Pki, bundled, custodian_client, source_facts, start_custodian};
use helsedata::proto::{self as pb, custodian_catalogue_client::CustodianCatalogueClient};
use tonic::{
    Code,
    transport::{Certificate, ClientTlsConfig, Endpoint},
};
use tonic_types::StatusExt;

async fn all_sources(
    client: &mut CustodianCatalogueClient<tonic::transport::Channel>,
) -> Vec<pb::DataSource> {
    let mut sources = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_data_sources(pb::ListDataSourcesRequest {
                page_size: 7,
                page_token: token.clone(),
                filter: None,
                view: pb::DataSourceView::Full as i32,
            })
            .await
            .expect("list")
            .into_inner();
        sources.extend(page.data_sources);
        if page.next_page_token.is_empty() {
            return sources;
        }
        token = page.next_page_token;
    }
}

fn channel_of(route: &str) -> pb::ApplicationChannel {
    match route {
        "helsedata_application_form" => pb::ApplicationChannel::HelsedataForm,
        "altinn_form" => pb::ApplicationChannel::AltinnForm,
        "email_to_register" => pb::ApplicationChannel::EmailToRegister,
        "register_website" => pb::ApplicationChannel::RegisterWebsite,
        _ => pb::ApplicationChannel::Unknown,
    }
}

/// The controller that replaces the one in `fixtures/source-facts.json` since the
/// reorganisation of the central health administration on 2024-01-01 (NPR, KPR and IPLOS
/// moved from Helsedirektoratet to FHI). No other controller may differ.
fn reorganised_controller(id: &str) -> Option<&'static str> {
    const FHI: &str = "Folkehelseinstituttet (FHI)";
    const MOVED_TO_FHI: &[&str] = &[
        // Norsk pasientregister and its datasets.
        "npr",
        "npr-rsit",
        "npr-phv",
        "npr-somatikk",
        "npr-skadedata",
        "npr-rehab",
        "npr-bup",
        "npr-aspsom",
        "npr-aspphv",
        "npr-amk",
        "npr-venteliste",
        "npr-tsb",
        // Kommunalt pasient- og brukerregister and its predecessor IPLOS.
        "kpr",
        "iplos",
    ];
    MOVED_TO_FHI.contains(&id).then_some(FHI)
}

#[tokio::test]
async fn every_expected_source_is_served_by_exactly_one_bundled_custodian() {
    let catalogues = bundled();
    let pki = Pki::for_catalogues(&catalogues);
    let mut served: BTreeMap<String, (String, pb::DataSource)> = BTreeMap::new();
    for catalogue in catalogues {
        let id = catalogue.custodian_id().to_string();
        let running = start_custodian(&pki, &id, catalogue, Duration::ZERO).await;
        let mut client = custodian_client(&pki, &running, &id).await;
        let info = client
            .get_custodian_info(pb::GetCustodianInfoRequest {})
            .await
            .expect("info")
            .into_inner();
        assert_eq!(info.id, id);
        assert!(info.last_modified.is_some() && !info.catalogue_revision.is_empty());
        let sources = all_sources(&mut client).await;
        assert_eq!(
            sources.len() as u32,
            info.data_source_count,
            "{id}: count matches info"
        );
        for source in sources {
            assert_eq!(source.custodian_id, id);
            assert!(
                source.access_rules.is_some(),
                "FULL view carries access rules"
            );
            let previous = served.insert(source.id.clone(), (id.clone(), source));
            assert!(previous.is_none(), "a source is served by two custodians");
        }
        running.stop().await;
    }
    let expected = source_facts();
    assert_eq!(expected.len(), 104);
    assert_eq!(served.len(), 104, "exactly the expected sources are served");
    for facts in &expected {
        let id = facts.id.as_str();
        let (_, source) = served
            .get(id)
            .unwrap_or_else(|| panic!("source `{id}` is not served"));
        let name = source.name.as_ref().expect("name");
        assert_eq!(name.nb, facts.name_nb, "{id}: nb name");
        assert_eq!(name.en, facts.name_en, "{id}: en name");
        assert_eq!(
            source.abbreviation, facts.abbreviation,
            "{id}: abbreviation"
        );
        assert_eq!(source.parent_id, facts.parent_id, "{id}: parent");
        let years = source.coverage_years.unwrap_or_default();
        assert_eq!(
            years.from_year.map(i64::from),
            facts.data_from_year,
            "{id}: first year"
        );
        assert_eq!(
            years.to_year.map(i64::from),
            facts.data_to_year,
            "{id}: last year"
        );
        if let Some(controller) = &facts.controller {
            let served = source.controller.as_ref().expect("controller");
            match reorganised_controller(id) {
                Some(now) => {
                    assert_eq!(served.name, now, "{id}: controller since 2024-01-01");
                    assert_eq!(
                        served.basis,
                        pb::FactBasis::External as i32,
                        "{id}: the 2024 controller is an external fact"
                    );
                    assert!(
                        served.note.contains(controller.as_str())
                            && served.note.contains("2024-01-01"),
                        "{id}: the note keeps the earlier controller `{controller}` visible: {}",
                        served.note
                    );
                }
                None => assert!(
                    controller.starts_with(served.name.as_str()),
                    "{id}: controller `{}` vs expected `{controller}`",
                    served.name
                ),
            }
        }
        let rules = source.access_rules.as_ref().expect("rules");
        assert_eq!(
            rules.route.as_ref().expect("route").channel,
            channel_of(&facts.route) as i32,
            "{id}: route"
        );
        if let Some(email) = &facts.contact_email {
            assert_eq!(&rules.contact_email, email, "{id}: contact e-mail");
        }
        let documented = facts.named_variables;
        assert!(
            source.variable_count as usize >= documented.max(1),
            "{id}: every source has variables, all named ones included"
        );
        assert!(
            !source
                .description
                .as_ref()
                .expect("description")
                .en
                .is_empty(),
            "{id}: description"
        );
    }
}

async fn one_custodian(id: &str) -> (Pki, fixture::Running) {
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == id)
        .expect("bundled custodian");
    let pki = Pki::new(&[id]);
    let running = start_custodian(&pki, id, catalogue, Duration::ZERO).await;
    (pki, running)
}

#[tokio::test]
async fn paging_filters_and_variable_search_work() {
    let (pki, running) = one_custodian("fhi").await;
    let mut client = custodian_client(&pki, &running, "fhi").await;
    let surveys = client
        .list_data_sources(pb::ListDataSourcesRequest {
            filter: Some(pb::DataSourceFilter {
                kind: pb::DataSourceKind::PopulationHealthSurvey as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        surveys.total_size, 9,
        "FHI publishes nine population surveys"
    );
    let birth = client
        .list_data_sources(pb::ListDataSourcesRequest {
            filter: Some(pb::DataSourceFilter {
                text: "fodselsregister".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(birth.data_sources.iter().any(|s| s.id == "mfr"));
    let hits = client
        .search_variables(pb::SearchVariablesRequest {
            query: "fødselsvekt".into(),
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner();
    assert!(
        hits.hits.iter().any(|h| h
            .variable
            .as_ref()
            .is_some_and(|v| v.data_source_id == "mfr")),
        "birth weight is in MFR"
    );
    let page1 = client
        .list_variables(pb::ListVariablesRequest {
            data_source_id: "mfr".into(),
            page_size: 3,
            page_token: String::new(),
        })
        .await
        .expect("page")
        .into_inner();
    assert_eq!(page1.variables.len(), 3);
    let page2 = client
        .list_variables(pb::ListVariablesRequest {
            data_source_id: "mfr".into(),
            page_size: 3,
            page_token: page1.next_page_token.clone(),
        })
        .await
        .expect("page")
        .into_inner();
    assert_ne!(page1.variables[0].id, page2.variables[0].id);
    assert!(page1.variables.iter().all(|v| v.id.starts_with("mfr/")));
    let rules = client
        .get_access_rules(pb::GetAccessRulesRequest {
            data_source_id: "mfr".into(),
        })
        .await
        .expect("rules")
        .into_inner();
    assert_eq!(rules.data_source_id, "mfr");
    running.stop().await;
}

#[tokio::test]
async fn bad_requests_get_actionable_errors() {
    let (pki, running) = one_custodian("ssb").await;
    let mut client = custodian_client(&pki, &running, "ssb").await;
    for page_size in [-1, 501] {
        let status = client
            .list_data_sources(pb::ListDataSourcesRequest {
                page_size,
                ..Default::default()
            })
            .await
            .expect_err("bad page size");
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        assert_eq!(
            details.bad_request().expect("BadRequest").field_violations[0].field,
            "page_size"
        );
    }
    let status = client
        .list_data_sources(pb::ListDataSourcesRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad token");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("page_token"));
    let status = client
        .get_data_source(pb::GetDataSourceRequest {
            id: "no-such-source".into(),
            view: 0,
        })
        .await
        .expect_err("unknown id");
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("ListDataSources"),
        "{}",
        status.message()
    );
    let status = client
        .get_data_source(pb::GetDataSourceRequest {
            id: "Not An Id".into(),
            view: 0,
        })
        .await
        .expect_err("malformed id");
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = client
        .search_variables(pb::SearchVariablesRequest {
            query: "  ".into(),
            ..Default::default()
        })
        .await
        .expect_err("empty query");
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = client
        .list_variables(pb::ListVariablesRequest {
            data_source_id: "ssb-inntekt".into(),
            page_size: 5000,
            page_token: String::new(),
        })
        .await
        .expect_err("page too large");
    assert_eq!(status.code(), Code::InvalidArgument);
    running.stop().await;
}

#[tokio::test]
async fn plaintext_connections_are_refused() {
    let (_pki, running) = one_custodian("ssb").await;
    let channel = Endpoint::from_shared(format!("http://{}", running.addr))
        .expect("uri")
        .connect()
        .await;
    if let Ok(channel) = channel {
        let mut client = CustodianCatalogueClient::new(channel);
        let result = tokio::time::timeout(
            Duration::from_secs(5),
            client.get_custodian_info(pb::GetCustodianInfoRequest {}),
        )
        .await;
        assert!(
            matches!(result, Ok(Err(_)) | Err(_)),
            "a plaintext call must fail"
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn connections_without_a_client_certificate_are_refused() {
    let (pki, running) = one_custodian("ssb").await;
    let ca = std::fs::read(pki.pki.ca_cert()).expect("ca");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    let endpoint = Endpoint::from_shared(running.endpoint())
        .expect("uri")
        .tls_config(tls)
        .expect("tls");
    let result = match endpoint.connect().await {
        Err(_) => true,
        Ok(channel) => CustodianCatalogueClient::new(channel)
            .get_custodian_info(pb::GetCustodianInfoRequest {})
            .await
            .is_err(),
    };
    assert!(result, "a client without a certificate must be refused");
    running.stop().await;
}

#[tokio::test]
async fn client_certificates_from_another_ca_are_refused() {
    let (pki, running) = one_custodian("ssb").await;
    let other = Pki::new(&["ssb"]);
    let ca = std::fs::read(pki.pki.ca_cert()).expect("ca");
    let cert = std::fs::read(other.pki.client_cert()).expect("cert");
    let key = std::fs::read(other.pki.client_key()).expect("key");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .identity(tonic::transport::Identity::from_pem(cert, key))
        .domain_name("localhost");
    let endpoint = Endpoint::from_shared(running.endpoint())
        .expect("uri")
        .tls_config(tls)
        .expect("tls");
    let refused = match endpoint.connect().await {
        Err(_) => true,
        Ok(channel) => CustodianCatalogueClient::new(channel)
            .get_custodian_info(pb::GetCustodianInfoRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a certificate from another CA must be refused");
    running.stop().await;
}
