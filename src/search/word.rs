//! One query word, planned field by field: the terms it looks for in each field (whole,
//! as all of its compound parts, near terms within the typo distance) and its compound
//! parts anywhere. Both the word's scored query and its unscored match set are made from
//! the plan, so the two cannot disagree about which records the word matches.
//!
//! The match set is read straight from the terms' postings into a bitset of records. When
//! several words must all match, intersecting their bitsets costs one read of each term's
//! postings, where walking or seeking tantivy's unions of them read (and scored) the
//! candidates of every field many times over: at national size two compounds of common
//! parts cost 1.1–2.5 ms that way (BENCHMARKS.md).

use tantivy::{
    DocId, DocSet, Searcher, SegmentReader, TERMINATED, Term,
    query::{
        BooleanQuery, BoostQuery, ConstScoreQuery, DfaWrapper, DisjunctionMaxQuery, FuzzyTermQuery,
        Occur, Query, TermQuery,
    },
    schema::{Field, IndexRecordOption},
};

/// Relative weight of a match through a word's compound parts, against the whole word (half
/// that when the parts are sought in any field).
pub const PARTS_WEIGHT: f32 = 0.6;
/// Relative weight of a match within the allowed edit distance (a constant score).
pub const FUZZY_WEIGHT: f32 = 0.4;
/// How much the other matching fields add to a word's best field.
const TIE_BREAKER: f32 = 0.2;

/// What one word looks for in one field.
#[derive(Debug)]
pub struct FieldTerms {
    /// The field.
    pub field: Field,
    /// The field's BM25 boost.
    pub boost: f32,
    /// The whole word's variants, as the field's analysis writes them.
    pub whole: Vec<String>,
    /// The word's compound parts, all required, when it has two or more (otherwise empty).
    pub parts: Vec<String>,
    /// The field's terms within the typo distance, when it is tolerated here.
    pub near: Vec<Term>,
}

/// A compound part sought in any field: `(field, part, boost)` for each field that may hold it.
pub type PartAnywhere = Vec<(Field, String, f32)>;

/// One word's plan (see the module documentation).
#[derive(Debug)]
pub struct WordPlan {
    /// Per field, in the spec's order.
    pub fields: Vec<FieldTerms>,
    /// Each compound part (in order) somewhere, all required; empty when the word is no
    /// compound of two or more parts in any analysis.
    pub anywhere: Vec<PartAnywhere>,
}

impl WordPlan {
    /// The scored query: the best field counts, the others a little ([`TIE_BREAKER`]), so
    /// that many weak fields do not outrank one strong one; within a field the whole word
    /// counts fully, its parts at [`PARTS_WEIGHT`], a near term at [`FUZZY_WEIGHT`] (a
    /// constant score, as tantivy's `FuzzyTermQuery` gives).
    pub fn query(&self) -> Box<dyn Query> {
        let mut disjuncts: Vec<Box<dyn Query>> = Vec::new();
        for field in &self.fields {
            let term = |text: &str| -> Box<dyn Query> {
                Box::new(TermQuery::new(
                    Term::from_field_text(field.field, text),
                    IndexRecordOption::WithFreqs,
                ))
            };
            let mut should: Vec<(Occur, Box<dyn Query>)> = field
                .whole
                .iter()
                .map(|t| (Occur::Should, term(t)))
                .collect();
            if !field.parts.is_empty() {
                let all_parts =
                    BooleanQuery::new(field.parts.iter().map(|p| (Occur::Must, term(p))).collect());
                should.push(boosted(Box::new(all_parts), PARTS_WEIGHT));
            }
            if !field.near.is_empty() {
                let near = field
                    .near
                    .iter()
                    .map(|t| -> (Occur, Box<dyn Query>) {
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(t.clone(), IndexRecordOption::Basic)),
                        )
                    })
                    .collect();
                let near = ConstScoreQuery::new(Box::new(BooleanQuery::new(near)), 1.0);
                should.push(boosted(Box::new(near), FUZZY_WEIGHT));
            }
            disjuncts.push(Box::new(BoostQuery::new(
                Box::new(BooleanQuery::new(should)),
                field.boost,
            )));
        }
        if !self.anywhere.is_empty() {
            let musts = self
                .anywhere
                .iter()
                .map(|part| -> (Occur, Box<dyn Query>) {
                    let any = part
                        .iter()
                        .map(|(field, text, boost)| {
                            boosted(
                                Box::new(TermQuery::new(
                                    Term::from_field_text(*field, text),
                                    IndexRecordOption::WithFreqs,
                                )),
                                *boost,
                            )
                        })
                        .collect();
                    (Occur::Must, Box::new(BooleanQuery::new(any)))
                })
                .collect();
            disjuncts.push(Box::new(BooleanQuery::new(musts)));
        }
        Box::new(DisjunctionMaxQuery::with_tie_breaker(
            disjuncts,
            TIE_BREAKER,
        ))
    }

    /// The records of `segment` the word matches (those [`Self::query`] matches).
    pub fn matches(&self, segment: &SegmentReader) -> tantivy::Result<Records> {
        let mut out = Records::new(segment.max_doc());
        for field in &self.fields {
            for text in &field.whole {
                add_postings(segment, &Term::from_field_text(field.field, text), &mut out)?;
            }
            for term in &field.near {
                add_postings(segment, term, &mut out)?;
            }
            if !field.parts.is_empty() {
                let mut all = None;
                for part in &field.parts {
                    let mut one = Records::new(segment.max_doc());
                    add_postings(segment, &Term::from_field_text(field.field, part), &mut one)?;
                    all = Some(Records::and(all, one));
                }
                if let Some(all) = all {
                    out.or(&all);
                }
            }
        }
        let mut anywhere = None;
        for part in &self.anywhere {
            let mut one = Records::new(segment.max_doc());
            for (field, text, _) in part {
                add_postings(segment, &Term::from_field_text(*field, text), &mut one)?;
            }
            anywhere = Some(Records::and(anywhere, one));
        }
        if let Some(anywhere) = anywhere {
            out.or(&anywhere);
        }
        Ok(out)
    }
}

fn boosted(query: Box<dyn Query>, boost: f32) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(BoostQuery::new(query, boost)))
}

/// Marks every record of `segment` holding `term` in `out`.
fn add_postings(segment: &SegmentReader, term: &Term, out: &mut Records) -> tantivy::Result<()> {
    let inverted = segment.inverted_index(term.field())?;
    if let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic)? {
        let mut doc = postings.doc();
        while doc != TERMINATED {
            out.insert(doc);
            doc = postings.advance();
        }
    }
    Ok(())
}

/// A set of records of one segment, one bit each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    words: Vec<u64>,
}

impl Records {
    /// No record of a segment of `max_doc` records.
    pub fn new(max_doc: DocId) -> Self {
        Self {
            words: vec![0; (max_doc as usize).div_ceil(64)],
        }
    }

    fn insert(&mut self, doc: DocId) {
        if let Some(word) = self.words.get_mut(doc as usize / 64) {
            *word |= 1 << (doc % 64);
        }
    }

    /// Adds the records of `other`.
    pub fn or(&mut self, other: &Records) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// The records in both (`None` is every record).
    pub fn and(all: Option<Records>, mut other: Records) -> Records {
        if let Some(all) = all {
            for (a, b) in other.words.iter_mut().zip(&all.words) {
                *a &= b;
            }
        }
        other
    }

    /// The records, in order.
    pub fn docs(&self) -> impl Iterator<Item = DocId> + '_ {
        self.words.iter().enumerate().flat_map(|(at, &word)| {
            let base = at as DocId * 64;
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                Some(base + bit)
            })
        })
    }
}

/// The typo tolerance of one query word: for each field, the terms of its dictionary within
/// the edit distance (a transposition counts as one edit). Each Levenshtein automaton is
/// built once per text and distance, however many fields use it, and a field holding no
/// near term gets no clause: a word of one language is near no term of the other's fields
/// or of the codes in most searches, and a fuzzy query per field built the automaton again
/// each time and marked its (empty) matches in a bitset of every record (about a fifth of a
/// custodian's CPU in the national variable search; BENCHMARKS.md).
#[derive(Default)]
pub struct NearTerms {
    automata: Vec<(String, u8, Option<DfaWrapper>)>,
}

impl NearTerms {
    /// The terms of `field` within `distance` of `text` (none when the automaton cannot be
    /// built, which tantivy allows only for a distance above 2).
    pub fn terms(
        &mut self,
        searcher: &Searcher,
        field: Field,
        text: &str,
        distance: u8,
    ) -> Vec<Term> {
        let at = match self
            .automata
            .iter()
            .position(|(t, d, _)| t == text && *d == distance)
        {
            Some(at) => at,
            None => {
                let query = FuzzyTermQuery::new(Term::from_field_text(field, text), distance, true);
                self.automata
                    .push((text.to_string(), distance, query.automaton().ok()));
                self.automata.len() - 1
            }
        };
        let mut near = Vec::new();
        let Some(automaton) = self.automata[at].2.as_ref() else {
            return near;
        };
        for segment in searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(field) else {
                continue;
            };
            let Ok(mut stream) = inverted.terms().search(automaton).into_stream() else {
                continue;
            };
            while stream.advance() {
                near.push(Term::from_field_bytes(field, stream.key()));
            }
        }
        near
    }

    /// Automata built so far.
    #[cfg(test)]
    pub fn built(&self) -> usize {
        self.automata.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_kept_one_bit_each_and_combined() {
        let mut a = Records::new(200);
        for doc in [0, 63, 64, 130, 199, 500] {
            a.insert(doc);
        }
        assert_eq!(a.docs().collect::<Vec<_>>(), [0, 63, 64, 130, 199]);
        let mut b = Records::new(200);
        for doc in [63, 130, 131] {
            b.insert(doc);
        }
        let both = Records::and(Some(a.clone()), b.clone());
        assert_eq!(both.docs().collect::<Vec<_>>(), [63, 130]);
        assert_eq!(Records::and(None, b.clone()), b);
        a.or(&b);
        assert_eq!(a.docs().collect::<Vec<_>>(), [0, 63, 64, 130, 131, 199]);
        assert_eq!(Records::new(0).docs().count(), 0);
    }
}
