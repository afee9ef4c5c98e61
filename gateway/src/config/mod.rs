//! Gateway configuration: a TOML file layered with `HELSEDATA_GATEWAY__…` environment
//! overrides (the `config` crate), then checked as a whole. A bad setting stops the gateway
//! at start with the key at fault and what to do.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use helsedata::{telemetry::TelemetryConfig, tls::TlsFiles};
use serde::Deserialize;

/// Environment prefix: `HELSEDATA_GATEWAY__LISTEN=0.0.0.0:50051`,
/// `HELSEDATA_GATEWAY__CACHE__CATALOGUE_TTL_MS=5000`.
pub const ENV_PREFIX: &str = "HELSEDATA_GATEWAY";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address the gateway listens on.
    pub listen: SocketAddr,
    /// The gateway's own TLS files: `cert`/`key` serve clients and authenticate the gateway to
    /// custodians; `ca` is the CA that clients and custodians must chain to.
    pub tls: TlsFiles,
    /// Path of the national routing rules file.
    pub national_rules: PathBuf,
    /// Path of the health concept vocabulary; the vocabulary built into the gateway when unset.
    #[serde(default)]
    pub concepts: Option<PathBuf>,
    /// Log format and filter, and where traces are exported.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// How long custodian answers are served from the cache, fresh and stale.
    #[serde(default)]
    pub cache: CacheConfig,
    /// Settings of the calls to every custodian, unless its `overrides` change them.
    #[serde(default)]
    pub defaults: UpstreamSettings,
    /// Limits on incoming requests.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Limits on client connections and how often the TLS files are checked for changes.
    #[serde(default)]
    pub connections: ConnectionsConfig,
    /// Who may call what, and who sees operator detail.
    #[serde(default)]
    pub authz: AuthzConfig,
    /// The public web catalogue and JSON API.
    #[serde(default)]
    pub web: crate::web::settings::WebConfig,
    /// The audit trail: one JSON line per request.
    #[serde(default)]
    pub audit: helsedata::observe::audit::AuditConfig,
    /// The admin listener that serves `/metrics`.
    #[serde(default)]
    pub admin: helsedata::observe::admin::AdminConfig,
    /// Every custodian the gateway asks, in the order that breaks ownership ties.
    pub custodians: Vec<CustodianConfig>,
}

/// Cache lifetimes, in milliseconds.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// How long a custodian's catalogue snapshot (its sources) is served without asking again.
    pub catalogue_ttl_ms: u64,
    /// How long single records, variable pages and access rules are served without asking again.
    pub record_ttl_ms: u64,
    /// How long a variable search answer is served without asking again.
    pub search_ttl_ms: u64,
    /// How long a failed custodian's last known good answer may be served, marked stale.
    pub max_stale_ms: u64,
    /// How many generations of the merged catalogue (one per custodian revision the gateway
    /// applies) the change feed keeps for consumers to resume from.
    pub change_generations: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            catalogue_ttl_ms: 60_000,
            record_ttl_ms: 60_000,
            search_ttl_ms: 30_000,
            max_stale_ms: 24 * 3600 * 1000,
            change_generations: 1000,
        }
    }
}

/// Every setting of the gateway's calls to one custodian. The `defaults` table sets them
/// for all; each custodian's `overrides` table may change any of them for that custodian
/// (after Apollo Router's `all` and per-subgraph traffic shaping); [`resolve_upstream`] is
/// the one place the two are combined.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSettings {
    /// Deadline of one call to a custodian, in milliseconds. Calls always get this much;
    /// a caller waits for them only as long as its own deadline allows.
    pub timeout_ms: u64,
    /// TCP and TLS connect timeout, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Consecutive failed calls after which a custodian is ejected (calls fail at once and
    /// its last known good answers are served); 0 never ejects.
    pub eject_after_failures: u32,
    /// First ejection, in milliseconds; each repeat doubles it.
    pub base_ejection_ms: u64,
    /// Longest ejection, in milliseconds.
    pub max_ejection_ms: u64,
    /// Most calls in flight to this custodian at once; further calls wait for a slot (within
    /// their own timeout).
    pub max_concurrent_calls: usize,
    /// Largest answer accepted from the custodian, in bytes.
    pub max_message_bytes: usize,
    /// Interval of HTTP/2 keep-alive pings on the custodian's connection, in milliseconds.
    pub keep_alive_interval_ms: u64,
    /// How long a keep-alive ping may go unanswered before the connection is closed, in
    /// milliseconds.
    pub keep_alive_timeout_ms: u64,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 2_000,
            connect_timeout_ms: 1_000,
            eject_after_failures: 5,
            base_ejection_ms: 5_000,
            max_ejection_ms: 60_000,
            max_concurrent_calls: 256,
            max_message_bytes: 64 << 20,
            keep_alive_interval_ms: 30_000,
            keep_alive_timeout_ms: 10_000,
        }
    }
}

impl UpstreamSettings {
    /// The deadline of one call.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Refuses settings that cannot work; `key` names a field as the configuration does.
    fn check(&self, key: impl Fn(&str) -> String) -> Result<(), ConfigError> {
        let fields = [
            ("timeout_ms", self.timeout_ms),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("max_concurrent_calls", self.max_concurrent_calls as u64),
            ("max_message_bytes", self.max_message_bytes as u64),
            ("keep_alive_interval_ms", self.keep_alive_interval_ms),
            ("keep_alive_timeout_ms", self.keep_alive_timeout_ms),
        ]
        .map(|(field, value)| (key(field), value));
        all_positive(fields)?;
        if self.eject_after_failures > 0
            && (self.base_ejection_ms == 0 || self.max_ejection_ms < self.base_ejection_ms)
        {
            return Err(invalid(
                key("base_ejection_ms"),
                "must be greater than 0 and not above max_ejection_ms when ejection is on",
            ));
        }
        Ok(())
    }
}

/// One custodian's changes to the `defaults` table; unset keys inherit.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamOverrides {
    /// Overrides `defaults.timeout_ms`.
    pub timeout_ms: Option<u64>,
    /// Overrides `defaults.connect_timeout_ms`.
    pub connect_timeout_ms: Option<u64>,
    /// Overrides `defaults.eject_after_failures`.
    pub eject_after_failures: Option<u32>,
    /// Overrides `defaults.base_ejection_ms`.
    pub base_ejection_ms: Option<u64>,
    /// Overrides `defaults.max_ejection_ms`.
    pub max_ejection_ms: Option<u64>,
    /// Overrides `defaults.max_concurrent_calls`.
    pub max_concurrent_calls: Option<usize>,
    /// Overrides `defaults.max_message_bytes`.
    pub max_message_bytes: Option<usize>,
    /// Overrides `defaults.keep_alive_interval_ms`.
    pub keep_alive_interval_ms: Option<u64>,
    /// Overrides `defaults.keep_alive_timeout_ms`.
    pub keep_alive_timeout_ms: Option<u64>,
}

/// The settings of the calls to `custodian`: its `overrides` over `defaults`, with the
/// older per-custodian `timeout_ms` key between the two.
pub fn resolve_upstream(
    defaults: &UpstreamSettings,
    custodian: &CustodianConfig,
) -> UpstreamSettings {
    let o = &custodian.overrides;
    UpstreamSettings {
        timeout_ms: o
            .timeout_ms
            .or(custodian.timeout_ms)
            .unwrap_or(defaults.timeout_ms),
        connect_timeout_ms: o.connect_timeout_ms.unwrap_or(defaults.connect_timeout_ms),
        eject_after_failures: o
            .eject_after_failures
            .unwrap_or(defaults.eject_after_failures),
        base_ejection_ms: o.base_ejection_ms.unwrap_or(defaults.base_ejection_ms),
        max_ejection_ms: o.max_ejection_ms.unwrap_or(defaults.max_ejection_ms),
        max_concurrent_calls: o
            .max_concurrent_calls
            .unwrap_or(defaults.max_concurrent_calls),
        max_message_bytes: o.max_message_bytes.unwrap_or(defaults.max_message_bytes),
        keep_alive_interval_ms: o
            .keep_alive_interval_ms
            .unwrap_or(defaults.keep_alive_interval_ms),
        keep_alive_timeout_ms: o
            .keep_alive_timeout_ms
            .unwrap_or(defaults.keep_alive_timeout_ms),
    }
}

/// Limits on incoming requests: deadlines, the request-message timeout and calls in flight
/// (applied to every call by [`helsedata::limits::LimitsLayer`]).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Deadline applied when a caller sends none, in milliseconds.
    pub default_deadline_ms: u64,
    /// Longest deadline a caller may ask for, in milliseconds; longer ones are cut to it.
    pub max_deadline_ms: u64,
    /// Deadline of a long-lived stream (WatchChanges, health Watch, reflection) when the
    /// caller sends none, and the longest it may ask for, in milliseconds. The stream then
    /// ends with DEADLINE_EXCEEDED and the client resumes it.
    pub stream_deadline_ms: u64,
    /// Deadline bounds of single methods, keyed `/package.Service/Method` or
    /// `/package.Service/*`; they replace the ones above for the methods they name.
    pub methods: BTreeMap<String, MethodDeadlineConfig>,
    /// Time from a call's headers to the end of its request message, in milliseconds; a
    /// call that sends no message in time is answered DEADLINE_EXCEEDED and its slot freed.
    pub request_message_timeout_ms: u64,
    /// Most time kept back from the caller's deadline to merge and send the answer, in
    /// milliseconds (a tenth of the deadline when that is less).
    pub max_headroom_ms: u64,
    /// Most requests served at once; more are refused with RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    /// Most requests served at once on one client connection.
    pub max_concurrent_requests_per_connection: usize,
    /// Most requests served at once for one caller identity, over all its connections.
    pub max_concurrent_requests_per_identity: usize,
    /// Most health checks served at once; they have this pool to themselves and count
    /// toward no other limit, so the health service answers whatever the load.
    pub max_concurrent_health_checks: usize,
    /// Calls a second allowed to one caller identity on average, over all its connections
    /// (0: no limit). A call beyond it is refused with RESOURCE_EXHAUSTED and the time until
    /// the next is admitted, and the caller's connection is not read from until then.
    pub requests_per_second_per_identity: u32,
    /// Calls one caller identity may send at once above its rate after a quiet spell.
    pub request_burst_per_identity: u32,
}

/// Deadline bounds of one method (`[limits.methods."/package.Service/Method"]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MethodDeadlineConfig {
    /// Deadline applied when a caller sends none, in milliseconds.
    pub default_deadline_ms: u64,
    /// Longest deadline a caller may ask for, in milliseconds.
    pub max_deadline_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            default_deadline_ms: 5_000,
            max_deadline_ms: 60_000,
            stream_deadline_ms: 3_600_000,
            methods: BTreeMap::new(),
            request_message_timeout_ms: 5_000,
            max_headroom_ms: 50,
            max_concurrent_requests: 1_024,
            max_concurrent_requests_per_connection: 100,
            max_concurrent_requests_per_identity: 256,
            max_concurrent_health_checks: 64,
            requests_per_second_per_identity: 1_000,
            request_burst_per_identity: 200,
        }
    }
}

impl LimitsConfig {
    /// The limits as the server applies them.
    pub fn request_limits(&self) -> helsedata::limits::RequestLimits {
        use helsedata::limits::{MethodDeadline, RequestLimits};
        let ms = Duration::from_millis;
        let bound = |default, max| MethodDeadline {
            default: ms(default),
            max: ms(max),
        };
        RequestLimits {
            deadline: bound(self.default_deadline_ms, self.max_deadline_ms),
            stream_deadline: bound(self.stream_deadline_ms, self.stream_deadline_ms),
            methods: self
                .methods
                .iter()
                .map(|(m, b)| (m.clone(), bound(b.default_deadline_ms, b.max_deadline_ms)))
                .collect(),
            request_message_timeout: ms(self.request_message_timeout_ms),
            max_concurrent_requests: self.max_concurrent_requests,
            max_concurrent_requests_per_connection: self.max_concurrent_requests_per_connection,
            max_concurrent_requests_per_identity: self.max_concurrent_requests_per_identity,
            max_concurrent_health_checks: self.max_concurrent_health_checks,
            rate_per_identity: (self.requests_per_second_per_identity > 0).then_some(
                helsedata::limits::RequestRate {
                    per_second: self.requests_per_second_per_identity,
                    burst: self.request_burst_per_identity,
                },
            ),
        }
    }

    /// Refuses limits that cannot work, naming the key.
    fn check(&self) -> Result<(), ConfigError> {
        self.request_limits().check().map_err(|e| {
            let key = match e.key.as_str() {
                "deadline" => "limits.default_deadline_ms".to_string(),
                "stream_deadline" => "limits.stream_deadline_ms".to_string(),
                "request_message_timeout" => "limits.request_message_timeout_ms".to_string(),
                "rate_per_identity.per_second" => {
                    "limits.requests_per_second_per_identity".to_string()
                }
                "rate_per_identity.burst" => "limits.request_burst_per_identity".to_string(),
                other => match other.strip_prefix("methods.") {
                    Some(method) => format!("limits.methods.\"{method}\""),
                    None => format!("limits.{other}"),
                },
            };
            invalid(key, e.problem)
        })
    }
}

/// Limits on client connections.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// Most client connections open at once (handshaking or established); more are closed
    /// at once.
    pub max_connections: usize,
    /// Time a client has to complete the TLS handshake, in milliseconds.
    pub handshake_timeout_ms: u64,
    /// A connection from which nothing arrives for this long is closed, in milliseconds.
    /// Answered HTTP/2 keep-alive pings count, so it must exceed 80 000 (the server's 60 s
    /// ping interval plus its 20 s timeout).
    pub idle_timeout_ms: u64,
    /// Refused connections and handshakes are logged at most once per this interval, in
    /// milliseconds, with a count of those not logged.
    pub refusal_log_interval_ms: u64,
    /// How often the TLS certificate, key, CA and CRL files are compared with what is
    /// loaded, in milliseconds (SIGHUP compares at once).
    pub reload_poll_ms: u64,
    /// Most HTTP/2 streams open at once on one connection (the SETTINGS value the gateway
    /// announces); HTTP/2 refuses more with REFUSED_STREAM.
    pub max_concurrent_streams: u32,
    /// A connection on which a chunk of an answer waits this long for the client's
    /// flow-control window is closed and its streams reset, in milliseconds.
    pub send_timeout_ms: u64,
    /// Most bytes of answers waiting to be taken on by HTTP/2 on one connection (reserved
    /// chunk by chunk, given back once HTTP/2 takes a chunk on); a further answer waits for
    /// room up to `send_timeout_ms`, then ends with RESOURCE_EXHAUSTED.
    pub max_buffered_response_bytes_per_connection: u64,
    /// The same, on all connections together.
    pub max_buffered_response_bytes: u64,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            max_connections: 4_096,
            handshake_timeout_ms: 10_000,
            idle_timeout_ms: 300_000,
            refusal_log_interval_ms: 10_000,
            reload_poll_ms: 2_000,
            max_concurrent_streams: helsedata::grpc_server::MAX_CONCURRENT_STREAMS,
            send_timeout_ms: 30_000,
            max_buffered_response_bytes_per_connection: 8 << 20,
            max_buffered_response_bytes: 128 << 20,
        }
    }
}

impl ConnectionsConfig {
    /// The acceptor's limits.
    pub fn limits(&self) -> helsedata::acceptor::ConnectionLimits {
        helsedata::acceptor::ConnectionLimits {
            max_connections: self.max_connections,
            handshake_timeout: Duration::from_millis(self.handshake_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            log_interval: Duration::from_millis(self.refusal_log_interval_ms),
            send_timeout: Duration::from_millis(self.send_timeout_ms),
            max_buffered_response_bytes_per_connection: self
                .max_buffered_response_bytes_per_connection,
            max_buffered_response_bytes: self.max_buffered_response_bytes,
        }
    }
}

/// Who may call the gateway, and who sees operator detail.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthzConfig {
    /// Identities (exact, or `prefix/*`) that see operator detail in ListCustodians:
    /// custodian endpoints and transport errors.
    pub operators: Vec<String>,
    /// Ordered rules, first match wins; a caller no rule covers is refused.
    pub rules: Vec<helsedata::authz::Rule>,
}

impl Default for AuthzConfig {
    fn default() -> Self {
        use helsedata::authz::{Effect, Rule};
        let id = |path: &str| format!("spiffe://{}/{path}", helsedata::identity::DEV_TRUST_DOMAIN);
        Self {
            operators: vec![id("operator/*")],
            rules: vec![
                Rule {
                    name: "custodians-are-not-clients".into(),
                    effect: Effect::Deny,
                    identities: vec![id("custodian/*")],
                    methods: vec!["*".into()],
                },
                Rule {
                    name: "clients".into(),
                    effect: Effect::Allow,
                    identities: vec![
                        id("developer"),
                        id("developer/*"),
                        id("helsedataservice/*"),
                        id("operator/*"),
                    ],
                    methods: vec!["*".into()],
                },
            ],
        }
    }
}

impl AuthzConfig {
    /// Whether `identity` sees operator detail.
    pub fn is_operator(&self, identity: &str) -> bool {
        self.operators
            .iter()
            .any(|p| helsedata::authz::matches(p, identity))
    }
}

/// One custodian: where it is, who it must be, what it may publish, its overrides.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CustodianConfig {
    /// Custodian id, for example `fhi`.
    pub id: String,
    /// `https://host:port` of its CustodianCatalogue service.
    pub endpoint: String,
    /// The certificate identity (URI SAN) it must present; by default
    /// `spiffe://helsedata.test/custodian/<id>`.
    #[serde(default)]
    pub identity: Option<String>,
    /// TLS server name to verify, when it differs from the endpoint's host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Overrides `defaults.timeout_ms` (the same as `overrides.timeout_ms`, which wins).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Changes to any `defaults` setting for this custodian.
    #[serde(default)]
    pub overrides: UpstreamOverrides,
    /// Data source ids it may publish; `prefix*` matches every id with that prefix.
    pub owns: Vec<String>,
}

impl CustodianConfig {
    /// The identity the custodian must present.
    pub fn expected_identity(&self) -> String {
        self.identity
            .clone()
            .unwrap_or_else(|| helsedata::identity::custodian_identity(&self.id))
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read or parsed.
    #[error("configuration `{source_name}` cannot be read: {reason}")]
    Read {
        /// The file (or "environment").
        source_name: String,
        /// Why, as the parser says it (it names the key).
        reason: String,
    },
    /// A key has a value that cannot work.
    #[error("configuration key `{key}`: {reason}")]
    Invalid {
        /// The key, as a dotted path.
        key: String,
        /// Why and what to do.
        reason: String,
    },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Refuses the first of `fields` (key and value) whose value is 0.
pub(crate) fn all_positive<K: Into<String>>(
    fields: impl IntoIterator<Item = (K, u64)>,
) -> Result<(), ConfigError> {
    match fields.into_iter().find(|(_, value)| *value == 0) {
        Some((key, _)) => Err(invalid(key, "must be greater than 0")),
        None => Ok(()),
    }
}

/// The bundled default configuration (the demo serves it).
pub const DEFAULT_CONFIG: &str = include_str!("../../config/gateway.toml");

impl GatewayConfig {
    /// Loads `path` (or the bundled default when `None`) and applies environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        let source_name = match path {
            Some(p) => {
                if !p.is_file() {
                    return Err(ConfigError::Read {
                        source_name: p.display().to_string(),
                        reason: "no such file".into(),
                    });
                }
                builder =
                    builder.add_source(config::File::from(p).format(config::FileFormat::Toml));
                p.display().to_string()
            }
            None => {
                builder = builder.add_source(config::File::from_str(
                    DEFAULT_CONFIG,
                    config::FileFormat::Toml,
                ));
                "bundled default gateway.toml".to_string()
            }
        };
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        let merged = builder.build().map_err(|e| ConfigError::Read {
            source_name: source_name.clone(),
            reason: e.to_string(),
        })?;
        let parsed: GatewayConfig = merged.try_deserialize().map_err(|e| ConfigError::Read {
            source_name,
            reason: e.to_string(),
        })?;
        parsed.validate()?;
        Ok(parsed)
    }

    /// Parses TOML text without environment overrides (tests, tools).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let parsed: GatewayConfig = toml::from_str(text).map_err(|e| ConfigError::Read {
            source_name: "TOML text".into(),
            reason: e.to_string(),
        })?;
        parsed.validate()?;
        Ok(parsed)
    }

    /// Checks the whole configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.custodians.is_empty() {
            return Err(invalid(
                "custodians",
                "at least one custodian must be configured",
            ));
        }
        self.defaults.check(|field| format!("defaults.{field}"))?;
        if self.audit.queue == 0 {
            return Err(invalid("audit.queue", "must be greater than 0"));
        }
        self.limits.check()?;
        all_positive([
            (
                "connections.max_connections",
                self.connections.max_connections as u64,
            ),
            (
                "connections.handshake_timeout_ms",
                self.connections.handshake_timeout_ms,
            ),
            (
                "connections.refusal_log_interval_ms",
                self.connections.refusal_log_interval_ms,
            ),
            (
                "connections.reload_poll_ms",
                self.connections.reload_poll_ms,
            ),
            (
                "connections.max_concurrent_streams",
                u64::from(self.connections.max_concurrent_streams),
            ),
            (
                "connections.send_timeout_ms",
                self.connections.send_timeout_ms,
            ),
            (
                "connections.max_buffered_response_bytes_per_connection",
                self.connections.max_buffered_response_bytes_per_connection,
            ),
            (
                "connections.max_buffered_response_bytes",
                self.connections.max_buffered_response_bytes,
            ),
        ])?;
        let keepalive =
            helsedata::grpc_server::KEEPALIVE_INTERVAL + helsedata::grpc_server::KEEPALIVE_TIMEOUT;
        if Duration::from_millis(self.connections.idle_timeout_ms) <= keepalive {
            return Err(invalid(
                "connections.idle_timeout_ms",
                format!(
                    "must exceed {} (the keep-alive ping interval plus its timeout), or idle \
                     but healthy connections are closed",
                    keepalive.as_millis()
                ),
            ));
        }
        helsedata::authz::Policy::new(self.authz.rules.clone())
            .map_err(|e| invalid("authz.rules", e.to_string()))?;
        if self.authz.rules.is_empty() {
            return Err(invalid(
                "authz.rules",
                "no rule: every caller would be refused; add at least one allow rule",
            ));
        }
        for pattern in &self.authz.operators {
            helsedata::authz::Policy::new(vec![helsedata::authz::Rule {
                name: "operators".into(),
                effect: helsedata::authz::Effect::Allow,
                identities: vec![pattern.clone()],
                methods: vec!["*".into()],
            }])
            .map_err(|e| invalid("authz.operators", e.to_string()))?;
        }
        if self.tls.client_cert.is_some() != self.tls.client_key.is_some() {
            return Err(invalid(
                "tls.client_cert",
                "tls.client_cert and tls.client_key must be given together",
            ));
        }
        for (key, value) in [
            ("cache.catalogue_ttl_ms", self.cache.catalogue_ttl_ms),
            ("cache.record_ttl_ms", self.cache.record_ttl_ms),
            ("cache.search_ttl_ms", self.cache.search_ttl_ms),
            (
                "cache.change_generations",
                self.cache.change_generations as u64,
            ),
        ] {
            if value == 0 {
                return Err(invalid(
                    key,
                    "must be greater than 0 (the cache cannot be switched off; callers may bypass it per request)",
                ));
            }
        }
        self.web.validate()?;
        let mut seen: Vec<&str> = Vec::new();
        for (i, c) in self.custodians.iter().enumerate() {
            let key = |field: &str| format!("custodians[{i}].{field}");
            if !helsedata::contract::is_id(&c.id) {
                return Err(invalid(
                    key("id"),
                    format!(
                        "`{}` is not a custodian id: use lowercase letters, digits and '-'",
                        c.id
                    ),
                ));
            }
            if seen.contains(&c.id.as_str()) {
                return Err(invalid(
                    key("id"),
                    format!("custodian `{}` is configured twice", c.id),
                ));
            }
            seen.push(&c.id);
            let uri: http::Uri = c.endpoint.parse().map_err(|e| {
                invalid(
                    key("endpoint"),
                    format!("`{}` is not a URI: {e}", c.endpoint),
                )
            })?;
            if uri.scheme_str() != Some("https") {
                return Err(invalid(
                    key("endpoint"),
                    format!(
                        "`{}` must use https://: custodians are reached over mutual TLS only",
                        c.endpoint
                    ),
                ));
            }
            if uri.host().is_none() || uri.port_u16().is_none() {
                return Err(invalid(
                    key("endpoint"),
                    format!(
                        "`{}` must name a host and a port, for example https://127.0.0.1:50101",
                        c.endpoint
                    ),
                ));
            }
            if c.timeout_ms == Some(0) {
                return Err(invalid(key("timeout_ms"), "must be greater than 0"));
            }
            resolve_upstream(&self.defaults, c)
                .check(|field| key(&format!("overrides.{field}")))?;
            if let Some(identity) = &c.identity
                && !identity.starts_with("spiffe://")
            {
                return Err(invalid(
                    key("identity"),
                    format!(
                        "`{identity}` is not a URI identity such as spiffe://helsedata.test/custodian/{}",
                        c.id
                    ),
                ));
            }
            if c.owns.is_empty() {
                return Err(invalid(
                    key("owns"),
                    "list the data source ids (or `prefix*` patterns) this custodian may publish",
                ));
            }
            for pattern in &c.owns {
                let stem = pattern.strip_suffix('*').unwrap_or(pattern);
                if stem.contains('*') || !(stem.is_empty() || helsedata::contract::is_id(stem)) {
                    return Err(invalid(
                        key("owns"),
                        format!("`{pattern}` is not an id or `prefix*` pattern"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
