//! `gateway export-dcat --data`: the HealthDCAT-AP export of custodian data files, without a
//! running federation. Every file is loaded and validated as the reference custodian loads it
//! ([`helsedata::custodian_data`]), and the configured custodians' sources are merged by the
//! gateway's own merge exactly as a live gateway merges their answers: every custodian live,
//! ownership from the configuration, each custodian's contact and `last_modified` as it
//! publishes them.

use std::{collections::HashMap, io::Write, path::Path, time::SystemTime};

use helsedata::{
    custodian_data::{self, load::LoadedCatalogue},
    proto as pb,
};

use super::{
    ExportError, GraphBuilder,
    build::{ConceptMapping, CustodianContact, Decisions},
    cli::OutputArgs,
    input::{CatalogueHeader, CustodianState, DatasetInput},
    reader::ExportSetup,
    write_catalogue,
};
use crate::{
    catalogue::merge::{self, Contribution},
    config::GatewayConfig,
    planning::rules::NationalRules,
    upstream::Ownership,
};

/// The bundled custodian data files, relative to the repository root: what `--data` without a
/// directory exports.
pub const BUNDLED_DATA: &str = "custodian-stub/data";

/// The merged export input of a set of data files.
#[derive(Debug)]
pub struct FilesExport {
    /// The catalogue: every configured custodian, ordered by id.
    pub header: CatalogueHeader,
    /// One input per merged source, ordered by id.
    pub datasets: Vec<DatasetInput>,
    /// What the merge refused (records a custodian does not own, ids published twice), as a
    /// live gateway reports them.
    pub issues: Vec<pb::MergeIssue>,
    /// Custodians with a data file that the configuration does not list: a live gateway does
    /// not ask them, so their sources are left out.
    pub unconfigured: Vec<String>,
}

impl FilesExport {
    /// What an operator should hear about before trusting the export: one line each.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .unconfigured
            .iter()
            .map(|id| format!("the data file of custodian `{id}` is left out: the gateway configuration lists no custodian `{id}` (add it under [[custodians]] with the ids it owns)"))
            .collect();
        let missing = self.header.empty_handed();
        if !missing.is_empty() {
            lines.push(format!("{} configured custodians have no data file, so their datasets are missing from the export: {}", missing.len(), missing.join(", ")));
        }
        lines.extend(self.issues.iter().map(|i| i.message.clone()));
        lines
    }
}

/// Merges `catalogues` as a live gateway configured by `config` merges its custodians'
/// answers, and builds the export input. A configured custodian without a data file is
/// listed as one that served nothing.
pub fn inputs(
    catalogues: &[LoadedCatalogue],
    config: &GatewayConfig,
    rules: &NationalRules,
    concepts: &dyn ConceptMapping,
) -> FilesExport {
    let now = prost_types::Timestamp::from(SystemTime::now());
    let by_id: HashMap<&str, &LoadedCatalogue> =
        catalogues.iter().map(|c| (c.info.id.as_str(), c)).collect();
    let configured: Vec<(
        &LoadedCatalogue,
        Ownership,
        pb::Provenance,
        Vec<pb::DataSource>,
    )> = config
        .custodians
        .iter()
        .filter_map(|c| {
            let catalogue = *by_id.get(c.id.as_str())?;
            let provenance = pb::Provenance {
                custodian_id: c.id.clone(),
                catalogue_revision: catalogue.info.catalogue_revision.clone(),
                fetched_at: Some(now),
                freshness: pb::Freshness::Live as i32,
            };
            let sources = catalogue
                .sources
                .iter()
                .map(|b| pb::DataSource {
                    access_rules: Some(b.access.clone()),
                    ..b.source.clone()
                })
                .collect();
            Some((
                catalogue,
                Ownership::new(c.owns.clone()),
                provenance,
                sources,
            ))
        })
        .collect();
    let contributions: Vec<Contribution<'_>> = configured
        .iter()
        .map(|(catalogue, ownership, provenance, sources)| Contribution {
            custodian_id: &catalogue.info.id,
            ownership,
            sources,
            provenance,
        })
        .collect();
    let merged = merge::merge(&contributions);
    let contacts: HashMap<String, CustodianContact> = catalogues
        .iter()
        .map(|c| (c.info.id.clone(), CustodianContact::from_info(&c.info)))
        .collect();
    let decisions = Decisions::new(rules, contacts);
    // A record's variables are those its own custodian published with it.
    let variables: HashMap<(&str, &str), &[pb::Variable]> = catalogues
        .iter()
        .flat_map(|c| {
            c.sources.iter().map(|b| {
                (
                    (c.info.id.as_str(), b.source.id.as_str()),
                    b.variables.as_slice(),
                )
            })
        })
        .collect();
    let datasets = merged
        .records
        .into_iter()
        .map(|r| {
            let vars = variables
                .get(&(r.source.custodian_id.as_str(), r.source.id.as_str()))
                .map(|v| v.to_vec())
                .unwrap_or_default();
            decisions.dataset(r.source, r.provenance, Some(vars), concepts)
        })
        .collect();
    let mut custodians: Vec<CustodianState> = config
        .custodians
        .iter()
        .map(|c| match by_id.get(c.id.as_str()) {
            Some(catalogue) => CustodianState {
                id: c.id.clone(),
                freshness: pb::Freshness::Live,
                catalogue_revision: catalogue.info.catalogue_revision.clone(),
                last_modified: catalogue.info.last_modified,
                stale_since: None,
                message: String::new(),
            },
            None => CustodianState {
                id: c.id.clone(),
                freshness: pb::Freshness::None,
                catalogue_revision: String::new(),
                last_modified: None,
                stale_since: None,
                message: "no data file states this custodian".into(),
            },
        })
        .collect();
    custodians.sort_by(|a, b| a.id.cmp(&b.id));
    let unconfigured = catalogues
        .iter()
        .map(|c| c.info.id.clone())
        .filter(|id| !config.custodians.iter().any(|c| &c.id == id))
        .collect();
    FilesExport {
        header: decisions.header(now, custodians),
        datasets,
        issues: merged.issues,
        unconfigured,
    }
}

/// Writes the export of `catalogues` to `out`; returns what was merged (its datasets are the
/// ones written).
pub fn export<W: Write>(
    catalogues: &[LoadedCatalogue],
    config: &GatewayConfig,
    setup: &ExportSetup,
    out: &mut W,
) -> Result<FilesExport, ExportError> {
    let export = inputs(catalogues, config, &setup.rules, setup.concepts.as_ref());
    write_catalogue(
        out,
        GraphBuilder::new(setup.minter.clone(), export.header.clone()),
        setup.format,
        &export.datasets,
    )?;
    Ok(export)
}

/// Loads the data files of `dir` and writes their export where `output` says, with the
/// national rules and concept vocabulary `config` and `output` name; the warnings go to
/// standard error. Returns the number of datasets written.
pub fn run(config: &GatewayConfig, dir: &Path, output: &OutputArgs) -> anyhow::Result<usize> {
    let catalogues = custodian_data::load_dir(dir)?;
    let setup = output.setup(config)?;
    let mut out = output.open()?;
    let export = export(&catalogues, config, &setup, &mut out)?;
    drop(out);
    for warning in export.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(export.datasets.len())
}

#[cfg(test)]
mod tests;
