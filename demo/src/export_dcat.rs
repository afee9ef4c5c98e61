//! `demo export-dcat`: the HealthDCAT-AP export of the bundled custodian data files, merged as
//! the gateway merges live answers (ownership from the configuration), without starting any
//! server.

use std::{collections::HashMap, io::Write, path::Path, time::SystemTime};

use custodian_stub::{catalogue::Catalogue, server::load_dir};
use helsedata::proto as pb;

use gateway::{
    catalogue::merge::{self, Contribution},
    config::GatewayConfig,
    export::dcat::{
        ExportError, Format, GraphBuilder, Minter,
        build::{ConceptMapping, CustodianContact, Decisions},
        cli::OutputArgs,
        input::{CatalogueHeader, CustodianState, DatasetInput},
        write_catalogue,
    },
    planning::rules::NationalRules,
    upstream::Ownership,
};

/// The merged export input of the bundled catalogues: the header and one input per merged
/// source, ordered by id. Custodians the configuration does not list are left out.
pub fn inputs(
    catalogues: &[Catalogue],
    config: &GatewayConfig,
    rules: &NationalRules,
    concepts: &dyn ConceptMapping,
) -> (CatalogueHeader, Vec<DatasetInput>) {
    let now = prost_types::Timestamp::from(SystemTime::now());
    let configured: Vec<(&Catalogue, Ownership, pb::Provenance, Vec<pb::DataSource>)> = config
        .custodians
        .iter()
        .filter_map(|c| {
            let catalogue = catalogues.iter().find(|k| k.custodian_id() == c.id)?;
            let provenance = pb::Provenance {
                custodian_id: c.id.clone(),
                catalogue_revision: catalogue.info().catalogue_revision.clone(),
                fetched_at: Some(now),
                freshness: pb::Freshness::Live as i32,
            };
            let sources = catalogue
                .sources()
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
            custodian_id: catalogue.custodian_id(),
            ownership,
            sources,
            provenance,
        })
        .collect();
    let merged = merge::merge(&contributions);
    let contacts: HashMap<String, CustodianContact> = catalogues
        .iter()
        .map(|c| {
            (
                c.custodian_id().to_string(),
                CustodianContact::from_info(c.info()),
            )
        })
        .collect();
    let decisions = Decisions::new(rules, contacts);
    let mut variables: HashMap<&str, &[pb::Variable]> = HashMap::new();
    for catalogue in catalogues {
        for bundle in catalogue.sources() {
            variables.insert(bundle.source.id.as_str(), &bundle.variables);
        }
    }
    let datasets = merged
        .records
        .into_iter()
        .map(|r| {
            let vars = variables
                .get(r.source.id.as_str())
                .map(|v| v.to_vec())
                .unwrap_or_default();
            decisions.dataset(r.source, r.provenance, Some(vars), concepts)
        })
        .collect();
    let custodians = configured
        .iter()
        .map(|(catalogue, _, _, _)| CustodianState {
            id: catalogue.custodian_id().to_string(),
            freshness: pb::Freshness::Live,
            catalogue_revision: catalogue.info().catalogue_revision.clone(),
            last_modified: catalogue.info().last_modified,
            stale_since: None,
            message: String::new(),
        })
        .collect();
    (decisions.header(now, custodians), datasets)
}

/// Loads the data files of `data_dir` and writes their export where `output` says; returns
/// the number of datasets.
pub fn run(config: &GatewayConfig, data_dir: &Path, output: &OutputArgs) -> anyhow::Result<usize> {
    let catalogues = load_dir(data_dir)?;
    let setup = output.setup(config)?;
    let mut out = output.open()?;
    Ok(export(
        &catalogues,
        config,
        &setup.rules,
        setup.concepts.as_ref(),
        setup.minter,
        setup.format,
        &mut out,
    )?)
}

/// Writes the export of the bundled catalogues to `out`; returns the number of datasets.
pub fn export<W: Write>(
    catalogues: &[Catalogue],
    config: &GatewayConfig,
    rules: &NationalRules,
    concepts: &dyn ConceptMapping,
    minter: Minter,
    format: Format,
    out: &mut W,
) -> Result<usize, ExportError> {
    let (header, datasets) = inputs(catalogues, config, rules, concepts);
    write_catalogue(out, GraphBuilder::new(minter, header), format, &datasets)?;
    Ok(datasets.len())
}
