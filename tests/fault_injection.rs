//! A misbehaving custodian: a fault-injecting proxy (`fixture::fault_proxy`) sits between the
//! gateway and FHI's real custodian, below mutual TLS. For each fault (latency past the
//! custodian's timeout, a reset mid-answer, an answer cut short, garbage bytes, a slow drip,
//! a reset before the handshake) a forced refetch through the gateway must come back within
//! the caller's deadline, classify FHI's leg as the fault deserves, serve FHI's sources from
//! the last good answer marked stale, serve SSB (reached directly) live, and leave the
//! gateway answering normally once the link is good again. A custodian that answers for
//! another's sources is the remaining misbehaviour; `tests/federation.rs` shows its records
//! refused.

use std::{collections::BTreeSet, net::SocketAddr, time::Duration};

use fixture::fault_proxy::{Fault, FaultProxy};
use helsedata::proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient};
use tonic::{metadata::MetadataValue, transport::Channel};

/// The caller's deadline on every search: longer than FHI's timeout (1 s in the test
/// configuration), so a leg the gateway cuts is the custodian's failure, not the caller's.
const CALLER_DEADLINE: Duration = Duration::from_secs(5);

/// Bytes of a connection let through before the fault strikes: past the TLS handshake and
/// the small first answers, inside the catalogue snapshot.
const MID_ANSWER: u64 = 24 * 1024;

async fn search(
    client: &mut FederatedCatalogueClient<Channel>,
    cache: &'static str,
) -> pb::SearchDataSourcesResponse {
    let mut request = tonic::Request::new(pb::SearchDataSourcesRequest {
        page_size: 200,
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("cache-control", MetadataValue::from_static(cache));
    request.set_timeout(CALLER_DEADLINE);
    client
        .search_data_sources(request)
        .await
        .expect("the gateway answers within the caller's deadline whatever the custodian does")
        .into_inner()
}

/// Forced refetches until FHI's leg is answered, a good link having been restored: a new
/// connection is made (the fault's was cut) and any call still under way has ended.
async fn until_fhi_answers(
    client: &mut FederatedCatalogueClient<Channel>,
) -> pb::SearchDataSourcesResponse {
    for _ in 0..20 {
        let answer = search(client, "no-store").await;
        if outcome(&answer, "fhi").status == pb::OutcomeStatus::Ok as i32 {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("FHI is served live again once the link is good");
}

fn outcome<'a>(answer: &'a pb::SearchDataSourcesResponse, id: &str) -> &'a pb::CustodianOutcome {
    answer
        .custodians
        .iter()
        .find(|o| o.custodian_id == id)
        .unwrap_or_else(|| panic!("an outcome for {id}: {:?}", answer.custodians))
}

/// The ids served for `custodian`, each with the freshness it was served with.
fn served(answer: &pb::SearchDataSourcesResponse, custodian: &str) -> BTreeSet<(String, i32)> {
    answer
        .results
        .iter()
        .filter_map(|r| {
            let p = r.provenance.as_ref()?;
            let source = r.data_source.as_ref()?;
            (p.custodian_id == custodian).then(|| (source.id.clone(), p.freshness))
        })
        .collect()
}

fn ids(with_freshness: &BTreeSet<(String, i32)>) -> BTreeSet<String> {
    with_freshness.iter().map(|(id, _)| id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_link_to_a_custodian_is_classified_and_served_stale_within_the_deadline() {
    let catalogues: Vec<_> = fixture::bundled()
        .into_iter()
        .filter(|c| matches!(c.custodian_id(), "fhi" | "ssb"))
        .collect();
    let fhi_ids: BTreeSet<String> = catalogues
        .iter()
        .filter(|c| c.custodian_id() == "fhi")
        .flat_map(|c| c.sources().map(|b| b.source.id.clone()))
        .collect();
    let pki = fixture::Pki::for_catalogues(&catalogues);
    let mut running = Vec::new();
    for catalogue in catalogues {
        let id = catalogue.custodian_id().to_string();
        running.push((
            id.clone(),
            fixture::start_custodian(&pki, &id, catalogue, Duration::ZERO).await,
        ));
    }
    let refs: Vec<(&str, &fixture::Running)> =
        running.iter().map(|(id, r)| (id.as_str(), r)).collect();
    let mut config = fixture::gateway_config(&pki, &refs);
    let fhi_addr: SocketAddr = running
        .iter()
        .find(|(id, _)| id == "fhi")
        .map(|(_, r)| r.addr)
        .expect("fhi runs");
    let proxy = FaultProxy::start(fhi_addr);
    for custodian in &mut config.custodians {
        if custodian.id == "fhi" {
            custodian.endpoint = proxy.endpoint();
        }
    }
    // Each fault must be classified on its own: no ejection in between hides it.
    config.defaults.eject_after_failures = 1_000;
    let gateway = fixture::start_gateway(config).await;
    let mut client = fixture::gateway_client(&pki, &gateway).await;

    let good = search(&mut client, "no-store").await;
    assert_eq!(outcome(&good, "fhi").status, pb::OutcomeStatus::Ok as i32);
    assert_eq!(
        ids(&served(&good, "fhi")),
        fhi_ids,
        "every FHI source, live"
    );

    let timeout = [pb::OutcomeStatus::Timeout as i32];
    // A drip slows the TLS handshake too: the custodian is then unreachable within its
    // timeout, or it times out answering, depending on whether the gateway had to reconnect.
    let slow = [
        pb::OutcomeStatus::Timeout as i32,
        pb::OutcomeStatus::Unavailable as i32,
    ];
    let broken = [
        pb::OutcomeStatus::Unavailable as i32,
        pb::OutcomeStatus::Error as i32,
    ];
    let faults: [(Fault, &[i32]); 6] = [
        (Fault::Latency(Duration::from_millis(1_500)), &timeout),
        (Fault::ResetAfter(MID_ANSWER), &broken),
        (Fault::TruncateAfter(MID_ANSWER), &broken),
        (Fault::GarbageAfter(MID_ANSWER), &broken),
        (Fault::Drip(Duration::from_millis(2)), &slow),
        (Fault::ResetAfter(0), &broken),
    ];
    for (fault, expected) in faults {
        // Each fault is met by a gateway whose last call to FHI succeeded: a failure it still
        // remembers from the fault before would otherwise be what a search is told while a
        // call is under way (callers do not queue behind a failing custodian), and the
        // classification under test would be the earlier fault's.
        proxy.set(Fault::None);
        until_fhi_answers(&mut client).await;
        proxy.set(fault);
        let answer = search(&mut client, "no-store").await;
        let fhi = outcome(&answer, "fhi");
        assert!(
            expected.contains(&fhi.status),
            "{fault:?}: FHI's leg is {:?} ({}), expected one of {expected:?}",
            pb::OutcomeStatus::try_from(fhi.status),
            fhi.message
        );
        assert!(
            !fhi.message.is_empty(),
            "{fault:?}: the outcome says what failed"
        );
        let fhi_served = served(&answer, "fhi");
        assert_eq!(ids(&fhi_served), fhi_ids, "{fault:?}: FHI's sources stay");
        assert!(
            fhi_served
                .iter()
                .all(|(_, f)| *f == pb::Freshness::Stale as i32),
            "{fault:?}: FHI's sources are marked stale"
        );
        assert_eq!(
            outcome(&answer, "ssb").status,
            pb::OutcomeStatus::Ok as i32,
            "{fault:?}: the other custodian is unaffected"
        );
        assert!(
            served(&answer, "ssb")
                .iter()
                .all(|(_, f)| *f == pb::Freshness::Live as i32),
            "{fault:?}: SSB is served live"
        );
    }

    // The link is good again: the next forced refetch reaches FHI through a new connection.
    proxy.set(Fault::None);
    let recovered = until_fhi_answers(&mut client).await;
    assert!(
        served(&recovered, "fhi")
            .iter()
            .all(|(_, f)| *f == pb::Freshness::Live as i32)
    );
    assert!(
        proxy.connections() >= 7,
        "every fault was met on a connection of its own ({} connections)",
        proxy.connections()
    );
    gateway.stop().await;
    for (_, custodian) in running {
        custodian.stop().await;
    }
}
