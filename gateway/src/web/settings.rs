//! The `[web]` section of the gateway configuration: where the public HTTPS catalogue
//! listens and the limits it enforces.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::config::{ConfigError, all_positive};

/// The most requests or connections the web listener may be configured to hold at once.
const MAX_SLOTS: usize = 1_000_000;

/// Settings of the web catalogue and JSON API.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Whether the HTTPS listener runs at all (off unless the configuration turns it on).
    pub enabled: bool,
    /// Address of the HTTPS listener.
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Requests per second one client address may send on average.
    pub requests_per_second: u32,
    /// Requests one client address may send at once above the average.
    pub burst: u32,
    /// Deadline of one request (and of the federation work behind it), in milliseconds.
    pub request_timeout_ms: u64,
    /// How long a client may take to send the request headers, in milliseconds.
    pub header_timeout_ms: u64,
    /// `max-age` of the Strict-Transport-Security header, in seconds.
    pub hsts_max_age_s: u64,
    /// The web catalogue's public address: the HealthDCAT-AP export mints its IRIs under it,
    /// and each dataset's `foaf:page` is its source page there.
    pub public_url: String,
    /// HealthDCAT-AP exports (`/catalogue…`) streamed at once; more get 503 until one ends.
    pub max_concurrent_exports: u32,
    /// Requests served at once over all connections; more get 503 at once.
    pub max_concurrent_requests: usize,
    /// Connections open at once (handshaking or established); more are closed at once.
    pub max_connections: usize,
    /// A connection from which nothing arrives for this long is closed, in milliseconds.
    pub idle_timeout_ms: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            max_body_bytes: 64 * 1024,
            requests_per_second: 50,
            burst: 200,
            request_timeout_ms: 10_000,
            header_timeout_ms: 5_000,
            hsts_max_age_s: 31_536_000,
            public_url: crate::export::dcat::DEFAULT_BASE.to_string(),
            max_concurrent_exports: 4,
            max_concurrent_requests: 256,
            max_connections: 1_024,
            idle_timeout_ms: 120_000,
        }
    }
}

impl WebConfig {
    /// Checks the section; keys are named as `web.<key>`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: &str| ConfigError::Invalid {
            key: format!("web.{key}"),
            reason: reason.to_string(),
        };
        if self.max_body_bytes < 1024 {
            return Err(invalid(
                "max_body_bytes",
                "must be at least 1024 (a plan request for 200 sources needs some kilobytes)",
            ));
        }
        all_positive([
            (
                "web.requests_per_second",
                u64::from(self.requests_per_second),
            ),
            ("web.burst", u64::from(self.burst)),
            (
                "web.max_concurrent_exports",
                u64::from(self.max_concurrent_exports),
            ),
        ])?;
        for (key, value) in [
            ("max_concurrent_requests", self.max_concurrent_requests),
            ("max_connections", self.max_connections),
        ] {
            if value == 0 || value > MAX_SLOTS {
                return Err(invalid(key, &format!("must be between 1 and {MAX_SLOTS}")));
            }
        }
        all_positive([
            ("web.request_timeout_ms", self.request_timeout_ms),
            ("web.header_timeout_ms", self.header_timeout_ms),
            ("web.idle_timeout_ms", self.idle_timeout_ms),
        ])?;
        if let Err(crate::export::dcat::ExportError::Base { reason, .. }) =
            crate::export::dcat::Minter::new(&self.public_url)
        {
            return Err(invalid(
                "public_url",
                &format!(
                    "`{}` cannot be the base of the catalogue export's IRIs: {reason}; give the web catalogue's public address, such as https://katalog.example.no/",
                    self.public_url
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_serve_on_8443() {
        let config = WebConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.listen.port(), 8443);
    }

    #[test]
    fn zero_limits_are_refused_with_the_key() {
        let config = WebConfig {
            requests_per_second: 0,
            ..WebConfig::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("web.requests_per_second"), "{err}");
        let config = WebConfig {
            max_body_bytes: 10,
            ..WebConfig::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("web.max_body_bytes"), "{err}");
        let config = WebConfig {
            max_concurrent_requests: 0,
            ..WebConfig::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("web.max_concurrent_requests"), "{err}");
    }

    #[test]
    fn a_public_url_that_cannot_be_an_iri_base_is_refused_with_the_key() {
        let config = WebConfig {
            public_url: "katalog.example.no".into(),
            ..WebConfig::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("web.public_url") && err.contains("https://"),
            "{err}"
        );
    }
}
