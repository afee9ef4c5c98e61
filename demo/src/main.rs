//! `demo`: every bundled custodian and the gateway in one process, with dev certificates;
//! `demo export-dcat`: the bundled data in HealthDCAT-AP.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
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
    #[arg(long, global = true, default_value = "custodian-stub/data")]
    data_dir: PathBuf,
    /// Directory of the dev PKI (written when missing).
    #[arg(long, default_value = "certs/dev")]
    certs_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Write the bundled data, merged as the gateway merges it, in HealthDCAT-AP (no server is started).
    ExportDcat(gateway::export::dcat::cli::OutputArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = GatewayConfig::load(args.config.as_deref())?;
    // The export may write to standard output, where the log would corrupt it.
    if let Some(Command::ExportDcat(output)) = &args.command {
        let count = demo::export_dcat::run(&config, &args.data_dir, output)?;
        output.report(count);
        return Ok(());
    }
    let _telemetry = telemetry::init("helsedata-gateway", &config.telemetry)?;
    demo::run(config, &args.data_dir, &args.certs_dir, shutdown_signal()).await?;
    Ok(())
}
