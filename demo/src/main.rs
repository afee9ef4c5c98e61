//! `demo`: every bundled custodian and the gateway in one process, with dev certificates.

use std::path::PathBuf;

use clap::Parser;
use gateway::config::GatewayConfig;
use helsedata::{grpc_server::shutdown_signal, telemetry};

#[derive(Parser)]
#[command(
    version,
    about = "Start every bundled custodian and the gateway, with dev certificates"
)]
struct Args {
    /// Gateway configuration; the bundled default when omitted. HELSEDATA_GATEWAY__* variables override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory of custodian data files.
    #[arg(long, default_value = "custodian-stub/data")]
    data_dir: PathBuf,
    /// Directory of the dev PKI (written when missing).
    #[arg(long, default_value = "certs/dev")]
    certs_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = GatewayConfig::load(args.config.as_deref())?;
    let _telemetry = telemetry::init("helsedata-gateway", &config.telemetry)?;
    demo::run(config, &args.data_dir, &args.certs_dir, shutdown_signal()).await?;
    Ok(())
}
