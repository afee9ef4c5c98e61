//! The typed custodian client: one method per thing the gateway asks a custodian, each
//! answering in the shape the cache stores (the value and the catalogue revision it came
//! from), so that the callers never speak the custodian's paging protocol themselves.

use std::{future::Future, sync::Arc};

use helsedata::{
    contract::{LIST_DATA_SOURCES_PAGE, LIST_VARIABLES_PAGE},
    proto::{self as pb, custodian_catalogue_client::CustodianCatalogueClient},
};
use tokio::time::Instant;
use tonic::{Request, Response, Status};

use super::{
    CustodianChannel, FetchFailure, LegError, Upstream, deadline::counted_from_now, pages,
};

/// Page size used when the gateway reads a custodian's whole catalogue: the contract's
/// largest `ListDataSources` page.
const SNAPSHOT_PAGE_SIZE: i32 = LIST_DATA_SOURCES_PAGE.largest_page();
/// Page size used when the gateway reads every variable of one data source: the contract's
/// largest `ListVariables` page.
const ALL_VARIABLES_PAGE_SIZE: i32 = LIST_VARIABLES_PAGE.largest_page();

type Client = CustodianCatalogueClient<CustodianChannel>;

/// A fetched answer and the catalogue revision it came from, or why there is none.
pub type Fetched<V> = Result<(V, String), FetchFailure>;

/// One custodian's whole catalogue, as the gateway holds it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// What the custodian says about itself (name, revision, source count).
    pub info: pb::CustodianInfo,
    /// Every data source it publishes, in the full view (with access rules); shared by the
    /// snapshots of one revision.
    pub sources: Arc<Vec<pb::DataSource>>,
}

fn failure(error: LegError, started: Instant) -> FetchFailure {
    FetchFailure::new(error, started.elapsed())
}

impl Upstream {
    /// One call, answered with the value and its revision: `revision` reads the answer's
    /// own, and an answer without one (single records) gets the custodian's revision last
    /// seen before the call (so that the label may lag behind the content, which costs a
    /// refetch on revalidation, but never runs ahead of it).
    async fn ask<M, T, F, Fut>(&self, message: M, rpc: F, revision: fn(&T) -> &str) -> Fetched<T>
    where
        F: FnOnce(Client, Request<M>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let started = Instant::now();
        let seen_before = self.state().revision;
        let leg = self.call(message, rpc).await;
        let value = leg.result.map_err(|e| failure(e, started))?;
        let revision = match revision(&value) {
            "" => seen_before,
            own => own.to_string(),
        };
        Ok((value, revision))
    }

    /// GetCustodianInfo: what the custodian says about itself (remembered for ListCustodians).
    pub async fn facts(&self) -> Fetched<pb::CustodianInfo> {
        let (info, revision) = self
            .ask(
                pb::GetCustodianInfoRequest {},
                |mut c, r| async move { c.get_custodian_info(r).await },
                |info| &info.catalogue_revision,
            )
            .await?;
        self.note_catalogue(&info);
        Ok((info, revision))
    }

    /// The whole catalogue: its facts and every page of its sources. The facts and the first
    /// page are asked for at once, so a snapshot costs one round trip per page. Pages of the
    /// revision `held` (the snapshot the cache holds) are not decoded again: by the custodian
    /// contract they carry the same records, which the new snapshot then shares.
    pub async fn snapshot(self: Arc<Self>, held: Option<Snapshot>) -> Fetched<Snapshot> {
        let started = Instant::now();
        let held_revision = held
            .as_ref()
            .map(|h| h.info.catalogue_revision.clone())
            .filter(|r| !r.is_empty());
        let page = |token: String| {
            let message = pb::ListDataSourcesRequest {
                page_size: SNAPSHOT_PAGE_SIZE,
                page_token: token,
                filter: None,
                view: pb::DataSourceView::Full as i32,
            };
            let (channel, max, held) = (
                self.channel.clone(),
                self.max_message_bytes,
                held_revision.clone(),
            );
            self.call(message, move |_, r| pages::list(channel, r, max, held))
        };
        let (info, first) = futures::join!(
            self.call(pb::GetCustodianInfoRequest {}, |mut c, r| async move {
                c.get_custodian_info(r).await
            }),
            page(String::new()),
        );
        let mut info = info.result.map_err(|e| failure(e, started))?;
        let mut page_now = first.result.map_err(|e| failure(e, started))?;
        // The pages say which revision the sources are of (a reload between the two calls
        // would otherwise label them with the other one; later pages of another revision
        // are refused by the custodian's page tokens).
        if !page_now.catalogue_revision.is_empty() {
            info.catalogue_revision = page_now.catalogue_revision.clone();
        }
        let mut sources = Vec::with_capacity(info.data_source_count as usize);
        let (mut decoded, mut kept) = (0, 0);
        loop {
            match page_now.sources.take() {
                Some(mut new) => {
                    decoded += 1;
                    sources.append(&mut new);
                }
                None => kept += 1,
            }
            if page_now.next_page_token.is_empty() {
                break;
            }
            let token = std::mem::take(&mut page_now.next_page_token);
            let leg = counted_from_now(page(token)).await;
            page_now = leg.result.map_err(|e| failure(e, started))?;
        }
        let sources = match held {
            Some(held) if decoded == 0 => held.sources,
            _ if kept == 0 => Arc::new(sources),
            _ => {
                // Some pages of the held revision, some of another: not a catalogue at all.
                let error = LegError::Error {
                    code: tonic::Code::Internal,
                    message: "the custodian's pages are of different catalogue revisions".into(),
                };
                return Err(failure(error, started));
            }
        };
        self.note_catalogue(&info);
        let revision = info.catalogue_revision.clone();
        Ok((Snapshot { info, sources }, revision))
    }

    /// GetDataSource in the full view.
    pub async fn data_source(self: Arc<Self>, id: String) -> Fetched<pb::DataSource> {
        let message = pb::GetDataSourceRequest {
            id,
            view: pb::DataSourceView::Full as i32,
        };
        self.ask(
            message,
            |mut c, r| async move { c.get_data_source(r).await },
            |_| "",
        )
        .await
    }

    /// GetAccessRules of one data source.
    pub async fn access_rules(self: Arc<Self>, data_source_id: String) -> Fetched<pb::AccessRules> {
        let message = pb::GetAccessRulesRequest { data_source_id };
        self.ask(
            message,
            |mut c, r| async move { c.get_access_rules(r).await },
            |_| "",
        )
        .await
    }

    /// Every variable of one data source, following the pages to the end.
    pub async fn all_variables(
        self: Arc<Self>,
        data_source_id: String,
    ) -> Fetched<Vec<pb::Variable>> {
        let started = Instant::now();
        let mut all = Vec::new();
        let mut token = String::new();
        loop {
            let later_page = !token.is_empty();
            let message = pb::ListVariablesRequest {
                data_source_id: data_source_id.clone(),
                page_size: ALL_VARIABLES_PAGE_SIZE,
                page_token: std::mem::take(&mut token),
            };
            let call = self.call(message, |mut c, r| async move { c.list_variables(r).await });
            let leg = if later_page {
                counted_from_now(call).await
            } else {
                call.await
            };
            let page = leg.result.map_err(|e| failure(e, started))?;
            all.extend(page.variables);
            if page.next_page_token.is_empty() {
                let revision = match page.catalogue_revision.as_str() {
                    "" => self.state().revision,
                    own => own.to_string(),
                };
                return Ok((all, revision));
            }
            token = page.next_page_token;
        }
    }

    /// Opens WatchCatalogue: the revision served now, then every change. Opening is bounded
    /// by the custodian's timeout; the stream itself has no deadline and lives until it
    /// breaks or the custodian ends it.
    pub async fn watch(&self) -> Result<tonic::Streaming<pb::CatalogueChange>, Status> {
        let mut client = self.streams.clone();
        client
            .watch_catalogue(Request::new(pb::WatchCatalogueRequest {}))
            .await
            .map(Response::into_inner)
    }

    /// One ListVariables page, as asked.
    pub async fn variable_page(
        self: Arc<Self>,
        request: pb::ListVariablesRequest,
    ) -> Fetched<pb::ListVariablesResponse> {
        let rpc = |mut c: Client, r| async move { c.list_variables(r).await };
        self.ask(request, rpc, |page| &page.catalogue_revision)
            .await
    }

    /// SearchVariables, as asked.
    pub async fn search_variables(
        self: Arc<Self>,
        request: pb::SearchVariablesRequest,
    ) -> Fetched<pb::SearchVariablesResponse> {
        let rpc = |mut c: Client, r| async move { c.search_variables(r).await };
        self.ask(request, rpc, |answer| &answer.catalogue_revision)
            .await
    }
}
