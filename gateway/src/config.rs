//! Gateway configuration: a TOML file layered with `HELSEDATA_GATEWAY__…` environment
//! overrides (the `config` crate), then checked as a whole. A bad setting stops the gateway
//! at start with the key at fault and what to do.

use std::{
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
    /// Logs and traces.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// Cache lifetimes.
    #[serde(default)]
    pub cache: CacheConfig,
    /// Settings every custodian inherits unless it overrides them.
    #[serde(default)]
    pub defaults: UpstreamDefaults,
    /// Limits on incoming requests.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The public web catalogue and JSON API.
    #[serde(default)]
    pub web: crate::web::settings::WebConfig,
    /// The custodians.
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
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            catalogue_ttl_ms: 60_000,
            record_ttl_ms: 60_000,
            search_ttl_ms: 30_000,
            max_stale_ms: 24 * 3600 * 1000,
        }
    }
}

/// Per-custodian settings with defaults.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamDefaults {
    /// Deadline of one call to a custodian, in milliseconds (the caller's deadline wins when shorter).
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
}

impl Default for UpstreamDefaults {
    fn default() -> Self {
        Self {
            timeout_ms: 2_000,
            connect_timeout_ms: 1_000,
            eject_after_failures: 5,
            base_ejection_ms: 5_000,
            max_ejection_ms: 60_000,
        }
    }
}

/// Limits on incoming requests.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Deadline applied when a caller sends none, in milliseconds.
    pub default_deadline_ms: u64,
    /// Most requests served at once; more are refused with RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            default_deadline_ms: 5_000,
            max_concurrent_requests: 1_024,
        }
    }
}

/// One custodian.
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
    /// Overrides `defaults.timeout_ms`.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
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

    /// The call deadline for this custodian.
    pub fn timeout(&self, defaults: &UpstreamDefaults) -> Duration {
        Duration::from_millis(self.timeout_ms.unwrap_or(defaults.timeout_ms))
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

/// The bundled default configuration (the demo serves it).
pub const DEFAULT_CONFIG: &str = include_str!("../config/gateway.toml");

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
        if self.defaults.timeout_ms == 0 {
            return Err(invalid("defaults.timeout_ms", "must be greater than 0"));
        }
        if self.defaults.connect_timeout_ms == 0 {
            return Err(invalid(
                "defaults.connect_timeout_ms",
                "must be greater than 0",
            ));
        }
        if self.defaults.eject_after_failures > 0
            && (self.defaults.base_ejection_ms == 0
                || self.defaults.max_ejection_ms < self.defaults.base_ejection_ms)
        {
            return Err(invalid(
                "defaults.base_ejection_ms",
                "must be greater than 0 and not above defaults.max_ejection_ms when ejection is on",
            ));
        }
        if self.limits.default_deadline_ms == 0 {
            return Err(invalid(
                "limits.default_deadline_ms",
                "must be greater than 0",
            ));
        }
        if self.limits.max_concurrent_requests == 0 {
            return Err(invalid(
                "limits.max_concurrent_requests",
                "must be greater than 0",
            ));
        }
        for (key, value) in [
            ("cache.catalogue_ttl_ms", self.cache.catalogue_ttl_ms),
            ("cache.record_ttl_ms", self.cache.record_ttl_ms),
            ("cache.search_ttl_ms", self.cache.search_ttl_ms),
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
mod tests {
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
    fn duplicate_custodians_are_refused() {
        let twice = format!(
            "{MINIMAL}[[custodians]]\nid = \"fhi\"\nendpoint = \"https://127.0.0.1:50102\"\nowns = [\"x\"]\n"
        );
        let err = GatewayConfig::from_toml(&twice).unwrap_err().to_string();
        assert!(err.contains("custodians[1].id"), "{err}");
    }
}
