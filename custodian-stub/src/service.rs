//! The `CustodianCatalogue` gRPC service: validate against the contract, ask the catalogue,
//! map the result.

use std::{sync::Arc, time::Duration};

use helsedata::{
    contract::{CustodianApi, Validate},
    proto::{self as pb, custodian_catalogue_server::CustodianCatalogue},
};
use tonic::{Request, Response, Status};

use crate::catalogue::Catalogue;

/// Serves one custodian's catalogue.
#[derive(Debug, Clone)]
pub struct CatalogueService {
    catalogue: Arc<Catalogue>,
    added_latency: Duration,
}

impl CatalogueService {
    /// A service over `catalogue`. `added_latency` delays every answer (zero in production;
    /// benchmarks and fault tests use it to model a slow custodian).
    pub fn new(catalogue: Arc<Catalogue>, added_latency: Duration) -> Self {
        Self {
            catalogue,
            added_latency,
        }
    }

    /// Validates the request against the contract, then answers it with `handler`.
    async fn answer<Req: Validate<CustodianApi>, Resp>(
        &self,
        request: Request<Req>,
        handler: impl FnOnce(&Catalogue, &Req) -> Result<Resp, helsedata::status::RequestError>,
    ) -> Result<Response<Resp>, Status> {
        if let Some(certs) = request.peer_certs()
            && let Some(cert) = certs.first()
        {
            let peer = helsedata::identity::identity_of(cert).unwrap_or_else(|e| e.to_string());
            tracing::debug!(peer = %peer, "request from authenticated peer");
        }
        if let Err(e) = CustodianApi::validate(request.get_ref()) {
            tracing::info!(error = %e, "request refused");
            return Err(Status::from(e));
        }
        if !self.added_latency.is_zero() {
            tokio::time::sleep(self.added_latency).await;
        }
        handler(&self.catalogue, request.get_ref())
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
        self.answer(request, |c, _| Ok(c.info().clone())).await
    }

    async fn list_data_sources(
        &self,
        request: Request<pb::ListDataSourcesRequest>,
    ) -> Result<Response<pb::ListDataSourcesResponse>, Status> {
        self.answer(request, Catalogue::list_sources).await
    }

    async fn get_data_source(
        &self,
        request: Request<pb::GetDataSourceRequest>,
    ) -> Result<Response<pb::DataSource>, Status> {
        self.answer(request, Catalogue::get_source).await
    }

    async fn list_variables(
        &self,
        request: Request<pb::ListVariablesRequest>,
    ) -> Result<Response<pb::ListVariablesResponse>, Status> {
        self.answer(request, Catalogue::list_variables).await
    }

    async fn search_variables(
        &self,
        request: Request<pb::SearchVariablesRequest>,
    ) -> Result<Response<pb::SearchVariablesResponse>, Status> {
        self.answer(request, Catalogue::search_variables).await
    }

    async fn get_access_rules(
        &self,
        request: Request<pb::GetAccessRulesRequest>,
    ) -> Result<Response<pb::AccessRules>, Status> {
        self.answer(request, Catalogue::access_rules).await
    }
}
