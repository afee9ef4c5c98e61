//! The HealthDCAT-AP export at national scale: the synthetic national catalogue (generated
//! source by source, never held whole) serialized dataset by dataset, timed, with the
//! process's peak memory.

use std::{
    collections::HashMap,
    io::{self, Write},
    time::Instant,
};

use anyhow::{Context, Result};
use clap::Args;
use gateway::{
    export::dcat::{
        DcatEncoder, Format, GraphBuilder, Minter,
        build::{CustodianContact, Decisions, NoConcepts},
        input::CustodianState,
    },
    planning::rules::NationalRules,
};
use helsedata::proto as pb;

use crate::{procstat, synth};

/// Settings of `bench export-dcat`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Custodians.
    #[arg(long, default_value_t = 8)]
    custodians: usize,
    /// Data sources over all custodians.
    #[arg(long, default_value_t = 100_000)]
    sources: usize,
    /// Variables over all sources.
    #[arg(long, default_value_t = 10_000_000)]
    variables: usize,
    /// Description bytes per source.
    #[arg(long, default_value_t = 256)]
    payload_bytes: usize,
    /// `turtle` or `jsonld`.
    #[arg(long, default_value = "turtle")]
    format: Format,
    /// The national rules file.
    #[arg(long, default_value = "gateway/config/national-rules.toml")]
    national_rules: std::path::PathBuf,
}

/// Counts the bytes written and drops them.
struct Counting(u64);

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs the export and prints one result line.
pub fn run(args: ExportArgs) -> Result<()> {
    let rules = NationalRules::load(&args.national_rules)?;
    let shape = synth::Shape {
        custodians: args.custodians,
        sources: args.sources,
        variables: args.variables,
        payload: args.payload_bytes,
    };
    let now = prost_types::Timestamp::from(std::time::SystemTime::now());
    let custodians: Vec<CustodianState> = (0..shape.custodians)
        .map(|c| CustodianState {
            id: synth::custodian_id(c),
            freshness: pb::Freshness::Live,
            catalogue_revision: format!("synthetic-{c}"),
            last_modified: Some(now),
            stale_since: None,
            message: String::new(),
        })
        .collect();
    let contacts: HashMap<String, CustodianContact> = (0..shape.custodians)
        .map(|c| {
            (
                synth::custodian_id(c),
                CustodianContact {
                    email: format!("data@c{c}.example.invalid"),
                    website: String::new(),
                },
            )
        })
        .collect();
    let decisions = Decisions::new(&rules, contacts);
    let header = decisions.header(now, custodians);
    let before = procstat::memory(std::process::id())?;
    let start = Instant::now();
    let mut out = Counting(0);
    let (mut encoder, first) = DcatEncoder::new(
        GraphBuilder::new(Minter::new("https://katalog.example.no/")?, header),
        args.format,
    )?;
    out.write_all(&first)?;
    let mut variables = 0usize;
    for g in 0..shape.sources {
        let (c, n) = shape.locate(g);
        let bundle = synth::source_bundle(c, n, shape.source_variables(c, n), shape.payload);
        variables += bundle.variables.len();
        let provenance = pb::Provenance {
            custodian_id: synth::custodian_id(c),
            catalogue_revision: format!("synthetic-{c}"),
            fetched_at: Some(now),
            freshness: pb::Freshness::Live as i32,
        };
        let source = pb::DataSource {
            access_rules: Some(bundle.access),
            ..bundle.source
        };
        let dataset = decisions.dataset(source, provenance, Some(bundle.variables), &NoConcepts);
        out.write_all(&encoder.dataset(&dataset)?)?;
    }
    out.write_all(&encoder.finish()?)?;
    let elapsed = start.elapsed();
    let after = procstat::memory(std::process::id()).context("peak memory")?;
    println!(
        "export-dcat {:?}: {} sources, {} variables, {:.1} MiB written in {:.2} s ({:.0} datasets/s); RSS before {:.0} MiB, peak {:.0} MiB",
        args.format,
        shape.sources,
        variables,
        out.0 as f64 / (1024.0 * 1024.0),
        elapsed.as_secs_f64(),
        shape.sources as f64 / elapsed.as_secs_f64(),
        before.rss as f64 / (1024.0 * 1024.0),
        after.hwm as f64 / (1024.0 * 1024.0),
    );
    Ok(())
}
