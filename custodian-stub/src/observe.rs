//! A custodian's audit trail and metrics: the request metrics and audit records of its
//! gRPC listener, its connections, TLS reloads, certificate expiry and data-file reloads,
//! served on its own admin listener when one is configured.

use std::sync::Arc;

use helsedata::observe::{
    Observer, ServerObservation, admin,
    metrics::{ConnectionMetrics, catch_up},
};
use prometheus_client::metrics::{counter::Counter, gauge::Gauge};

use crate::{
    live::LiveCatalogue,
    server::{ServeError, ServeOptions},
};

/// What a custodian observes with.
pub struct Observed {
    /// The request layer's observer.
    pub observer: Arc<Observer>,
    /// Open and refused connections.
    pub connections: ConnectionMetrics,
    /// The admin listener, serving until aborted.
    pub admin: Option<tokio::task::JoinHandle<()>>,
}

impl Observed {
    /// Opens the audit trail and starts the admin listener of `options`.
    pub async fn start(
        options: &ServeOptions,
        live: &Arc<LiveCatalogue>,
        request_limits: &helsedata::limits::LimitsLayer,
    ) -> Result<Self, ServeError> {
        let mut started =
            ServerObservation::start("custodian", &options.audit, &options.tls, request_limits)
                .await?;
        let reloads = Counter::default();
        let refused = Gauge::<i64>::default();
        helsedata::register_metrics! { started.builder.registry();
            "data_file_reloads", "Times an edited data file was read and its new revision served" => reloads;
            "data_file_refused", "1 while the latest edit of the data file is refused (the previous one is served)" => refused;
        }
        let watched = Arc::downgrade(live);
        started.builder.refresh_with(move || {
            if let Some(live) = watched.upgrade() {
                catch_up(&reloads, live.swaps());
                refused.set(i64::from(live.reload_error().is_some()));
            }
        });
        let metrics = started.builder.finish();
        let admin = admin::bind(&options.admin)
            .await?
            .map(|listener| tokio::spawn(admin::serve(listener, metrics, std::future::pending())));
        Ok(Self {
            observer: started.observer,
            connections: started.connections,
            admin,
        })
    }
}
