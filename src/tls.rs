//! Mutual TLS set-up for servers and clients. There is no plaintext mode.
//!
//! Servers demand a client certificate chained to the configured CA. Clients verify the
//! server's chain and host name with webpki and, on top, that the server's certificate
//! carries the identity the configuration expects ([`crate::identity`]).

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use rustls::{
    DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::WebPkiServerVerifier,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::CryptoProvider,
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use serde::Deserialize;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use crate::identity;

/// Paths of the PEM files one endpoint needs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// CA certificate(s) that peers must chain to.
    pub ca: PathBuf,
    /// This endpoint's certificate chain.
    pub cert: PathBuf,
    /// This endpoint's private key.
    pub key: PathBuf,
}

/// Why TLS material could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} `{path}`: {source}")]
    Read {
        /// Which file.
        what: &'static str,
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A file holds no usable PEM block.
    #[error("{what} `{path}` holds no valid PEM {expected}: {reason}")]
    Pem {
        /// Which file.
        what: &'static str,
        /// Path.
        path: PathBuf,
        /// What was expected.
        expected: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration refused: {0}")]
    Config(String),
    /// tonic refused the endpoint configuration.
    #[error("endpoint `{endpoint}` cannot be configured: {reason}")]
    Endpoint {
        /// Endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
}

/// Loaded PEM material of one endpoint.
#[derive(Clone)]
pub struct TlsMaterial {
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    roots: Arc<RootCertStore>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("roots", &self.roots.len())
            .finish_non_exhaustive()
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

impl TlsMaterial {
    /// Reads and checks the three PEM files.
    pub fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let ca_pem = read("CA certificate", &files.ca)?;
        let cert_pem = read("certificate", &files.cert)?;
        let key_pem = read("private key", &files.key)?;
        Self::from_pem(
            &files.ca,
            ca_pem,
            &files.cert,
            cert_pem,
            &files.key,
            key_pem,
        )
    }

    fn from_pem(
        ca_path: &Path,
        ca_pem: Vec<u8>,
        cert_path: &Path,
        cert_pem: Vec<u8>,
        key_path: &Path,
        key_pem: Vec<u8>,
    ) -> Result<Self, TlsError> {
        let pem_err = |what, path: &Path, expected, reason: String| TlsError::Pem {
            what,
            path: path.to_path_buf(),
            expected,
            reason,
        };
        let mut roots = RootCertStore::empty();
        let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&ca_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| pem_err("CA certificate", ca_path, "certificate", e.to_string()))?;
        if cas.is_empty() {
            return Err(pem_err(
                "CA certificate",
                ca_path,
                "certificate",
                "no CERTIFICATE block".into(),
            ));
        }
        for ca in cas {
            roots
                .add(ca)
                .map_err(|e| pem_err("CA certificate", ca_path, "certificate", e.to_string()))?;
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| pem_err("certificate", cert_path, "certificate", e.to_string()))?;
        if chain.is_empty() {
            return Err(pem_err(
                "certificate",
                cert_path,
                "certificate",
                "no CERTIFICATE block".into(),
            ));
        }
        rustls::pki_types::PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| pem_err("private key", key_path, "private key", e.to_string()))?;
        Ok(Self {
            ca_pem,
            cert_pem,
            key_pem,
            roots: Arc::new(roots),
        })
    }

    fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert_pem, &self.key_pem)
    }

    /// Server TLS that requires a client certificate chained to the CA.
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity())
            .client_ca_root(Certificate::from_pem(&self.ca_pem))
            .client_auth_optional(false)
            .timeout(Duration::from_secs(10))
    }

    /// Server TLS for a public HTTPS listener: the certificate authenticates the server, no
    /// client certificate is asked for; `alpn` lists the protocols offered (for example
    /// `h2` and `http/1.1`).
    pub fn https_server_config(&self, alpn: &[&[u8]]) -> Result<rustls::ServerConfig, TlsError> {
        let refused = |e: &dyn fmt::Display| TlsError::Config(e.to_string());
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| refused(&e))?;
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| refused(&e))?;
        let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| refused(&e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| refused(&e))?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// A client endpoint to `uri` that presents this identity and accepts only a server
    /// whose certificate chains to the CA and carries `expected_identity`.
    pub fn client_endpoint(
        &self,
        uri: &str,
        expected_identity: &str,
        server_name: Option<&str>,
    ) -> Result<Endpoint, TlsError> {
        let endpoint_err = |reason: String| TlsError::Endpoint {
            endpoint: uri.to_string(),
            reason,
        };
        let verifier = ExpectedIdentityVerifier::new(self.roots.clone(), expected_identity)?;
        let mut tls = ClientTlsConfig::new()
            .identity(self.identity())
            .assume_http2(true)
            .timeout(Duration::from_secs(10));
        if let Some(name) = server_name {
            tls = tls.domain_name(name);
        }
        Endpoint::from_shared(uri.to_string())
            .map_err(|e| endpoint_err(e.to_string()))?
            .tls_config_with_verifier(tls, Arc::new(verifier))
            .map_err(|e| endpoint_err(e.to_string()))
    }
}

/// The one crypto provider used everywhere.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// webpki chain and name verification, plus the expected workload identity.
#[derive(Debug)]
struct ExpectedIdentityVerifier {
    inner: Arc<WebPkiServerVerifier>,
    expected: String,
}

impl ExpectedIdentityVerifier {
    fn new(roots: Arc<RootCertStore>, expected: &str) -> Result<Self, TlsError> {
        let inner = WebPkiServerVerifier::builder_with_provider(roots, crypto_provider())
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(Self {
            inner,
            expected: expected.to_string(),
        })
    }
}

impl ServerCertVerifier for ExpectedIdentityVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        // The typed identity error travels inside the handshake error, so that callers can
        // find it by walking the error's causes (see `identity_rejection`), never by its text.
        identity::verify_identity(end_entity, &self.expected).map_err(|e| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
                Arc::new(e),
            )))
        })?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
