//! Server settings shared by the custodian service and the gateway: HTTP/2 limits, tracing
//! spans that continue the caller's trace, reflection (v1 and v1alpha) and health. TLS is
//! done before tonic sees a connection, by [`crate::acceptor`].

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::{Request, Response};
use tonic::{
    body::Body,
    service::Routes,
    transport::{Server, server::Router},
};
use tower::{
    BoxError, Layer, Service,
    layer::util::{Identity, Stack},
};

use crate::{
    acceptor::{self, ConnectionLimits, PeerIo},
    grpc_status_map::{MAX_REQUEST_MESSAGE_BYTES, StatusMapLayer},
    reload::ReloadingTls,
    telemetry,
    tls::{TlsError, TlsMaterial},
};

/// Most concurrent HTTP/2 streams per connection (tonic's default is unlimited); a client
/// opening more gets its streams refused by HTTP/2 itself (REFUSED_STREAM).
pub const MAX_CONCURRENT_STREAMS: u32 = 200;
/// Largest header list accepted, in bytes.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;
/// Request bytes a client may send on one stream before the server has read them (the
/// HTTP/2 stream window the server advertises; requests are at most 1 MiB and simply take
/// more round trips).
pub const INITIAL_STREAM_WINDOW: u32 = 256 * 1024;
/// Request bytes a client may send on one connection, over all its streams, before the
/// server has read them (the connection window): what a client can make the server buffer.
pub const INITIAL_CONNECTION_WINDOW: u32 = 1024 * 1024;

/// Interval of the server's HTTP/2 keep-alive pings.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
/// How long a keep-alive ping may go unanswered before the connection is closed.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The mutual-TLS connections of `listener` with fixed material and the default
/// [`ConnectionLimits`] (for tests and tools; servers use [`acceptor::incoming`] with a
/// [`ReloadingTls`] and configured limits).
pub fn incoming(
    listener: tokio::net::TcpListener,
    tls: &TlsMaterial,
) -> Result<tokio_stream::wrappers::ReceiverStream<Result<PeerIo, std::io::Error>>, TlsError> {
    Ok(acceptor::incoming(
        listener,
        ReloadingTls::fixed(tls.clone())?,
        ConnectionLimits::default(),
    ))
}

/// The mutual-TLS connections of `listener`, following `tls` as it reloads.
pub fn incoming_reloading(
    listener: tokio::net::TcpListener,
    tls: &Arc<ReloadingTls>,
    limits: ConnectionLimits,
) -> tokio_stream::wrappers::ReceiverStream<Result<PeerIo, std::io::Error>> {
    acceptor::incoming(listener, tls.clone(), limits)
}

/// [`incoming_reloading`], counting open and refused connections in `metrics`.
pub fn incoming_counted(
    listener: tokio::net::TcpListener,
    tls: &Arc<ReloadingTls>,
    limits: ConnectionLimits,
    metrics: crate::observe::metrics::ConnectionMetrics,
) -> tokio_stream::wrappers::ReceiverStream<Result<PeerIo, std::io::Error>> {
    acceptor::incoming_counted(listener, tls.clone(), limits, metrics)
}

/// A server builder with hardened HTTP/2 settings and the gRPC status codes of
/// [`crate::grpc_status_map`] (oversized messages, expired deadlines), to serve over
/// [`incoming`] or [`incoming_reloading`], which do the TLS.
pub fn builder() -> Server<Stack<StatusMapLayer, Identity>> {
    builder_with_streams(MAX_CONCURRENT_STREAMS)
}

/// [`builder`] with another bound on concurrent streams per connection.
pub fn builder_with_streams(
    max_concurrent_streams: u32,
) -> Server<Stack<StatusMapLayer, Identity>> {
    Server::builder()
        .max_concurrent_streams(max_concurrent_streams)
        .initial_stream_window_size(INITIAL_STREAM_WINDOW)
        .initial_connection_window_size(INITIAL_CONNECTION_WINDOW)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .http2_max_pending_accept_reset_streams(Some(20))
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .trace_fn(telemetry::server_span)
        .layer(StatusMapLayer::new(MAX_REQUEST_MESSAGE_BYTES))
}

/// The standard services every server here runs (health and reflection itself), listed by
/// reflection beside the services it answers.
const STANDARD_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// The descriptor sets reflection describes: the contract, grpc.health.v1, and the
/// google.rpc error details that statuses carry (`BadRequest`, `ErrorInfo`, `RetryInfo`,
/// `ResourceInfo`, ...), so that a client such as grpcurl decodes the details of an error.
pub const REFLECTION_DESCRIPTOR_SETS: [&[u8]; 3] = [
    crate::proto::FILE_DESCRIPTOR_SET,
    tonic_health::pb::FILE_DESCRIPTOR_SET,
    tonic_types::pb::FILE_DESCRIPTOR_SET,
];

/// Registers reflection v1 and v1alpha (grpcurl 1.8 speaks only v1alpha). Reflection lists
/// `services` (the fully qualified names of the services the server answers, such as
/// `NamedService::NAME` of each), health and itself, and describes every type of the contract, of
/// grpc.health.v1 and of the google.rpc error details.
pub fn add_reflection<L>(
    router: Router<L>,
    services: &[&str],
) -> Result<Router<L>, tonic_reflection::server::Error> {
    let configure = || {
        let mut builder = tonic_reflection::server::Builder::configure();
        for set in REFLECTION_DESCRIPTOR_SETS {
            builder = builder.register_encoded_file_descriptor_set(set);
        }
        for name in services.iter().chain(&STANDARD_SERVICES) {
            builder = builder.with_service_name(*name);
        }
        builder
    };
    let v1 = configure().build_v1()?;
    let v1alpha = configure().build_v1alpha()?;
    Ok(router.add_service(v1).add_service(v1alpha))
}

/// Adds reflection ([`add_reflection`]) for the server `S`, the service the router answers
/// beside health, and reports `S` as SERVING on `health`.
pub async fn reflect_and_report<S: tonic::server::NamedService, L>(
    router: Router<L>,
    health: &tonic_health::server::HealthReporter,
) -> Result<Router<L>, ReflectionError> {
    let router = add_reflection(router, &[S::NAME])?;
    health.set_serving::<S>().await;
    Ok(router)
}

/// Serves `router` on the mutual-TLS connections of `listener` ([`incoming_counted`]) until
/// `shutdown` completes; then calls `end_streams` (to end the streams that never end by
/// themselves, so that draining does not wait for them) and drains the calls in flight.
pub async fn serve_counted<L, ResBody>(
    router: Router<L>,
    listener: tokio::net::TcpListener,
    tls: &Arc<ReloadingTls>,
    limits: ConnectionLimits,
    connections: crate::observe::metrics::ConnectionMetrics,
    shutdown: impl Future<Output = ()>,
    end_streams: impl FnOnce(),
) -> Result<(), tonic::transport::Error>
where
    L: Layer<Routes>,
    L::Service: Service<Request<Body>, Response = Response<ResBody>> + Clone + Send + 'static,
    <L::Service as Service<Request<Body>>>::Future: Send,
    <L::Service as Service<Request<Body>>>::Error: Into<BoxError> + Send,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let incoming = incoming_counted(listener, tls, limits, connections);
    let shutdown = async move {
        shutdown.await;
        end_streams();
    };
    router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; draining in-flight calls");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost::Message;

    use super::*;

    #[test]
    fn reflection_describes_every_file_it_refers_to_and_the_error_details() {
        let files: Vec<prost_types::FileDescriptorProto> = REFLECTION_DESCRIPTOR_SETS
            .iter()
            .flat_map(|set| {
                prost_types::FileDescriptorSet::decode(*set)
                    .expect("a descriptor set")
                    .file
            })
            .collect();
        let names: BTreeSet<&str> = files.iter().map(|f| f.name()).collect();
        for file in &files {
            for dependency in &file.dependency {
                assert!(
                    names.contains(dependency.as_str()),
                    "{} imports {dependency}, which reflection does not describe",
                    file.name()
                );
            }
        }
        let messages: BTreeSet<String> = files
            .iter()
            .flat_map(|f| {
                f.message_type
                    .iter()
                    .map(move |m| format!("{}.{}", f.package(), m.name()))
            })
            .collect();
        for wanted in [
            "google.rpc.BadRequest",
            "google.rpc.ErrorInfo",
            "google.rpc.QuotaFailure",
            "google.rpc.RetryInfo",
            "google.rpc.ResourceInfo",
            "google.rpc.PreconditionFailure",
            "google.rpc.Help",
            "google.rpc.LocalizedMessage",
            "google.rpc.Status",
        ] {
            assert!(messages.contains(wanted), "{wanted} is not described");
        }
    }
}

/// What can keep a server of the federation from being set up: its TLS material, reflection,
/// its authorization rules, its audit trail, its admin listener or its request limits.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// TLS material was refused.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Reflection could not be set up.
    #[error("reflection cannot be set up: {0}")]
    Reflection(#[from] ReflectionError),
    /// The authorization rules were refused.
    #[error(transparent)]
    Policy(#[from] crate::authz::PolicyError),
    /// The audit trail could not be opened.
    #[error(transparent)]
    Audit(#[from] crate::observe::audit::AuditError),
    /// The admin listener could not be bound.
    #[error(transparent)]
    Admin(#[from] crate::observe::admin::AdminError),
    /// The request limits were refused.
    #[error(transparent)]
    Limits(#[from] crate::limits::LimitsError),
}

/// Implements `From` of every error a [`SetupError`] holds for a server's error type
/// `$error`, through its variant `Setup(SetupError)`, so that `?` takes each as it comes.
#[macro_export]
macro_rules! from_setup_errors {
    ($error:ty) => {
        $crate::from_setup_errors!(@each $error:
            $crate::tls::TlsError,
            $crate::grpc_server::ReflectionError,
            $crate::authz::PolicyError,
            $crate::observe::audit::AuditError,
            $crate::observe::admin::AdminError,
            $crate::limits::LimitsError
        );
    };
    (@each $error:ty: $($cause:ty),+) => {
        $(
            impl From<$cause> for $error {
                fn from(cause: $cause) -> Self {
                    Self::Setup($crate::grpc_server::SetupError::from(cause))
                }
            }
        )+
    };
}

/// Why reflection could not be set up.
pub type ReflectionError = tonic_reflection::server::Error;
