//! Mutual TLS set-up for servers and clients. There is no plaintext mode.
//!
//! Servers demand a client certificate chained to the configured CA, with the clientAuth
//! key usage, and not revoked by any configured CRL ([`TlsMaterial::rustls_server_config`],
//! served by [`crate::acceptor`]). Clients verify the server's chain, serverAuth usage and
//! host name with webpki and, on top, that the server's certificate carries the identity the
//! configuration expects ([`crate::identity`]). [`crate::reload::ReloadingTls`] re-reads the
//! files when they change.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use rustls::{
    DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
    client::WebPkiServerVerifier,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::CryptoProvider,
    pki_types::{
        CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
        pem::PemObject,
    },
    server::WebPkiClientVerifier,
};
use serde::Deserialize;
use tonic::transport::{ClientTlsConfig, Endpoint, Identity};

use crate::identity;

/// Paths of the PEM files one endpoint needs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// CA certificate(s) that peers must chain to.
    pub ca: PathBuf,
    /// This endpoint's certificate chain (the server certificate of a server).
    pub cert: PathBuf,
    /// This endpoint's private key.
    pub key: PathBuf,
    /// Certificate revocation lists (PEM) checked against client certificates; empty checks
    /// none. A client certificate listed in one is refused at the handshake.
    #[serde(default)]
    pub crls: Vec<PathBuf>,
    /// Client certificate presented on outgoing connections, when it differs from `cert`
    /// (a server certificate carries serverAuth only, so a process that also connects out
    /// needs a second, clientAuth certificate).
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Private key of `client_cert`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

impl TlsFiles {
    /// CA, certificate and key, no CRLs and no separate client certificate.
    pub fn new(ca: impl Into<PathBuf>, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            ca: ca.into(),
            cert: cert.into(),
            key: key.into(),
            crls: Vec::new(),
            client_cert: None,
            client_key: None,
        }
    }

    /// Every file read, in a fixed order (used to notice changes).
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.ca.clone(), self.cert.clone(), self.key.clone()];
        paths.extend(self.crls.iter().cloned());
        paths.extend(self.client_cert.iter().cloned());
        paths.extend(self.client_key.iter().cloned());
        paths
    }
}

/// Why TLS material could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} `{path}`: {source}")]
    Read {
        /// What the file is for, for example `CA certificate` or `private key`.
        what: &'static str,
        /// The file that could not be read, as configured.
        path: PathBuf,
        /// The I/O error the operating system reported.
        source: std::io::Error,
    },
    /// A file holds no usable PEM block.
    #[error("{what} `{path}` holds no valid PEM {expected}: {reason}")]
    Pem {
        /// What the file is for, for example `CA certificate` or `private key`.
        what: &'static str,
        /// The file holding no usable block, as configured.
        path: PathBuf,
        /// The kind of PEM block sought: `certificate`, `private key` or `X509 CRL`.
        expected: &'static str,
        /// The PEM parser's error, or which block the file lacks.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration refused: {0}")]
    Config(String),
    /// `client_cert` and `client_key` must be given together.
    #[error("tls.client_cert and tls.client_key must be given together (set both or neither)")]
    ClientPair,
    /// tonic refused the endpoint configuration.
    #[error("endpoint `{endpoint}` cannot be configured: {reason}")]
    Endpoint {
        /// The URI the client endpoint was to connect to.
        endpoint: String,
        /// Why tonic refused the URI or the TLS settings.
        reason: String,
    },
}

/// Loaded PEM material of one endpoint.
#[derive(Clone)]
pub struct TlsMaterial {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    client_cert_pem: Vec<u8>,
    client_key_pem: Vec<u8>,
    roots: Arc<RootCertStore>,
    crls: Vec<CertificateRevocationListDer<'static>>,
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
        let mut material = Self::from_pem(
            &files.ca,
            ca_pem,
            &files.cert,
            cert_pem,
            &files.key,
            key_pem,
        )?;
        match (&files.client_cert, &files.client_key) {
            (None, None) => {}
            (Some(cert), Some(key)) => {
                let cert_pem = read("client certificate", cert)?;
                let key_pem = read("client private key", key)?;
                check_chain("client certificate", cert, &cert_pem)?;
                check_key("client private key", key, &key_pem)?;
                material.client_cert_pem = cert_pem;
                material.client_key_pem = key_pem;
            }
            _ => return Err(TlsError::ClientPair),
        }
        for path in &files.crls {
            let pem = read("certificate revocation list", path)?;
            let crls: Vec<CertificateRevocationListDer<'static>> =
                CertificateRevocationListDer::pem_slice_iter(&pem)
                    .collect::<Result<_, _>>()
                    .map_err(|e| TlsError::Pem {
                        what: "certificate revocation list",
                        path: path.clone(),
                        expected: "X509 CRL",
                        reason: e.to_string(),
                    })?;
            if crls.is_empty() {
                return Err(TlsError::Pem {
                    what: "certificate revocation list",
                    path: path.clone(),
                    expected: "X509 CRL",
                    reason: "no X509 CRL block".into(),
                });
            }
            material.crls.extend(crls);
        }
        // Build both once so that a bad CRL or a key that does not match its certificate is
        // refused here (a reload then keeps the old files), not at the next handshake.
        material.rustls_server_config()?;
        material.rustls_client_config(&identity::gateway_identity())?;
        Ok(material)
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
        check_chain("certificate", cert_path, &cert_pem)?;
        check_key("private key", key_path, &key_pem)?;
        Ok(Self {
            client_cert_pem: cert_pem.clone(),
            client_key_pem: key_pem.clone(),
            cert_pem,
            key_pem,
            roots: Arc::new(roots),
            crls: Vec::new(),
        })
    }

    /// The certificate chains this endpoint presents (PEM): `server` to its clients and,
    /// when a separate one is configured, `client` to the servers it calls.
    pub fn presented_certificates(&self) -> Vec<(&'static str, &[u8])> {
        let mut chains = vec![("server", self.cert_pem.as_slice())];
        if self.client_cert_pem != self.cert_pem {
            chains.push(("client", self.client_cert_pem.as_slice()));
        }
        chains
    }

    fn identity(&self) -> Identity {
        Identity::from_pem(&self.client_cert_pem, &self.client_key_pem)
    }

    /// The rustls server configuration: this endpoint's certificate, HTTP/2 only, and a
    /// client certificate that must chain to the CA, carry clientAuth and appear in no
    /// configured CRL. (A certificate whose issuer has no CRL configured is accepted, so
    /// that adding a CA to the bundle does not lock its clients out before its CRL is.)
    pub fn rustls_server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = crypto_provider();
        let mut verifier =
            WebPkiClientVerifier::builder_with_provider(self.roots.clone(), provider.clone());
        if !self.crls.is_empty() {
            verifier = verifier
                .with_crls(self.crls.iter().cloned())
                .allow_unknown_revocation_status();
        }
        let verifier = verifier
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }

    /// The rustls client configuration: presents the client certificate, speaks HTTP/2 and
    /// accepts only a server chained to the CA that carries `expected_identity`.
    pub fn rustls_client_config(
        &self,
        expected_identity: &str,
    ) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let verifier = ExpectedIdentityVerifier::new(self.roots.clone(), expected_identity)?;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&self.client_cert_pem)
                .collect::<Result<_, _>>()
                .map_err(|e| TlsError::Config(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(&self.client_key_pem)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(chain, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
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

fn check_chain(what: &'static str, path: &Path, pem: &[u8]) -> Result<(), TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            path: path.to_path_buf(),
            expected: "certificate",
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            what,
            path: path.to_path_buf(),
            expected: "certificate",
            reason: "no CERTIFICATE block".into(),
        });
    }
    Ok(())
}

fn check_key(what: &'static str, path: &Path, pem: &[u8]) -> Result<(), TlsError> {
    PrivateKeyDer::from_pem_slice(pem)
        .map(|_| ())
        .map_err(|e| TlsError::Pem {
            what,
            path: path.to_path_buf(),
            expected: "private key",
            reason: e.to_string(),
        })
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
