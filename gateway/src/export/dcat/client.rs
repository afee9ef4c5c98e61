//! The export read from a running gateway over gRPC: SearchDataSources paged through in the
//! FULL view, each source's variable list from ListVariables, written page by page.

use std::{collections::HashMap, io::Write, time::SystemTime};

use helsedata::proto::{self as pb, federated_catalogue_client::FederatedCatalogueClient};
use tonic::transport::Channel;

use super::{
    ExportError, Format, GraphBuilder, Minter,
    build::{ConceptMapping, Decisions, custodian_states},
    encode::DcatEncoder,
};
use crate::routing::rules::NationalRules;

/// Sources asked for per SearchDataSources page (the gateway's maximum).
const SOURCE_PAGE: i32 = 500;
/// Variables asked for per ListVariables page (the custodians' maximum).
const VARIABLE_PAGE: i32 = 1000;

/// Why an export from a running gateway failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientExportError {
    /// A call to the gateway failed.
    #[error("{call} failed: {status}")]
    Call {
        /// The RPC.
        call: &'static str,
        /// The gateway's answer.
        status: Box<tonic::Status>,
    },
    /// The gateway answered a page with a source it had not announced.
    #[error("the gateway's SearchDataSources answer has a result without a data source")]
    EmptyResult,
    /// Serialization or writing failed.
    #[error(transparent)]
    Export(#[from] ExportError),
}

fn call(call: &'static str) -> impl FnOnce(tonic::Status) -> ClientExportError {
    move |status| ClientExportError::Call {
        call,
        status: Box::new(status),
    }
}

/// Exports the gateway's merged catalogue to `out`; returns the number of datasets written.
///
/// The custodians' freshness is the one reported with the first page.
pub async fn export<W: Write>(
    client: &mut FederatedCatalogueClient<Channel>,
    rules: &NationalRules,
    concepts: &dyn ConceptMapping,
    minter: Minter,
    format: Format,
    out: &mut W,
) -> Result<usize, ClientExportError> {
    let decisions = Decisions::new(rules, HashMap::new());
    let mut request = pb::SearchDataSourcesRequest {
        page_size: SOURCE_PAGE,
        view: pb::DataSourceView::Full as i32,
        ..Default::default()
    };
    let mut page = search(client, &request).await?;
    let header = decisions.header(
        prost_types::Timestamp::from(SystemTime::now()),
        custodian_states(&page.custodians, &HashMap::new()),
    );
    let (mut encoder, first) = DcatEncoder::new(GraphBuilder::new(minter, header), format)?;
    out.write_all(&first).map_err(ExportError::Io)?;
    let mut written = 0;
    loop {
        for result in std::mem::take(&mut page.results) {
            let source = result.data_source.ok_or(ClientExportError::EmptyResult)?;
            let variables = variables(client, &source.id).await;
            let dataset = decisions.dataset(
                source,
                result.provenance.unwrap_or_default(),
                variables,
                concepts,
            );
            out.write_all(&encoder.dataset(&dataset)?)
                .map_err(ExportError::Io)?;
            written += 1;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = std::mem::take(&mut page.next_page_token);
        page = search(client, &request).await?;
    }
    out.write_all(&encoder.finish()?).map_err(ExportError::Io)?;
    out.flush().map_err(ExportError::Io)?;
    Ok(written)
}

async fn search(
    client: &mut FederatedCatalogueClient<Channel>,
    request: &pb::SearchDataSourcesRequest,
) -> Result<pb::SearchDataSourcesResponse, ClientExportError> {
    Ok(client
        .search_data_sources(request.clone())
        .await
        .map_err(call("SearchDataSources"))?
        .into_inner())
}

/// A source's whole variable list, or `None` when the gateway could not serve it (its
/// custodian is down and nothing is cached): the dataset is then exported without one.
async fn variables(
    client: &mut FederatedCatalogueClient<Channel>,
    source_id: &str,
) -> Option<Vec<pb::Variable>> {
    let mut request = pb::ListVariablesRequest {
        data_source_id: source_id.to_string(),
        page_size: VARIABLE_PAGE,
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let page = match client.list_variables(request.clone()).await {
            Ok(page) => page.into_inner(),
            Err(status) => {
                tracing::warn!(source = source_id, error = %status, "variable list unavailable; exported without it");
                return None;
            }
        };
        all.extend(page.variables);
        if page.next_page_token.is_empty() {
            return Some(all);
        }
        request.page_token = page.next_page_token;
    }
}
