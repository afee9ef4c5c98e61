//! `gateway`: serve the federation gateway, or check a configuration.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use gateway::config::GatewayConfig;
use helsedata::{grpc_server::shutdown_signal, telemetry};

#[derive(Parser)]
#[command(version, about = "Federation gateway over the helsedata custodians")]
struct Args {
    /// Configuration file; the bundled default when omitted. HELSEDATA_GATEWAY__* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gateway.
    Serve,
    /// Validate the configuration, the national rules file and the concept vocabulary, then exit.
    CheckConfig,
    /// Write the merged catalogue in HealthDCAT-AP (Turtle, JSON-LD or N-Triples): a running gateway's, or with --data that of custodian data files.
    ExportDcat(gateway::export::dcat::cli::ExportArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = GatewayConfig::load(args.config.as_deref())?;
    // The export may write to standard output, where the log would corrupt it.
    if let Command::ExportDcat(export) = args.command {
        return gateway::export::dcat::cli::run(&config, export).await;
    }
    let mut telemetry_config = config.telemetry.clone();
    // Standard output then carries the audit trail alone.
    telemetry_config.log_to_stderr =
        config.audit.target == helsedata::observe::audit::AuditTarget::Stdout;
    let _telemetry = telemetry::init("helsedata-gateway", &telemetry_config)?;
    match args.command {
        Command::ExportDcat(_) => {}
        Command::CheckConfig => {
            gateway::planning::rules::NationalRules::load(&config.national_rules)?;
            let concepts = gateway::concepts::load(&config)?;
            println!(
                "configuration ok: {} custodians, {} health concepts, listening on {}",
                config.custodians.len(),
                concepts.len(),
                config.listen
            );
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            gateway::server::serve(config, listener, shutdown_signal()).await?;
        }
    }
    Ok(())
}
