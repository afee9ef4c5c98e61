//! The export read through the gateway's own contract: SearchDataSources paged through in the
//! FULL view, each source's variable list from ListVariables. The same stream serves the
//! command line (a gRPC client of a running gateway) and the web listener (the gateway's
//! service called in process), so both export exactly what the gateway serves.

use std::{collections::HashMap, sync::Arc, time::SystemTime};

use futures::{Stream, StreamExt, future::BoxFuture, stream};
use helsedata::proto::{
    self as pb, federated_catalogue_client::FederatedCatalogueClient,
    federated_catalogue_server::FederatedCatalogue,
};
use tonic::transport::Channel;

use super::{
    ExportError, Format, GraphBuilder, Minter,
    build::{ConceptMapping, CustodianContact, Decisions, custodian_states},
    encode::DcatEncoder,
};
use crate::planning::rules::NationalRules;

/// Sources asked for per SearchDataSources page (the gateway's maximum).
const SOURCE_PAGE: i32 = 500;
/// Variables asked for per ListVariables page (the custodians' maximum).
const VARIABLE_PAGE: i32 = 1000;

/// The three gateway calls the export makes, over gRPC or in process.
pub trait CatalogueReader: Send + Sync {
    /// Calls SearchDataSources: one page of merged sources, with each custodian's outcome.
    fn search(
        &self,
        request: pb::SearchDataSourcesRequest,
    ) -> BoxFuture<'_, Result<pb::SearchDataSourcesResponse, tonic::Status>>;
    /// Calls ListVariables: one page of a source's variables, fetched from its custodian.
    fn list_variables(
        &self,
        request: pb::ListVariablesRequest,
    ) -> BoxFuture<'_, Result<pb::FederatedListVariablesResponse, tonic::Status>>;
    /// Calls ListCustodians: every configured custodian with its live status.
    fn custodians(&self) -> BoxFuture<'_, Result<pb::ListCustodiansResponse, tonic::Status>>;
}

/// A running gateway, over gRPC.
impl CatalogueReader for FederatedCatalogueClient<Channel> {
    fn search(
        &self,
        request: pb::SearchDataSourcesRequest,
    ) -> BoxFuture<'_, Result<pb::SearchDataSourcesResponse, tonic::Status>> {
        let mut client = self.clone();
        Box::pin(async move {
            Ok(
                FederatedCatalogueClient::search_data_sources(&mut client, request)
                    .await?
                    .into_inner(),
            )
        })
    }

    fn list_variables(
        &self,
        request: pb::ListVariablesRequest,
    ) -> BoxFuture<'_, Result<pb::FederatedListVariablesResponse, tonic::Status>> {
        let mut client = self.clone();
        Box::pin(async move {
            Ok(
                FederatedCatalogueClient::list_variables(&mut client, request)
                    .await?
                    .into_inner(),
            )
        })
    }

    fn custodians(&self) -> BoxFuture<'_, Result<pb::ListCustodiansResponse, tonic::Status>> {
        let mut client = self.clone();
        Box::pin(async move {
            Ok(FederatedCatalogueClient::list_custodians(
                &mut client,
                pb::ListCustodiansRequest::default(),
            )
            .await?
            .into_inner())
        })
    }
}

/// The gateway's own service, called in process (as the web listener does); its change
/// stream type is the gateway's own.
impl CatalogueReader for Arc<crate::server::DynCatalogue> {
    fn search(
        &self,
        request: pb::SearchDataSourcesRequest,
    ) -> BoxFuture<'_, Result<pb::SearchDataSourcesResponse, tonic::Status>> {
        Box::pin(async move {
            self.search_data_sources(tonic::Request::new(request))
                .await?
                .into_inner()
                .into_message()
        })
    }

    fn list_variables(
        &self,
        request: pb::ListVariablesRequest,
    ) -> BoxFuture<'_, Result<pb::FederatedListVariablesResponse, tonic::Status>> {
        Box::pin(async move {
            Ok(
                FederatedCatalogue::list_variables(self.as_ref(), tonic::Request::new(request))
                    .await?
                    .into_inner(),
            )
        })
    }

    fn custodians(&self) -> BoxFuture<'_, Result<pb::ListCustodiansResponse, tonic::Status>> {
        Box::pin(async move {
            Ok(FederatedCatalogue::list_custodians(
                self.as_ref(),
                tonic::Request::new(pb::ListCustodiansRequest::default()),
            )
            .await?
            .into_inner())
        })
    }
}

/// Why an export through the contract failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadExportError {
    /// The gateway refused or failed a SearchDataSources call; holds the status it returned.
    #[error("SearchDataSources failed: {0}")]
    Search(Box<tonic::Status>),
    /// A result carried no data source.
    #[error("the gateway's SearchDataSources answer has a result without a data source")]
    EmptyResult,
    /// Encoding the catalogue as DCAT failed (see [`ExportError`]).
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Everything the export needs besides the reader.
#[derive(Clone)]
pub struct ExportSetup {
    /// The national rules (who decides).
    pub rules: Arc<NationalRules>,
    /// The concept vocabulary's tags.
    pub concepts: Arc<dyn ConceptMapping>,
    /// Mints the export's own IRIs under the configured base.
    pub minter: Minter,
    /// The RDF serialization to write (Turtle, JSON-LD or N-Triples).
    pub format: Format,
}

/// A catalogue document on its way out.
pub struct CatalogueBody<S> {
    /// The response's `content-type`.
    pub content_type: &'static str,
    /// The document, chunk by chunk: the catalogue, then one chunk per dataset, then the end.
    pub chunks: S,
}

/// One chunk of the document, or why it could not be made.
type Chunk = Result<Vec<u8>, ReadExportError>;

struct State<R> {
    reader: R,
    /// The custodians' published contacts, read once at the start.
    contacts: Arc<HashMap<String, CustodianContact>>,
    setup: ExportSetup,
    request: pb::SearchDataSourcesRequest,
    page: std::vec::IntoIter<pb::FederatedDataSource>,
    next_token: String,
    encoder: Option<DcatEncoder>,
}

/// Reads the first page now (custodians that do not answer contribute their cached records,
/// marked stale, and the page's outcomes say so), then streams the document: one chunk per
/// dataset, each made when it is asked for, so memory holds one page of sources.
pub async fn export<R: CatalogueReader + 'static>(
    reader: R,
    setup: ExportSetup,
) -> Result<
    CatalogueBody<impl Stream<Item = Result<Vec<u8>, ReadExportError>> + Send + 'static>,
    ReadExportError,
> {
    let request = pb::SearchDataSourcesRequest {
        page_size: SOURCE_PAGE,
        view: pb::DataSourceView::Full as i32,
        ..Default::default()
    };
    let first_page = reader
        .search(request.clone())
        .await
        .map_err(|s| ReadExportError::Search(Box::new(s)))?;
    let facts = CustodianFacts::read(&reader).await;
    let decisions = Decisions::new(&setup.rules, facts.contacts.clone());
    let header = decisions.header(
        prost_types::Timestamp::from(SystemTime::now()),
        custodian_states(&first_page.custodians, &facts.last_modified),
    );
    let format = setup.format;
    let (encoder, first) =
        DcatEncoder::new(GraphBuilder::new(setup.minter.clone(), header), format)?;
    let state = State {
        reader,
        setup,
        contacts: facts.contacts,
        request,
        page: first_page.results.into_iter(),
        next_token: first_page.next_page_token,
        encoder: Some(encoder),
    };
    let rest = stream::unfold(state, |mut st| async move {
        let result = match st.page.next() {
            Some(result) => result,
            None if !st.next_token.is_empty() => {
                st.request.page_token = std::mem::take(&mut st.next_token);
                match st.reader.search(st.request.clone()).await {
                    Ok(page) => {
                        st.next_token = page.next_page_token;
                        st.page = page.results.into_iter();
                        match st.page.next() {
                            Some(result) => result,
                            None => return finish(st),
                        }
                    }
                    Err(status) => {
                        st.encoder = None;
                        return Some((Err(ReadExportError::Search(Box::new(status))), st));
                    }
                }
            }
            None => return finish(st),
        };
        let Some(source) = result.data_source else {
            st.encoder = None;
            return Some((Err(ReadExportError::EmptyResult), st));
        };
        let variables = variables(&st.reader, &source.id).await;
        let dataset = Decisions::new(&st.setup.rules, st.contacts.clone()).dataset(
            source,
            result.provenance.unwrap_or_default(),
            variables,
            st.setup.concepts.as_ref(),
        );
        let chunk = st.encoder.as_mut()?.dataset(&dataset).map_err(Into::into);
        Some((chunk, st))
    });
    Ok(CatalogueBody {
        content_type: format.content_type(),
        chunks: stream::once(async move { Ok(first) }).chain(rest),
    })
}

/// What the custodians publish about themselves, as the gateway last heard it: contacts
/// (the fallback contact point of their datasets) and when each catalogue last changed
/// (`dct:modified`). A gateway that cannot list its custodians still exports, without them.
struct CustodianFacts {
    contacts: Arc<HashMap<String, CustodianContact>>,
    last_modified: HashMap<String, prost_types::Timestamp>,
}

impl CustodianFacts {
    async fn read<R: CatalogueReader>(reader: &R) -> Self {
        let custodians = match reader.custodians().await {
            Ok(answer) => answer.custodians,
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "the export goes on without the custodians' contacts and modification times");
                Vec::new()
            }
        };
        let contacts: HashMap<String, CustodianContact> = custodians
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    CustodianContact {
                        email: c.contact_email.clone(),
                        website: c.website.clone(),
                    },
                )
            })
            .collect();
        let last_modified = custodians
            .iter()
            .filter_map(|c| c.catalogue_modified.map(|t| (c.id.clone(), t)))
            .collect();
        Self {
            contacts: Arc::new(contacts),
            last_modified,
        }
    }
}

/// The last chunk, once; then the stream ends.
fn finish<R>(mut st: State<R>) -> Option<(Chunk, State<R>)> {
    let chunk = st.encoder.take()?.finish().map_err(Into::into);
    Some((chunk, st))
}

/// A source's whole variable list, or `None` when the gateway could not serve it (its
/// custodian is down and nothing is cached): the dataset is then exported without one.
async fn variables<R: CatalogueReader>(reader: &R, source_id: &str) -> Option<Vec<pb::Variable>> {
    let mut request = pb::ListVariablesRequest {
        data_source_id: source_id.to_string(),
        page_size: VARIABLE_PAGE,
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let page = match reader.list_variables(request.clone()).await {
            Ok(page) => page,
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

/// Writes the whole document to `out`; returns the number of datasets written.
pub async fn write<R: CatalogueReader + 'static, W: std::io::Write>(
    reader: R,
    setup: ExportSetup,
    out: &mut W,
) -> Result<usize, ReadExportError> {
    let body = export(reader, setup).await?;
    let mut chunks = std::pin::pin!(body.chunks);
    let mut count = 0usize;
    while let Some(chunk) = chunks.next().await {
        out.write_all(&chunk?).map_err(ExportError::Io)?;
        count += 1;
    }
    out.flush().map_err(ExportError::Io)?;
    // The first chunk is the catalogue, the last the end of the document.
    Ok(count.saturating_sub(2))
}
