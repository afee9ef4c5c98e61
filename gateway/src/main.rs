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
    /// Validate the configuration and the national rules file, then exit.
    CheckConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = GatewayConfig::load(args.config.as_deref())?;
    let _telemetry = telemetry::init("helsedata-gateway", &config.telemetry)?;
    match args.command {
        Command::CheckConfig => {
            gateway::planning::rules::NationalRules::load(&config.national_rules)?;
            println!(
                "configuration ok: {} custodians, listening on {}",
                config.custodians.len(),
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
