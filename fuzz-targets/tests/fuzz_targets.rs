//! Every fuzz target on the stable toolchain: over each file of its seed corpus
//! (`fuzz/corpus/<target>/`), then over generated inputs, mutations of the seeds (bytes
//! overwritten, inserted, deleted, cut, and seeds spliced) and random bytes. A panic or a
//! broken check fails the test with the (shrunk) input.
//!
//! `FUZZ_CASES` sets the number of generated inputs per target (see RELIABILITY.md); the
//! defaults keep a debug test run within a minute or so.

use std::path::PathBuf;

use proptest::{
    prelude::*,
    sample::Index,
    test_runner::{Config, TestRunner},
};

/// Generated inputs per target when `FUZZ_CASES` is not set.
fn cases(target: &str) -> u32 {
    if let Some(n) = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    match target {
        // Each input is a data file of several kilobytes or a whole plan over the bundled
        // catalogues: fewer in a debug build.
        "custodian_data_file" | "national_rules" | "planner" => 2_000,
        _ => 20_000,
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir: PathBuf = fuzz_targets::repo_root().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    assert!(!seeds.is_empty(), "corpus {} has seeds", dir.display());
    seeds
}

/// One edit of a seed.
#[derive(Debug, Clone)]
enum Edit {
    Overwrite(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Cut(Index),
    Splice(Index, Index, Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Overwrite(i, b)),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<Index>().prop_map(Edit::Cut),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(s, i, j)| Edit::Splice(s, i, j)),
    ]
}

fn apply(seeds: &[Vec<u8>], seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for edit in edits {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
        match edit {
            Edit::Overwrite(i, b) if !data.is_empty() => {
                let n = i.index(data.len());
                data[n] = *b;
            }
            Edit::Overwrite(..) => data.push(0),
            Edit::Insert(i, bytes) => {
                let n = at(i, data.len());
                data.splice(n..n, bytes.iter().copied());
            }
            Edit::Delete(i, len) => {
                let n = at(i, data.len());
                let end = (n + len).min(data.len());
                data.drain(n..end);
            }
            Edit::Cut(i) => {
                let n = at(i, data.len());
                data.truncate(n);
            }
            Edit::Splice(s, i, j) => {
                let other = &seeds[s.index(seeds.len())];
                let n = at(i, data.len());
                let from = at(j, other.len());
                data.splice(n..n, other[from..].iter().copied().take(256));
            }
        }
    }
    data
}

fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let count = seeds.len();
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        6 => (0..count, prop::collection::vec(edit(), 1..8))
            .prop_map(move |(i, edits)| apply(&seeds, &seeds[i], &edits)),
    ]
}

fn fuzz(target: &str) {
    let started = std::time::Instant::now();
    let seeds = corpus(target);
    for seed in &seeds {
        fuzz_targets::run(target, seed);
    }
    let seed_count = seeds.len();
    let executions = std::sync::atomic::AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases: cases(target),
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(failure) = runner.run(&inputs(seeds), |data| {
        executions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        fuzz_targets::run(target, &data);
        Ok(())
    }) {
        panic!("fuzz target {target} failed: {failure}");
    }
    // Printed for the record in RELIABILITY.md (shown with `-- --nocapture`).
    println!(
        "fuzz target {target}: {seed_count} seeds and {} generated inputs, no failure, in {:.1} s",
        executions.into_inner(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn every_target_has_a_corpus_and_a_test() {
    for target in fuzz_targets::TARGETS {
        assert!(!corpus(target).is_empty());
        let harness = fuzz_targets::repo_root().join(format!("fuzz/fuzz_targets/{target}.rs"));
        assert!(harness.is_file(), "{} exists", harness.display());
    }
}

#[test]
fn custodian_data_file_never_panics() {
    fuzz("custodian_data_file");
}

#[test]
fn national_rules_never_panics() {
    fuzz("national_rules");
}

#[test]
fn page_token_never_panics() {
    fuzz("page_token");
}

#[test]
fn request_validation_never_panics() {
    fuzz("request_validation");
}

#[test]
fn planner_never_panics() {
    fuzz("planner");
}
