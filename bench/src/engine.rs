//! `bench engine`: the search engine alone, in this process, at national size: no network,
//! no TLS, no other process on the CPU. It builds what the gateway and one custodian build
//! (the merged catalogue of every synthetic source, indexed with the bundled concept
//! vocabulary; one custodian's share of the variables) and times the searches the national
//! step sends, one after another, so that a change to the engine can be judged apart from
//! the fan-out over eight custodians sharing one CPU.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use clap::Args;
use custodian_stub::catalogue::Catalogue;
use gateway::catalogue::{
    MergedCatalogue,
    merge::{Merged, MergedRecord},
};
use helsedata::proto as pb;

use crate::synth::{self, Shape, SplitMix64};

/// Settings of `bench engine`.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Data sources in the merged catalogue (spread over 8 custodians as in the national step).
    #[arg(long, default_value_t = 100_000)]
    pub sources: usize,
    /// Variables of the one custodian whose variable search is timed.
    #[arg(long, default_value_t = 1_250_000)]
    pub variables: usize,
    /// Variable searches (the source searches run each distinct query of the national step
    /// once, then once more).
    #[arg(long, default_value_t = 400)]
    pub searches: usize,
    /// A variable search to time on its own, `--searches` times (repeatable): for profiling
    /// one query, e.g. under `perf record`. The slowest generated queries are listed too.
    #[arg(long = "query", value_name = "WORDS")]
    pub queries: Vec<String>,
}

/// How many of the slowest generated variable queries are listed.
const SLOWEST_LISTED: usize = 10;

const CUSTODIANS: usize = 8;
const PAYLOAD: usize = 256;

/// Runs the measurements and prints one line each.
pub fn run(args: &EngineArgs) -> Result<()> {
    if args.sources < CUSTODIANS || args.searches == 0 {
        bail!("--sources must be at least {CUSTODIANS} and --searches at least 1");
    }
    let shape = Shape {
        custodians: CUSTODIANS,
        sources: args.sources,
        variables: 0,
        payload: PAYLOAD,
    };
    let started = Instant::now();
    let records: Vec<MergedRecord> = (0..args.sources)
        .map(|g| {
            let (c, n) = shape.locate(g);
            MergedRecord {
                source: synth::source_bundle(c, n, 0, PAYLOAD).source,
                provenance: pb::Provenance::default(),
                effective_route: None,
            }
        })
        .collect();
    let catalogue = MergedCatalogue::new(
        Merged {
            records,
            issues: Vec::new(),
        },
        Arc::new(synth::concepts().clone()),
    );
    eprintln!(
        "[engine] {} sources generated in {:.1} s",
        args.sources,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let sources_query = |query: &str| pb::SearchDataSourcesRequest {
        query: query.to_string(),
        page_size: 50,
        ..Default::default()
    };
    // The first search for a word builds the index.
    let _ = catalogue.search(&sources_query("register"), 1);
    eprintln!(
        "[engine] source index built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut rng = SplitMix64::new(synth::SEED ^ 0x454e_4749_4e45);
    // Every concept's preferred label in both languages: the broad ones match the most.
    let concepts: Vec<String> = synth::concepts()
        .concepts()
        .iter()
        .flat_map(|c| [c.nb.preferred.clone(), c.en.preferred.clone()])
        .collect();
    let words: Vec<String> = (0..256)
        .map(|i| {
            let (c, n) = shape.locate(rng.below(args.sources));
            synth::source_query(c, n, i % 2 == 0)
        })
        .collect();
    // Each distinct query once (ranked), then all of them again (the merge's ranked pages).
    for (what, queries) in [
        ("SearchDataSources, concept label", &concepts),
        ("SearchDataSources, one word", &words),
    ] {
        let mut distinct = queries.clone();
        distinct.sort_unstable();
        distinct.dedup();
        for pass in ["ranked", "repeated"] {
            let times = time(distinct.len(), |i| {
                let req = sources_query(&distinct[i]);
                catalogue.search(&req, 1).map(|p| p.total).unwrap_or(0)
            });
            print(&format!("{what}, {pass}"), &times);
        }
    }

    let started = Instant::now();
    let per_source = (args.variables / (args.sources / CUSTODIANS)).max(1);
    let custodian_sources = args.variables / per_source;
    let (info, bundles) = synth::custodian(0, custodian_sources, args.variables, PAYLOAD);
    let generated = started.elapsed();
    let custodian = Catalogue::new(info, bundles);
    eprintln!(
        "[engine] custodian of {} sources and {} variables generated in {:.1} s, indexed in {:.1} s",
        custodian_sources,
        args.variables,
        generated.as_secs_f64(),
        (started.elapsed() - generated).as_secs_f64()
    );
    let variable_queries: Vec<String> = (0..256)
        .map(|_| {
            let n = rng.below(custodian_sources);
            synth::variable_query(0, n, per_source, rng.next_u64())
        })
        .collect();
    let search = |query: &str| {
        let req = pb::SearchVariablesRequest {
            query: query.to_string(),
            page_size: 50,
            ..Default::default()
        };
        custodian
            .search_variables(&req)
            .map(|a| a.total_size as usize)
            .unwrap_or(0)
    };
    let times = time(args.searches, |i| {
        search(&variable_queries[i % variable_queries.len()])
    });
    print("SearchVariables at one custodian", &times);
    for (what, words) in [("one word", 1), ("two words", 2)] {
        let queries: Vec<&String> = variable_queries
            .iter()
            .filter(|q| q.split(' ').count() == words)
            .collect();
        if queries.is_empty() {
            continue;
        }
        let times = time(args.searches, |i| search(queries[i % queries.len()]));
        print(&format!("SearchVariables at one custodian, {what}"), &times);
    }
    let mut distinct: Vec<&String> = variable_queries.iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut slowest: Vec<(Duration, &String)> = distinct
        .into_iter()
        .map(|query| {
            let started = Instant::now();
            search(query);
            (started.elapsed(), query)
        })
        .collect();
    slowest.sort_unstable_by_key(|(took, _)| std::cmp::Reverse(*took));
    for (took, query) in slowest.iter().take(SLOWEST_LISTED) {
        println!(
            "slow variable query {:>8.3} ms  {query:?}",
            took.as_secs_f64() * 1e3
        );
    }
    for query in &args.queries {
        let times = time(args.searches, |_| search(query));
        print(&format!("SearchVariables `{query}`"), &times);
    }
    Ok(())
}

/// Runs `search` `n` times; the durations, sorted, and the mean number of matches.
fn time(n: usize, mut search: impl FnMut(usize) -> usize) -> (Vec<Duration>, f64) {
    let mut times = Vec::with_capacity(n);
    let mut matches = 0usize;
    for i in 0..n {
        let started = Instant::now();
        matches += search(i);
        times.push(started.elapsed());
    }
    times.sort_unstable();
    (times, matches as f64 / n as f64)
}

fn print(what: &str, (times, matches): &(Vec<Duration>, f64)) {
    let at = |q: f64| {
        let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
        times[i].as_secs_f64() * 1e3
    };
    let mean = times.iter().sum::<Duration>().as_secs_f64() * 1e3 / times.len() as f64;
    println!(
        "{what:<48} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  mean {mean:>8.3} ms  matches {matches:>9.0}",
        at(0.5),
        at(0.99),
        at(1.0),
    );
}
