//! `bench live`: from a write of a custodian's data file to the change visible in a gateway
//! answer, over a number of edits.
//!
//! One custodian (a copy of a bundled data file, watched) and the gateway run in this
//! process on loopback ports with real certificates. Each edit renames a new version of
//! the file into place (the first source gets a new name) and the clock runs until a
//! GetDataSource through the gateway, sent when the gateway's change feed announces the
//! change, answers with the new name. What it includes: the custodian's debounce, reading,
//! validating and indexing the file, the watch stream to the gateway, the gateway fetching
//! the changed source, and the feed and the answer to the client.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use custodian_stub::{live::LiveCatalogue, reload::FileWatch};
use fixture::{
    Pki, gateway_client, gateway_config, repo_path, start_gateway, start_live_custodian,
};
use hdrhistogram::Histogram;
use helsedata::proto as pb;

/// Settings of the run.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// Number of edits measured.
    #[arg(long, default_value_t = 100)]
    pub edits: usize,
    /// The custodian's debounce, ms.
    #[arg(long, default_value_t = 50)]
    pub debounce_ms: u64,
}

fn replace_file(path: &Path, text: &str) -> Result<()> {
    let temporary = path.with_extension("toml.new");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// Runs the edits and prints p50, p99 and the maximum.
pub fn run(args: LiveArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(measure(args))
}

async fn measure(args: LiveArgs) -> Result<()> {
    let original = std::fs::read_to_string(repo_path("custodian-stub/data/fhi.toml"))
        .context("the bundled data file")?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fhi.toml");
    std::fs::write(&path, &original)?;
    let live = Arc::new(LiveCatalogue::from_file(&path)?);
    let _watch = FileWatch::start(live.clone(), Duration::from_millis(args.debounce_ms))?;
    let (id, name) = {
        let current = live.current();
        let first = current
            .catalogue
            .sources()
            .next()
            .context("the data file has a source")?;
        (
            first.source.id.clone(),
            first.source.name.clone().map(|n| n.nb).unwrap_or_default(),
        )
    };
    let quoted = format!("name_nb = \"{name}\"");
    if !original.contains(&quoted) {
        bail!("cannot find `{quoted}` in the data file");
    }
    let pki = Pki::new(&["fhi"]);
    let custodian = start_live_custodian(&pki, live.clone(), Duration::ZERO).await;
    let gateway = start_gateway(gateway_config(&pki, &[("fhi", &custodian)])).await;
    let mut client = gateway_client(&pki, &gateway).await;
    client
        .search_data_sources(pb::SearchDataSourcesRequest::default())
        .await?;
    let started = Instant::now();
    while live.watchers() == 0 {
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the gateway did not open its watch stream within 10 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut feed = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await?
        .into_inner();
    // When each new revision is swapped in at the custodian.
    let (swapped_tx, mut swapped) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let mut revisions = live.subscribe();
    let swaps = tokio::spawn(async move {
        while revisions.changed().await.is_ok() {
            if swapped_tx.send(Instant::now()).is_err() {
                break;
            }
        }
    });
    let histogram = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3);
    let (mut total, mut to_swap, mut to_feed) = (histogram()?, histogram()?, histogram()?);
    for edit in 1..=args.edits {
        let marker = format!("Målt endring {edit}");
        let text = original.replacen(&quoted, &format!("name_nb = \"{marker}\""), 1);
        while swapped.try_recv().is_ok() {}
        let written = Instant::now();
        replace_file(&path, &text)?;
        loop {
            let change = tokio::time::timeout(Duration::from_secs(10), feed.message())
                .await
                .with_context(|| format!("edit {edit}: no change in the feed within 10 s"))??
                .context("the feed ended")?;
            if change.data_source_id == id && change.catalogue_revision == live.current().revision()
            {
                break;
            }
        }
        let fed = Instant::now();
        let swap = tokio::time::timeout(Duration::from_secs(1), swapped.recv())
            .await
            .ok()
            .flatten()
            .context("the custodian's swap was not seen")?;
        let answer = client
            .get_data_source(pb::GetDataSourceRequest {
                id: id.clone(),
                view: pb::DataSourceView::Basic as i32,
            })
            .await?
            .into_inner();
        let seen = answer
            .result
            .and_then(|r| r.data_source)
            .and_then(|s| s.name)
            .map(|n| n.nb);
        if seen.as_deref() != Some(marker.as_str()) {
            bail!("edit {edit}: the gateway answered {seen:?}, expected {marker}");
        }
        total.record(written.elapsed().as_micros() as u64)?;
        to_swap.record(swap.saturating_duration_since(written).as_micros() as u64)?;
        to_feed.record(fed.saturating_duration_since(written).as_micros() as u64)?;
        // Let the debounce window of this edit close before the next one.
        tokio::time::sleep(Duration::from_millis(args.debounce_ms + 20)).await;
    }
    swaps.abort();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "live updates: data-file write → change visible in a gateway answer, {} edits (custodian debounce {} ms): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (goal p99 ≤ 1000 ms)",
        args.edits,
        args.debounce_ms,
        ms(&total, 0.5),
        ms(&total, 0.99),
        total.max() as f64 / 1000.0
    );
    for (stage, h) in [
        (
            "write → new revision swapped in at the custodian (debounce, read, validate, index)",
            &to_swap,
        ),
        (
            "write → change announced in the gateway's feed (adds the watch message and the gateway's fetch)",
            &to_feed,
        ),
    ] {
        println!(
            "  {stage}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(h, 0.5),
            ms(h, 0.99),
            h.max() as f64 / 1000.0
        );
    }
    gateway.stop().await;
    custodian.stop().await;
    Ok(())
}
