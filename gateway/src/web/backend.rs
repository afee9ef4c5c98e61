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
}

/// Declares a [`Backend`] method per RPC: it asks the service with [`Ask`] and returns the
/// answer's message.
macro_rules! rpcs {
    ($($(#[$doc:meta])* $method:ident => $rpc:ident($req:ty) -> $answer:ty;)+) => {
        impl Backend {
            $(
                $(#[$doc])*
                pub async fn $method(&self, req: $req, ask: Ask) -> Result<$answer, Status> {
                    let answer = self.service.$rpc(Self::request(req, ask)).await?;
                    Ok(answer.into_inner())
                }
            )+
        }
    };
}

impl Backend {
    /// SearchDataSources (whose answer the service sends as bytes; decoded here).
    pub async fn search(
        &self,
        req: pb::SearchDataSourcesRequest,
        ask: Ask,
    ) -> Result<pb::SearchDataSourcesResponse, Status> {
        let answer = self
            .service
            .search_data_sources(Self::request(req, ask))
            .await?;
        answer.into_inner().into_message()
    }
}

rpcs! {
    /// ListCustodians.
    custodians => list_custodians(pb::ListCustodiansRequest) -> pb::ListCustodiansResponse;
    /// GetDataSource.
    source => get_data_source(pb::GetDataSourceRequest) -> pb::GetDataSourceResponse;
    /// ListVariables.
    variables => list_variables(pb::ListVariablesRequest) -> pb::FederatedListVariablesResponse;
    /// SearchVariables.
    search_variables => search_variables(pb::SearchVariablesRequest) -> pb::FederatedSearchVariablesResponse;
    /// PlanApplication.
    plan => plan_application(pb::PlanApplicationRequest) -> pb::ApplicationPlan;
}
