//! The narrow door from the web surface to the gateway: the contract's own
//! `FederatedCatalogue` service, called in process. Every answer of the web pages and of
//! the JSON API therefore comes from the same handlers (validation, deadlines, the
//! [`Federation`](crate::federation::Federation) core) as the gRPC answers.

use std::{sync::Arc, time::Duration};

use helsedata::proto as pb;
use tonic::{Request, Status, metadata::MetadataValue};

/// How one web request asks the gateway.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    /// Deadline of the federation work.
    pub timeout: Duration,
    /// Whether fresh cache entries are bypassed (`Cache-Control: no-cache`).
    pub no_cache: bool,
}

/// The gateway's service, as the web surface sees it.
#[derive(Clone)]
pub struct Backend {
    service: Arc<crate::server::DynCatalogue>,
}

impl Backend {
    /// Wraps the service that also serves gRPC.
    pub fn new(service: Arc<crate::server::DynCatalogue>) -> Self {
        Self { service }
    }

    fn request<T>(message: T, ask: Ask) -> Request<T> {
        let mut request = Request::new(message);
        let millis = ask.timeout.as_millis().clamp(1, 99_999_999);
        if let Ok(value) = MetadataValue::try_from(format!("{millis}m")) {
            request.metadata_mut().insert("grpc-timeout", value);
        }
        if ask.no_cache {
            request
                .metadata_mut()
                .insert("cache-control", MetadataValue::from_static("no-cache"));
        }
        request
    }

    /// ListCustodians.
    pub async fn custodians(
        &self,
        req: pb::ListCustodiansRequest,
        ask: Ask,
    ) -> Result<pb::ListCustodiansResponse, Status> {
        let answer = self
            .service
            .list_custodians(Self::request(req, ask))
            .await?;
        Ok(answer.into_inner())
    }

    /// SearchDataSources.
    pub async fn search(
        &self,
        req: pb::SearchDataSourcesRequest,
        ask: Ask,
    ) -> Result<pb::SearchDataSourcesResponse, Status> {
        let answer = self
            .service
            .search_data_sources(Self::request(req, ask))
            .await?;
        Ok(answer.into_inner())
    }

    /// GetDataSource.
    pub async fn source(
        &self,
        req: pb::GetDataSourceRequest,
        ask: Ask,
    ) -> Result<pb::GetDataSourceResponse, Status> {
        let answer = self
            .service
            .get_data_source(Self::request(req, ask))
            .await?;
        Ok(answer.into_inner())
    }

    /// ListVariables.
    pub async fn variables(
        &self,
        req: pb::ListVariablesRequest,
        ask: Ask,
    ) -> Result<pb::FederatedListVariablesResponse, Status> {
        let answer = self.service.list_variables(Self::request(req, ask)).await?;
        Ok(answer.into_inner())
    }

    /// SearchVariables.
    pub async fn search_variables(
        &self,
        req: pb::SearchVariablesRequest,
        ask: Ask,
    ) -> Result<pb::FederatedSearchVariablesResponse, Status> {
        let answer = self
            .service
            .search_variables(Self::request(req, ask))
            .await?;
        Ok(answer.into_inner())
    }

    /// PlanApplication.
    pub async fn plan(
        &self,
        req: pb::PlanApplicationRequest,
        ask: Ask,
    ) -> Result<pb::ApplicationPlan, Status> {
        let answer = self
            .service
            .plan_application(Self::request(req, ask))
            .await?;
        Ok(answer.into_inner())
    }
}
