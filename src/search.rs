//! An inverted index over folded words, so that free-text search stays fast at national
//! scale (millions of variables) while keeping whole-word, prefix and inside-word matching
//! (`kreft` finds `brystkreft`: Norwegian compounds).

use std::collections::{BTreeMap, HashSet};

use crate::text::{self, SearchDocument};

/// Documents and a map from every folded word to the documents that contain it.
#[derive(Debug, Default)]
pub struct SearchIndex {
    docs: Vec<SearchDocument>,
    postings: BTreeMap<String, Vec<u32>>,
}

impl SearchIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a document and returns its number (0, 1, 2… in insertion order).
    pub fn add(&mut self, doc: SearchDocument) -> u32 {
        let number = u32::try_from(self.docs.len()).unwrap_or(u32::MAX);
        let mut seen = HashSet::new();
        for word in doc.words() {
            if seen.insert(word) {
                self.postings
                    .entry(word.to_string())
                    .or_default()
                    .push(number);
            }
        }
        self.docs.push(doc);
        number
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Documents that match every term, with their scores, in document order.
    /// An empty term list matches every document with score 0.
    pub fn search(&self, terms: &[String]) -> Vec<(u32, f64)> {
        if terms.is_empty() {
            return (0..self.docs.len() as u32).map(|n| (n, 0.0)).collect();
        }
        let mut candidates: Option<Vec<u32>> = None;
        for term in terms {
            let mut matching: Vec<u32> = Vec::new();
            for (word, docs) in &self.postings {
                if word.contains(term.as_str()) {
                    matching.extend_from_slice(docs);
                }
            }
            matching.sort_unstable();
            matching.dedup();
            candidates = Some(match candidates {
                None => matching,
                Some(previous) => intersect(&previous, &matching),
            });
            if candidates.as_ref().is_some_and(Vec::is_empty) {
                return Vec::new();
            }
        }
        candidates
            .unwrap_or_default()
            .into_iter()
            .filter_map(|n| self.docs[n as usize].score(terms).map(|s| (n, s)))
            .collect()
    }
}

fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The searchable text of a data source: names, abbreviation, other names, identifiers and
/// topics, in nb and en. Shared by the custodian's filter and the gateway's ranking so that
/// both agree on what matches.
pub fn data_source_document(source: &crate::proto::DataSource) -> SearchDocument {
    let mut doc = SearchDocument::default();
    doc.push(&source.abbreviation, 4.0);
    if let Some(name) = &source.name {
        doc.push(&name.nb, 3.0);
        doc.push(&name.en, 3.0);
    }
    for alt in &source.alt_names {
        doc.push(alt, 3.0);
    }
    for identifier in &source.identifiers {
        doc.push(&identifier.value, 3.0);
    }
    for topic in &source.topics {
        doc.push(topic, 1.5);
    }
    doc.push(&source.kind_as_stated, 1.0);
    doc
}

/// The searchable text of a variable: name, labels in nb and en, code system and unit.
pub fn variable_document(variable: &crate::proto::Variable) -> SearchDocument {
    let mut doc = SearchDocument::default();
    doc.push(&variable.name, 3.0);
    if let Some(label) = &variable.label {
        doc.push(&label.nb, 3.0);
        doc.push(&label.en, 3.0);
    }
    doc.push(&variable.code_system, 2.0);
    doc.push(&variable.unit, 1.0);
    doc
}

/// Whether a data source has `topic` (folded) as a topic or as a word of one.
pub fn has_topic(source: &crate::proto::DataSource, topic: &str) -> bool {
    let wanted = text::fold(topic.trim());
    if wanted.is_empty() {
        return true;
    }
    source.topics.iter().any(|t| {
        let folded = text::fold(t);
        folded == wanted || text::words(&folded).any(|w| w == wanted)
    })
}

/// Folds a query into terms (re-exported for callers that build an index).
pub fn terms(query: &str) -> Vec<String> {
    text::query_terms(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(texts: &[&str]) -> SearchDocument {
        let mut d = SearchDocument::default();
        for t in texts {
            d.push(t, 1.0);
        }
        d
    }

    #[test]
    fn finds_whole_words_prefixes_and_compounds() {
        let mut index = SearchIndex::new();
        index.add(doc(&["Nasjonalt kvalitetsregister for brystkreft"]));
        index.add(doc(&["Medisinsk fødselsregister", "MFR"]));
        index.add(doc(&["Kreftregisteret"]));
        let hits: Vec<u32> = index
            .search(&terms("kreft"))
            .into_iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(hits, vec![0, 2]);
        let hits: Vec<u32> = index
            .search(&terms("fodselsregister mfr"))
            .into_iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(hits, vec![1]);
        assert!(index.search(&terms("kreft mfr")).is_empty());
        assert_eq!(index.search(&[]).len(), 3);
    }
}
