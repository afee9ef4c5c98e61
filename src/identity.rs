//! Workload identities carried in certificates: one SPIFFE-style URI SAN per certificate.
//!
//! Custodians are `spiffe://helsedata.test/custodian/<id>`, the gateway is
//! `spiffe://helsedata.test/gateway`. The check that a peer is who the configuration
//! expects lives here and only here.

use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The trust domain of the development PKI.
pub const DEV_TRUST_DOMAIN: &str = "helsedata.test";

/// The identity a custodian's server certificate carries in the dev PKI.
pub fn custodian_identity(custodian_id: &str) -> String {
    format!("spiffe://{DEV_TRUST_DOMAIN}/custodian/{custodian_id}")
}

/// The identity of the gateway's certificates in the dev PKI.
pub fn gateway_identity() -> String {
    format!("spiffe://{DEV_TRUST_DOMAIN}/gateway")
}

/// Why a certificate's identity could not be established or did not match.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// The certificate is not valid DER X.509.
    #[error("certificate cannot be parsed: {0}")]
    Unparsable(String),
    /// The certificate carries no URI SAN.
    #[error(
        "certificate carries no URI subject alternative name, so it names no workload identity"
    )]
    Missing,
    /// The certificate carries several URI SANs (ambiguous identity).
    #[error("certificate carries {0} URI subject alternative names; exactly one is allowed")]
    Ambiguous(usize),
    /// The identity differs from the one expected.
    #[error("certificate identity `{found}` is not the expected `{expected}`")]
    Mismatch {
        /// The single URI SAN the peer's certificate carries.
        found: String,
        /// The identity the configuration expects of this peer.
        expected: String,
    },
}

/// The single URI SAN of a certificate.
pub fn identity_of(cert: &CertificateDer<'_>) -> Result<String, IdentityError> {
    let (_, parsed) = X509Certificate::from_der(cert.as_ref())
        .map_err(|e| IdentityError::Unparsable(e.to_string()))?;
    let uris: Vec<String> = parsed
        .subject_alternative_name()
        .map_err(|e| IdentityError::Unparsable(e.to_string()))?
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::URI(uri) => Some((*uri).to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    match uris.len() {
        0 => Err(IdentityError::Missing),
        1 => Ok(uris.into_iter().next().unwrap_or_default()),
        n => Err(IdentityError::Ambiguous(n)),
    }
}

/// Checks that a certificate carries exactly the expected identity.
pub fn verify_identity(cert: &CertificateDer<'_>, expected: &str) -> Result<(), IdentityError> {
    let found = identity_of(cert)?;
    if found == expected {
        Ok(())
    } else {
        Err(IdentityError::Mismatch {
            found,
            expected: expected.to_string(),
        })
    }
}
