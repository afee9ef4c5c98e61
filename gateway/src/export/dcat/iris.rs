//! The export's own IRIs, all minted under one configurable base.

use oxrdf::NamedNode;

use super::ExportError;

/// Mints the export's own IRIs under one base.
#[derive(Debug, Clone)]
pub struct Minter {
    base: String,
}

impl Minter {
    /// A minter under `base`, an absolute http(s) IRI; a missing final `/` is added.
    pub fn new(base: &str) -> Result<Self, ExportError> {
        let mut base = base.trim().to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        let bad = |reason: &str| ExportError::Base {
            base: base.clone(),
            reason: reason.to_string(),
        };
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(bad("it must start with https:// or http://"));
        }
        if base.contains(['?', '#']) {
            return Err(bad("it must not contain a query or a fragment"));
        }
        NamedNode::new(base.clone()).map_err(|e| bad(&e.to_string()))?;
        Ok(Self { base })
    }

    /// The base, ending in `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub(super) fn mint(&self, parts: &[&str]) -> NamedNode {
        let mut iri = self.base.clone();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                iri.push('/');
            }
            push_segment(&mut iri, part);
        }
        // The base was checked and every segment is percent-encoded.
        NamedNode::new_unchecked(iri)
    }

    /// IRI of the `dcat:Catalog` itself, `<base>catalogue`.
    pub fn catalogue(&self) -> NamedNode {
        self.mint(&["catalogue"])
    }

    /// IRI of the `dcat:Dataset` of source `id`, `<base>datasets/<id>`.
    pub fn dataset(&self, id: &str) -> NamedNode {
        self.mint(&["datasets", id])
    }

    /// The source's page on the web catalogue.
    pub fn page(&self, id: &str) -> NamedNode {
        self.mint(&["sources", id])
    }

    /// A node that belongs to one dataset (its publisher, coverage, variables, ...).
    pub(super) fn part(&self, id: &str, rest: &[&str]) -> NamedNode {
        let mut parts = vec!["datasets", id];
        parts.extend_from_slice(rest);
        self.mint(&parts)
    }

    /// The national body that publishes the catalogue.
    pub fn national_body(&self) -> NamedNode {
        self.mint(&["agents", "national-body"])
    }

    pub(super) fn source_kind(&self, kind: &str) -> NamedNode {
        self.mint(&["vocabulary", "source-kind", kind])
    }

    pub(super) fn source_kind_scheme(&self) -> NamedNode {
        self.mint(&["vocabulary", "source-kind"])
    }
}

/// Appends `part` to `iri`, percent-encoding everything but unreserved characters.
fn push_segment(iri: &mut String, part: &str) {
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            iri.push(byte as char);
        } else {
            iri.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_iris_live_under_the_base_and_encode_odd_ids() {
        let m = Minter::new("https://katalog.example").expect("base");
        assert_eq!(m.base(), "https://katalog.example/");
        assert_eq!(
            m.dataset("mfr").as_str(),
            "https://katalog.example/datasets/mfr"
        );
        assert_eq!(
            m.dataset("a b/ø").as_str(),
            "https://katalog.example/datasets/a%20b%2F%C3%B8"
        );
    }

    #[test]
    fn base_without_scheme_or_with_fragment_is_refused_with_the_reason() {
        for (bad, reason) in [
            ("katalog.example/", "must start with https://"),
            ("ftp://x/", "must start with https://"),
            ("https://x/#frag", "query or a fragment"),
        ] {
            let err = Minter::new(bad).expect_err(bad).to_string();
            assert!(err.contains(bad) && err.contains(reason), "{err}");
            assert!(err.contains("--base"), "says how to fix it: {err}");
        }
    }
}
