//! The health concept vocabulary: concepts with preferred, lay and clinical labels in nb and
//! en, broader/narrower links, and mappings to the HealthDCAT-AP health categories, the EU
//! health themes and ICD-10 chapters.
//!
//! Custodians tag each data source with concept ids; the gateway loads the vocabulary (a TOML
//! data file, `gateway/config/health-concepts.toml`) so that a search by any label of a
//! concept finds the sources tagged with it or with any narrower concept, and the
//! HealthDCAT-AP export uses the same mappings.

pub mod codes;
mod load;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use load::VocabularyError;

/// Labels of a concept in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    /// The preferred label.
    pub preferred: String,
    /// Words a member of the public uses.
    pub lay: Vec<String>,
    /// Clinical and technical terms, abbreviations.
    pub clinical: Vec<String>,
}

impl Labels {
    /// Every label: preferred, then lay, then clinical.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.preferred.as_str())
            .chain(self.lay.iter().map(String::as_str))
            .chain(self.clinical.iter().map(String::as_str))
    }

    /// The alternative labels (lay, then clinical).
    pub fn alternatives(&self) -> impl Iterator<Item = &str> {
        self.lay
            .iter()
            .chain(self.clinical.iter())
            .map(String::as_str)
    }
}

/// One health concept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concept {
    /// Stable id (lowercase letters, digits and '-').
    pub id: String,
    /// Labels in Norwegian Bokmål.
    pub nb: Labels,
    /// Labels in English.
    pub en: Labels,
    /// Ids of the broader concepts, as stated in the file.
    pub broader: Vec<String>,
    /// Ids of the narrower concepts (derived from the others' `broader`), sorted.
    pub narrower: Vec<String>,
    /// EU health theme codes ([`codes::HEALTH_THEMES`]).
    pub health_themes: Vec<String>,
    /// HealthDCAT-AP health category codes ([`codes::HEALTH_CATEGORIES`]).
    pub health_categories: Vec<String>,
    /// ICD-10 chapters as Roman numerals ([`codes::ICD10_CHAPTERS`]).
    pub icd10_chapters: Vec<String>,
}

impl Concept {
    /// Every label in both languages.
    pub fn all_labels(&self) -> impl Iterator<Item = &str> {
        self.nb.all().chain(self.en.all())
    }
}

/// A validated vocabulary: ids unique, every broader link resolved, no cycles, every code
/// known.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    concepts: Vec<Concept>,
    by_id: HashMap<String, usize>,
}

impl Vocabulary {
    /// Parses and validates vocabulary text; `path` names the file in errors only.
    pub fn from_toml(
        path: impl AsRef<std::path::Path>,
        text: &str,
    ) -> Result<Self, VocabularyError> {
        load::parse(path.as_ref(), text)
    }

    /// Reads, parses and validates a vocabulary file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self, VocabularyError> {
        let path = path.as_ref();
        let text = crate::datafile::read(path, "concept vocabulary")?;
        load::parse(path, &text)
    }

    fn new(concepts: Vec<Concept>) -> Self {
        let by_id = concepts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        Self { concepts, by_id }
    }

    /// Every concept, in file order.
    pub fn concepts(&self) -> &[Concept] {
        &self.concepts
    }

    /// Number of concepts.
    pub fn len(&self) -> usize {
        self.concepts.len()
    }

    /// Whether the vocabulary has no concepts.
    pub fn is_empty(&self) -> bool {
        self.concepts.is_empty()
    }

    /// One concept by id.
    pub fn get(&self, id: &str) -> Option<&Concept> {
        self.by_id.get(id).map(|&i| &self.concepts[i])
    }

    /// The concept and every concept broader than it, transitively, each once, nearest first
    /// (breadth first). Empty when the id is unknown.
    ///
    /// A source tagged with a concept is found by the labels of all of these: a source tagged
    /// `lymphoma` is found by `kreft` because `cancer` is broader.
    pub fn with_broader(&self, id: &str) -> Vec<&Concept> {
        self.walk(id, |c| &c.broader)
    }

    /// The concept and every concept narrower than it, transitively, each once, nearest first.
    /// Empty when the id is unknown.
    pub fn with_narrower(&self, id: &str) -> Vec<&Concept> {
        self.walk(id, |c| &c.narrower)
    }

    fn walk<'a>(
        &'a self,
        id: &str,
        next: impl Fn(&'a Concept) -> &'a Vec<String>,
    ) -> Vec<&'a Concept> {
        let Some(start) = self.get(id) else {
            return Vec::new();
        };
        let mut out = vec![start];
        let mut i = 0;
        while i < out.len() {
            for linked in next(out[i]) {
                if let Some(c) = self.get(linked)
                    && !out.iter().any(|seen| seen.id == c.id)
                {
                    out.push(c);
                }
            }
            i += 1;
        }
        out
    }
}
