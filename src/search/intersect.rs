//! The scores of the records that match every query word.
//!
//! Which records those are is read from the words' postings ([`super::word`]); here they
//! are scored. A few are scored one by one, each word's clause sought to each record. Many
//! are scored by walking the clauses side by side: tantivy's own intersection moves each
//! clause to the leader's next record with `seek`, and a word's clause is a union over
//! fields (and, within a field, over its variants, compound parts and typo neighbours); a
//! union that is sought past its buffered window of 4,096 records clears that whole window
//! and moves every one of its children. Here a clause with about as many candidates as the
//! leader follows it with `advance`, which reads the union's window in order; only a clause
//! with far more candidates (a common word beside a rare one) is sought, where skipping
//! ahead is cheaper than reading.

use tantivy::{
    DocId, DocSet, Score, Searcher, TERMINATED,
    query::{EnableScoring, Query, Scorer},
};

/// A clause with at most this many times the leader's candidates is walked, not sought.
const WALK_RATIO: u64 = 16;

/// Up to this many records matching every clause are scored by seeking each clause to each
/// of them; more are scored by walking the clauses again, as tantivy's union reads them.
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
/// measured choice); more by walking the clauses.
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
    if records.len() > one_by_one {
        let alive = segment.alive_bitset();
        return Ok(intersect(&mut scorers, |doc| {
            alive.is_none_or(|a| a.is_alive(doc))
        }));
    }
    let mut hits: Vec<(DocId, Score)> = records.into_iter().map(|doc| (doc, 0.0)).collect();
    score_each(&mut scorers, &mut hits);
    Ok(hits)
}

/// Sets each hit's score (hits in record order, each matched by every scorer) to the sum of
/// the scorers' scores there.
fn score_each(scorers: &mut [Box<dyn Scorer>], hits: &mut [(DocId, Score)]) {
    for (doc, score) in hits {
        *score = scorers
            .iter_mut()
            .map(|s| {
                s.seek(*doc);
                s.score()
            })
            .sum();
    }
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

/// The records every scorer matches, with the sum of their scores; `alive` filters them.
fn intersect(
    scorers: &mut [Box<dyn Scorer>],
    alive: impl Fn(DocId) -> bool,
) -> Vec<(DocId, Score)> {
    let Some(lead) = (0..scorers.len()).min_by_key(|&i| scorers[i].size_hint()) else {
        return Vec::new();
    };
    let most = u64::from(scorers[lead].size_hint().max(1)) * WALK_RATIO;
    let walk: Vec<bool> = scorers
        .iter()
        .map(|s| u64::from(s.size_hint()) <= most)
        .collect();
    let mut hits = Vec::new();
    let mut doc = scorers[lead].doc();
    'records: while doc != TERMINATED {
        for i in 0..scorers.len() {
            if i == lead {
                continue;
            }
            let at = reach(scorers[i].as_mut(), doc, walk[i]);
            if at == TERMINATED {
                break 'records;
            }
            if at > doc {
                // This clause has nothing before `at`: the leader catches up (it has the
                // fewest candidates, so reading it is the cheap way).
                doc = reach(scorers[lead].as_mut(), at, true);
                continue 'records;
            }
        }
        if alive(doc) {
            let score = scorers.iter_mut().map(|s| s.score()).sum();
            hits.push((doc, score));
        }
        doc = scorers[lead].advance();
    }
    hits
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

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
    fn only_records_of_every_clause_are_kept_with_the_sum_of_their_scores() {
        let seeks = Arc::default();
        let mut scorers = vec![
            scorer(&[1, 3, 5, 7, 9, 200, 4000, 9000], 1.0, &seeks),
            scorer(&[3, 4, 9, 4000, 8999, 9000], 2.0, &seeks),
        ];
        assert_eq!(
            intersect(&mut scorers, |_| true),
            vec![(3, 3.0), (9, 3.0), (4000, 3.0), (9000, 3.0)]
        );
        assert_eq!(
            seeks.load(Ordering::Relaxed),
            0,
            "clauses of about the same size are walked"
        );
    }

    #[test]
    fn a_far_larger_clause_is_sought_and_finds_the_same() {
        let seeks = Arc::default();
        let common: Vec<DocId> = (0..10_000).filter(|d| d % 3 != 1).collect();
        let mut scorers = vec![
            scorer(&common, 1.0, &seeks),
            scorer(&[2, 4, 7, 9_999], 0.5, &seeks),
        ];
        assert_eq!(
            intersect(&mut scorers, |_| true),
            vec![(2, 1.5), (9_999, 1.5)]
        );
        assert!(
            seeks.load(Ordering::Relaxed) > 0,
            "the common clause is sought"
        );
    }

    #[test]
    fn deleted_records_and_empty_clauses_match_nothing() {
        let seeks = Arc::default();
        let mut scorers = vec![
            scorer(&[1, 2, 3], 1.0, &seeks),
            scorer(&[1, 2, 3], 1.0, &seeks),
        ];
        assert_eq!(
            intersect(&mut scorers, |d| d != 2),
            vec![(1, 2.0), (3, 2.0)]
        );
        let mut scorers = vec![scorer(&[1, 2, 3], 1.0, &seeks), scorer(&[], 1.0, &seeks)];
        assert!(intersect(&mut scorers, |_| true).is_empty());
        assert!(intersect(&mut [], |_| true).is_empty());
    }
}
