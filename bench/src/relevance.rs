//! `bench relevance`: the search quality of SearchDataSources over the bundled catalogue,
//! measured against the project's relevance set (`tests/relevance/queries.toml`).
//!
//! Every bundled data file is loaded and validated as the custodians load it, the sources are
//! merged and indexed as the gateway does (with the bundled concept vocabulary), and every
//! query of the set runs through the gateway's own `MergedCatalogue::search`. Printed:
//! recall@20, MRR and nDCG@10 (binary relevance), per language and in all, and every miss
//! (an expected source outside the first 20, with its rank). Exit status 1 when recall@20 is
//! below 1 or a query finds nothing.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, Result, bail};
use clap::Args;
use gateway::catalogue::{
    MergedCatalogue,
    merge::{Merged, MergedRecord},
};
use helsedata::{concepts::Vocabulary, proto as pb};
use serde::Deserialize;

/// Settings of `bench relevance`.
#[derive(Debug, Clone, Args)]
pub struct RelevanceArgs {
    /// The relevance set.
    #[arg(long, default_value = "tests/relevance/queries.toml")]
    pub queries: PathBuf,
    /// Directory of custodian data files.
    #[arg(long, default_value = "custodian-stub/data")]
    pub data_dir: PathBuf,
    /// The concept vocabulary.
    #[arg(long, default_value = "gateway/config/health-concepts.toml")]
    pub concepts: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuerySet {
    #[serde(rename = "query")]
    queries: Vec<Query>,
}

/// One query of the set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    text: String,
    lang: String,
    kinds: Vec<String>,
    expect: Vec<String>,
}

/// Cut-offs of the measures.
const RECALL_AT: usize = 20;
const NDCG_AT: usize = 10;

/// The measures of one query.
#[derive(Debug, Clone, Copy, Default)]
struct Scores {
    recall: f64,
    reciprocal_rank: f64,
    ndcg: f64,
}

/// Runs the evaluation and prints the report.
pub fn run(args: &RelevanceArgs) -> Result<ExitCode> {
    let set: QuerySet = toml::from_str(
        &std::fs::read_to_string(&args.queries)
            .with_context(|| format!("cannot read {}", args.queries.display()))?,
    )
    .with_context(|| format!("{} is not a valid relevance set", args.queries.display()))?;
    let vocabulary = Vocabulary::load(&args.concepts)?;
    let catalogue = catalogue(&args.data_dir, &vocabulary)?;
    let known: std::collections::HashSet<&str> = catalogue
        .records()
        .iter()
        .map(|r| r.source.id.as_str())
        .collect();
    for q in &set.queries {
        if let Some(unknown) = q.expect.iter().find(|id| !known.contains(id.as_str())) {
            bail!(
                "query `{}` expects `{unknown}`, which no data file publishes",
                q.text
            );
        }
        if q.expect.is_empty() {
            bail!(
                "query `{}` expects nothing; name the sources it should find",
                q.text
            );
        }
    }
    let mut by_lang: BTreeMap<&str, Vec<Scores>> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut zero_hits = Vec::new();
    for q in &set.queries {
        let ranked = ranking(&catalogue, &q.text)?;
        if ranked.is_empty() {
            zero_hits.push(q.text.as_str());
        }
        let scores = score(&ranked, &q.expect);
        for id in &q.expect {
            match ranked.iter().position(|r| r == id) {
                Some(i) if i < RECALL_AT => {}
                found => misses.push(format!(
                    "- `{}` ({}, {}): `{id}` {}",
                    q.text,
                    q.lang,
                    q.kinds.join(", "),
                    found.map_or("not found".to_string(), |i| format!("at rank {}", i + 1))
                )),
            }
        }
        by_lang.entry(q.lang.as_str()).or_default().push(scores);
    }
    let all: Vec<Scores> = by_lang.values().flatten().copied().collect();
    println!(
        "# Relevance of SearchDataSources ({} queries, {} sources)\n",
        all.len(),
        catalogue.records().len()
    );
    println!("| queries | n | recall@{RECALL_AT} | MRR | nDCG@{NDCG_AT} |");
    println!("|---|---|---|---|---|");
    for (lang, scores) in &by_lang {
        print_row(lang, scores);
    }
    print_row("all", &all);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for q in &set.queries {
        for k in &q.kinds {
            *kinds.entry(k.as_str()).or_default() += 1;
        }
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("\nKinds: {}.", kinds.join(", "));
    println!("\n## Misses ({})\n", misses.len());
    for m in &misses {
        println!("{m}");
    }
    if misses.is_empty() {
        println!("none");
    }
    println!("\n## Queries without hits ({})\n", zero_hits.len());
    for z in &zero_hits {
        println!("- `{z}`");
    }
    let recall = mean(&all, |s| s.recall);
    Ok(if recall < 1.0 || !zero_hits.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_row(label: &str, scores: &[Scores]) {
    println!(
        "| {label} | {} | {:.3} | {:.3} | {:.3} |",
        scores.len(),
        mean(scores, |s| s.recall),
        mean(scores, |s| s.reciprocal_rank),
        mean(scores, |s| s.ndcg)
    );
}

fn mean(scores: &[Scores], f: impl Fn(&Scores) -> f64) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().map(f).sum::<f64>() / scores.len() as f64
}

/// Loads every data file of `dir` and indexes the sources as the gateway's merge does.
fn catalogue(dir: &Path, vocabulary: &Vocabulary) -> Result<MergedCatalogue> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut records = Vec::new();
    for file in &files {
        let loaded = helsedata::custodian_data::load::load_file(file)?;
        for bundle in loaded.sources {
            let mut source = bundle.source;
            source.custodian_id = loaded.info.id.clone();
            records.push(MergedRecord {
                source,
                provenance: pb::Provenance::default(),
                effective_route: None,
            });
        }
    }
    records.sort_by(|a, b| a.source.id.cmp(&b.source.id));
    Ok(MergedCatalogue::new(
        Merged {
            records,
            issues: Vec::new(),
        },
        std::sync::Arc::new(vocabulary.clone()),
    ))
}

/// The ids SearchDataSources returns for a query, best first.
fn ranking(catalogue: &MergedCatalogue, query: &str) -> Result<Vec<String>> {
    let page = catalogue
        .search(
            &pb::SearchDataSourcesRequest {
                query: query.to_string(),
                page_size: 500,
                ..Default::default()
            },
            0,
        )
        .map_err(|e| anyhow::anyhow!("query `{query}` was refused: {e:?}"))?;
    Ok(page
        .hits
        .iter()
        .map(|h| h.record.source.id.clone())
        .collect())
}

fn score(ranked: &[String], expected: &[String]) -> Scores {
    let relevant = |id: &String| expected.contains(id);
    let found = ranked
        .iter()
        .take(RECALL_AT)
        .filter(|id| relevant(id))
        .count();
    let reciprocal_rank = ranked
        .iter()
        .position(relevant)
        .map_or(0.0, |i| 1.0 / (i + 1) as f64);
    let gain = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(NDCG_AT)
        .enumerate()
        .filter(|(_, id)| relevant(id))
        .map(|(i, _)| gain(i))
        .sum();
    let ideal: f64 = (0..expected.len().min(NDCG_AT)).map(gain).sum();
    Scores {
        recall: found as f64 / expected.len() as f64,
        reciprocal_rank,
        ndcg: if ideal > 0.0 { dcg / ideal } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_follow_their_definitions() {
        let ranked: Vec<String> = ["a", "x", "b"].iter().map(|s| s.to_string()).collect();
        let s = score(&ranked, &["b".to_string(), "a".to_string()]);
        assert_eq!(s.recall, 1.0);
        assert_eq!(s.reciprocal_rank, 1.0);
        let ideal = 1.0 + 1.0 / 3f64.log2();
        assert!((s.ndcg - (1.0 + 0.5) / ideal).abs() < 1e-9, "{}", s.ndcg);
        let s = score(&ranked, &["z".to_string()]);
        assert_eq!((s.recall, s.reciprocal_rank, s.ndcg), (0.0, 0.0, 0.0));
    }
}
