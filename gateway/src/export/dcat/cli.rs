//! `gateway export-dcat`: the catalogue in HealthDCAT-AP, from the bundled data files or from a
//! running gateway.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::PathBuf,
};

use anyhow::Context;
use helsedata::{
    concepts::Vocabulary,
    identity,
    proto::federated_catalogue_client::FederatedCatalogueClient,
    tls::{TlsFiles, TlsMaterial},
};

use std::sync::Arc;

use super::{DEFAULT_BASE, Format, Minter, bundled, reader};
use crate::{config::GatewayConfig, demo, routing::rules::NationalRules};

/// Arguments of `gateway export-dcat`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// `turtle` or `jsonld`.
    #[arg(long, default_value = "turtle")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Base under which the export mints its IRIs (the web catalogue's public address).
    #[arg(long, default_value = DEFAULT_BASE)]
    pub base: String,
    /// Read the merged catalogue from the gateway at this address (https://host:port) instead
    /// of the bundled data files.
    #[arg(long)]
    pub gateway: Option<String>,
    /// Certificate identity the gateway must present.
    #[arg(long, default_value_t = identity::gateway_identity())]
    pub gateway_identity: String,
    /// Client certificate presented to the gateway.
    #[arg(long, default_value = "certs/dev/client.pem")]
    pub client_cert: PathBuf,
    /// Key of the client certificate.
    #[arg(long, default_value = "certs/dev/client.key")]
    pub client_key: PathBuf,
    /// The concept vocabulary whose mappings give the health categories and themes.
    #[arg(long, default_value = "gateway/config/health-concepts.toml")]
    pub concepts: PathBuf,
    /// Directory of the bundled custodian data files.
    #[arg(long, default_value = "custodian-stub/data")]
    pub data_dir: PathBuf,
}

/// Runs the export.
pub async fn run(config: &GatewayConfig, args: ExportArgs) -> anyhow::Result<()> {
    let rules = NationalRules::load(&config.national_rules)?;
    let concepts = Vocabulary::load(&args.concepts)?;
    let minter = Minter::new(&args.base)?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let count = match &args.gateway {
        Some(address) => {
            let tls = TlsMaterial::load(&TlsFiles {
                ca: config.tls.ca.clone(),
                cert: args.client_cert.clone(),
                key: args.client_key.clone(),
            })?;
            let channel = tls
                .client_endpoint(address, &args.gateway_identity, None)?
                .connect()
                .await
                .with_context(|| format!("cannot connect to the gateway at {address}"))?;
            let grpc = FederatedCatalogueClient::new(channel).max_decoding_message_size(64 << 20);
            let setup = reader::ExportSetup {
                rules: Arc::new(rules),
                concepts: Arc::new(concepts),
                minter,
                format: args.format,
            };
            reader::write(grpc, setup, &mut out).await?
        }
        None => {
            let catalogues = demo::load_bundled(&args.data_dir)?;
            bundled::export(
                &catalogues,
                config,
                &rules,
                &concepts,
                minter,
                args.format,
                &mut out,
            )?
        }
    };
    drop(out);
    if let Some(path) = &args.out {
        eprintln!("wrote {count} datasets to {}", path.display());
    }
    Ok(())
}
