//! Free-text search over data sources (at the gateway, over the merged catalogue) and
//! variables (at each custodian, over its own), on an in-memory tantivy index.
//!
//! - [`analysis`]: nb and en analysis (folding with æ/ø/å kept and folded, Snowball
//!   stemming, compound splitting with linking letters, stop words);
//! - [`index`]: the tantivy index, BM25 with field boosts, every word required, typo
//!   tolerance (edit distance 1 from 5 letters, 2 from 9);
//! - `word`: one query word's terms field by field, from which its scored query and its
//!   match set (a bitset read straight from the terms' postings) are both made;
//! - `scoring`: the scores of the records every query word matches, every word's clause
//!   sought to each when they are few, walked along them when they are many;
//! - [`documents`]: which fields of a source or variable are searched, and how much each
//!   counts; a source's concepts and their broader concepts are searched by every label.
//!
//! An index is built once from an immutable catalogue (a custodian's file, or the gateway's
//! merge of one set of custodian revisions) and never changed by a request.

pub mod analysis;
pub mod documents;
pub mod index;
mod scoring;
#[cfg(test)]
mod tests;
mod word;

use std::sync::{Arc, OnceLock};

pub use documents::{data_source_document, variable_document};
pub use index::{SearchDocument, SearchIndex};

use crate::{concepts::Vocabulary, proto as pb, text};

/// The shared analyzer (stemmers and compound lexicons are built once per process).
pub fn analyzer() -> Arc<analysis::Analyzer> {
    static ANALYZER: OnceLock<Arc<analysis::Analyzer>> = OnceLock::new();
    ANALYZER
        .get_or_init(|| Arc::new(analysis::Analyzer::new()))
        .clone()
}

/// Indexes data sources; `vocabulary` supplies the labels of their concepts (an empty one
/// searches names, topics and descriptions only).
pub fn source_index<'a>(
    sources: impl IntoIterator<Item = &'a pb::DataSource>,
    vocabulary: &Vocabulary,
) -> SearchIndex {
    SearchIndex::build(
        &documents::SOURCE_FIELDS,
        analyzer(),
        sources
            .into_iter()
            .map(|s| data_source_document(s, vocabulary)),
    )
}

/// Indexes variables by name, nb and en labels, code system and unit.
pub fn variable_index<'a>(variables: impl IntoIterator<Item = &'a pb::Variable>) -> SearchIndex {
    SearchIndex::build(
        &documents::VARIABLE_FIELDS,
        analyzer(),
        variables.into_iter().map(variable_document),
    )
}

/// The words of a query: lowercased, split at anything but letters and digits, each once, in
/// order. This is the query's canonical form (for page tokens and for forwarding).
pub fn terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in analysis::Analyzer::words(query) {
        if !out.iter().any(|w| *w == word) {
            out.push(word.into_owned());
        }
    }
    out
}

/// Whether query words hold anything to search for (not only stop words): a query without
/// any matches every record and needs no index.
pub fn has_words(terms: &[String]) -> bool {
    let analyzer = analyzer();
    terms.iter().any(|t| !analyzer.is_stop_word(t))
}

/// [`has_words`] of the [`terms`] of `query`, without collecting them (for the checks made
/// on every request).
pub fn query_has_words(query: &str) -> bool {
    let analyzer = analyzer();
    analysis::Analyzer::words(query).any(|t| !analyzer.is_stop_word(&t))
}

/// Whether a data source has `topic` (folded) as a topic or as a word of one, in English or
/// in the bokmål its custodian gives.
pub fn has_topic(source: &pb::DataSource, topic: &str) -> bool {
    let wanted = text::fold(topic.trim());
    if wanted.is_empty() {
        return true;
    }
    let bokmal = source.localized_topics.iter().map(|t| t.nb.as_str());
    source
        .topics
        .iter()
        .map(String::as_str)
        .chain(bokmal)
        .any(|t| {
            let folded = text::fold(t);
            folded == wanted || text::words(&folded).any(|w| w == wanted)
        })
}
