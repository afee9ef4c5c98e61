//! Tests of the gateway configuration: defaults, overrides, and the errors that name the key.
use super::*;

const MINIMAL: &str = r#"
listen = "127.0.0.1:0"
national_rules = "config/national-rules.toml"
[tls]
ca = "ca.pem"
cert = "gateway.pem"
key = "gateway.key"
[[custodians]]
id = "fhi"
endpoint = "https://127.0.0.1:50101"
owns = ["mfr", "hs-*"]
"#;

#[test]
fn bundled_default_is_valid() {
    let config = GatewayConfig::from_toml(DEFAULT_CONFIG).unwrap();
    assert!(config.custodians.len() >= 17);
    assert_eq!(config.listen.port(), 50051);
    assert!(config.web.enabled, "the demo serves the web catalogue");
    assert_eq!(config.web.listen.port(), 8443);
}

#[test]
fn audit_and_admin_settings_default_to_off_and_parse() {
    use helsedata::observe::audit::AuditTarget;
    let bundled = GatewayConfig::from_toml(DEFAULT_CONFIG).unwrap();
    assert!(bundled.admin.enabled && bundled.admin.listen.ip().is_loopback());
    assert_eq!(bundled.audit.target, AuditTarget::Off);
    let minimal = GatewayConfig::from_toml(MINIMAL).unwrap();
    assert!(!minimal.admin.enabled);
    assert_eq!(minimal.audit.target, AuditTarget::Off);
    let set = GatewayConfig::from_toml(&format!(
        "{MINIMAL}[audit]\ntarget = \"/var/log/helsedata/audit.jsonl\"\n\
         [admin]\nenabled = true\nlisten = \"127.0.0.1:9999\"\n"
    ))
    .unwrap();
    assert_eq!(
        set.audit.target,
        AuditTarget::File("/var/log/helsedata/audit.jsonl".into())
    );
    assert_eq!(set.admin.listen.port(), 9999);
    let err = GatewayConfig::from_toml(&format!("{MINIMAL}[audit]\nqueue = 0\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("audit.queue"), "{err}");
}

#[test]
fn connection_and_authorization_settings_are_checked_with_the_key() {
    let config = GatewayConfig::from_toml(MINIMAL).unwrap();
    assert_eq!(config.authz, AuthzConfig::default());
    assert!(
        config
            .authz
            .is_operator("spiffe://helsedata.test/operator/ola")
    );
    assert!(
        !config
            .authz
            .is_operator("spiffe://helsedata.test/developer")
    );
    let err = GatewayConfig::from_toml(&format!(
        "{MINIMAL}[connections]\nidle_timeout_ms = 30000\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("connections.idle_timeout_ms"), "{err}");
    let err = GatewayConfig::from_toml(&format!(
        "{MINIMAL}[authz]\n[[authz.rules]]\nname = \"bad\"\nidentities = [\"spiffe://x/*/y\"]\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("authz.rules") && err.contains("`bad`"),
        "{err}"
    );
    let err =
        GatewayConfig::from_toml(&format!("{MINIMAL}[authz]\noperators = [\"operator/*\"]\n"))
            .unwrap_err()
            .to_string();
    assert!(err.contains("authz.operators"), "{err}");
    let err = GatewayConfig::from_toml(&MINIMAL.replace(
        "key = \"gateway.key\"",
        "key = \"gateway.key\"\nclient_cert = \"c.pem\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("tls.client_cert"), "{err}");
}

#[test]
fn request_limits_take_method_overrides_and_are_checked_with_the_key() {
    let text = format!(
        "{MINIMAL}[limits]\nmax_concurrent_requests_per_identity = 8\n[limits.methods.\"/helsedata.federation.v1.FederatedCatalogue/PlanApplication\"]\ndefault_deadline_ms = 9000\nmax_deadline_ms = 20000\n"
    );
    let limits = GatewayConfig::from_toml(&text)
        .unwrap()
        .limits
        .request_limits();
    assert_eq!(limits.max_concurrent_requests_per_identity, 8);
    assert_eq!(
        limits.effective_timeout(
            "/helsedata.federation.v1.FederatedCatalogue/PlanApplication",
            None
        ),
        Duration::from_secs(9)
    );
    let err = GatewayConfig::from_toml(&text.replace("9000", "30000"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "limits.methods.\"/helsedata.federation.v1.FederatedCatalogue/PlanApplication\""
        ),
        "{err}"
    );
    let err = GatewayConfig::from_toml(&format!(
        "{MINIMAL}[limits]\nrequest_message_timeout_ms = 0\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("limits.request_message_timeout_ms"), "{err}");
    let err = GatewayConfig::from_toml(&format!(
        "{MINIMAL}[limits]\nrequest_burst_per_identity = 0\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("limits.request_burst_per_identity"), "{err}");
    let unlimited = GatewayConfig::from_toml(&format!(
        "{MINIMAL}[limits]\nrequests_per_second_per_identity = 0\n"
    ))
    .unwrap();
    assert_eq!(unlimited.limits.request_limits().rate_per_identity, None);
    let err = GatewayConfig::from_toml(&format!("{MINIMAL}[connections]\nsend_timeout_ms = 0\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("connections.send_timeout_ms"), "{err}");
}

#[test]
fn defaults_fill_what_is_not_set() {
    let config = GatewayConfig::from_toml(MINIMAL).unwrap();
    assert_eq!(config.defaults.timeout_ms, 2_000);
    assert_eq!(
        config.custodians[0].expected_identity(),
        "spiffe://helsedata.test/custodian/fhi"
    );
}

#[test]
fn plaintext_endpoints_are_refused_with_the_key() {
    let text = MINIMAL.replace("https://127.0.0.1:50101", "http://127.0.0.1:50101");
    let err = GatewayConfig::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("custodians[0].endpoint"), "{err}");
    assert!(err.contains("mutual TLS"), "{err}");
}

#[test]
fn unknown_keys_and_zero_timeouts_are_refused() {
    let err = GatewayConfig::from_toml(&format!("{MINIMAL}colour = 1\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("colour"), "{err}");
    let err = GatewayConfig::from_toml(&MINIMAL.replace(
        "owns = [\"mfr\", \"hs-*\"]",
        "owns = [\"mfr\"]\ntimeout_ms = 0",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("custodians[0].timeout_ms"), "{err}");
}

#[test]
fn overrides_change_one_custodian_and_the_old_timeout_key_still_works() {
    let text = format!(
        "{MINIMAL}timeout_ms = 700\n[custodians.overrides]\nconnect_timeout_ms = 300\nmax_concurrent_calls = 8\n[[custodians]]\nid = \"ssb\"\nendpoint = \"https://127.0.0.1:50102\"\nowns = [\"ssb-*\"]\n[custodians.overrides]\ntimeout_ms = 900\n"
    );
    let config = GatewayConfig::from_toml(&text).unwrap();
    let fhi = resolve_upstream(&config.defaults, &config.custodians[0]);
    assert_eq!(
        (
            fhi.timeout_ms,
            fhi.connect_timeout_ms,
            fhi.max_concurrent_calls
        ),
        (700, 300, 8)
    );
    assert_eq!(
        fhi.eject_after_failures,
        config.defaults.eject_after_failures
    );
    let ssb = resolve_upstream(&config.defaults, &config.custodians[1]);
    assert_eq!((ssb.timeout_ms, ssb.connect_timeout_ms), (900, 1_000));
    let bad = text.replace("max_concurrent_calls = 8", "max_concurrent_calls = 0");
    let err = GatewayConfig::from_toml(&bad).unwrap_err().to_string();
    assert!(
        err.contains("custodians[0].overrides.max_concurrent_calls"),
        "{err}"
    );
}

#[test]
fn duplicate_custodians_are_refused() {
    let twice = format!(
        "{MINIMAL}[[custodians]]\nid = \"fhi\"\nendpoint = \"https://127.0.0.1:50102\"\nowns = [\"x\"]\n"
    );
    let err = GatewayConfig::from_toml(&twice).unwrap_err().to_string();
    assert!(err.contains("custodians[1].id"), "{err}");
}
