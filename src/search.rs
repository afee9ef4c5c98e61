//! An inverted index over folded words, so that free-text search stays fast at national
//! scale (millions of variables) while keeping whole-word, prefix and inside-word matching
//! (`kreft` finds `brystkreft`: Norwegian compounds).

use std::collections::{HashMap, HashSet};

use crate::text::{self, SearchDocument};

/// Documents, a vocabulary of their folded words with the documents that hold each word,
/// and a trigram index over the vocabulary, so that a term finds the words that contain it
/// without scanning the whole vocabulary.
#[derive(Debug, Default)]
pub struct SearchIndex {
    docs: Vec<SearchDocument>,
    words: Vec<String>,
    word_ids: HashMap<String, u32>,
    postings: Vec<Vec<u32>>,
    trigrams: HashMap<[u8; 3], Vec<u32>>,
    sorted_words: Vec<u32>,
}

impl SearchIndex {
    /// Indexes documents; they are numbered 0, 1, 2… in the order given.
    pub fn from_documents(documents: impl IntoIterator<Item = SearchDocument>) -> Self {
        let mut index = Self::default();
        for doc in documents {
            index.add(doc);
        }
        index.finish();
        index
    }

    fn add(&mut self, doc: SearchDocument) -> u32 {
        let number = u32::try_from(self.docs.len()).unwrap_or(u32::MAX);
        let mut seen = HashSet::new();
        for word in doc.words() {
            if !seen.insert(word) {
                continue;
            }
            let id = match self.word_ids.get(word) {
                Some(&id) => id,
                None => self.add_word(word),
            };
            self.postings[id as usize].push(number);
        }
        self.docs.push(doc);
        number
    }

    fn add_word(&mut self, word: &str) -> u32 {
        let id = u32::try_from(self.words.len()).unwrap_or(u32::MAX);
        self.words.push(word.to_string());
        self.word_ids.insert(word.to_string(), id);
        self.postings.push(Vec::new());
        let mut grams: Vec<[u8; 3]> = word
            .as_bytes()
            .windows(3)
            .map(|w| [w[0], w[1], w[2]])
            .collect();
        grams.sort_unstable();
        grams.dedup();
        for gram in grams {
            self.trigrams.entry(gram).or_default().push(id);
        }
        self.sorted_words.push(id);
        id
    }

    /// Sorts the vocabulary for prefix look-ups.
    fn finish(&mut self) {
        let words = &self.words;
        self.sorted_words
            .sort_unstable_by(|a, b| words[*a as usize].cmp(&words[*b as usize]));
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The vocabulary words that contain `term`. Terms of three bytes or more match anywhere
    /// in a word (through the trigram index); shorter terms match word prefixes.
    fn matching_words(&self, term: &str) -> Vec<u32> {
        let bytes = term.as_bytes();
        if bytes.len() < 3 {
            return self.words_with_prefix(term);
        }
        let mut lists: Vec<&Vec<u32>> = Vec::new();
        for w in bytes.windows(3) {
            match self.trigrams.get(&[w[0], w[1], w[2]]) {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        lists.sort_by_key(|l| l.len());
        let mut candidates: Vec<u32> = lists[0].clone();
        for list in &lists[1..] {
            candidates = intersect(&candidates, list);
            if candidates.is_empty() {
                return candidates;
            }
        }
        candidates.retain(|&id| self.words[id as usize].contains(term));
        candidates
    }

    fn words_with_prefix(&self, prefix: &str) -> Vec<u32> {
        let words = &self.words;
        let start = self
            .sorted_words
            .partition_point(|&id| words[id as usize].as_str() < prefix);
        self.sorted_words[start..]
            .iter()
            .take_while(|&&id| words[id as usize].starts_with(prefix))
            .copied()
            .collect()
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
            for word in self.matching_words(term) {
                matching.extend_from_slice(&self.postings[word as usize]);
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

/// Folds a query into terms.
pub use crate::text::query_terms as terms;

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
        let index = SearchIndex::from_documents([
            doc(&["Nasjonalt kvalitetsregister for brystkreft"]),
            doc(&["Medisinsk fødselsregister", "MFR"]),
            doc(&["Kreftregisteret"]),
        ]);
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
        let short: Vec<u32> = index
            .search(&terms("kr"))
            .into_iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(short, vec![2], "short terms match word prefixes");
    }
}
