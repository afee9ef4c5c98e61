//! An in-memory tantivy index over records whose fields are analysed by [`Analyzer`]:
//! BM25 with a boost per field, every query word required (any one when no record has all),
//! each word matched whole, as its compound parts, or, in the fields of a language whose
//! index holds it in neither form (a misspelling there), within a small edit distance.

use std::sync::Arc;

use tantivy::{
    DocId, Index, IndexReader, Score, Searcher, SegmentReader, TantivyDocument, Term,
    collector::{Collector, SegmentCollector},
    directory::RamDirectory,
    query::{BooleanQuery, Occur, Query},
    schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions},
    tokenizer::{PreTokenizedString, Token},
};

use super::{
    analysis::{Analysis, Analyzer, WordCache, WordTerms},
    scoring,
    word::{FieldTerms, NearTerms, PARTS_WEIGHT, PartAnywhere, Records, WordPlan},
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
        self.search_scoring(words, scoring::SCORED_ONE_BY_ONE)
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
        let plans: Vec<WordPlan> = words.iter().map(|w| self.word_plan(&searcher, w)).collect();
        let clauses: Vec<Box<dyn Query>> = plans.iter().map(WordPlan::query).collect();
        let failed = |error: tantivy::TantivyError| {
            tracing::error!(%error, "search failed");
            Vec::new()
        };
        let mut hits = if let [clause] = clauses.as_slice() {
            scoring::one_clause(&searcher, clause.as_ref()).unwrap_or_else(failed)
        } else {
            every_word(&searcher, &plans)
                .and_then(|records| scoring::score(&searcher, &clauses, records, one_by_one))
                .unwrap_or_else(failed)
        };
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

    /// The plan of one word: in any field, as a whole (any variant), as all of its
    /// compound parts, or, in the fields of a language whose index holds it in neither form,
    /// within the typo distance; and a compound's parts each in some field, since they may
    /// sit in different ones (`hjerte` in a name, `stans` in a topic), at a low weight.
    ///
    /// A word the fields of one analysis hold is taken as written there: its edit-distance
    /// neighbours are other words (`hjerne` is not a misspelt `hjerte`), and looking them up
    /// in every field is what made a search for a common word cost milliseconds at national
    /// size. Another language may still hold only a near form (`diagnosis` in English,
    /// `diagnose` in bokmål), so each analysis decides for its own fields.
    fn word_plan(&self, searcher: &Searcher, word: &str) -> WordPlan {
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
        let of = |spec: &FieldSpec| {
            per_analysis
                .iter()
                .position(|(a, _)| *a == spec.analysis)
                .map(|at| (&per_analysis[at].1, distances[at]))
        };
        let mut near = NearTerms::default();
        let mut fields = Vec::new();
        for (spec, field) in self.specs.iter().zip(&self.fields) {
            let Some((terms, distance)) = of(spec) else {
                continue;
            };
            let near = match terms.whole.first() {
                Some(first) if distance > 0 => near.terms(searcher, *field, first, distance),
                _ => Vec::new(),
            };
            fields.push(FieldTerms {
                field: *field,
                boost: spec.boost,
                whole: terms.whole.clone(),
                parts: if terms.parts.len() > 1 {
                    terms.parts.clone()
                } else {
                    Vec::new()
                },
                near,
            });
        }
        let longest = per_analysis
            .iter()
            .map(|(_, t)| t.parts.len())
            .max()
            .unwrap_or(0);
        let mut anywhere = Vec::new();
        if longest >= 2 {
            for i in 0..longest {
                let part: PartAnywhere = self
                    .specs
                    .iter()
                    .zip(&self.fields)
                    .filter_map(|(spec, field)| {
                        let (terms, _) = of(spec)?;
                        let text = terms.parts.get(i)?;
                        Some((*field, text.clone(), spec.boost * PARTS_WEIGHT * 0.5))
                    })
                    .collect();
                if !part.is_empty() {
                    anywhere.push(part);
                }
            }
        }
        WordPlan { fields, anywhere }
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
}

/// The records of the (single) segment every word matches, in record order, read from
/// the words' postings ([`WordPlan::matches`]); deleted records are left out.
fn every_word(searcher: &Searcher, plans: &[WordPlan]) -> tantivy::Result<Vec<DocId>> {
    let Some(segment) = searcher.segment_readers().first() else {
        return Ok(Vec::new());
    };
    let mut all: Option<Records> = None;
    for plan in plans {
        all = Some(Records::and(all, plan.matches(segment)?));
    }
    let alive = segment.alive_bitset();
    Ok(all
        .map(|all| {
            all.docs()
                .filter(|&doc| alive.is_none_or(|a| a.is_alive(doc)))
                .collect()
        })
        .unwrap_or_default())
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
    use tantivy::{
        collector::TopDocs,
        query::{BoostQuery, FuzzyTermQuery},
    };

    use super::*;
    use crate::{
        concepts::Vocabulary,
        proto as pb,
        search::{self, variable_index, word::FUZZY_WEIGHT},
    };

    fn variables() -> Vec<pb::Variable> {
        let labels = [
            ("hjerte", "heart"),
            ("hjertestans utenfor sykehus", "cardiac arrest"),
            ("fødselsvekt", "birth weight"),
            ("vekt ved fødsel", "weight at birth"),
            ("hjerne", "brain"),
            ("legevekt", "doctor weight"),
            ("tykk- og endetarmskreft", "colorectal cancer"),
            ("diagnose ICD-10", "diagnosis ICD-10"),
            ("kommune", "municipality"),
        ];
        (0..120)
            .map(|i| {
                let (nb, en) = labels[i % labels.len()];
                let (nb2, en2) = labels[(i / 5) % labels.len()];
                pb::Variable {
                    id: format!("v{i:03}"),
                    name: format!("var{i}"),
                    label: Some(pb::LocalizedText {
                        nb: format!("{nb} {nb2}"),
                        en: format!("{en} {en2}"),
                    }),
                    code_system: if i % 4 == 0 {
                        "ICD-10".into()
                    } else {
                        String::new()
                    },
                    ..Default::default()
                }
            })
            .collect()
    }

    /// Every record `query` matches (tantivy's own evaluation), with its score.
    fn hits(searcher: &Searcher, query: &dyn Query) -> Vec<(DocId, Score)> {
        let mut hits: Vec<(DocId, Score)> = searcher
            .search(query, &TopDocs::with_limit(10_000).order_by_score())
            .expect("search")
            .into_iter()
            .map(|(score, at)| (at.doc_id, score))
            .collect();
        hits.sort_by_key(|(doc, _)| *doc);
        hits
    }

    #[test]
    fn a_words_match_set_is_what_its_query_matches() {
        let sources = [
            (
                "hjertestans",
                "Norsk hjertestansregister",
                "Norwegian Cardiac Arrest Registry",
            ),
            (
                "krg-tykk",
                "Kvalitetsregister for tykk- og endetarmskreft",
                "Colorectal Cancer Registry",
            ),
            ("mfr", "Medisinsk fødselsregister", "Medical Birth Registry"),
        ]
        .map(|(id, nb, en)| pb::DataSource {
            id: id.into(),
            name: Some(pb::LocalizedText {
                nb: nb.into(),
                en: en.into(),
            }),
            ..Default::default()
        });
        let indexes = [
            variable_index(&variables()),
            search::source_index(&sources, &Vocabulary::default()),
        ];
        let words = [
            "hjerte",
            "hjertestans",
            "stanshjerte",
            "tarmkreft",
            "endetarmskreft",
            "fodselsvekt",
            "fødselsvekt",
            "birthweight",
            "legevekt",
            "vektlege",
            "hjertr",
            "kommunne",
            "municipality",
            "diagnosis",
            "icd",
            "10",
            "registry",
            "register",
            "ingenting",
        ];
        for index in &indexes {
            let searcher = index.reader.as_ref().expect("built").searcher();
            let segment = &searcher.segment_readers()[0];
            for word in words {
                let plan = index.word_plan(&searcher, word);
                let matched: Vec<DocId> = plan.matches(segment).expect("read").docs().collect();
                let expected: Vec<DocId> = hits(&searcher, plan.query().as_ref())
                    .into_iter()
                    .map(|(d, _)| d)
                    .collect();
                assert_eq!(matched, expected, "{word}: {plan:?}");
            }
        }
        // Some words match, some do not: the comparison is not of empty sets only.
        let searcher = indexes[0].reader.as_ref().expect("built").searcher();
        let count = |word: &str| {
            let plan = indexes[0].word_plan(&searcher, word);
            plan.matches(&searcher.segment_readers()[0])
                .expect("read")
                .docs()
                .count()
        };
        assert!(count("tarmkreft") > 0 && count("hjertr") > 0 && count("vektlege") > 0);
        assert_eq!(count("ingenting"), 0);
    }

    #[test]
    fn near_terms_match_and_score_as_a_fuzzy_term_query_does() {
        let index = variable_index(&variables());
        let searcher = index.reader.as_ref().expect("built").searcher();
        let field = index.fields[1];
        let mut near = NearTerms::default();
        for (text, distance) in [
            ("hjertr", 1),
            ("hjerte", 2),
            ("fodselsvekk", 2),
            ("xyzzy", 2),
        ] {
            let fuzzy = BoostQuery::new(
                Box::new(FuzzyTermQuery::new(
                    Term::from_field_text(field, text),
                    distance,
                    true,
                )),
                FUZZY_WEIGHT,
            );
            let expected = hits(&searcher, &fuzzy);
            assert_eq!(expected.is_empty(), text == "xyzzy", "{text}: {expected:?}");
            let plan = WordPlan {
                fields: vec![FieldTerms {
                    field,
                    boost: 1.0,
                    whole: Vec::new(),
                    parts: Vec::new(),
                    near: near.terms(&searcher, field, text, distance),
                }],
                anywhere: Vec::new(),
            };
            assert_eq!(hits(&searcher, plan.query().as_ref()), expected, "{text}");
        }
        assert_eq!(near.built(), 4, "one automaton per text and distance");
        assert!(!near.terms(&searcher, field, "hjertr", 1).is_empty());
        assert_eq!(near.built(), 4, "and each is built once");
    }
}
