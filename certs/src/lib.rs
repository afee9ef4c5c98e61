//! Development PKI for the helsedata federation.
//!
//! Writes into one directory: a dev CA (`ca.pem`, `ca.key`), one server certificate per
//! custodian (`custodian-<id>.pem/.key`, URI SAN `spiffe://helsedata.test/custodian/<id>`),
//! the gateway's two certificates (`gateway.pem/.key`, serverAuth only, for its listener;
//! `gateway-client.pem/.key`, clientAuth only, for its links to custodians; both
//! `spiffe://helsedata.test/gateway`), and a developer client certificate for grpcurl
//! (`client.pem/.key`, clientAuth only, `spiffe://helsedata.test/developer`) and an
//! operator's (`operator.pem/.key`, `spiffe://helsedata.test/operator/dev`). A server
//! certificate cannot be used as a client's and the other way round. Private keys are
//! written readable by their owner only (0600), generated on the machine and never
//! committed. Every leaf also names `localhost` and `127.0.0.1` so that loopback host-name
//! verification succeeds. [`DevPki::issue_crl`] writes a CRL revoking chosen certificates.

#![warn(missing_docs)]

use std::{
    fs,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
};

/// The trust domain used in the URI SANs.
pub const TRUST_DOMAIN: &str = "helsedata.test";

/// Why the PKI could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Key or certificate generation failed.
    #[error("cannot generate {what}: {source}")]
    Generate {
        /// What was being generated, for example `CA key` or `CA certificate`.
        what: String,
        /// The error rcgen reported.
        source: rcgen::Error,
    },
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The I/O error the operating system reported.
        source: std::io::Error,
    },
    /// A certificate to revoke cannot be read.
    #[error("cannot revoke `{path}`: {reason}")]
    Revoke {
        /// The certificate file.
        path: PathBuf,
        /// Why the file could not be read or parsed as a PEM X.509 certificate.
        reason: String,
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

    /// The directory that holds (or will hold) every file of the PKI.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of custodian `id`'s server certificate, `custodian-<id>.pem`.
    pub fn custodian_cert(&self, id: &str) -> PathBuf {
        self.dir.join(format!("custodian-{id}.pem"))
    }

    /// Path of custodian `id`'s private key, `custodian-<id>.key`.
    pub fn custodian_key(&self, id: &str) -> PathBuf {
        self.dir.join(format!("custodian-{id}.key"))
    }
}

/// Declares a [`DevPki`] method per fixed file name of the directory.
macro_rules! pki_files {
    ($($(#[$doc:meta])* $method:ident => $file:literal;)+) => {
        impl DevPki {
            $(
                $(#[$doc])*
                pub fn $method(&self) -> PathBuf {
                    self.dir.join($file)
                }
            )+
        }
    };
}

pki_files! {
    /// Path of the dev CA's certificate, `ca.pem`, which every peer must chain to.
    ca_cert => "ca.pem";
    /// Path of the gateway's server certificate (serverAuth only), `gateway.pem`.
    gateway_cert => "gateway.pem";
    /// Path of the private key of the gateway's server certificate, `gateway.key`.
    gateway_key => "gateway.key";
    /// The gateway's client certificate (clientAuth), for its links to custodians.
    gateway_client_cert => "gateway-client.pem";
    /// Key of the gateway's client certificate.
    gateway_client_key => "gateway-client.key";
    /// The CRL written by [`DevPki::issue_crl`].
    crl => "crl.pem";
    /// Operator client certificate (`spiffe://helsedata.test/operator/dev`): may call
    /// custodians directly and sees operator detail on the gateway.
    operator_cert => "operator.pem";
    /// Path of the private key of the operator's client certificate, `operator.key`.
    operator_key => "operator.key";
    /// Path of the developer's grpcurl client certificate, `client.pem`.
    client_cert => "client.pem";
    /// Path of the private key of the developer's client certificate, `client.key`.
    client_key => "client.key";
}

impl DevPki {
    /// Whether every file for these custodians exists.
    pub fn is_complete(&self, custodians: &[String]) -> bool {
        let mut paths = vec![
            self.ca_cert(),
            self.gateway_cert(),
            self.gateway_key(),
            self.gateway_client_cert(),
            self.gateway_client_key(),
            self.client_cert(),
            self.client_key(),
            self.operator_cert(),
            self.operator_key(),
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
        self.write_key(&self.dir.join("ca.key"), &ca_key.serialize_pem())?;
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
            self.write_key(&self.custodian_key(id), &leaf.1)?;
        }
        let gateway = issue(&issuer, "gateway", "gateway", true, false)?;
        self.write(&self.gateway_cert(), &gateway.0)?;
        self.write_key(&self.gateway_key(), &gateway.1)?;
        let gateway_client = issue(&issuer, "gateway (client)", "gateway", false, true)?;
        self.write(&self.gateway_client_cert(), &gateway_client.0)?;
        self.write_key(&self.gateway_client_key(), &gateway_client.1)?;
        let client = issue(&issuer, "developer", "developer", false, true)?;
        self.write(&self.client_cert(), &client.0)?;
        self.write_key(&self.client_key(), &client.1)?;
        let operator = issue(&issuer, "operator", "operator/dev", false, true)?;
        self.write(&self.operator_cert(), &operator.0)?;
        self.write_key(&self.operator_key(), &operator.1)?;
        Ok(())
    }

    fn issuer(&self) -> Result<Issuer<'static, KeyPair>, CertError> {
        let ca_key_pem =
            fs::read_to_string(self.dir.join("ca.key")).map_err(|source| CertError::Write {
                path: self.dir.join("ca.key"),
                source,
            })?;
        let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(|source| CertError::Generate {
            what: "CA key from PEM".into(),
            source,
        })?;
        Ok(Issuer::new(ca_params(), ca_key))
    }

    /// Issues a client-only certificate (clientAuth) for `spiffe://helsedata.test/<identity_path>`
    /// from this directory's CA; writes `<name>.pem/.key` and returns their paths.
    pub fn issue_client(
        &self,
        name: &str,
        identity_path: &str,
    ) -> Result<(PathBuf, PathBuf), CertError> {
        self.issue_leaf(name, identity_path, false, true)
    }

    /// Issues a server-only certificate (serverAuth) for `spiffe://helsedata.test/<identity_path>`
    /// from this directory's CA; writes `<name>.pem/.key` and returns their paths (used to
    /// rotate a server's certificate).
    pub fn issue_server(
        &self,
        name: &str,
        identity_path: &str,
    ) -> Result<(PathBuf, PathBuf), CertError> {
        self.issue_leaf(name, identity_path, true, false)
    }

    /// Issues a client-only certificate carrying no URI SAN (no workload identity), for tests
    /// that check such certificates are refused; writes `<name>.pem/.key`.
    pub fn issue_client_without_identity(
        &self,
        name: &str,
    ) -> Result<(PathBuf, PathBuf), CertError> {
        self.issue_leaf(name, "", false, true)
    }

    /// `identity_path` empty: no URI SAN.
    fn issue_leaf(
        &self,
        name: &str,
        identity_path: &str,
        server: bool,
        client: bool,
    ) -> Result<(PathBuf, PathBuf), CertError> {
        let (cert, key) = issue(&self.issuer()?, name, identity_path, server, client)?;
        let cert_path = self.dir.join(format!("{name}.pem"));
        let key_path = self.dir.join(format!("{name}.key"));
        self.write(&cert_path, &cert)?;
        self.write_key(&key_path, &key)?;
        Ok((cert_path, key_path))
    }

    /// Writes `crl.pem`: a CRL of this directory's CA revoking the certificates in the
    /// files `revoked` (an empty list writes a CRL revoking nothing). Returns its path.
    pub fn issue_crl(&self, revoked: &[PathBuf]) -> Result<PathBuf, CertError> {
        let mut revoked_certs = Vec::new();
        for path in revoked {
            let bad = |reason: String| CertError::Revoke {
                path: path.clone(),
                reason,
            };
            let pem = fs::read(path).map_err(|e| bad(e.to_string()))?;
            let (_, pem) =
                x509_parser::pem::parse_x509_pem(&pem).map_err(|e| bad(e.to_string()))?;
            let cert = pem.parse_x509().map_err(|e| bad(e.to_string()))?;
            revoked_certs.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(cert.raw_serial()),
                revocation_time: rcgen::date_time_ymd(2025, 1, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            });
        }
        let crl = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2025, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(revoked_certs.len() as u64 + 1),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer()?)
        .map_err(|source| CertError::Generate {
            what: "certificate revocation list".into(),
            source,
        })?;
        let pem = crl.pem().map_err(|source| CertError::Generate {
            what: "certificate revocation list PEM".into(),
            source,
        })?;
        self.write(&self.crl(), &pem)?;
        Ok(self.crl())
    }

    /// Issues one more leaf, for both server and client use, from the CA in this directory:
    /// used by tests and tools (a proxy that is a server to one side and a client to the
    /// other) that need a certificate with an arbitrary identity. Writes `<name>.pem/.key`.
    pub fn issue_with_identity(
        &self,
        name: &str,
        identity_path: &str,
    ) -> Result<(PathBuf, PathBuf), CertError> {
        self.issue_leaf(name, identity_path, true, true)
    }

    fn write(&self, path: &Path, contents: &str) -> Result<(), CertError> {
        fs::write(path, contents).map_err(|source| CertError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes a private key readable and writable by its owner only (0600 on Unix), also
    /// when the file existed with wider permissions.
    fn write_key(&self, path: &Path, contents: &str) -> Result<(), CertError> {
        let err = |source| CertError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            options.mode(0o600);
            if path.exists() {
                fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(err)?;
            }
        }
        let mut file = options.open(path).map_err(err)?;
        std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(err)
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
    if !identity_path.is_empty() {
        params.subject_alt_names.insert(
            0,
            SanType::URI(uri.try_into().map_err(|source| CertError::Generate {
                what: format!("URI SAN of {common_name}"),
                source,
            })?),
        );
    }
    // A serial from the fresh public key: unique per leaf, positive, and readable back from
    // the certificate for revocation.
    let mut serial: Vec<u8> = leaf_key
        .public_key_raw()
        .iter()
        .rev()
        .take(16)
        .copied()
        .collect();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
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

    fn usages(path: &Path) -> (bool, bool) {
        let pem = fs::read(path).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
        let cert = pem.parse_x509().unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        (eku.server_auth, eku.client_auth)
    }

    #[test]
    fn keys_are_owner_only_and_usages_are_split() {
        let dir = tempfile_dir("dev-certs-usage");
        let pki = DevPki::new(&dir);
        pki.generate(&["fhi".to_string()]).unwrap();
        #[cfg(unix)]
        for key in [
            dir.join("ca.key"),
            pki.custodian_key("fhi"),
            pki.gateway_key(),
            pki.gateway_client_key(),
            pki.client_key(),
        ] {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
        assert_eq!(usages(&pki.custodian_cert("fhi")), (true, false));
        assert_eq!(usages(&pki.gateway_cert()), (true, false));
        assert_eq!(usages(&pki.gateway_client_cert()), (false, true));
        assert_eq!(usages(&pki.client_cert()), (false, true));
        let crl = pki.issue_crl(&[pki.client_cert()]).unwrap();
        let pem = fs::read_to_string(crl).unwrap();
        assert!(pem.starts_with("-----BEGIN X509 CRL-----"));
        fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
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
