//! HealthDCAT-AP export of the live merged catalogue: one `dcat:Catalog` published by the
//! national health data access body, one `dcat:Dataset` per merged source, in Turtle or
//! JSON-LD, streamed dataset by dataset.
//!
//! The input is plain data ([`input`]), built from the merged catalogue by [`build`]; the
//! graph is built with `oxrdf` terms ([`graph`]) and serialized by `oxttl` / `oxjsonld`
//! ([`encode`]). [`reader`] reads the catalogue through the gateway's contract, for the web
//! listener (in process) and for `gateway export-dcat --gateway` (over gRPC); [`files`] merges
//! custodian data files for `gateway export-dcat --data`. The mapping is documented in `docs/healthdcat-ap.md`.

pub mod build;
pub mod cli;
pub mod encode;
mod facts;
pub mod files;
pub mod graph;
pub mod input;
mod iris;
pub mod legislation;
pub mod reader;
mod triples;
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
    /// The serialized catalogue could not be written to its output.
    #[error("cannot write the catalogue: {0}")]
    Io(#[from] std::io::Error),
}

impl ExportError {
    fn prefix(e: oxrdf::IriParseError) -> Self {
        Self::Prefix(e.to_string())
    }
}

/// An RDF serialization the export writes: Turtle, JSON-LD or N-Triples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Turtle (`text/turtle`).
    Turtle,
    /// JSON-LD (`application/ld+json`).
    JsonLd,
    /// N-Triples (`application/n-triples`): one triple a line, no prefixes.
    NTriples,
}

impl Format {
    /// Every serialization, in the order preferred when a client accepts several equally.
    pub const ALL: [Self; 3] = [Self::Turtle, Self::JsonLd, Self::NTriples];

    /// The media type of the serialization.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Turtle => "text/turtle; charset=utf-8",
            Self::JsonLd => "application/ld+json",
            Self::NTriples => "application/n-triples",
        }
    }

    /// The usual file extension, without the dot: `ttl`, `jsonld` or `nt`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Turtle => "ttl",
            Self::JsonLd => "jsonld",
            Self::NTriples => "nt",
        }
    }

    /// The media types an `Accept` header may name for this serialization (JSON-LD is also
    /// served to a client that asks for plain JSON).
    pub fn media_types(self) -> &'static [&'static str] {
        match self {
            Self::Turtle => &["text/turtle", "application/x-turtle"],
            Self::JsonLd => &["application/ld+json", "application/json"],
            Self::NTriples => &["application/n-triples"],
        }
    }

    /// How much an HTTP `Accept` header wants this serialization (its `q`, 0 when not at all).
    pub fn quality(self, accept: &str) -> f32 {
        self.media_types()
            .iter()
            .map(|media| accept_quality(accept, media))
            .fold(0.0, f32::max)
    }

    /// The format an HTTP `Accept` header prefers, if it accepts one we serve (Turtle wins
    /// ties and `*/*`).
    pub fn from_accept(accept: &str) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        for format in Self::ALL {
            let q = format.quality(accept);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, format));
            }
        }
        best.map(|(_, f)| f)
    }
}

/// The quality an HTTP `Accept` header gives `media_type` (`type/subtype`, lower case): the
/// `q` of the most specific range that matches it (`type/subtype`, then `type/*`, then
/// `*/*`), 0 when none does. Ranges with an unreadable `q` are ignored.
pub fn accept_quality(accept: &str, media_type: &str) -> f32 {
    let (kind, _) = media_type.split_once('/').unwrap_or((media_type, ""));
    let mut best: Option<(u8, f32)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let specificity = if range == media_type {
            2
        } else if range.strip_suffix("/*") == Some(kind) {
            1
        } else if range == "*/*" {
            0
        } else {
            continue;
        };
        let mut q = Some(1.0);
        for param in parts {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            if name.trim().eq_ignore_ascii_case("q") {
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q));
            }
        }
        let Some(q) = q else { continue };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "turtle" | "ttl" => Ok(Self::Turtle),
            "jsonld" | "json-ld" => Ok(Self::JsonLd),
            "ntriples" | "n-triples" | "nt" => Ok(Self::NTriples),
            other => Err(format!(
                "unknown format `{other}`: use `turtle`, `jsonld` or `ntriples`"
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
        assert_eq!(
            Format::from_accept("application/n-triples"),
            Some(Format::NTriples)
        );
    }

    #[test]
    fn the_most_specific_range_gives_the_quality() {
        use super::accept_quality;
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(accept_quality(browser, "text/html"), 1.0);
        assert_eq!(accept_quality(browser, "text/turtle"), 0.8);
        assert_eq!(
            accept_quality("text/*;q=0.5, */*;q=0.1", "text/turtle"),
            0.5
        );
        assert_eq!(accept_quality("*/*, text/turtle;q=0", "text/turtle"), 0.0);
        assert_eq!(accept_quality("text/turtle;q=high", "text/turtle"), 0.0);
        assert_eq!(accept_quality("TEXT/Turtle ; Q=0.7", "text/turtle"), 0.7);
        assert_eq!(Format::from_accept(browser), Some(Format::Turtle));
    }
}
