//! The status codes gRPC prescribes, on the gateway and on a custodian, seen by a raw tonic
//! client over mutual TLS: an oversized message is RESOURCE_EXHAUSTED, an expired deadline
//! DEADLINE_EXCEEDED, a message that is not valid protobuf INVALID_ARGUMENT naming no
//! internal type, error metadata stays under 8 KiB however many fields are wrong, a query
//! without a searchable word is INVALID_ARGUMENT, and a source known only from a stale
//! catalogue snapshot is served marked stale.

use std::time::{Duration, Instant};

use fixture::{
    Federation, Pki, bundled, custodian_client, gateway_client, gateway_config, start_custodian,
    start_gateway,
};
use helsedata::proto as pb;
use prost::bytes::{Buf, BufMut};
use tonic::{
    Code, Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};
use tonic_types::StatusExt;

/// A codec that sends the given bytes as the message, valid protobuf or not.
#[derive(Debug, Default, Clone, Copy)]
struct RawCodec;

#[derive(Debug)]
struct RawEncoder;

#[derive(Debug)]
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut out = vec![0; buf.remaining()];
        buf.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// Calls `path` with `bytes` as the request message.
async fn raw_call(channel: Channel, path: &'static str, bytes: Vec<u8>) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    grpc.unary(
        Request::new(bytes),
        tonic::codegen::http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

/// Calls `path` over a bare HTTP/2 connection (no tonic client, which would enforce the
/// `grpc-timeout` itself and report its own expiry as CANCELLED) with an empty request
/// message and `grpc-timeout` set to `timeout`; returns the server's status code and message.
async fn bare_call(
    tls: &helsedata::tls::TlsMaterial,
    addr: std::net::SocketAddr,
    identity: &str,
    path: &str,
    timeout: &str,
) -> (String, String) {
    use http_body_util::{BodyExt, Full};
    let config = tls.rustls_client_config(identity).expect("client config");
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(
            rustls_pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
            tcp,
        )
        .await
        .expect("handshake");
    let (mut send, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("HTTP/2");
    tokio::spawn(connection);
    let request = hyper::Request::post(format!("https://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", timeout)
        .body(Full::new(hyper::body::Bytes::from_static(&[0, 0, 0, 0, 0])))
        .expect("request");
    let response = send.send_request(request).await.expect("an answer");
    let (parts, body) = response.into_parts();
    let trailers = body
        .collect()
        .await
        .ok()
        .and_then(|b| b.trailers().cloned())
        .unwrap_or_default();
    let field = |name: &str| {
        parts
            .headers
            .get(name)
            .or_else(|| trailers.get(name))
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    (field("grpc-status"), field("grpc-message"))
}

/// The bytes a status takes in metadata: the message percent-encoded, the details in base64.
fn metadata_bytes(status: &Status) -> usize {
    let message: usize = status
        .message()
        .bytes()
        .map(|b| {
            if (0x20..0x7f).contains(&b) && b != b'%' {
                1
            } else {
                3
            }
        })
        .sum();
    message + status.details().len().div_ceil(3) * 4
}

/// Messages that do not decode as the method's request: a string field that is not UTF-8,
/// a field number 0, a length running past the end.
const MALFORMED: [&[u8]; 3] = [
    &[0x0a, 0x02, 0xff, 0xfe],
    &[0x00, 0x01],
    &[0x0a, 0x7f, 0x61],
];

fn assert_malformed_is_invalid_argument(status: &Status, names: &[&str]) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("not valid protobuf"),
        "{status:?}"
    );
    for name in names {
        assert!(
            !status.message().contains(name),
            "the message names no internal type or field: {status:?}"
        );
    }
}

async fn one_custodian_gateway() -> (Pki, fixture::Running, fixture::Running) {
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let pki = Pki::new(&["fhi"]);
    let custodian = start_custodian(&pki, "fhi", catalogue, Duration::ZERO).await;
    let gateway = start_gateway(gateway_config(&pki, &[("fhi", &custodian)])).await;
    (pki, custodian, gateway)
}

#[tokio::test]
async fn the_gateway_answers_oversized_malformed_and_overlong_requests_by_the_book() {
    let (pki, custodian, gateway) = one_custodian_gateway().await;
    let mut client = gateway_client(&pki, &gateway).await;

    let huge = pb::SearchDataSourcesRequest {
        query: "a".repeat(2 << 20),
        ..Default::default()
    };
    let status = client
        .search_data_sources(huge)
        .await
        .expect_err("a 2 MiB request is refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("limit is 1048576 bytes"),
        "{status:?}"
    );

    for bytes in MALFORMED {
        let channel = fixture::channel(
            &pki.developer_tls(),
            gateway.addr,
            &helsedata::identity::gateway_identity(),
            |e| e,
        )
        .await
        .expect("connects");
        let status = raw_call(
            channel,
            "/helsedata.federation.v1.FederatedCatalogue/SearchDataSources",
            bytes.to_vec(),
        )
        .await
        .expect_err("malformed request refused");
        assert_malformed_is_invalid_argument(&status, &["SearchDataSourcesRequest", "query"]);
    }

    let plan = pb::PlanApplicationRequest {
        variable_ids: (0..2000)
            .map(|i| format!("Ø{i}/{}", "ø".repeat(90)))
            .collect(),
        data_source_ids: (0..200).map(|i| format!("NOT AN ID {i}")).collect(),
        purpose: pb::Purpose::Research as i32,
        stage: pb::ProjectStage::New as i32,
        data_level: pb::DataLevel::DeidentifiedIndividual as i32,
        ..Default::default()
    };
    let status = client
        .plan_application(plan)
        .await
        .expect_err("2,200 bad ids refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        metadata_bytes(&status) < 8 * 1024,
        "error metadata is {} bytes",
        metadata_bytes(&status)
    );
    let details = status.get_error_details();
    let violations = &details
        .bad_request()
        .expect("bad request details")
        .field_violations;
    let summary = violations.last().expect("a summary");
    assert_eq!(summary.field, "request");
    let left_out: usize = summary
        .description
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the summary counts the violations left out");
    assert_eq!(
        violations.len() - 1 + left_out,
        2200,
        "each is listed or counted"
    );

    for query in ["🙂🙂🙂", "?!…", "og the"] {
        let status = client
            .search_data_sources(pb::SearchDataSourcesRequest {
                query: query.into(),
                ..Default::default()
            })
            .await
            .expect_err("a query without a searchable word is refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{query}: {status:?}");
        assert!(
            status.message().contains("no word to search for"),
            "{status:?}"
        );
    }
    let all = client
        .search_data_sources(pb::SearchDataSourcesRequest::default())
        .await
        .expect("an empty query lists everything")
        .into_inner();
    assert!(all.total_size > 0);
    gateway.stop().await;
    custodian.stop().await;
}

#[tokio::test]
async fn a_custodian_answers_oversized_malformed_and_expired_calls_by_the_book() {
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let pki = Pki::new(&["fhi"]);
    let slow = start_custodian(&pki, "fhi", catalogue, Duration::from_secs(3)).await;
    let mut client = custodian_client(&pki, &slow, "fhi").await;

    for timeout in ["1u", "200m"] {
        let started = Instant::now();
        let (code, message) = bare_call(
            &pki.developer_tls(),
            slow.addr,
            &helsedata::identity::custodian_identity("fhi"),
            "/helsedata.federation.v1.CustodianCatalogue/GetCustodianInfo",
            timeout,
        )
        .await;
        assert_eq!(
            code,
            (Code::DeadlineExceeded as i32).to_string(),
            "{timeout}: {message}"
        );
        assert!(message.contains("deadline"), "{message}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "answered at the deadline, not after the work"
        );
    }

    let huge = pb::ListDataSourcesRequest {
        filter: Some(pb::DataSourceFilter {
            text: "a".repeat(2 << 20),
            ..Default::default()
        }),
        ..Default::default()
    };
    let status = client
        .list_data_sources(huge)
        .await
        .expect_err("a 2 MiB request is refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    for bytes in MALFORMED {
        let channel = fixture::channel(
            &pki.developer_tls(),
            slow.addr,
            &helsedata::identity::custodian_identity("fhi"),
            |e| e,
        )
        .await
        .expect("connects");
        let status = raw_call(
            channel,
            "/helsedata.federation.v1.CustodianCatalogue/ListDataSources",
            bytes.to_vec(),
        )
        .await
        .expect_err("malformed request refused");
        assert_malformed_is_invalid_argument(&status, &["ListDataSourcesRequest", "filter"]);
    }
    slow.stop().await;
}

#[tokio::test]
async fn a_source_known_only_from_a_stale_snapshot_is_served_marked_stale() {
    let mut federation = Federation::start_with(|config| config.cache.catalogue_ttl_ms = 200).await;
    let mut client = federation.client().await;
    let warm = client
        .search_data_sources(pb::SearchDataSourcesRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("warm the catalogue")
        .into_inner();
    assert_eq!(warm.total_size, 104);
    federation.stop_custodian("ssb").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = client
        .get_data_source(pb::GetDataSourceRequest {
            id: "ssb-inntekt".into(),
            view: 0,
        })
        .await
        .expect("served from the snapshot, not UNAVAILABLE")
        .into_inner();
    let result = answer.result.expect("a result");
    assert_eq!(
        result.data_source.as_ref().map(|s| s.id.as_str()),
        Some("ssb-inntekt")
    );
    let provenance = result.provenance.expect("provenance");
    assert_eq!(provenance.custodian_id, "ssb");
    assert_eq!(provenance.freshness, pb::Freshness::Stale as i32);
    let ssb = answer
        .custodians
        .iter()
        .find(|o| o.custodian_id == "ssb")
        .expect("ssb's outcome");
    assert_eq!(ssb.status, pb::OutcomeStatus::Unavailable as i32, "{ssb:?}");
    assert_eq!(ssb.freshness, pb::Freshness::Stale as i32);
    assert!(ssb.age.is_some() && ssb.message.contains("last known good"));

    let unknown = client
        .get_data_source(pb::GetDataSourceRequest {
            id: "ssb-no-such-source".into(),
            view: 0,
        })
        .await
        .expect_err("a source the snapshot does not hold is not made up");
    assert_ne!(unknown.code(), Code::Ok);
}
