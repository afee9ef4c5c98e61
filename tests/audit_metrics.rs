//! The audit trail and the metrics of a gateway in front of real custodians: every gRPC
//! call and web request leaves one JSON line with its caller, method, ids, status, latency
//! and custodians; `/metrics` on the admin listener, read with Python's `prometheus_client`
//! OpenMetrics parser, moves as calls are made, shows a stopped custodian in its outcomes
//! and ejections, and gives the certificates' real notAfter. A custodian's own admin
//! listener counts its calls and data-file reloads.

mod web_support;

use std::{
    collections::BTreeMap,
    io::Write,
    net::SocketAddr,
    path::Path,
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use helsedata::{
    identity,
    observe::audit::AuditTarget,
    proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient},
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::{Code, Request, metadata::MetadataValue};
use web_support::WebFederation;

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

/// Makes sure `prometheus_client` is importable, installing it from PyPI once when it is not.
fn python_with_prometheus_client() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let has = || {
            Command::new("python3")
                .args(["-c", "import prometheus_client"])
                .status()
                .is_ok_and(|s| s.success())
        };
        if !has() {
            let status = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "prometheus-client",
                ])
                .status()
                .expect("python3 runs");
            assert!(status.success(), "pip install prometheus-client failed");
            assert!(
                has(),
                "prometheus_client still not importable after install"
            );
        }
    });
    "python3"
}

/// Every sample of an OpenMetrics text, as Python's `prometheus_client` parses it.
#[derive(Debug, Default)]
struct Scrape(Vec<(String, BTreeMap<String, String>, f64)>);

impl Scrape {
    /// The sum of the samples called `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).is_some_and(|x| x == v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _, _)| n == name)
    }
}

const PARSER: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;

/// GET /metrics over plain HTTP, parsed by the real parser.
async fn scrape(admin: SocketAddr) -> Scrape {
    let mut stream = tokio::net::TcpStream::connect(admin)
        .await
        .expect("admin listener accepts");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: admin\r\nconnection: close\r\n\r\n")
        .await
        .expect("request sent");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("answer read");
    let answer = String::from_utf8(answer).expect("UTF-8 answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    let mut child = Command::new(python_with_prometheus_client())
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("metrics written to the parser");
    let output = child.wait_with_output().expect("parser ends");
    assert!(
        output.status.success(),
        "the OpenMetrics parser refused the scrape: {}\n{body}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples: Vec<(String, BTreeMap<String, String>, f64)> =
        serde_json::from_slice(&output.stdout).expect("parser output");
    Scrape(samples)
}

/// The lines of the audit file, once at least `at_least` are there, each parsed as JSON.
async fn audit_lines(path: &Path, at_least: usize) -> Vec<Value> {
    let mut text = String::new();
    for _ in 0..800 {
        text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= at_least && text.ends_with('\n') {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    text.lines()
        .map(|line| {
            assert!(
                !line.chars().any(char::is_control),
                "raw control character in an audit line: {line:?}"
            );
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
        })
        .collect()
}

fn developer(
    web: &WebFederation,
) -> impl std::future::Future<Output = FederatedCatalogueClient<tonic::transport::Channel>> + '_ {
    fixture::gateway_client(&web.pki, web.gateway.as_ref().expect("gateway runs"))
}

fn records_of<'a>(lines: &'a [Value], method: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["method"] == method).collect()
}

const SEARCH: &str = "/helsedata.federation.v1.FederatedCatalogue/SearchDataSources";
const GET: &str = "/helsedata.federation.v1.FederatedCatalogue/GetDataSource";
const PLAN: &str = "/helsedata.federation.v1.FederatedCatalogue/PlanApplication";

#[tokio::test]
async fn every_grpc_call_and_web_request_leaves_one_audit_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("audit.jsonl");
    let target = audit.clone();
    let web = WebFederation::start(move |config| {
        config.audit.target = AuditTarget::File(target);
    })
    .await;
    let mut grpc = developer(&web).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut search = Request::new(pb::SearchDataSourcesRequest {
        query: "kreft\nINFO admin login ok".into(),
        ..Default::default()
    });
    search
        .metadata_mut()
        .insert("traceparent", MetadataValue::from_static(traceparent));
    grpc.search_data_sources(search).await.expect("search");
    grpc.get_data_source(pb::GetDataSourceRequest {
        id: "mfr".into(),
        ..Default::default()
    })
    .await
    .expect("mfr");
    let bad = grpc
        .get_data_source(pb::GetDataSourceRequest {
            id: "bad\u{1b}[2J id".into(),
            ..Default::default()
        })
        .await
        .expect_err("a malformed id is refused");
    assert_eq!(bad.code(), Code::InvalidArgument);
    grpc.plan_application(pb::PlanApplicationRequest {
        data_source_ids: vec!["mfr".into(), "npr-somatikk".into()],
        purpose: pb::Purpose::Research as i32,
        stage: pb::ProjectStage::New as i32,
        data_level: pb::DataLevel::IdentifiableIndividual as i32,
        ..Default::default()
    })
    .await
    .expect("plan");
    // A custodian's certificate may not call the gateway.
    let intruder = web.pki.client_tls("intruder", "custodian/fhi");
    let channel = fixture::channel(
        &intruder,
        web.gateway.as_ref().expect("gateway").addr,
        &identity::gateway_identity(),
        |e| e,
    )
    .await
    .expect("connects");
    let refused = FederatedCatalogueClient::new(channel)
        .list_custodians(pb::ListCustodiansRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        web.get("/api/v1/datasources?query=hjerte").await.status,
        200
    );
    assert_eq!(web.get("/api/v1/datasources/mfr").await.status, 200);
    let plan = r#"{"dataSourceIds": ["mfr"], "purpose": "PURPOSE_RESEARCH",
        "stage": "PROJECT_STAGE_NEW", "dataLevel": "DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL"}"#;
    assert_eq!(web.post_json("/api/v1/plan", plan).await.status, 200);
    assert_eq!(web.get("/no/such/page").await.status, 404);

    let lines = audit_lines(&audit, 9).await;
    assert_eq!(lines.len(), 9, "one line per call and request: {lines:#?}");
    for line in &lines {
        for field in ["time", "caller", "method", "status", "latency_ms", "asked"] {
            assert!(!line[field].is_null(), "{field} missing: {line}");
        }
        assert_eq!(line["service"], "gateway");
        assert!(line["latency_ms"].as_f64().is_some_and(|l| l >= 0.0));
        assert!(
            line["remote_addr"]
                .as_str()
                .is_some_and(|a| a.starts_with("127.0.0.1:"))
        );
    }
    let developer_id = format!("spiffe://{}/developer", identity::DEV_TRUST_DOMAIN);

    let search = records_of(&lines, SEARCH);
    assert_eq!(search.len(), 1);
    let search = search[0];
    assert_eq!(search["caller"], developer_id);
    assert_eq!(search["status"], "OK");
    assert_eq!(search["surface"], "grpc");
    assert_eq!(
        search["asked"]["query_chars"], 25,
        "the query's length, not its text"
    );
    assert!(!search.to_string().contains("admin login"), "{search}");
    assert_eq!(search["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let asked: Vec<&str> = search["custodians"]
        .as_array()
        .expect("custodians")
        .iter()
        .filter_map(|c| c["custodian"].as_str())
        .collect();
    assert_eq!(
        asked.len(),
        web.custodians.len(),
        "every custodian asked: {asked:?}"
    );
    assert!(
        search["custodians"]
            .as_array()
            .expect("custodians")
            .iter()
            .all(|c| c["status"] == "OUTCOME_STATUS_OK" && c["freshness"].is_string())
    );

    let gets = records_of(&lines, GET);
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0]["asked"]["ids"]["id"][0], "mfr");
    assert_eq!(gets[0]["custodians"][0]["custodian"], "fhi");
    assert_eq!(gets[1]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        gets[1]["asked"]["ids"]["id"][0], "bad\u{1b}[2J id",
        "escaped as JSON, kept exact"
    );

    let plan = records_of(&lines, PLAN);
    assert_eq!(
        plan[0]["asked"]["ids"]["data_source_ids"],
        serde_json::json!(["mfr", "npr-somatikk"])
    );
    assert!(
        !plan[0]["custodians"]
            .as_array()
            .expect("custodians")
            .is_empty()
    );

    let denied = records_of(
        &lines,
        "/helsedata.federation.v1.FederatedCatalogue/ListCustodians",
    );
    assert_eq!(denied[0]["status"], "PERMISSION_DENIED");
    assert_eq!(
        denied[0]["caller"],
        format!("spiffe://{}/custodian/fhi", identity::DEV_TRUST_DOMAIN)
    );

    let on_web: Vec<&Value> = lines.iter().filter(|l| l["surface"] == "web").collect();
    assert_eq!(on_web.len(), 4);
    assert!(on_web.iter().all(|l| l["caller"] == "anonymous"));
    let page = records_of(&lines, "GET /api/v1/datasources/mfr");
    assert_eq!(page[0]["status"], "200");
    assert_eq!(page[0]["asked"]["ids"]["id"][0], "mfr");
    assert_eq!(page[0]["custodians"][0]["custodian"], "fhi");
    let query = records_of(&lines, "GET /api/v1/datasources");
    assert_eq!(query[0]["asked"]["query_chars"], 6);
    let posted = records_of(&lines, "POST /api/v1/plan");
    assert_eq!(posted[0]["asked"]["ids"]["data_source_ids"][0], "mfr");
    assert_eq!(records_of(&lines, "GET /no/such/page")[0]["status"], "404");
    web.stop().await;
}

#[tokio::test]
async fn metrics_move_with_calls_outages_and_certificates() {
    let admin = free_addr();
    let mut web = WebFederation::start(move |config| {
        config.admin.enabled = true;
        config.admin.listen = admin;
        config.defaults.eject_after_failures = 3;
        config.defaults.base_ejection_ms = 60_000;
    })
    .await;
    let mut grpc = developer(&web).await;
    let before = scrape(admin).await;
    const N: usize = 5;
    for _ in 0..N {
        grpc.search_data_sources(pb::SearchDataSourcesRequest {
            query: "kreft".into(),
            ..Default::default()
        })
        .await
        .expect("search");
    }
    for _ in 0..2 {
        assert_eq!(web.get("/api/v1/datasources/mfr").await.status, 200);
    }
    // A plaintext client is refused at the handshake.
    let mut plain = tokio::net::TcpStream::connect(web.gateway.as_ref().expect("gateway").addr)
        .await
        .expect("connects");
    let _ = plain.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut sink)).await;
    let after = scrape(admin).await;

    let ok_searches = [("method", SEARCH), ("code", "OK"), ("surface", "grpc")];
    assert_eq!(
        after.sum("helsedata_requests_total", &ok_searches)
            - before.sum("helsedata_requests_total", &ok_searches),
        N as f64
    );
    let search_latency = [("method", SEARCH)];
    assert_eq!(
        after.sum("helsedata_request_duration_seconds_count", &search_latency)
            - before.sum("helsedata_request_duration_seconds_count", &search_latency),
        N as f64
    );
    let web_page = [("method", "GET /api/v1/datasources/{id}"), ("code", "200")];
    assert_eq!(after.sum("helsedata_requests_total", &web_page), 2.0);
    assert!(
        after.sum(
            "helsedata_cache_lookups_total",
            &[("cache", "snapshots"), ("result", "hit")]
        ) >= (web.custodians.len() * (N - 1)) as f64,
        "the searches after the first are served from the cache"
    );
    assert!(
        after.sum(
            "helsedata_custodian_answers_total",
            &[("custodian", "fhi"), ("status", "OUTCOME_STATUS_OK")]
        ) >= N as f64
    );
    assert!(
        after.sum(
            "helsedata_custodian_call_duration_seconds_count",
            &[("custodian", "fhi"), ("result", "ok")]
        ) >= 1.0
    );
    assert!(after.sum("helsedata_connections_open", &[]) >= 1.0);
    assert!(
        after.sum(
            "helsedata_connections_refused_total",
            &[("reason", "handshake")]
        ) >= 1.0
    );
    assert_eq!(
        after.sum("helsedata_requests_in_flight", &[("surface", "grpc")]),
        0.0
    );
    assert_eq!(
        after.sum("helsedata_request_limit", &[("limit", "global")]),
        web.config.limits.max_concurrent_requests as f64
    );
    assert_eq!(
        after.sum("helsedata_request_limit", &[("limit", "per_identity")]),
        web.config.limits.max_concurrent_requests_per_identity as f64
    );
    // Between calls nothing holds a slot of any limit; the developer, who has called, has a
    // figure of its own.
    assert!(
        after
            .0
            .iter()
            .any(|(n, l, v)| n == "helsedata_requests_in_flight_by_limit"
                && l.get("limit").is_some_and(|x| x == "per_identity")
                && l.get("identity").is_some_and(|x| x.ends_with("/developer"))
                && *v == 0.0),
        "the developer's in-flight figure: {:?}",
        after
            .0
            .iter()
            .filter(|(n, _, _)| n == "helsedata_requests_in_flight_by_limit")
            .collect::<Vec<_>>()
    );
    assert_eq!(
        after.sum(
            "helsedata_requests_in_flight_by_limit",
            &[("limit", "global")]
        ),
        0.0
    );
    assert_eq!(after.sum("helsedata_tls_reloads_total", &[]), 0.0);
    assert!(after.has("helsedata_audit_records_dropped_total"));

    for (name, path) in [
        ("server", web.config.tls.cert.clone()),
        (
            "client",
            web.config
                .tls
                .client_cert
                .clone()
                .expect("client certificate"),
        ),
    ] {
        let pem = std::fs::read(&path).expect("certificate");
        let expected = helsedata::observe::metrics::not_after(&pem).expect("notAfter");
        let (_, der) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
        let parsed = der.parse_x509().expect("certificate");
        assert_eq!(expected, parsed.validity().not_after.timestamp());
        assert_eq!(
            after.sum(
                "helsedata_certificate_expiry_timestamp_seconds",
                &[("certificate", name)]
            ),
            expected as f64,
            "{name} certificate"
        );
    }

    // An outage: the stopped custodian shows in the outcomes and, after three failures in
    // a row, in the ejections.
    web.stop_custodian("ssb").await;
    for _ in 0..4 {
        let mut request = Request::new(pb::SearchDataSourcesRequest {
            query: "kreft".into(),
            ..Default::default()
        });
        request
            .metadata_mut()
            .insert("cache-control", MetadataValue::from_static("no-store"));
        grpc.search_data_sources(request)
            .await
            .expect("search with ssb down");
    }
    let outage = scrape(admin).await;
    let failed = outage.sum(
        "helsedata_custodian_answers_total",
        &[
            ("custodian", "ssb"),
            ("status", "OUTCOME_STATUS_UNAVAILABLE"),
        ],
    );
    assert!(
        failed >= 1.0,
        "the outage is counted: {:?}",
        outage
            .0
            .iter()
            .filter(|s| s.1.get("custodian").is_some_and(|c| c == "ssb"))
            .collect::<Vec<_>>()
    );
    assert!(
        outage.sum(
            "helsedata_custodian_ejections_total",
            &[("custodian", "ssb")]
        ) >= 1.0
    );
    assert_eq!(
        outage.sum(
            "helsedata_custodian_ejections_total",
            &[("custodian", "fhi")]
        ),
        0.0
    );
    assert_eq!(
        outage.sum("helsedata_custodian_healthy", &[("custodian", "ssb")]),
        0.0
    );
    assert_eq!(
        outage.sum("helsedata_custodian_healthy", &[("custodian", "fhi")]),
        1.0
    );
    web.stop().await;
}

#[tokio::test]
async fn a_custodian_counts_its_calls_and_reloads_on_its_own_admin_listener() {
    let catalogues = fixture::bundled();
    let pki = fixture::Pki::for_catalogues(&catalogues);
    let catalogue = catalogues
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let dir = tempfile::tempdir().expect("temp dir");
    let audit = dir.path().join("custodian-audit.jsonl");
    let admin = free_addr();
    let mut options = fixture::custodian_options(&pki.custodian_tls("fhi"), Duration::ZERO);
    options.audit.target = AuditTarget::File(audit.clone());
    options.admin.enabled = true;
    options.admin.listen = admin;
    let custodian = fixture::start_custodian_with(catalogue, options).await;
    let mut client = fixture::custodian_client(&pki, &custodian, "fhi").await;
    let before = scrape(admin).await;
    for _ in 0..3 {
        client
            .get_custodian_info(pb::GetCustodianInfoRequest::default())
            .await
            .expect("info");
    }
    client
        .get_data_source(pb::GetDataSourceRequest {
            id: "mfr".into(),
            ..Default::default()
        })
        .await
        .expect("mfr");
    let after = scrape(admin).await;
    let info = [
        (
            "method",
            "/helsedata.federation.v1.CustodianCatalogue/GetCustodianInfo",
        ),
        ("code", "OK"),
    ];
    assert_eq!(
        after.sum("helsedata_requests_total", &info)
            - before.sum("helsedata_requests_total", &info),
        3.0
    );
    assert_eq!(after.sum("helsedata_data_file_reloads_total", &[]), 0.0);
    assert_eq!(after.sum("helsedata_data_file_refused", &[]), 0.0);
    assert!(after.has("helsedata_certificate_expiry_timestamp_seconds"));
    let lines = audit_lines(&audit, 4).await;
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines.iter().all(|l| l["service"] == "custodian"
        && l["caller"] == format!("spiffe://{}/developer", identity::DEV_TRUST_DOMAIN)));
    assert_eq!(lines[3]["asked"]["ids"]["id"][0], "mfr");
    custodian.stop().await;
}
