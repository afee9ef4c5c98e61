//! `cargo run -p dev-certs`: writes the development PKI into `certs/dev/`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Writes a dev CA and mTLS certificates for every custodian, the gateway and a developer.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Directory the CA, keys and certificates are written into; created when missing.
    #[arg(long, default_value = "certs/dev")]
    out: PathBuf,
    /// Custodian ids; by default the names of the data files in `--data-dir`.
    #[arg(long = "custodian")]
    custodians: Vec<String>,
    /// Directory of custodian data files whose names give the custodian ids.
    #[arg(long, default_value = "custodian-stub/data")]
    data_dir: PathBuf,
    /// Replace existing files even when they are complete.
    #[arg(long)]
    force: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let custodians = if args.custodians.is_empty() {
        custodian_ids(&args.data_dir)?
    } else {
        args.custodians
    };
    let pki = dev_certs::DevPki::new(&args.out);
    if args.force {
        pki.generate(&custodians)?;
    } else if !pki.ensure(&custodians)? {
        println!(
            "{} is complete for {} custodians; use --force to replace it",
            args.out.display(),
            custodians.len()
        );
        return Ok(());
    }
    println!(
        "wrote dev CA and certificates for {} custodians, the gateway and a developer into {}",
        custodians.len(),
        args.out.display()
    );
    Ok(())
}

fn custodian_ids(data_dir: &PathBuf) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(data_dir)
        .with_context(|| format!("cannot list {}", data_dir.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            ids.push(stem.to_string());
        }
    }
    ids.sort();
    anyhow::ensure!(
        !ids.is_empty(),
        "no custodian data files (*.toml) in {}",
        data_dir.display()
    );
    Ok(ids)
}
