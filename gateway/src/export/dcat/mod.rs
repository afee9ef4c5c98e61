//! HealthDCAT-AP export of the live merged catalogue: one `dcat:Catalog` published by the
//! national health data access body, one `dcat:Dataset` per merged source, in Turtle or
//! JSON-LD, streamed dataset by dataset.
//!
//! The input is plain data ([`input`]), built from the merged catalogue by [`build`]; the
//! graph is built with `oxrdf` terms ([`graph`]) and serialized by `oxttl` / `oxjsonld`
//! ([`encode`]). [`reader`] reads the catalogue through the gateway's contract, for the web
//! listener (in process) and for `gateway export-dcat --gateway` (over gRPC); `demo export-dcat`
//! exports the bundled data files. The mapping is documented in `docs/healthdcat-ap.md`.

pub mod build;
pub mod cli;
pub mod encode;
pub mod graph;
pub mod input;
pub mod legislation;
pub mod reader;
pub mod vocab;

pub use encode::{DcatEncoder, write_catalogue};
pub use graph::{GraphBuilder, Minter};

/// The base the export mints its IRIs under when none is configured.
pub const DEFAULT_BASE: &str = "https://helsedata.test/";

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The configured base IRI is unusable.
    #[error(
        "the export base IRI `{base}` is not usable: {reason}; give an absolute https:// IRI such as https://katalog.example.no/ (--base)"
    )]
    Base {
        /// The base given.
        base: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A prefix IRI was refused (a defect in the vocabulary table).
    #[error("prefix IRI refused by the serializer: {0}")]
    Prefix(String),
    /// Writing failed.
    #[error("cannot write the catalogue: {0}")]
    Io(#[from] std::io::Error),
}

impl ExportError {
    fn prefix(e: oxrdf::IriParseError) -> Self {
        Self::Prefix(e.to_string())
    }
}

/// The serialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Turtle (`text/turtle`).
    Turtle,
    /// JSON-LD (`application/ld+json`).
    JsonLd,
}

impl Format {
    /// The media type of the serialization.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Turtle => "text/turtle; charset=utf-8",
            Self::JsonLd => "application/ld+json",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Turtle => "ttl",
            Self::JsonLd => "jsonld",
        }
    }

    /// The format an HTTP `Accept` header prefers, if it names one we serve (Turtle wins ties
    /// and `*/*`).
    pub fn from_accept(accept: &str) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .next()
                .unwrap_or(1.0);
            let format = match media.as_str() {
                "text/turtle" | "application/x-turtle" | "*/*" | "text/*" => Self::Turtle,
                "application/ld+json" | "application/json" => Self::JsonLd,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, format));
            }
        }
        best.map(|(_, f)| f)
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "turtle" | "ttl" => Ok(Self::Turtle),
            "jsonld" | "json-ld" => Ok(Self::JsonLd),
            other => Err(format!(
                "unknown format `{other}`: use `turtle` or `jsonld`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn accept_header_picks_the_preferred_served_format() {
        assert_eq!(Format::from_accept("text/turtle"), Some(Format::Turtle));
        assert_eq!(
            Format::from_accept("application/ld+json;q=0.9, text/turtle;q=0.5"),
            Some(Format::JsonLd)
        );
        assert_eq!(Format::from_accept("*/*"), Some(Format::Turtle));
        assert_eq!(Format::from_accept("text/html"), None);
        assert_eq!(Format::from_accept("text/turtle;q=0"), None);
    }
}
