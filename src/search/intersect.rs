//! The records that match every query word, found by walking the word clauses side by side.
//!
//! tantivy's own intersection moves each clause to the leader's next record with `seek`.
//! A word's clause is a union over fields (and, within a field, over its variants, compound
//! parts and typo neighbours), and a union that is sought past its buffered window of 4,096
//! records clears that whole window and moves every one of its children: at national size
//! that made a two-word variable search cost twice a one-word one for a single hit. Here a
//! clause with about as many candidates as the leader follows it with `advance`, which
//! reads the union's window in order; only a clause with far more candidates (a common word
//! beside a rare one) is sought, where skipping ahead is cheaper than reading.

use tantivy::{
    DocId, DocSet, Score, Searcher, TERMINATED,
    query::{EnableScoring, Query, Scorer},
};

/// A clause with at most this many times the leader's candidates is walked, not sought,
/// when the records are scored.
const WALK_RATIO: u64 = 16;
/// The same when they are not: an unscored union sought past its window drops only a window
/// of records, not of scores, so seeking pays from about the leader's size (at national
/// size a search for two compounds of common parts went from 1.76 to 1.13 ms; BENCHMARKS.md).
const UNSCORED_WALK_RATIO: u64 = 1;

/// The records of the (single) segment that match every clause, in record order, each with
/// the sum of the clauses' scores (in clause order), as a `Must` boolean query scores them.
/// Up to `one_by_one` of them (when there are several clauses) are scored by seeking each
/// clause to each record ([`SCORED_ONE_BY_ONE`] is the measured choice); more by walking
/// the clauses again.
pub fn every_clause(
    searcher: &Searcher,
    clauses: &[Box<dyn Query>],
    one_by_one: usize,
) -> tantivy::Result<Vec<(DocId, Score)>> {
    let Some(segment) = searcher.segment_readers().first() else {
        return Ok(Vec::new());
    };
    let scoring = EnableScoring::enabled_from_searcher(searcher);
    let alive = segment.alive_bitset();
    let keep = |doc: DocId| alive.is_none_or(|a| a.is_alive(doc));
    if let [clause] = clauses {
        // One word: tantivy's own loop, which reads the clause block by block.
        let mut hits = Vec::new();
        clause
            .weight(scoring)?
            .for_each(segment, &mut |doc, score| {
                if keep(doc) {
                    hits.push((doc, score));
                }
            })?;
        return Ok(hits);
    }
    // First the records alone, without scores: a word's union scores every candidate it
    // reads, and when two common words (or compound parts) meet in a handful of records,
    // scoring their candidates is most of the cost. Those few are then scored one by one.
    let unscored = EnableScoring::disabled_from_searcher(searcher);
    let mut scorers = clauses
        .iter()
        .map(|clause| clause.weight(unscored)?.scorer(segment, 1.0))
        .collect::<tantivy::Result<Vec<_>>>()?;
    let mut hits = intersect(&mut scorers, keep, false);
    let mut scorers = clauses
        .iter()
        .map(|clause| clause.weight(scoring)?.scorer(segment, 1.0))
        .collect::<tantivy::Result<Vec<_>>>()?;
    if hits.len() > one_by_one {
        return Ok(intersect(&mut scorers, keep, true));
    }
    score_each(&mut scorers, &mut hits);
    Ok(hits)
}

/// Up to this many records matching every clause are scored by seeking each clause to each
/// of them; more are scored by walking the clauses again, as tantivy's union reads them.
pub const SCORED_ONE_BY_ONE: usize = 256;

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

/// The records every scorer matches, with the sum of their scores when `scored` (0 when
/// not); `alive` filters them.
fn intersect(
    scorers: &mut [Box<dyn Scorer>],
    alive: impl Fn(DocId) -> bool,
    scored: bool,
) -> Vec<(DocId, Score)> {
    let Some(lead) = (0..scorers.len()).min_by_key(|&i| scorers[i].size_hint()) else {
        return Vec::new();
    };
    let ratio = if scored {
        WALK_RATIO
    } else {
        UNSCORED_WALK_RATIO
    };
    let most = u64::from(scorers[lead].size_hint().max(1)) * ratio;
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
            let score = if scored {
                scorers.iter_mut().map(|s| s.score()).sum()
            } else {
                0.0
            };
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
            intersect(&mut scorers, |_| true, true),
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
            intersect(&mut scorers, |_| true, true),
            vec![(2, 1.5), (9_999, 1.5)]
        );
        assert!(
            seeks.load(Ordering::Relaxed) > 0,
            "the common clause is sought"
        );
    }

    #[test]
    fn unscored_a_larger_clause_is_sought_and_the_same_records_are_found() {
        let seeks = Arc::default();
        let larger = [1, 3, 5, 7, 9, 200, 4000, 9000];
        let smaller = [3, 4, 9, 4000, 8999, 9000];
        let mut scorers = vec![scorer(&larger, 1.0, &seeks), scorer(&smaller, 2.0, &seeks)];
        assert_eq!(
            intersect(&mut scorers, |_| true, false),
            vec![(3, 0.0), (9, 0.0), (4000, 0.0), (9000, 0.0)]
        );
        assert!(
            seeks.load(Ordering::Relaxed) > 0,
            "the larger clause is sought"
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
            intersect(&mut scorers, |d| d != 2, true),
            vec![(1, 2.0), (3, 2.0)]
        );
        let mut scorers = vec![scorer(&[1, 2, 3], 1.0, &seeks), scorer(&[], 1.0, &seeks)];
        assert!(intersect(&mut scorers, |_| true, true).is_empty());
        assert!(intersect(&mut [], |_| true, true).is_empty());
    }
}
