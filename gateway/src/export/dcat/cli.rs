//! `gateway export-dcat`: the merged catalogue in HealthDCAT-AP, read from a running gateway
//! over gRPC with a client certificate, or merged from custodian data files (`--data`,
//! [`super::files`]).

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::PathBuf,
    sync::Arc,
};

use anyhow::Context;
use helsedata::{
    concepts::Vocabulary,
    identity,
    proto::federated_catalogue_client::FederatedCatalogueClient,
    tls::{TlsFiles, TlsMaterial},
};

use super::{Format, Minter, files, reader};
use crate::{config::GatewayConfig, planning::rules::NationalRules};

/// What to write and where: shared by every export command.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// `turtle`, `jsonld` or `ntriples`.
    #[arg(long, default_value = "turtle")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Base under which the export mints its IRIs (the web catalogue's public address);
    /// `web.public_url` of the configuration when omitted.
    #[arg(long)]
    pub base: Option<String>,
    /// The concept vocabulary whose mappings give the health categories and themes.
    #[arg(long, default_value = "gateway/config/health-concepts.toml")]
    pub concepts: PathBuf,
}

impl OutputArgs {
    /// The national rules of `config`, the concept vocabulary and the minter, loaded and
    /// checked.
    pub fn setup(&self, config: &GatewayConfig) -> anyhow::Result<reader::ExportSetup> {
        Ok(reader::ExportSetup {
            rules: Arc::new(NationalRules::load(&config.national_rules)?),
            concepts: Arc::new(Vocabulary::load(&self.concepts)?),
            minter: Minter::new(self.base.as_deref().unwrap_or(&config.web.public_url))?,
            format: self.format,
        })
    }

    /// The output: the file, else standard output.
    pub fn open(&self) -> anyhow::Result<Box<dyn Write>> {
        Ok(match &self.out {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(BufWriter::new(io::stdout().lock())),
        })
    }

    /// Says on standard error what was written, when it went to a file.
    pub fn report(&self, datasets: usize) {
        if let Some(path) = &self.out {
            eprintln!("wrote {datasets} datasets to {}", path.display());
        }
    }
}

/// Arguments of `gateway export-dcat`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// What to write and where.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Export the custodian data files (`*.toml`) of DIR, merged as a running gateway with this
    /// configuration merges its custodians' answers, instead of reading a running gateway;
    /// without DIR, the bundled data files (`custodian-stub/data`).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = files::BUNDLED_DATA, conflicts_with = "gateway")]
    pub data: Option<PathBuf>,
    /// The gateway to read (https://host:port); the configured listen address when omitted.
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
}

/// Runs the export: of the data files when `--data` is given, else of a running gateway.
pub async fn run(config: &GatewayConfig, args: ExportArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.data {
        let count = files::run(config, dir, &args.output)?;
        args.output.report(count);
        return Ok(());
    }
    let setup = args.output.setup(config)?;
    let address = args
        .gateway
        .clone()
        .unwrap_or_else(|| format!("https://{}", config.listen));
    let tls = TlsMaterial::load(&TlsFiles::new(
        config.tls.ca.clone(),
        args.client_cert.clone(),
        args.client_key.clone(),
    ))?;
    let channel = tls
        .client_endpoint(&address, &args.gateway_identity, None)?
        .connect()
        .await
        .with_context(|| format!("cannot connect to the gateway at {address}"))?;
    let grpc = FederatedCatalogueClient::new(channel).max_decoding_message_size(64 << 20);
    let mut out = args.output.open()?;
    let count = reader::write(grpc, setup, &mut out).await?;
    drop(out);
    args.output.report(count);
    Ok(())
}
