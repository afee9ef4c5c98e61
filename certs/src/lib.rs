//! Development PKI for the helsedata federation.
//!
//! Writes into one directory: a dev CA (`ca.pem`, `ca.key`), one server certificate per
//! custodian (`custodian-<id>.pem/.key`, URI SAN `spiffe://helsedata.test/custodian/<id>`),
//! the gateway's certificate (`gateway.pem/.key`, server and client use), and a developer
//! client certificate for grpcurl (`client.pem/.key`). Keys are generated on the machine
//! and never committed. Every leaf also names `localhost` and `127.0.0.1` so that loopback
//! host-name verification succeeds.

#![warn(missing_docs)]

use std::{
    fs,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// The trust domain used in the URI SANs.
pub const TRUST_DOMAIN: &str = "helsedata.test";

/// Why the PKI could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Key or certificate generation failed.
    #[error("cannot generate {what}: {source}")]
    Generate {
        /// What.
        what: String,
        /// Cause.
        source: rcgen::Error,
    },
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A custodian id cannot be used in a certificate.
    #[error(
        "custodian id `{0}` is not usable in a certificate: use lowercase letters, digits and '-'"
    )]
    BadId(String),
}

/// Paths of the files in a dev PKI directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    dir: PathBuf,
}

impl DevPki {
    /// The PKI in `dir` (which may not exist yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// CA certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Certificate of a custodian.
    pub fn custodian_cert(&self, id: &str) -> PathBuf {
        self.dir.join(format!("custodian-{id}.pem"))
    }

    /// Key of a custodian.
    pub fn custodian_key(&self, id: &str) -> PathBuf {
        self.dir.join(format!("custodian-{id}.key"))
    }

    /// Gateway certificate.
    pub fn gateway_cert(&self) -> PathBuf {
        self.dir.join("gateway.pem")
    }

    /// Gateway key.
    pub fn gateway_key(&self) -> PathBuf {
        self.dir.join("gateway.key")
    }

    /// Developer client certificate.
    pub fn client_cert(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    /// Developer client key.
    pub fn client_key(&self) -> PathBuf {
        self.dir.join("client.key")
    }

    /// Whether every file for these custodians exists.
    pub fn is_complete(&self, custodians: &[String]) -> bool {
        let mut paths = vec![
            self.ca_cert(),
            self.gateway_cert(),
            self.gateway_key(),
            self.client_cert(),
            self.client_key(),
        ];
        for id in custodians {
            paths.push(self.custodian_cert(id));
            paths.push(self.custodian_key(id));
        }
        paths.iter().all(|p| p.is_file())
    }

    /// Writes the PKI unless it is already complete for these custodians. Returns whether
    /// it wrote anything.
    pub fn ensure(&self, custodians: &[String]) -> Result<bool, CertError> {
        if self.is_complete(custodians) {
            return Ok(false);
        }
        self.generate(custodians)?;
        Ok(true)
    }

    /// Writes a new CA and all leaves, replacing whatever was there.
    pub fn generate(&self, custodians: &[String]) -> Result<(), CertError> {
        for id in custodians {
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(CertError::BadId(id.clone()));
            }
        }
        fs::create_dir_all(&self.dir).map_err(|source| CertError::Write {
            path: self.dir.clone(),
            source,
        })?;
        let ca_key = key("CA key")?;
        let ca_params = ca_params();
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(|source| CertError::Generate {
                what: "CA certificate".into(),
                source,
            })?;
        self.write(&self.ca_cert(), &ca_cert.pem())?;
        self.write(&self.dir.join("ca.key"), &ca_key.serialize_pem())?;
        let issuer = Issuer::new(ca_params, ca_key);
        for id in custodians {
            let leaf = issue(
                &issuer,
                &format!("custodian {id}"),
                &format!("custodian/{id}"),
                true,
                false,
            )?;
            self.write(&self.custodian_cert(id), &leaf.0)?;
            self.write(&self.custodian_key(id), &leaf.1)?;
        }
        let gateway = issue(&issuer, "gateway", "gateway", true, true)?;
        self.write(&self.gateway_cert(), &gateway.0)?;
        self.write(&self.gateway_key(), &gateway.1)?;
        let client = issue(&issuer, "developer", "developer", false, true)?;
        self.write(&self.client_cert(), &client.0)?;
        self.write(&self.client_key(), &client.1)?;
        Ok(())
    }

    /// Issues one more leaf from the CA in this directory's memory-less form: used by tests
    /// that need a certificate with an arbitrary identity. Writes `<name>.pem/.key`.
    pub fn issue_with_identity(
        &self,
        name: &str,
        identity_path: &str,
    ) -> Result<(PathBuf, PathBuf), CertError> {
        let ca_key_pem =
            fs::read_to_string(self.dir.join("ca.key")).map_err(|source| CertError::Write {
                path: self.dir.join("ca.key"),
                source,
            })?;
        let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(|source| CertError::Generate {
            what: "CA key from PEM".into(),
            source,
        })?;
        let issuer = Issuer::new(ca_params(), ca_key);
        let (cert, key) = issue(&issuer, name, identity_path, true, true)?;
        let cert_path = self.dir.join(format!("{name}.pem"));
        let key_path = self.dir.join(format!("{name}.key"));
        self.write(&cert_path, &cert)?;
        self.write(&key_path, &key)?;
        Ok((cert_path, key_path))
    }

    fn write(&self, path: &Path, contents: &str) -> Result<(), CertError> {
        fs::write(path, contents).map_err(|source| CertError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn key(what: &str) -> Result<KeyPair, CertError> {
    KeyPair::generate().map_err(|source| CertError::Generate {
        what: what.to_string(),
        source,
    })
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "helsedata dev CA");
    name.push(
        DnType::OrganizationName,
        "helsedata federation (development only)",
    );
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn issue(
    issuer: &Issuer<'_, KeyPair>,
    common_name: &str,
    identity_path: &str,
    server: bool,
    client: bool,
) -> Result<(String, String), CertError> {
    let leaf_key = key(common_name)?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    let uri = format!("spiffe://{TRUST_DOMAIN}/{identity_path}");
    params.subject_alt_names = vec![
        SanType::URI(uri.try_into().map_err(|source| CertError::Generate {
            what: format!("URI SAN of {common_name}"),
            source,
        })?),
        SanType::DnsName(
            "localhost"
                .try_into()
                .map_err(|source| CertError::Generate {
                    what: "DNS SAN".into(),
                    source,
                })?,
        ),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if server {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if client {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    let cert = params
        .signed_by(&leaf_key, issuer)
        .map_err(|source| CertError::Generate {
            what: format!("certificate of {common_name}"),
            source,
        })?;
    Ok((cert.pem(), leaf_key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_file_and_ensure_is_idempotent() {
        let dir = std::env::temp_dir().join(format!("dev-certs-test-{}", std::process::id()));
        let pki = DevPki::new(&dir);
        let ids = vec!["fhi".to_string(), "ssb".to_string()];
        assert!(pki.ensure(&ids).unwrap());
        assert!(pki.is_complete(&ids));
        assert!(!pki.ensure(&ids).unwrap());
        let pem = fs::read_to_string(pki.custodian_cert("fhi")).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refuses_ids_that_cannot_be_a_uri_path() {
        let pki = DevPki::new(std::env::temp_dir().join("dev-certs-bad-id"));
        assert!(matches!(
            pki.generate(&["Bad Id".into()]),
            Err(CertError::BadId(_))
        ));
    }
}
