//! The scores of the records that match every query word.
//!
//! Which records those are is read from the words' postings ([`super::word`]); here each
//! gets the sum of the words' clause scores. A word's clause is a union over fields (and,
//! within a field, over its variants, compound parts and typo neighbours), and a union that
//! is sought past its buffered window of 4,096 records clears that whole window and moves
//! every one of its children. So a few records are scored by seeking every clause to each;
//! for many, a clause with about as many candidates as there are records follows them with
//! `advance`, which reads the union's window in order, and only a clause with far more
//! candidates (a common word beside a rare one) is sought, where skipping ahead is cheaper
//! than reading.

use tantivy::{
    DocId, DocSet, Score, Searcher,
    query::{EnableScoring, Query, Scorer},
};

/// A clause with at most this many times as many candidates as there are records to score
/// is walked, not sought.
const WALK_RATIO: u64 = 16;

/// Up to this many records are scored by seeking each clause to each of them.
pub const SCORED_ONE_BY_ONE: usize = 256;

/// The records of the (single) segment that `clause` matches, in record order, with their
/// scores: tantivy's own loop, which reads the clause block by block.
pub fn one_clause(searcher: &Searcher, clause: &dyn Query) -> tantivy::Result<Vec<(DocId, Score)>> {
    let Some(segment) = searcher.segment_readers().first() else {
        return Ok(Vec::new());
    };
    let alive = segment.alive_bitset();
    let mut hits = Vec::new();
    clause
        .weight(EnableScoring::enabled_from_searcher(searcher))?
        .for_each(segment, &mut |doc, score| {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                hits.push((doc, score));
            }
        })?;
    Ok(hits)
}

/// `records` (in record order, each matched by every clause) with the sum of the clauses'
/// scores (in clause order), as a `Must` boolean query scores them. Up to `one_by_one` of
/// them are scored by seeking each clause to each record ([`SCORED_ONE_BY_ONE`] is the
/// measured choice); more by walking the clauses that are not far larger.
pub fn score(
    searcher: &Searcher,
    clauses: &[Box<dyn Query>],
    records: Vec<DocId>,
    one_by_one: usize,
) -> tantivy::Result<Vec<(DocId, Score)>> {
    let Some(segment) = searcher.segment_readers().first() else {
        return Ok(Vec::new());
    };
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let mut scorers = clauses
        .iter()
        .map(|clause| clause.weight(scoring)?.scorer(segment, 1.0))
        .collect::<tantivy::Result<Vec<_>>>()?;
    let seek_only = records.len() <= one_by_one;
    Ok(score_records(&mut scorers, records, seek_only))
}

/// Each record (in record order, each matched by every scorer) with the sum of the
/// scorers' scores there; every scorer is sought when `seek_only`, otherwise only those
/// with far more candidates than there are records.
fn score_records(
    scorers: &mut [Box<dyn Scorer>],
    records: Vec<DocId>,
    seek_only: bool,
) -> Vec<(DocId, Score)> {
    let most = records.len() as u64 * WALK_RATIO;
    let walk: Vec<bool> = scorers
        .iter()
        .map(|s| !seek_only && u64::from(s.size_hint()) <= most)
        .collect();
    records
        .into_iter()
        .map(|doc| {
            let score = scorers
                .iter_mut()
                .zip(&walk)
                .map(|(scorer, &walk)| {
                    reach(scorer.as_mut(), doc, walk);
                    scorer.score()
                })
                .sum();
            (doc, score)
        })
        .collect()
}

/// Moves `scorer` to its first record at or after `target`: reading on when `walk`,
/// otherwise skipping.
fn reach(scorer: &mut dyn Scorer, target: DocId, walk: bool) -> DocId {
    let mut doc = scorer.doc();
    if doc >= target {
        return doc;
    }
    if !walk {
        return scorer.seek(target);
    }
    while doc < target {
        doc = scorer.advance();
    }
    doc
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use tantivy::TERMINATED;

    use super::*;

    /// A clause over a fixed list of records, counting the seeks it is asked for.
    struct Listed {
        docs: Vec<DocId>,
        at: usize,
        score: Score,
        seeks: Arc<AtomicUsize>,
    }

    impl DocSet for Listed {
        fn advance(&mut self) -> DocId {
            self.at += 1;
            self.doc()
        }

        fn seek(&mut self, target: DocId) -> DocId {
            self.seeks.fetch_add(1, Ordering::Relaxed);
            while self.doc() < target {
                self.at += 1;
            }
            self.doc()
        }

        fn doc(&self) -> DocId {
            self.docs.get(self.at).copied().unwrap_or(TERMINATED)
        }

        fn size_hint(&self) -> u32 {
            self.docs.len() as u32
        }
    }

    impl Scorer for Listed {
        fn score(&mut self) -> Score {
            self.score
        }
    }

    fn scorer(docs: &[DocId], score: Score, seeks: &Arc<AtomicUsize>) -> Box<dyn Scorer> {
        Box::new(Listed {
            docs: docs.to_vec(),
            at: 0,
            score,
            seeks: seeks.clone(),
        })
    }

    #[test]
    fn each_record_gets_the_sum_of_the_clauses_scores_there() {
        let seeks = Arc::default();
        let mut scorers = vec![
            scorer(&[1, 3, 5, 7, 9, 200, 4000, 9000], 1.0, &seeks),
            scorer(&[3, 4, 9, 4000, 8999, 9000], 2.0, &seeks),
        ];
        assert_eq!(
            score_records(&mut scorers, vec![3, 9, 4000, 9000], false),
            vec![(3, 3.0), (9, 3.0), (4000, 3.0), (9000, 3.0)]
        );
        assert_eq!(
            seeks.load(Ordering::Relaxed),
            0,
            "clauses of about as many candidates as records are walked"
        );
    }

    #[test]
    fn a_far_larger_clause_is_sought_and_scores_the_same() {
        let seeks = Arc::default();
        let common: Vec<DocId> = (0..10_000).filter(|d| d % 3 != 1).collect();
        let mut scorers = vec![
            scorer(&common, 1.0, &seeks),
            scorer(&[2, 4, 7, 9_999], 0.5, &seeks),
        ];
        assert_eq!(
            score_records(&mut scorers, vec![2, 9_999], false),
            vec![(2, 1.5), (9_999, 1.5)]
        );
        assert!(
            seeks.load(Ordering::Relaxed) > 0,
            "the common clause is sought"
        );
    }

    #[test]
    fn one_by_one_every_clause_is_sought_and_no_records_score_nothing() {
        let seeks = Arc::default();
        let mut scorers = vec![
            scorer(&[1, 2, 3], 1.0, &seeks),
            scorer(&[1, 2, 3], 1.0, &seeks),
        ];
        assert_eq!(
            score_records(&mut scorers, vec![1, 3], true),
            vec![(1, 2.0), (3, 2.0)]
        );
        assert!(seeks.load(Ordering::Relaxed) > 0);
        assert!(score_records(&mut scorers, Vec::new(), true).is_empty());
        assert_eq!(score_records(&mut [], vec![1], false), vec![(1, 0.0)]);
    }
}
