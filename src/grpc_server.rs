//! Server settings shared by the custodian service and the gateway: TLS, HTTP/2 limits,
//! tracing spans that continue the caller's trace, reflection (v1 and v1alpha) and health.

use std::time::Duration;

use tonic::transport::{Server, server::Router};

use crate::{telemetry, tls::TlsMaterial};

/// Most concurrent HTTP/2 streams per connection (tonic's default is unlimited).
pub const MAX_CONCURRENT_STREAMS: u32 = 200;
/// Largest header list accepted, in bytes.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// The accepted connections of `listener`, with Nagle's algorithm off. (tonic applies its
/// `tcp_nodelay` setting only to listeners it binds itself; without this, small answers
/// wait for the peer's delayed ACK, about 40 ms each.)
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// A server builder with mutual TLS and hardened HTTP/2 settings.
pub fn builder(tls: &TlsMaterial) -> Result<Server, tonic::transport::Error> {
    Ok(Server::builder()
        .tls_config(tls.server_config())?
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .http2_max_pending_accept_reset_streams(Some(20))
        .http2_keepalive_interval(Some(Duration::from_secs(60)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .tcp_nodelay(true)
        .trace_fn(telemetry::server_span))
}

/// Registers reflection v1 and v1alpha (grpcurl 1.8 speaks only v1alpha) for the contract
/// and for grpc.health.v1.
pub fn add_reflection<L>(router: Router<L>) -> Result<Router<L>, tonic_reflection::server::Error> {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    Ok(router.add_service(v1).add_service(v1alpha))
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
