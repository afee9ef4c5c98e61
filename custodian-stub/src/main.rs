//! `custodian-stub`: serve one custodian's data file over mutual TLS, or check data files.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use custodian_stub::{
    live::LiveCatalogue,
    reload::{FileWatch, reload_and_log},
    server::{ServeOptions, custodian_policy},
};
use helsedata::{
    acceptor::ConnectionLimits,
    grpc_server,
    limits::{MethodDeadline, RequestLimits},
    observe::{
        admin::AdminConfig,
        audit::{AuditConfig, AuditTarget},
    },
    reload::ReloadingTls,
    telemetry::{self, TelemetryConfig},
    tls::TlsFiles,
};

#[derive(Parser)]
#[command(
    version,
    about = "Reference custodian service of the helsedata federation"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start; the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve one data file over mutual TLS.
    Serve {
        /// The custodian's data file.
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:50101")]
        listen: SocketAddr,
        /// CA certificate that clients must chain to.
        #[arg(long, default_value = "certs/dev/ca.pem")]
        ca: PathBuf,
        /// Server certificate (by default certs/dev/custodian-<id>.pem).
        #[arg(long)]
        cert: Option<PathBuf>,
        /// Server key (by default certs/dev/custodian-<id>.key).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Certificate revocation list (PEM) checked against client certificates; repeat
        /// for several. Reloaded with the certificates.
        #[arg(long = "crl")]
        crls: Vec<PathBuf>,
        /// Identity of the gateway, allowed to call everything; repeat for several
        /// (exact, or `prefix/*`).
        #[arg(
            long = "gateway-identity",
            default_value = "spiffe://helsedata.test/gateway"
        )]
        gateway_identities: Vec<String>,
        /// Operator identities, allowed to call everything (exact, or `prefix/*`); repeat for
        /// several. Anyone who is neither the gateway nor an operator is refused.
        #[arg(
            long = "operator-identity",
            default_value = "spiffe://helsedata.test/operator/*"
        )]
        operator_identities: Vec<String>,
        /// Most connections open at once; more are closed at once (logged once per 10 s).
        #[arg(long, default_value_t = 4096)]
        max_connections: usize,
        /// Time a client has to complete the TLS handshake, in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        handshake_timeout_ms: u64,
        /// A connection that sends nothing for this long is closed, in milliseconds (must
        /// exceed the 60 s HTTP/2 keep-alive interval plus its 20 s timeout).
        #[arg(long, default_value_t = 300_000)]
        idle_timeout_ms: u64,
        /// How often the certificate, key, CA and CRL files are checked for changes, in
        /// milliseconds (SIGHUP checks at once).
        #[arg(long, default_value_t = 2_000)]
        reload_poll_ms: u64,
        /// Deadline of a call whose caller sends no grpc-timeout, in milliseconds.
        #[arg(long, default_value_t = 5_000)]
        default_deadline_ms: u64,
        /// Longest deadline a caller may ask for, in milliseconds; longer ones are cut to it.
        #[arg(long, default_value_t = 60_000)]
        max_deadline_ms: u64,
        /// Deadline (default and longest) of a WatchCatalogue stream, in milliseconds; the
        /// gateway then opens a new one.
        #[arg(long, default_value_t = 3_600_000)]
        stream_deadline_ms: u64,
        /// Deadline bounds of one method: `/package.Service/Method=DEFAULT_MS:MAX_MS` (or
        /// `/package.Service/*=…`); repeat for several.
        #[arg(long = "method-deadline", value_parser = parse_method_deadline)]
        method_deadlines: Vec<(String, MethodDeadline)>,
        /// Time from a call's headers to the end of its request message, in milliseconds.
        #[arg(long, default_value_t = 5_000)]
        request_message_timeout_ms: u64,
        /// Most calls in flight on the custodian; more get RESOURCE_EXHAUSTED.
        #[arg(long, default_value_t = 1_024)]
        max_concurrent_requests: usize,
        /// Most calls in flight on one connection.
        #[arg(long, default_value_t = 256)]
        max_concurrent_requests_per_connection: usize,
        /// Most calls in flight for one caller identity (the gateway has one).
        #[arg(long, default_value_t = 1_024)]
        max_concurrent_requests_per_identity: usize,
        /// A connection on which a chunk of an answer waits this long for the client's
        /// flow-control window is closed, in milliseconds.
        #[arg(long, default_value_t = 30_000)]
        send_timeout_ms: u64,
        /// Most bytes of answers waiting for HTTP/2 to take them on, on one connection.
        #[arg(long, default_value_t = 8 << 20)]
        max_buffered_response_bytes_per_connection: u64,
        /// The same, on all connections together.
        #[arg(long, default_value_t = 128 << 20)]
        max_buffered_response_bytes: u64,
        /// Delay every answer by this many milliseconds (for load and fault testing).
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        json_logs: bool,
        /// Do not watch the data file; it is then read again on SIGHUP only.
        #[arg(long)]
        no_watch: bool,
        /// How long the data file must be quiet after a change before it is read again.
        #[arg(long, default_value_t = 50)]
        debounce_ms: u64,
        /// Audit records of every call: `off`, `stdout` (the log then goes to standard
        /// error) or a file the JSON lines are appended to.
        #[arg(long, default_value = "off")]
        audit: String,
        /// Address of the plain-HTTP admin listener serving `/metrics` (keep it on loopback);
        /// none when omitted.
        #[arg(long)]
        admin_listen: Option<SocketAddr>,
    },
    /// Validate data files and report the first error of each with file, line and field.
    Check {
        /// Custodian data files (TOML) to validate; each is reported on its own.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Check { files } => check(&files),
        Command::Serve {
            data,
            listen,
            ca,
            cert,
            key,
            latency_ms,
            json_logs,
            no_watch,
            debounce_ms,
            crls,
            gateway_identities,
            operator_identities,
            max_connections,
            handshake_timeout_ms,
            idle_timeout_ms,
            reload_poll_ms,
            audit,
            admin_listen,
            default_deadline_ms,
            max_deadline_ms,
            stream_deadline_ms,
            method_deadlines,
            request_message_timeout_ms,
            max_concurrent_requests,
            max_concurrent_requests_per_connection,
            max_concurrent_requests_per_identity,
            send_timeout_ms,
            max_buffered_response_bytes_per_connection,
            max_buffered_response_bytes,
        } => {
            let audit = AuditConfig {
                target: AuditTarget::parse(&audit),
                ..AuditConfig::default()
            };
            let config = TelemetryConfig {
                log_to_stderr: audit.target == AuditTarget::Stdout,
                log_format: if json_logs {
                    telemetry::LogFormat::Json
                } else {
                    telemetry::LogFormat::Text
                },
                ..TelemetryConfig::default()
            };
            let _telemetry = telemetry::init("custodian-stub", &config)?;
            let live = Arc::new(LiveCatalogue::from_file(&data)?);
            let id = live.current().catalogue.custodian_id().to_string();
            let mut files = TlsFiles::new(
                ca,
                cert.unwrap_or_else(|| PathBuf::from(format!("certs/dev/custodian-{id}.pem"))),
                key.unwrap_or_else(|| PathBuf::from(format!("certs/dev/custodian-{id}.key"))),
            );
            files.crls = crls;
            let tls = ReloadingTls::load(files)
                .context("run `cargo run -p dev-certs` to create the dev certificates")?;
            let _watch = tls.watch(Duration::from_millis(reload_poll_ms.max(100)));
            anyhow::ensure!(
                Duration::from_millis(idle_timeout_ms)
                    > grpc_server::KEEPALIVE_INTERVAL + grpc_server::KEEPALIVE_TIMEOUT,
                "--idle-timeout-ms must exceed 80000 (the 60 s keep-alive interval plus its 20 s timeout)"
            );
            anyhow::ensure!(
                max_connections > 0,
                "--max-connections must be greater than 0"
            );
            let options = ServeOptions {
                tls,
                limits: ConnectionLimits {
                    max_connections,
                    handshake_timeout: Duration::from_millis(handshake_timeout_ms.max(1)),
                    idle_timeout: Duration::from_millis(idle_timeout_ms),
                    send_timeout: Duration::from_millis(send_timeout_ms.max(1)),
                    max_buffered_response_bytes_per_connection,
                    max_buffered_response_bytes,
                    ..ConnectionLimits::default()
                },
                request_limits: RequestLimits {
                    deadline: MethodDeadline {
                        default: Duration::from_millis(default_deadline_ms),
                        max: Duration::from_millis(max_deadline_ms),
                    },
                    stream_deadline: MethodDeadline {
                        default: Duration::from_millis(stream_deadline_ms),
                        max: Duration::from_millis(stream_deadline_ms),
                    },
                    methods: method_deadlines,
                    request_message_timeout: Duration::from_millis(request_message_timeout_ms),
                    max_concurrent_requests,
                    max_concurrent_requests_per_connection,
                    max_concurrent_requests_per_identity,
                    ..RequestLimits::default()
                },
                policy: custodian_policy(&gateway_identities, &operator_identities)?,
                added_latency: Duration::from_millis(latency_ms),
                audit,
                admin: AdminConfig {
                    enabled: admin_listen.is_some(),
                    listen: admin_listen.unwrap_or(AdminConfig::default().listen),
                },
            };
            options
                .request_limits
                .check()
                .map_err(|e| anyhow::anyhow!("{}: {}", option_of(&e.key), e.problem))?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let _data_watch = if no_watch {
                None
            } else {
                Some(FileWatch::start(
                    live.clone(),
                    Duration::from_millis(debounce_ms),
                )?)
            };
            // Registered before serving, so that no SIGHUP after the first answer can end
            // the process (the default action).
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                Ok(hangups) => {
                    tokio::spawn(reload_on_sighup(live.clone(), hangups));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGHUP; the data file is reloaded on change only");
                }
            }
            custodian_stub::server::serve_live_with(
                live,
                options,
                listener,
                grpc_server::shutdown_signal(),
            )
            .await?;
            Ok(())
        }
    }
}

/// The option that sets the limit `key` of [`RequestLimits::check`].
fn option_of(key: &str) -> String {
    match key {
        "deadline" => "--default-deadline-ms / --max-deadline-ms".into(),
        "stream_deadline" => "--stream-deadline-ms".into(),
        "request_message_timeout" => "--request-message-timeout-ms".into(),
        other => match other.strip_prefix("methods.") {
            Some(method) => format!("--method-deadline {method}=…"),
            None => format!("--{}", other.replace('_', "-")),
        },
    }
}

/// Parses `--method-deadline /package.Service/Method=DEFAULT_MS:MAX_MS`.
fn parse_method_deadline(value: &str) -> Result<(String, MethodDeadline), String> {
    let usage = "expected /package.Service/Method=DEFAULT_MS:MAX_MS";
    let (method, bounds) = value.split_once('=').ok_or(usage)?;
    let (default, max) = bounds.split_once(':').ok_or(usage)?;
    let ms = |v: &str| {
        v.parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|e| format!("`{v}` is not a number of milliseconds ({e}); {usage}"))
    };
    Ok((
        method.to_string(),
        MethodDeadline {
            default: ms(default)?,
            max: ms(max)?,
        },
    ))
}

/// Reads the data file again on every SIGHUP.
async fn reload_on_sighup(live: Arc<LiveCatalogue>, mut hangups: tokio::signal::unix::Signal) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: reading the data file again");
        reload_and_log(&live).await;
    }
}

fn check(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut failed = 0;
    for file in files {
        match helsedata::custodian_data::load::load_file(file) {
            Ok(loaded) => println!(
                "{}: ok ({} sources, {} variables)",
                file.display(),
                loaded.info.data_source_count,
                loaded.info.variable_count
            ),
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} data files refused",
        files.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_deadlines_parse_and_bad_ones_say_the_form() {
        let (method, bound) =
            parse_method_deadline("/helsedata.federation.v1.CustodianCatalogue/*=2000:9000")
                .unwrap();
        assert_eq!(method, "/helsedata.federation.v1.CustodianCatalogue/*");
        assert_eq!(
            (bound.default, bound.max),
            (Duration::from_secs(2), Duration::from_secs(9))
        );
        for bad in ["/a.S/M", "/a.S/M=1", "/a.S/M=x:2"] {
            let err = parse_method_deadline(bad).unwrap_err();
            assert!(err.contains("DEFAULT_MS:MAX_MS"), "{bad}: {err}");
        }
        assert_eq!(
            option_of("max_concurrent_requests_per_identity"),
            "--max-concurrent-requests-per-identity"
        );
    }
}
