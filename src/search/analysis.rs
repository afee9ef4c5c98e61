//! Text analysis for search in Norwegian Bokmål and English: words, case and diacritic
//! folding (æ, ø, å kept and folded), Snowball stemming, compound splitting with linking
//! letters, and stop words. The same analysis runs over the indexed text and the query, so
//! `fodselsregister`, `Fødselsregisteret` and `fødsels-register` meet.

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
};

use frostem::{Algorithm, Stemmer};

use crate::text::fold;

/// How a field's text is analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Analysis {
    /// Norwegian Bokmål words: Snowball Norwegian stemming and compound splitting.
    Nb,
    /// English words: Snowball English stemming and compound splitting.
    En,
    /// Names, abbreviations, codes and units: folded, not stemmed or split.
    Code,
}

/// The index terms of one word under one analysis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordTerms {
    /// The whole word: folded and stemmed, and, when it has æ, ø or å, also as written and
    /// transliterated (`ø` → `oe`); the first is the folded form.
    pub whole: Vec<String>,
    /// The stemmed parts when the word is a compound of known parts (empty otherwise).
    pub parts: Vec<String>,
}

const STOP_NB: &[&str] = &[
    "og", "i", "for", "av", "med", "til", "på", "pa", "om", "en", "et", "ei", "den", "det", "de",
    "som", "er", "fra", "ved", "hos", "eller", "etter", "mot", "uten", "under", "over", "samt",
];
const STOP_EN: &[&str] = &[
    "the", "of", "and", "in", "for", "with", "on", "a", "an", "to", "by", "or", "from", "at",
    "about", "as", "into", "its", "their",
];

/// Shortest compound part, in letters.
const MIN_PART: usize = 3;
/// Shortest word that is tried as a compound.
const MIN_COMPOUND: usize = 6;
/// Linking letters allowed between compound parts (fødsel-s-register, barn-e-kreft).
const LINKS: &[&str] = &["s", "e"];

/// The analysis settings: stemmers, compound lexicons and stop words.
pub struct Analyzer {
    nb: Stemmer,
    en: Stemmer,
    nb_parts: Lexicon,
    en_parts: Lexicon,
    stop: Table<&'static str>,
}

/// A set built once and only read after: foldhash with a fixed seed (a lookup of a short
/// word costs a fraction of SipHash's; callers look words up but cannot add any).
type Table<T> = HashSet<T, foldhash::fast::FixedState>;

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("nb_parts", &self.nb_parts.words.len())
            .field("en_parts", &self.en_parts.words.len())
            .finish()
    }
}

/// Compound parts of one language, folded, with their stems.
struct Lexicon {
    words: Table<String>,
    stems: Table<String>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl Analyzer {
    /// The bundled analysis: the compound parts in `compound-parts-nb.txt` and
    /// `compound-parts-en.txt`.
    pub fn new() -> Self {
        let nb = Stemmer::new(Algorithm::Norwegian);
        let en = Stemmer::new(Algorithm::English);
        let nb_parts = Lexicon::new(include_str!("compound-parts-nb.txt"), |w| stem_nb(&nb, w));
        let en_parts = Lexicon::new(include_str!("compound-parts-en.txt"), |w| {
            en.stem(w).into_owned()
        });
        Self {
            nb,
            en,
            nb_parts,
            en_parts,
            stop: STOP_NB.iter().chain(STOP_EN).copied().collect(),
        }
    }

    /// Whether a lowercased word is a stop word in nb or en (dropped from queries).
    pub fn is_stop_word(&self, word: &str) -> bool {
        self.stop.contains(word)
    }

    fn stem(&self, analysis: Analysis, word: &str) -> String {
        match analysis {
            Analysis::Nb => stem_nb(&self.nb, word),
            Analysis::En => self.en.stem(word).into_owned(),
            Analysis::Code => word.to_string(),
        }
    }

    /// The terms of one lowercased word.
    pub fn word(&self, analysis: Analysis, word: &str) -> WordTerms {
        let folded = fold(word);
        let mut whole = vec![self.stem(analysis, &folded)];
        let mut add = |w: String| {
            if !whole.contains(&w) {
                whole.push(w);
            }
        };
        if folded != word {
            add(self.stem(analysis, word));
        }
        if word.contains(['æ', 'ø', 'å']) {
            add(self.stem(analysis, &transliterate(word)));
        }
        let parts = match analysis {
            Analysis::Nb => self.split(&self.nb_parts, Analysis::Nb, &folded),
            Analysis::En => self.split(&self.en_parts, Analysis::En, &folded),
            Analysis::Code => Vec::new(),
        };
        WordTerms { whole, parts }
    }

    /// The stemmed parts of a compound, or nothing when the word cannot be read wholly as
    /// known parts. Fewest parts win; among those, the longest first part.
    fn split(&self, lexicon: &Lexicon, analysis: Analysis, word: &str) -> Vec<String> {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        let n = chars.len();
        if n < MIN_COMPOUND || lexicon.words.is_empty() {
            return Vec::new();
        }
        let at = |i: usize| chars.get(i).map_or(word.len(), |c| c.0);
        // best[i]: the fewest parts that read word[i..], as (count, end of the first part,
        // start of the next part: the end, or one letter later after a linking letter).
        let mut best: Vec<Option<(usize, usize, usize)>> = vec![None; n + 1];
        best[n] = Some((0, n, n));
        for i in (0..n).rev() {
            for j in (i + MIN_PART..=n).rev() {
                if i == 0 && j == n {
                    continue; // a compound has two parts or more
                }
                let part = &word[at(i)..at(j)];
                let known = lexicon.words.contains(part)
                    || (j == n && lexicon.stems.contains(&self.stem(analysis, part)));
                if !known {
                    continue;
                }
                let mut starts = vec![j];
                if j + 1 < n && LINKS.iter().any(|l| word[at(j)..].starts_with(l)) {
                    starts.push(j + 1);
                }
                for k in starts {
                    if let Some((count, _, _)) = best[k] {
                        let candidate = (count + 1, j, k);
                        if best[i].is_none_or(|b| candidate.0 < b.0) {
                            best[i] = Some(candidate);
                        }
                    }
                }
            }
        }
        // A word read wholly as parts starts at 0; otherwise the longest known tail of four
        // letters or more after a modifier of three or more (`bosettings|kommune`): the last
        // part of a Norwegian compound says what it is.
        let start = match best[0] {
            Some((count, _, _)) if count >= 2 => 0,
            _ => match (MIN_PART..n.saturating_sub(3)).find(|&i| best[i].is_some()) {
                Some(i) => i,
                None => return Vec::new(),
            },
        };
        let mut parts = Vec::new();
        let mut i = start;
        while let Some((count, end, next)) = best[i]
            && count > 0
        {
            let part = &word[at(i)..at(end)];
            parts.push(self.stem(analysis, part));
            // A part that is itself a compound (`endetarm`) adds its own parts, so that
            // `tarmkreft` meets `endetarmskreft`.
            for sub in self.split(lexicon, analysis, part) {
                if !parts.contains(&sub) {
                    parts.push(sub);
                }
            }
            i = next;
        }
        parts
    }

    /// Splits a text into lowercased words (runs of letters and digits). A word that is
    /// lowercase already is borrowed: most are, and a query is checked for words on every
    /// request.
    pub fn words(text: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                if w.chars().all(lowercases_to_itself) {
                    Cow::Borrowed(w)
                } else {
                    Cow::Owned(w.to_lowercase())
                }
            })
    }
}

/// Whether lowercasing leaves `c` as it is (so a word of such letters needs no copy).
fn lowercases_to_itself(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_uppercase();
    }
    let mut lower = c.to_lowercase();
    lower.next() == Some(c) && lower.next().is_none()
}

impl Lexicon {
    fn new(text: &str, stem: impl Fn(&str) -> String) -> Self {
        let words: Table<String> = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(fold)
            .collect();
        let stems = words.iter().map(|w| stem(w)).collect();
        Self { words, stems }
    }
}

/// Norwegian stemming, applied until nothing more is removed: Snowball removes one suffix,
/// so `registeret` and `register` would otherwise stay apart (`register` / `regist`). A
/// doubled final consonant is then made single, as the inflection doubled it: Snowball
/// leaves `sykdommer` as `sykdomm`, which must meet `sykdom`.
fn stem_nb(stemmer: &Stemmer, word: &str) -> String {
    let mut current = word.to_string();
    for _ in 0..3 {
        let next = stemmer.stem(&current).into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    let mut tail = current.chars().rev();
    if let (Some(last), Some(before)) = (tail.next(), tail.next())
        && last == before
        && last.is_alphabetic()
        && !"aeiouyæøå".contains(last)
        && current.chars().count() > MIN_PART
    {
        current.pop();
    }
    current
}

/// `ø` → `oe`, `å` → `aa`, `æ` → `ae`: how Norwegian letters are written without them.
fn transliterate(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 4);
    for c in word.chars() {
        match c {
            'ø' => out.push_str("oe"),
            'å' => out.push_str("aa"),
            'æ' => out.push_str("ae"),
            _ => out.push(c),
        }
    }
    fold(&out)
}

/// Analyses each distinct word once: the same words recur across millions of records.
#[derive(Default)]
pub struct WordCache {
    terms: HashMap<(Analysis, String), WordTerms>,
}

impl WordCache {
    /// The terms of `word` under `analysis`, computed once.
    pub fn get(&mut self, analyzer: &Analyzer, analysis: Analysis, word: &str) -> &WordTerms {
        self.terms
            .entry((analysis, word.to_string()))
            .or_insert_with(|| analyzer.word(analysis, word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_as_str_lowercases_them_and_borrowed_when_they_are_already() {
        let text = "Kreftregisteret ÆRFUGL ærfugl ǅemal ΟΔΟΣ hjerte-KAR 2024 dødsårsak";
        let words: Vec<Cow<'_, str>> = Analyzer::words(text).collect();
        let expected: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        assert_eq!(words, expected);
        let borrowed: Vec<&str> = words
            .iter()
            .filter_map(|w| match w {
                Cow::Borrowed(b) => Some(*b),
                Cow::Owned(_) => None,
            })
            .collect();
        assert_eq!(borrowed, ["ærfugl", "hjerte", "2024", "dødsårsak"]);
    }
}
