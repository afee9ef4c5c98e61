//! An in-memory tantivy index over records whose fields are analysed by [`Analyzer`]:
//! BM25 with a boost per field, every query word required (any one when no record has all),
//! each word matched whole, as its compound parts, or, in the fields of a language whose
//! index holds it in neither form (a misspelling there), within a small edit distance.

use std::sync::Arc;

use tantivy::{
    DocId, Index, IndexReader, Score, Searcher, SegmentReader, TantivyDocument, Term,
    collector::{Collector, SegmentCollector},
    directory::RamDirectory,
    query::{
        BooleanQuery, BoostQuery, ConstScoreQuery, DfaWrapper, DisjunctionMaxQuery, FuzzyTermQuery,
        Occur, Query, TermQuery,
    },
    schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions},
    tokenizer::{PreTokenizedString, Token},
};

use super::{
    analysis::{Analysis, Analyzer, WordCache, WordTerms},
    intersect,
};

/// One searchable field of a record kind.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// Field name in the index.
    pub name: &'static str,
    /// How its text is analysed.
    pub analysis: Analysis,
    /// BM25 boost: how much a match in this field counts.
    pub boost: f32,
}

/// The searchable text of one record: `(field number in the spec, text)` pairs.
#[derive(Debug, Clone, Default)]
pub struct SearchDocument {
    texts: Vec<(usize, String)>,
}

impl SearchDocument {
    /// Adds text to field number `field` of the record kind's spec; empty texts are skipped.
    pub fn push(&mut self, field: usize, text: &str) {
        if !text.trim().is_empty() {
            self.texts.push((field, text.to_string()));
        }
    }
}

/// Initial memory of the segment writer (its term table starts small and grows as needed).
const WRITER_MEMORY: usize = 1 << 20;
/// Relative weight of a match through a word's compound parts, against the whole word.
const PARTS_WEIGHT: f32 = 0.6;
/// Relative weight of a match within the allowed edit distance (a constant score).
const FUZZY_WEIGHT: f32 = 0.4;
/// How much the other matching fields add to a word's best field.
const TIE_BREAKER: f32 = 0.2;

/// Edit distance tolerated for a query word of this many letters: 1 from 5 letters, 2 from 9.
pub fn typo_distance(letters: usize) -> u8 {
    match letters {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// Records indexed for free-text search, numbered 0, 1, 2… in the order given.
pub struct SearchIndex {
    specs: &'static [FieldSpec],
    fields: Vec<Field>,
    analyzer: Arc<Analyzer>,
    reader: Option<IndexReader>,
    len: usize,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("fields", &self.specs.len())
            .field("len", &self.len)
            .finish()
    }
}

impl Default for SearchIndex {
    /// An index of no records.
    fn default() -> Self {
        Self {
            specs: &[],
            fields: Vec::new(),
            analyzer: super::analyzer(),
            reader: None,
            len: 0,
        }
    }
}

impl SearchIndex {
    /// Indexes documents with the given field spec. The index is built once; searching never
    /// changes it. Should tantivy refuse to build it (it cannot on in-memory storage short of
    /// running out of memory), the failure is logged and the index matches nothing.
    pub fn build(
        specs: &'static [FieldSpec],
        analyzer: Arc<Analyzer>,
        documents: impl IntoIterator<Item = SearchDocument>,
    ) -> Self {
        let mut schema = Schema::builder();
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::WithFreqs)
                .set_fieldnorms(true),
        );
        let fields: Vec<Field> = specs
            .iter()
            .map(|s| schema.add_text_field(s.name, options.clone()))
            .collect();
        let schema = schema.build();
        let mut len = 0;
        let reader = match Self::write(&schema, &fields, specs, &analyzer, documents, &mut len) {
            Ok(reader) => Some(reader),
            Err(error) => {
                tracing::error!(%error, "building the search index failed; searches will find nothing");
                None
            }
        };
        Self {
            specs,
            fields,
            analyzer,
            reader,
            len,
        }
    }

    fn write(
        schema: &Schema,
        fields: &[Field],
        specs: &[FieldSpec],
        analyzer: &Analyzer,
        documents: impl IntoIterator<Item = SearchDocument>,
        len: &mut usize,
    ) -> tantivy::Result<IndexReader> {
        // One segment written in order, so that tantivy's document ids are our record numbers.
        let mut writer = Index::builder()
            .schema(schema.clone())
            .single_segment_index_writer(RamDirectory::create(), WRITER_MEMORY)?;
        let mut cache = WordCache::default();
        for document in documents {
            let mut doc = TantivyDocument::default();
            let mut tokens: Vec<Vec<Token>> = vec![Vec::new(); fields.len()];
            for (field, text) in &document.texts {
                let Some(spec) = specs.get(*field) else {
                    continue;
                };
                let out = &mut tokens[*field];
                let start = out.last().map_or(0, |t| t.position + 2);
                for (position, word) in (start..).zip(Analyzer::words(text)) {
                    let terms = cache.get(analyzer, spec.analysis, &word);
                    for term in terms.whole.iter().chain(&terms.parts) {
                        out.push(Token {
                            offset_from: 0,
                            offset_to: 0,
                            position,
                            text: term.clone(),
                            position_length: 1,
                        });
                    }
                }
            }
            for (field, tokens) in fields.iter().zip(tokens) {
                if !tokens.is_empty() {
                    doc.add_pre_tokenized_text(
                        *field,
                        PreTokenizedString {
                            text: String::new(),
                            tokens,
                        },
                    );
                }
            }
            writer.add_document(doc)?;
            *len += 1;
        }
        let index = writer.finalize()?;
        let reader = index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()?;
        Ok(reader)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index holds no records.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records matching the query words, with their BM25 scores, in record order. Every word
    /// must match (stop words are dropped); when no record matches them all, records matching
    /// any are returned, ranked by how many and how well. An empty word list matches every
    /// record with score 0.
    pub fn search(&self, words: &[String]) -> Vec<(u32, f64)> {
        self.search_scoring(words, intersect::SCORED_ONE_BY_ONE)
    }

    /// [`Self::search`], scoring up to `one_by_one` records that match every word by seeking
    /// to each (the tests compare both ways of scoring).
    pub(super) fn search_scoring(&self, words: &[String], one_by_one: usize) -> Vec<(u32, f64)> {
        let words: Vec<&String> = words
            .iter()
            .filter(|w| !self.analyzer.is_stop_word(w))
            .collect();
        if words.is_empty() {
            return (0..self.len as u32).map(|n| (n, 0.0)).collect();
        }
        let Some(reader) = &self.reader else {
            return Vec::new();
        };
        let searcher = reader.searcher();
        let clauses: Vec<Box<dyn Query>> = words
            .iter()
            .map(|w| self.word_query(&searcher, w))
            .collect();
        let failed = |error: tantivy::TantivyError| {
            tracing::error!(%error, "search failed");
            Vec::new()
        };
        let mut hits =
            intersect::every_clause(&searcher, &clauses, one_by_one).unwrap_or_else(failed);
        if hits.is_empty() && clauses.len() > 1 {
            let any = BooleanQuery::new(
                clauses
                    .iter()
                    .map(|c| (Occur::Should, c.box_clone()))
                    .collect(),
            );
            hits = searcher.search(&any, &AllHits).unwrap_or_else(failed);
        }
        hits.sort_unstable_by_key(|h| h.0);
        hits.into_iter().map(|(d, s)| (d, f64::from(s))).collect()
    }

    /// The query for one word: in any field, as a whole (any variant), as all of its
    /// compound parts, or, in the fields of a language whose index holds it in neither form,
    /// within the typo distance. The best field counts, the others a little
    /// ([`TIE_BREAKER`]), so that many weak fields do not outrank one strong one.
    ///
    /// A word the fields of one analysis hold is taken as written there: its edit-distance
    /// neighbours are other words (`hjerne` is not a misspelt `hjerte`), and looking them up
    /// in every field is what made a search for a common word cost milliseconds at national
    /// size. Another language may still hold only a near form (`diagnosis` in English,
    /// `diagnose` in bokmål), so each analysis decides for its own fields.
    fn word_query(&self, searcher: &Searcher, word: &str) -> Box<dyn Query> {
        let mut per_analysis: Vec<(Analysis, WordTerms)> = Vec::new();
        for spec in self.specs {
            if !per_analysis.iter().any(|(a, _)| *a == spec.analysis) {
                per_analysis.push((spec.analysis, self.analyzer.word(spec.analysis, word)));
            }
        }
        // Codes (abbreviations with digits, ICD-10 codes, years) are meant exactly: a typo
        // tolerance would make `C1S000003` match every neighbouring code as well.
        let code = word.chars().any(|c| c.is_ascii_digit());
        let distances: Vec<u8> = per_analysis
            .iter()
            .map(|(analysis, terms)| {
                if code || self.knows(searcher, *analysis, terms) {
                    0
                } else {
                    typo_distance(word.chars().count())
                }
            })
            .collect();
        let mut near = NearTerms::default();
        let mut disjuncts: Vec<Box<dyn Query>> = Vec::new();
        for (spec, field) in self.specs.iter().zip(&self.fields) {
            let Some(at) = per_analysis.iter().position(|(a, _)| *a == spec.analysis) else {
                continue;
            };
            let (terms, distance) = (&per_analysis[at].1, distances[at]);
            let term = |text: &str| -> Box<dyn Query> {
                Box::new(TermQuery::new(
                    Term::from_field_text(*field, text),
                    IndexRecordOption::WithFreqs,
                ))
            };
            let mut should: Vec<(Occur, Box<dyn Query>)> = terms
                .whole
                .iter()
                .map(|t| (Occur::Should, term(t)))
                .collect();
            if terms.parts.len() > 1 {
                let all_parts =
                    BooleanQuery::new(terms.parts.iter().map(|p| (Occur::Must, term(p))).collect());
                should.push(boosted(Box::new(all_parts), PARTS_WEIGHT));
            }
            if distance > 0
                && let Some(first) = terms.whole.first()
                && let Some(near) = near.terms(searcher, *field, first, distance)
            {
                should.push(boosted(near, FUZZY_WEIGHT));
            }
            disjuncts.push(Box::new(BoostQuery::new(
                Box::new(BooleanQuery::new(should)),
                spec.boost,
            )));
        }
        if let Some(anywhere) = self.parts_anywhere(&per_analysis) {
            disjuncts.push(anywhere);
        }
        Box::new(DisjunctionMaxQuery::with_tie_breaker(
            disjuncts,
            TIE_BREAKER,
        ))
    }

    /// Whether some record holds the word, as `analysis` reads it, in a field of that
    /// analysis: whole (any variant) or as all of its compound parts (each somewhere).
    fn knows(&self, searcher: &Searcher, analysis: Analysis, terms: &WordTerms) -> bool {
        let held = |text: &str| {
            self.specs
                .iter()
                .zip(&self.fields)
                .filter(|(spec, _)| spec.analysis == analysis)
                .any(|(_, field)| {
                    searcher
                        .doc_freq(&Term::from_field_text(*field, text))
                        .is_ok_and(|n| n > 0)
                })
        };
        terms.whole.iter().any(|t| held(t))
            || (terms.parts.len() > 1 && terms.parts.iter().all(|p| held(p)))
    }

    /// A compound's parts may sit in different fields (`hjerte` in a name, `stans` in a
    /// topic): each part somewhere, at a low weight.
    fn parts_anywhere(&self, per_analysis: &[(Analysis, WordTerms)]) -> Option<Box<dyn Query>> {
        let longest = per_analysis.iter().map(|(_, t)| t.parts.len()).max()?;
        if longest < 2 {
            return None;
        }
        let mut musts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for i in 0..longest {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (spec, field) in self.specs.iter().zip(&self.fields) {
                if let Some((_, t)) = per_analysis.iter().find(|(a, _)| *a == spec.analysis)
                    && let Some(part) = t.parts.get(i)
                {
                    any.push(boosted(
                        Box::new(TermQuery::new(
                            Term::from_field_text(*field, part),
                            IndexRecordOption::WithFreqs,
                        )),
                        spec.boost * PARTS_WEIGHT * 0.5,
                    ));
                }
            }
            if !any.is_empty() {
                musts.push((Occur::Must, Box::new(BooleanQuery::new(any))));
            }
        }
        Some(Box::new(BooleanQuery::new(musts)))
    }
}

/// The typo tolerance of one query word: for each field, the terms of its dictionary within
/// the edit distance (a transposition counts as one edit), matched with a constant score, as
/// tantivy's `FuzzyTermQuery` scores them. Each Levenshtein automaton is built once per text
/// and distance, however many fields use it, and a field holding no near term gets no
/// clause: a word of one language is near no term of the other's fields or of the codes in
/// most searches, and a fuzzy query per field built the automaton again each time and
/// marked its (empty) matches in a bitset of every record (about a fifth of a custodian's
/// CPU in the national variable search; BENCHMARKS.md).
#[derive(Default)]
struct NearTerms {
    automata: Vec<(String, u8, Option<DfaWrapper>)>,
}

impl NearTerms {
    /// The near terms of `text` in `field`, as one constant-score query; `None` when the
    /// field holds none (or the automaton cannot be built, which tantivy allows only for a
    /// distance above 2).
    fn terms(
        &mut self,
        searcher: &Searcher,
        field: Field,
        text: &str,
        distance: u8,
    ) -> Option<Box<dyn Query>> {
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
        let automaton = self.automata[at].2.as_ref()?;
        let mut near: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for segment in searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(field) else {
                continue;
            };
            let Ok(mut stream) = inverted.terms().search(automaton).into_stream() else {
                continue;
            };
            while stream.advance() {
                let term = Term::from_field_bytes(field, stream.key());
                near.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                ));
            }
        }
        if near.is_empty() {
            return None;
        }
        Some(Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(near)),
            1.0,
        )))
    }
}

fn boosted(query: Box<dyn Query>, boost: f32) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(BoostQuery::new(query, boost)))
}

/// Collects every matching document with its score.
struct AllHits;

struct SegmentHits {
    segment: u32,
    hits: Vec<(DocId, Score)>,
}

impl Collector for AllHits {
    type Fruit = Vec<(DocId, Score)>;
    type Child = SegmentHits;

    fn for_segment(&self, segment: u32, _reader: &SegmentReader) -> tantivy::Result<SegmentHits> {
        Ok(SegmentHits {
            segment,
            hits: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(DocId, Score)>>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentHits {
    type Fruit = Vec<(DocId, Score)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        // The index has one segment (written by a single-segment writer), so a document id
        // is the record number; a second segment would be a bug, and is skipped.
        if self.segment == 0 {
            self.hits.push((doc, score));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.hits
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::TopDocs;

    use super::*;
    use crate::{proto as pb, search::variable_index};

    #[test]
    fn near_terms_match_and_score_as_a_fuzzy_term_query_does() {
        let labels = [
            "hjerte", "hjerter", "hjertet", "hjerne", "hjelper", "vekt", "fødsel",
        ];
        let variables: Vec<pb::Variable> = (0..40)
            .map(|i| pb::Variable {
                id: format!("v{i:02}"),
                name: format!("var{i}"),
                label: Some(pb::LocalizedText {
                    nb: format!(
                        "{} {}",
                        labels[i % labels.len()],
                        labels[(i / 3) % labels.len()]
                    ),
                    en: String::new(),
                }),
                ..Default::default()
            })
            .collect();
        let index = variable_index(&variables);
        let searcher = index.reader.as_ref().expect("built").searcher();
        let field = index.fields[1];
        let hits = |query: &dyn Query| {
            let mut hits = searcher
                .search(query, &TopDocs::with_limit(100).order_by_score())
                .expect("search");
            hits.sort_by_key(|(_, at)| at.doc_id);
            hits.into_iter()
                .map(|(score, at)| (at.doc_id, score))
                .collect::<Vec<_>>()
        };
        let mut near = NearTerms::default();
        for (text, distance) in [("hjertr", 1), ("hjerte", 2), ("vekk", 1), ("xyzzy", 2)] {
            let fuzzy = FuzzyTermQuery::new(Term::from_field_text(field, text), distance, true);
            let expected = hits(&fuzzy);
            assert_eq!(expected.is_empty(), text == "xyzzy", "{text}: {expected:?}");
            match near.terms(&searcher, field, text, distance) {
                Some(query) => assert_eq!(hits(query.as_ref()), expected, "{text}"),
                None => assert!(expected.is_empty(), "{text}: no clause, but {expected:?}"),
            }
        }
        assert_eq!(
            near.automata.len(),
            4,
            "one automaton per text and distance"
        );
        assert!(near.terms(&searcher, field, "hjertr", 1).is_some());
        assert_eq!(near.automata.len(), 4, "and each is built once");
    }
}
