//! The metrics both services export: requests by method and code with latency histograms,
//! requests in flight, open and refused connections, TLS reloads and certificate expiry.
//! Each server has its own [`MetricsRegistry`], so that several servers in one process
//! (tests, the demo) keep their figures apart.

use std::{
    borrow::Cow,
    fmt,
    sync::{Arc, OnceLock, atomic::AtomicU64},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use rustls_pki_types::{CertificateDer, pem::PemObject};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::asked;
use crate::reload::ReloadingTls;

/// Prefix of every metric name.
pub const PREFIX: &str = "helsedata";

/// Latency buckets, in seconds: 1 ms to about 33 s, doubling.
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.001, 2.0, 16)
}

/// A histogram with [`latency_buckets`].
pub fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// Registers metrics in a registry (a `&mut Registry`): each `"name", "help" => metric;`
/// registers a clone of `metric`, which shares its figures with the original.
#[macro_export]
macro_rules! register_metrics {
    ($registry:expr; $($name:literal, $help:literal => $metric:expr;)+) => {{
        let registry = $registry;
        $(registry.register($name, $help, ::core::clone::Clone::clone(&$metric));)+
    }};
}

/// A set of metrics that registers each of its own.
pub trait Registered: Default {
    /// Registers every metric of `self` in `registry` (the registered ones share their
    /// figures with `self`).
    fn register_in(&self, registry: &mut Registry);

    /// New metrics, registered in `registry`.
    fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        metrics.register_in(registry);
        metrics
    }
}

type Refresh = Box<dyn Fn() + Send + Sync>;

/// A registry under construction: metrics, and figures read again before every scrape.
pub struct MetricsBuilder {
    registry: Registry,
    refreshers: Vec<Refresh>,
}

impl Default for MetricsBuilder {
    fn default() -> Self {
        Self {
            registry: Registry::with_prefix(PREFIX),
            refreshers: Vec::new(),
        }
    }
}

impl MetricsBuilder {
    /// The registry, to register metrics in.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Runs `refresh` before every scrape (for figures read from elsewhere: reload counts,
    /// certificate expiry).
    pub fn refresh_with(&mut self, refresh: impl Fn() + Send + Sync + 'static) {
        self.refreshers.push(Box::new(refresh));
    }

    /// The finished registry.
    pub fn finish(self) -> Arc<MetricsRegistry> {
        Arc::new(MetricsRegistry {
            registry: self.registry,
            refreshers: self.refreshers,
        })
    }
}

/// A finished registry, ready to be scraped.
pub struct MetricsRegistry {
    registry: Registry,
    refreshers: Vec<Refresh>,
}

impl fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsRegistry")
            .field("refreshers", &self.refreshers.len())
            .finish_non_exhaustive()
    }
}

impl MetricsRegistry {
    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        for refresh in &self.refreshers {
            refresh();
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

/// Labels of a request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `grpc` or `web`.
    pub surface: &'static str,
    /// The gRPC method path or the web route (`other` for unknown ones).
    pub method: Cow<'static, str>,
    /// The gRPC status code name or the HTTP status.
    pub code: Cow<'static, str>,
}

/// Labels of a request histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    /// `grpc` or `web`.
    pub surface: &'static str,
    /// The gRPC method path or the web route.
    pub method: Cow<'static, str>,
}

/// Labels naming a surface.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SurfaceLabels {
    /// `grpc` or `web`.
    pub surface: &'static str,
}

/// Requests served, their latency, and those in flight.
#[derive(Debug, Clone)]
pub struct RequestMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<MethodLabels, Histogram, fn() -> Histogram>,
    in_flight: Family<SurfaceLabels, Gauge>,
    /// Audit records dropped because the queue was full.
    pub audit_dropped: Counter,
    /// The series of each known gRPC method ([`asked::known_method_at`]) and status code,
    /// each found in the families on its first call: counting a call then hashes no labels.
    grpc: Arc<[[OnceLock<Series>; CODES]]>,
    /// The in-flight gauges of the `grpc` and `web` surfaces, found on first use.
    surfaces: Arc<[OnceLock<Gauge>; 2]>,
}

/// The gRPC status codes, 0 (`OK`) to 16 (`UNAUTHENTICATED`).
const CODES: usize = 17;

/// One method's request counter (of one status code) and latency histogram, shared with
/// their families.
#[derive(Debug, Clone)]
struct Series {
    requests: Counter,
    latency: Histogram,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            in_flight: Family::default(),
            audit_dropped: Counter::default(),
            grpc: (0..asked::known_method_count())
                .map(|_| std::array::from_fn(|_| OnceLock::new()))
                .collect(),
            surfaces: Arc::default(),
        }
    }
}

impl Registered for RequestMetrics {
    fn register_in(&self, registry: &mut Registry) {
        crate::register_metrics! { registry;
            "requests", "Requests answered, by surface, method and status code" => self.requests;
            "request_duration_seconds", "Time from a request's arrival to the end of its answer" => self.latency;
            "requests_in_flight", "Requests being served now" => self.in_flight;
            "audit_records_dropped", "Audit records dropped because the writer fell behind" => self.audit_dropped;
        }
    }
}

impl RequestMetrics {
    /// Counts one answered request. Labels known in advance (the gRPC method paths and
    /// status names) are borrowed, so counting a gRPC call allocates nothing.
    pub fn observe(
        &self,
        surface: &'static str,
        method: Cow<'static, str>,
        code: Cow<'static, str>,
        latency_ms: f64,
    ) {
        self.series(surface, method, code).observe(latency_ms);
    }

    /// Counts one answered gRPC call of `path` with status `code`, as [`Self::observe`]
    /// with the method's label (`other` for an unknown path) and the code's name.
    pub fn observe_grpc(&self, path: &str, code: i32, latency_ms: f64) {
        let known = asked::known_method_at(path);
        let slot = known
            .zip(usize::try_from(code).ok())
            .and_then(|((at, _), code)| self.grpc.get(at)?.get(code));
        let label = known.map_or("other", |(_, label)| label);
        let name = super::body::code_name(code);
        match slot {
            Some(slot) => slot
                .get_or_init(|| self.series("grpc", label.into(), name.into()))
                .observe(latency_ms),
            None => self.observe("grpc", label.into(), name.into(), latency_ms),
        }
    }

    fn series(
        &self,
        surface: &'static str,
        method: Cow<'static, str>,
        code: Cow<'static, str>,
    ) -> Series {
        let labels = RequestLabels {
            surface,
            method,
            code,
        };
        let requests = self.requests.get_or_create(&labels).clone();
        let latency = self
            .latency
            .get_or_create(&MethodLabels {
                surface,
                method: labels.method,
            })
            .clone();
        Series { requests, latency }
    }

    /// The in-flight gauge of `surface`: up while the returned guard lives.
    pub fn in_flight(&self, surface: &'static str) -> InFlight {
        let find = || {
            self.in_flight
                .get_or_create_owned(&SurfaceLabels { surface })
        };
        let gauge = match surface {
            "grpc" => self.surfaces[0].get_or_init(find).clone(),
            "web" => self.surfaces[1].get_or_init(find).clone(),
            _ => find(),
        };
        gauge.inc();
        InFlight(gauge)
    }
}

impl Series {
    fn observe(&self, latency_ms: f64) {
        self.requests.inc();
        self.latency.observe(latency_ms / 1000.0);
    }
}

/// One request in flight; lowers the gauge when dropped.
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Labels of a refused connection.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `connection_cap` or `handshake`.
    pub reason: String,
}

/// Connections of one listener: open now, and refused.
#[derive(Debug, Clone, Default)]
pub struct ConnectionMetrics {
    open: Gauge,
    refused: Family<RefusalLabels, Counter>,
}

impl Registered for ConnectionMetrics {
    fn register_in(&self, registry: &mut Registry) {
        crate::register_metrics! { registry;
            "connections_open", "Client connections open now (handshaking or established)" => self.open;
            "connections_refused", "Client connections refused, by reason" => self.refused;
        }
    }
}

impl ConnectionMetrics {
    /// One connection more; one less when the returned guard is dropped.
    pub fn opened(&self) -> OpenConnection {
        self.open.inc();
        OpenConnection(self.open.clone())
    }

    /// Counts a refused connection.
    pub fn refused(&self, reason: &str) {
        self.refused
            .get_or_create(&RefusalLabels {
                reason: reason.to_string(),
            })
            .inc();
    }
}

/// One open connection; lowers the gauge when dropped.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Labels naming a certificate.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertificateLabels {
    /// `server` or `client`.
    pub certificate: String,
}

/// Registers the reload count and the certificates' expiry of `tls`, read at every scrape.
pub fn register_tls(builder: &mut MetricsBuilder, tls: &Arc<ReloadingTls>) {
    let reloads: Counter<u64, AtomicU64> = Counter::default();
    let expiry: Family<CertificateLabels, Gauge> = Family::default();
    crate::register_metrics! { builder.registry();
        "tls_reloads", "Times the TLS certificate, key, CA bundle or CRLs were reloaded" => reloads;
        "certificate_expiry_timestamp_seconds", "notAfter of the certificates presented now, in seconds since the Unix epoch" => expiry;
    }
    let tls = Arc::downgrade(tls);
    builder.refresh_with(move || {
        let Some(tls) = tls.upgrade() else { return };
        catch_up(&reloads, tls.generation());
        let material = tls.material();
        for (name, pem) in material.presented_certificates() {
            if let Some(not_after) = not_after(pem) {
                expiry
                    .get_or_create(&CertificateLabels {
                        certificate: name.to_string(),
                    })
                    .set(not_after);
            }
        }
    });
}

/// Labels of the calls in flight under one limit.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InFlightLabels {
    /// `global`, `health` or `per_identity`.
    pub limit: String,
    /// The caller identity, for `per_identity`; empty otherwise.
    pub identity: String,
}

/// Registers the calls in flight under each limit of `limits` (the global pool, the health
/// checks' pool, each caller identity), read at every scrape.
pub fn register_limits(builder: &mut MetricsBuilder, limits: &crate::limits::LimitsLayer) {
    let in_flight: Family<InFlightLabels, Gauge> = Family::default();
    crate::register_metrics! { builder.registry();
        "requests_in_flight_by_limit", "Calls holding a slot of each request limit now: all calls, health checks, each caller identity" => in_flight;
    }
    let limits = limits.clone();
    builder.refresh_with(move || {
        let now = limits.in_flight();
        let set = |limit: &str, identity: &str, value: usize| {
            in_flight
                .get_or_create(&InFlightLabels {
                    limit: limit.to_string(),
                    identity: identity.to_string(),
                })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        };
        set("global", "", now.all);
        set("health", "", now.health);
        for (identity, value) in &now.identities {
            set("per_identity", identity, *value);
        }
    });
}

/// Raises `counter` to `value` (a count kept elsewhere).
pub fn catch_up(counter: &Counter, value: u64) {
    let seen = counter.get();
    if value > seen {
        counter.inc_by(value - seen);
    }
}

/// The notAfter of the first certificate of a PEM chain, in seconds since the Unix epoch.
pub fn not_after(pem: &[u8]) -> Option<i64> {
    let first = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    let (_, parsed) = X509Certificate::from_der(first.as_ref()).ok()?;
    Some(parsed.validity().not_after.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_method_and_code_and_encoded() {
        let mut builder = MetricsBuilder::default();
        let requests = RequestMetrics::register(builder.registry());
        let metrics = builder.finish();
        requests.observe("grpc", "/a.B/C".into(), "OK".into(), 3.0);
        requests.observe("grpc", "/a.B/C".into(), "OK".into(), 5.0);
        {
            let _busy = requests.in_flight("grpc");
            assert!(
                metrics
                    .encode()
                    .contains("helsedata_requests_in_flight{surface=\"grpc\"} 1")
            );
        }
        let text = metrics.encode();
        assert!(
            text.contains(
                "helsedata_requests_total{surface=\"grpc\",method=\"/a.B/C\",code=\"OK\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains(
            "helsedata_request_duration_seconds_count{surface=\"grpc\",method=\"/a.B/C\"} 2"
        ));
        assert!(text.contains("helsedata_requests_in_flight{surface=\"grpc\"} 0"));
    }

    #[test]
    fn grpc_calls_share_the_series_of_their_method_and_code_with_the_families() {
        let mut builder = MetricsBuilder::default();
        let requests = RequestMetrics::register(builder.registry());
        let metrics = builder.finish();
        let check = "/grpc.health.v1.Health/Check";
        requests.observe_grpc(check, 0, 2.0);
        requests.observe_grpc(check, 0, 4.0);
        // The same series reached through the families (as an audited call counts).
        requests.observe("grpc", check.into(), "OK".into(), 1.0);
        requests.observe_grpc(check, 14, 1.0);
        requests.observe_grpc("/made.Up/Path", 0, 1.0);
        requests.observe_grpc(check, 99, 1.0);
        requests.observe_grpc(check, -1, 1.0);
        let text = metrics.encode();
        for line in [
            "helsedata_requests_total{surface=\"grpc\",method=\"/grpc.health.v1.Health/Check\",code=\"OK\"} 3",
            "helsedata_requests_total{surface=\"grpc\",method=\"/grpc.health.v1.Health/Check\",code=\"UNAVAILABLE\"} 1",
            "helsedata_requests_total{surface=\"grpc\",method=\"other\",code=\"OK\"} 1",
            "helsedata_requests_total{surface=\"grpc\",method=\"/grpc.health.v1.Health/Check\",code=\"UNKNOWN\"} 2",
            "helsedata_request_duration_seconds_count{surface=\"grpc\",method=\"/grpc.health.v1.Health/Check\"} 6",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        let busy = requests.in_flight("web");
        let again = requests.clone().in_flight("web");
        assert!(
            metrics
                .encode()
                .contains("helsedata_requests_in_flight{surface=\"web\"} 2")
        );
        drop((busy, again));
        assert!(
            metrics
                .encode()
                .contains("helsedata_requests_in_flight{surface=\"web\"} 0")
        );
    }

    #[test]
    fn catch_up_only_raises() {
        let c = Counter::default();
        catch_up(&c, 3);
        catch_up(&c, 2);
        assert_eq!(c.get(), 3);
    }
}
