//! The audit trail: one JSON line per request, to a file or standard output, apart from the
//! application log. Records are handed to a bounded queue and written by one task, so a
//! slow disk never holds up a request; when the queue is full the record is dropped and
//! counted (`helsedata_audit_records_dropped_total`).
//!
//! Every string is written as a JSON string, so control characters in ids or identities
//! arrive escaped (`\n`, `\u001b`) and cannot forge lines.

use std::{
    borrow::Cow,
    fmt,
    path::{Path, PathBuf},
};

use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Deserializer, Serialize};
use tokio::{
    io::{AsyncWrite, AsyncWriteExt, BufWriter},
    sync::mpsc,
};

use super::{CustodianNote, asked::Asked};

/// Where audit records go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AuditTarget {
    /// Nowhere (`"off"`).
    #[default]
    Off,
    /// Standard output (`"stdout"`); the application log then goes to standard error.
    Stdout,
    /// Appended to this file (any other value), created when missing.
    File(PathBuf),
}

impl AuditTarget {
    /// `off` (or empty), `stdout`, or anything else as a file path.
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            "" | "off" => Self::Off,
            "stdout" => Self::Stdout,
            path => Self::File(PathBuf::from(path)),
        }
    }
}

impl<'de> Deserialize<'de> for AuditTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(deserializer)?))
    }
}

/// The `[audit]` settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// `off`, `stdout` or the path of a file that records are appended to.
    pub target: AuditTarget,
    /// Records waiting to be written at most; more are dropped and counted.
    pub queue: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            target: AuditTarget::Off,
            queue: 8192,
        }
    }
}

/// Why the audit trail could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be opened for appending.
    #[error("cannot open the audit file `{path}` (audit.target) for appending: {source}")]
    Open {
        /// The audit file named by `audit.target`.
        path: PathBuf,
        /// The I/O error the operating system reported.
        source: std::io::Error,
    },
    /// `audit.queue` is 0; the queue must hold at least one record.
    #[error("audit.queue must be at least 1")]
    Queue,
}

/// One request, as written to the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// When the request ended (RFC 3339, UTC).
    pub time: String,
    /// The service that served it (`gateway`, `custodian`).
    pub service: &'static str,
    /// `grpc` or `web`.
    pub surface: &'static str,
    /// The caller's SPIFFE id, why its certificate names none, or `anonymous` on the web.
    pub caller: String,
    /// The caller's `ip:port`; `None` when the connection's peer is unknown.
    pub remote_addr: Option<String>,
    /// `/package.Service/Method`, or the HTTP method and path on the web.
    pub method: String,
    /// The method as counted in the metrics (bounded set of values).
    #[serde(skip)]
    pub method_label: Cow<'static, str>,
    /// What was asked for (ids, the query's length).
    pub asked: Asked,
    /// The gRPC status code name (`OK`, `INVALID_ARGUMENT`, …) or the HTTP status.
    pub status: Cow<'static, str>,
    /// Time from the request's arrival to the end of its answer, in milliseconds.
    pub latency_ms: f64,
    /// The custodians asked and what each answered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custodians: Vec<CustodianNote>,
    /// The W3C trace id of the request's trace, when there is one.
    pub trace_id: Option<String>,
}

/// The writing end of the audit trail; clones share the queue.
#[derive(Clone)]
pub struct AuditSink {
    queue: Option<mpsc::Sender<AuditRecord>>,
    dropped: Counter,
}

impl fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSink")
            .field("on", &self.queue.is_some())
            .field("dropped", &self.dropped.get())
            .finish()
    }
}

impl AuditSink {
    /// A sink that writes nothing.
    pub fn off() -> Self {
        Self {
            queue: None,
            dropped: Counter::default(),
        }
    }

    /// Opens the target of `config` and starts its writer task (inside a Tokio runtime);
    /// `dropped` counts records dropped when the queue is full.
    pub async fn open(config: &AuditConfig, dropped: Counter) -> Result<Self, AuditError> {
        if config.queue == 0 {
            return Err(AuditError::Queue);
        }
        let writer: Box<dyn AsyncWrite + Send + Unpin> = match &config.target {
            AuditTarget::Off => {
                return Ok(Self {
                    queue: None,
                    dropped,
                });
            }
            AuditTarget::Stdout => Box::new(tokio::io::stdout()),
            AuditTarget::File(path) => Box::new(open_append(path).await?),
        };
        let (tx, rx) = mpsc::channel(config.queue);
        tokio::spawn(write_records(rx, BufWriter::new(writer)));
        Ok(Self {
            queue: Some(tx),
            dropped,
        })
    }

    /// Whether records are written anywhere (a request layer builds none when they are not).
    pub fn is_on(&self) -> bool {
        self.queue.is_some()
    }

    /// Queues `record`; drops and counts it when the queue is full.
    pub fn write(&self, record: AuditRecord) {
        if let Some(queue) = &self.queue
            && queue.try_send(record).is_err()
        {
            self.dropped.inc();
        }
    }
}

async fn open_append(path: &Path) -> Result<tokio::fs::File, AuditError> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes queued records, one JSON line each, flushing whenever the queue runs empty.
async fn write_records(
    mut queue: mpsc::Receiver<AuditRecord>,
    mut out: BufWriter<Box<dyn AsyncWrite + Send + Unpin>>,
) {
    let mut failing = false;
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1024
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        let mut text = Vec::with_capacity(batch.len() * 256);
        for record in &batch {
            if serde_json::to_writer(&mut text, record).is_ok() {
                text.push(b'\n');
            }
        }
        let written = match out.write_all(&text).await {
            Ok(()) => out.flush().await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::error!(error = %e, records = batch.len(), "audit records could not be written");
            }
            Err(_) => {}
        }
    }
    let _ = out.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_from_text() {
        let parse = |t: &str| -> AuditConfig {
            toml::from_str(&format!("target = {t:?}")).expect("parses")
        };
        assert_eq!(parse("off").target, AuditTarget::Off);
        assert_eq!(parse("stdout").target, AuditTarget::Stdout);
        assert_eq!(
            parse("/var/log/audit.jsonl").target,
            AuditTarget::File("/var/log/audit.jsonl".into())
        );
        assert!(toml::from_str::<AuditConfig>("targte = \"off\"").is_err());
    }

    #[tokio::test]
    async fn records_are_json_lines_with_control_characters_escaped() {
        let dir = std::env::temp_dir().join(format!("audit-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let config = AuditConfig {
            target: AuditTarget::File(path.clone()),
            queue: 4,
        };
        let sink = AuditSink::open(&config, Counter::default()).await.unwrap();
        let mut asked = Asked::default();
        asked.add("id", "evil\nINFO admin login ok\u{1b}[2J");
        sink.write(AuditRecord {
            time: "t".into(),
            service: "gateway",
            surface: "grpc",
            caller: "spiffe://helsedata.test/developer".into(),
            remote_addr: None,
            method: "/a.B/C".into(),
            method_label: "/a.B/C".into(),
            asked,
            status: "OK".into(),
            latency_ms: 1.5,
            custodians: Vec::new(),
            trace_id: None,
        });
        let mut text = String::new();
        for _ in 0..100 {
            text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.ends_with('\n') {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(text.lines().count(), 1, "one line: {text:?}");
        assert!(!text.trim_end().chars().any(char::is_control), "{text:?}");
        let record: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            record["asked"]["ids"]["id"][0],
            "evil\nINFO admin login ok\u{1b}[2J"
        );
    }
}
