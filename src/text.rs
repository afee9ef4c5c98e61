//! Text folding for search: case- and diacritic-insensitive matching in Norwegian and English.
//!
//! `fødselsregister`, `Fodselsregister` and `FØDSELSREGISTER` all fold to `fodselsregister`.
//! Letters that Unicode does not decompose (`ø`, `æ`, `ß`…) are mapped by hand so that a
//! reader typing on an English keyboard still finds Norwegian names.

use unicode_normalization::UnicodeNormalization;

/// Folds a text to lowercase ASCII-like form: diacritics removed, `ø`→`o`, `æ`→`ae`, `å`→`a`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match c {
            'ø' | 'Ø' => out.push('o'),
            'æ' | 'Æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            'đ' | 'Đ' => out.push('d'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Splits folded text into search words: runs of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The folded words of a query, deduplicated, in order of first appearance.
pub fn query_terms(query: &str) -> Vec<String> {
    let folded = fold(query);
    let mut terms: Vec<String> = Vec::new();
    for word in words(&folded) {
        if !terms.iter().any(|t| t == word) {
            terms.push(word.to_string());
        }
    }
    terms
}

/// A field of a record to search, with the weight a match in it carries.
#[derive(Debug, Clone)]
pub struct WeightedField {
    /// The folded words, joined by single spaces.
    folded: String,
    weight: f64,
}

impl WeightedField {
    /// Folds `text` once, for repeated matching.
    pub fn new(text: &str, weight: f64) -> Self {
        Self {
            folded: words(&fold(text)).collect::<Vec<_>>().join(" "),
            weight,
        }
    }
}

/// The searchable text of one record, folded once at load time.
#[derive(Debug, Clone, Default)]
pub struct SearchDocument {
    fields: Vec<WeightedField>,
}

impl SearchDocument {
    /// Adds a field; empty texts are skipped.
    pub fn push(&mut self, text: &str, weight: f64) {
        if !text.trim().is_empty() {
            self.fields.push(WeightedField::new(text, weight));
        }
    }

    /// Every folded word of every field.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().flat_map(|f| words(&f.folded))
    }

    /// Scores the document against query terms: `None` unless every term matches some field.
    ///
    /// A term scores the best weight among the fields it matches: a whole-word match counts
    /// in full, a word-prefix match half, a match inside a word a quarter. A field that equals
    /// the whole query (an abbreviation typed exactly, say) adds its weight once more.
    pub fn score(&self, terms: &[String]) -> Option<f64> {
        if terms.is_empty() {
            return Some(0.0);
        }
        let mut total = 0.0;
        for term in terms {
            let best = self
                .fields
                .iter()
                .map(|field| field.weight * term_match(&field.folded, term))
                .fold(0.0_f64, f64::max);
            if best <= 0.0 {
                return None;
            }
            total += best;
        }
        let whole_query = terms.join(" ");
        if let Some(exact) = self
            .fields
            .iter()
            .filter(|f| f.folded == whole_query)
            .map(|f| f.weight)
            .reduce(f64::max)
        {
            total += exact;
        }
        Some(total)
    }
}

fn term_match(folded_field: &str, term: &str) -> f64 {
    let mut best: f64 = 0.0;
    for word in words(folded_field) {
        if word == term {
            return 1.0;
        }
        if word.starts_with(term) {
            best = best.max(0.5);
        } else if word.contains(term) {
            best = best.max(0.25);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_norwegian_letters_and_case() {
        assert_eq!(fold("Fødselsregister"), "fodselsregister");
        assert_eq!(fold("Dødsårsaksregisteret"), "dodsarsaksregisteret");
        assert_eq!(fold("LÆRE"), "laere");
        assert_eq!(fold("Korsbånd"), "korsband");
    }

    #[test]
    fn query_terms_are_folded_and_deduplicated() {
        assert_eq!(query_terms("  MFR, mfr fødsel "), vec!["mfr", "fodsel"]);
        assert!(query_terms(" ,; ").is_empty());
    }

    #[test]
    fn every_term_must_match() {
        let mut doc = SearchDocument::default();
        doc.push("Medisinsk fødselsregister", 3.0);
        doc.push("MFR", 3.0);
        assert!(doc.score(&query_terms("fodselsregister")).is_some());
        assert!(doc.score(&query_terms("mfr")).is_some());
        assert!(doc.score(&query_terms("mfr kreft")).is_none());
    }

    #[test]
    fn whole_word_outranks_prefix_and_infix() {
        let mut whole = SearchDocument::default();
        whole.push("kreft", 1.0);
        let mut prefix = SearchDocument::default();
        prefix.push("kreftregisteret", 1.0);
        let mut infix = SearchDocument::default();
        infix.push("brystkreft", 1.0);
        let terms = query_terms("kreft");
        let (w, p, i) = (
            whole.score(&terms).unwrap(),
            prefix.score(&terms).unwrap(),
            infix.score(&terms).unwrap(),
        );
        assert!(w > p && p > i, "{w} {p} {i}");
    }
}
