//! `custodian-stub`: serve one custodian's data file over mutual TLS, or check data files.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use helsedata::{
    telemetry::{self, TelemetryConfig},
    tls::{TlsFiles, TlsMaterial},
};

#[derive(Parser)]
#[command(
    version,
    about = "Reference custodian service of the helsedata federation"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve one data file over mutual TLS.
    Serve {
        /// The custodian's data file.
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:50101")]
        listen: SocketAddr,
        /// CA certificate that clients must chain to.
        #[arg(long, default_value = "certs/dev/ca.pem")]
        ca: PathBuf,
        /// Server certificate (by default certs/dev/custodian-<id>.pem).
        #[arg(long)]
        cert: Option<PathBuf>,
        /// Server key (by default certs/dev/custodian-<id>.key).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Delay every answer by this many milliseconds (for load and fault testing).
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        json_logs: bool,
    },
    /// Validate data files and report the first error of each with file, line and field.
    Check {
        /// Data files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Check { files } => check(&files),
        Command::Serve {
            data,
            listen,
            ca,
            cert,
            key,
            latency_ms,
            json_logs,
        } => {
            let config = TelemetryConfig {
                log_format: if json_logs {
                    telemetry::LogFormat::Json
                } else {
                    telemetry::LogFormat::Text
                },
                ..TelemetryConfig::default()
            };
            let _telemetry = telemetry::init("custodian-stub", &config)?;
            let catalogue = Arc::new(custodian_stub::server::load_catalogue(&data)?);
            let id = catalogue.custodian_id().to_string();
            let files = TlsFiles {
                ca,
                cert: cert
                    .unwrap_or_else(|| PathBuf::from(format!("certs/dev/custodian-{id}.pem"))),
                key: key.unwrap_or_else(|| PathBuf::from(format!("certs/dev/custodian-{id}.key"))),
            };
            let tls = TlsMaterial::load(&files)
                .context("run `cargo run -p dev-certs` to create the dev certificates")?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            custodian_stub::server::serve(
                catalogue,
                &tls,
                listener,
                Duration::from_millis(latency_ms),
                helsedata::grpc_server::shutdown_signal(),
            )
            .await?;
            Ok(())
        }
    }
}

fn check(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut failed = 0;
    for file in files {
        match custodian_stub::load::load_file(file) {
            Ok(loaded) => println!(
                "{}: ok ({} sources, {} variables)",
                file.display(),
                loaded.info.data_source_count,
                loaded.info.variable_count
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} data files refused",
        files.len()
    );
    Ok(())
}
