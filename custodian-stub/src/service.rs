//! The `CustodianCatalogue` gRPC service: validate against the contract, ask the catalogue,
//! map the result.
//!
//! Each call takes the revision served when it arrives and answers from it alone, so a
//! reload during the call never mixes two revisions into one answer.

use std::{sync::Arc, time::Duration};

use helsedata::{
    contract::{CustodianApi, Validate},
    encoded::SearchVariablesAnswer,
    proto::{self as pb, custodian_catalogue_server::CustodianCatalogue},
};
use tonic::{Request, Response, Status};

use crate::{
    catalogue::Catalogue,
    live::{LiveCatalogue, Revision},
    watch,
};

/// Serves one custodian's catalogue.
#[derive(Debug, Clone)]
pub struct CatalogueService {
    live: Arc<LiveCatalogue>,
    added_latency: Duration,
}

impl CatalogueService {
    /// A service over a catalogue that never changes. `added_latency` delays every answer
    /// (zero in production; benchmarks and fault tests use it to model a slow custodian).
    pub fn new(catalogue: Arc<Catalogue>, added_latency: Duration) -> Self {
        Self::live(Arc::new(LiveCatalogue::fixed(catalogue)), added_latency)
    }

    /// A service over a catalogue that may be reloaded.
    pub fn live(live: Arc<LiveCatalogue>, added_latency: Duration) -> Self {
        Self {
            live,
            added_latency,
        }
    }

    /// The catalogue served.
    pub fn catalogue(&self) -> &Arc<LiveCatalogue> {
        &self.live
    }

    /// Validates the request against the contract, then answers it with `handler`.
    async fn answer<Req: Validate<CustodianApi>, Resp>(
        &self,
        request: Request<Req>,
        handler: impl FnOnce(&Revision, &Req) -> Result<Resp, helsedata::status::RequestError>,
    ) -> Result<Response<Resp>, Status> {
        let revision = self.live.current();
        if let Some(peer) = helsedata::acceptor::PeerInfo::of(&request) {
            tracing::debug!(peer = %peer.identity_or_reason().escape_debug(), "request from authenticated peer");
        }
        if let Err(e) = CustodianApi::validate(request.get_ref()) {
            tracing::info!(error = %e, "request refused");
            return Err(Status::from(e));
        }
        if !self.added_latency.is_zero() {
            tokio::time::sleep(self.added_latency).await;
        }
        handler(&revision, request.get_ref())
            .map(Response::new)
            .map_err(|e| {
                tracing::info!(error = %e, "request refused");
                Status::from(e)
            })
    }
}

#[tonic::async_trait]
impl CustodianCatalogue for CatalogueService {
    async fn get_custodian_info(
        &self,
        request: Request<pb::GetCustodianInfoRequest>,
    ) -> Result<Response<pb::CustodianInfo>, Status> {
        self.answer(request, |r, _| Ok(self.live.info(r))).await
    }

    async fn list_data_sources(
        &self,
        request: Request<pb::ListDataSourcesRequest>,
    ) -> Result<Response<pb::ListDataSourcesResponse>, Status> {
        self.answer(request, |r, q| r.catalogue.list_sources(q))
            .await
    }

    async fn get_data_source(
        &self,
        request: Request<pb::GetDataSourceRequest>,
    ) -> Result<Response<pb::DataSource>, Status> {
        self.answer(request, |r, q| r.catalogue.get_source(q)).await
    }

    async fn list_variables(
        &self,
        request: Request<pb::ListVariablesRequest>,
    ) -> Result<Response<pb::ListVariablesResponse>, Status> {
        self.answer(request, |r, q| r.catalogue.list_variables(q))
            .await
    }

    async fn search_variables(
        &self,
        request: Request<pb::SearchVariablesRequest>,
    ) -> Result<Response<SearchVariablesAnswer>, Status> {
        self.answer(request, |r, q| r.catalogue.search_variables_encoded(q))
            .await
    }

    async fn get_access_rules(
        &self,
        request: Request<pb::GetAccessRulesRequest>,
    ) -> Result<Response<pb::AccessRules>, Status> {
        self.answer(request, |r, q| r.catalogue.access_rules(q))
            .await
    }

    type WatchCatalogueStream = tonic::codegen::BoxStream<pb::CatalogueChange>;

    async fn watch_catalogue(
        &self,
        request: Request<pb::WatchCatalogueRequest>,
    ) -> Result<Response<Self::WatchCatalogueStream>, Status> {
        if let Err(e) = CustodianApi::validate(request.get_ref()) {
            return Err(Status::from(e));
        }
        Ok(Response::new(Box::pin(watch::changes(&self.live))))
    }
}
