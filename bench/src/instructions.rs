//! Instructions per request, counted by valgrind's callgrind: a unit that does not move with
//! the neighbours on a shared machine (the virtual machine exposes no hardware counters, so
//! `perf stat -e instructions` reports "not supported" here).
//!
//! A server is started under `valgrind --tool=callgrind`; for each hot path a fixed mix of
//! requests is sent one after another (after a warm-up that is not counted), in chunks: the
//! counters are zeroed before a chunk (`callgrind_control -z`) and dumped after it
//! (`callgrind_control -d`), and the dump's `totals:` line divided by the chunk's requests
//! is one value. Only user-space instructions of the server process are counted (the
//! kernel's share of a request, its system calls and the TCP stack, is not), and the
//! server runs about fifty times slower, so the counts are comparable between runs and
//! between paths, not a time. Each chunk's dump stays in the working directory
//! (`callgrind-gateway.N`, `callgrind-echo.N`; keep it with `--keep-dir`) and is a profile
//! of that path: `callgrind_annotate callgrind-gateway.1`.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::loadgen::Call;

/// The program that runs servers under callgrind, if it runs here.
pub fn valgrind() -> std::result::Result<PathBuf, String> {
    let works = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works("valgrind") {
        return Err("valgrind not found on PATH (apt-get install valgrind)".into());
    }
    if !works("callgrind_control") {
        return Err("callgrind_control not found on PATH".into());
    }
    Ok(PathBuf::from("valgrind"))
}

/// The command prefix that starts a server under callgrind, writing its dumps to `out`
/// (`out.1`, `out.2`… one per dump).
pub fn wrapper(valgrind: &Path, out: &Path) -> Vec<String> {
    vec![
        valgrind.display().to_string(),
        "--tool=callgrind".into(),
        "--dump-instr=no".into(),
        "--dump-line=no".into(),
        "--compress-strings=no".into(),
        format!("--callgrind-out-file={}", out.display()),
    ]
}

/// A server running under callgrind.
#[derive(Debug)]
pub struct Counted {
    pid: u32,
    out: PathBuf,
    dumps: usize,
}

/// The `totals:` (or, failing that, `summary:`) count of a callgrind dump.
pub fn parse_totals(text: &str) -> Option<u64> {
    let find = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    find("totals:").or_else(|| find("summary:"))
}

impl Counted {
    /// The server with process id `pid`, whose dumps go to `out`.
    pub fn new(pid: u32, out: PathBuf) -> Self {
        Self { pid, out, dumps: 0 }
    }

    fn control(&self, flag: &str) -> Result<()> {
        let output = Command::new("callgrind_control")
            .arg(flag)
            .arg(self.pid.to_string())
            .stdin(Stdio::null())
            .output()
            .context("cannot run callgrind_control")?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || text.contains("Error") {
            bail!(
                "callgrind_control {flag} {} failed: {text}{}",
                self.pid,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Sets the counters to zero.
    pub fn zero(&self) -> Result<()> {
        self.control("-z")
    }

    /// Dumps the counters and reads the instructions counted since the last zero.
    pub fn dump(&mut self) -> Result<u64> {
        self.control("-d")?;
        self.dumps += 1;
        let path = PathBuf::from(format!("{}.{}", self.out.display(), self.dumps));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Some(total) = parse_totals(&text)
            {
                // Kept (with `--keep-dir`) as a profile: `callgrind_annotate FILE`.
                return Ok(total);
            }
            if Instant::now() > deadline {
                bail!(
                    "callgrind wrote no complete dump {} within 30 s",
                    path.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One hot path's fixed mix.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// Requests sent first and not counted.
    pub warm_up: u64,
    /// Requests per counted chunk.
    pub per_chunk: u64,
    /// Counted chunks.
    pub chunks: usize,
}

/// Sends `mix` of `call` one request after another and answers the instructions per
/// request of each chunk. Any wrong answer fails the measurement.
pub async fn per_request(server: &mut Counted, call: &Call, mix: Mix) -> Result<Vec<f64>> {
    let mut n = 0u64;
    let mut send = |count: u64| {
        let first = n;
        n += count;
        async move {
            for i in first..first + count {
                call(i)
                    .await
                    .map_err(|f| anyhow::anyhow!("wrong answer: {} ({})", f.kind, f.detail))?;
            }
            Ok::<(), anyhow::Error>(())
        }
    };
    send(mix.warm_up).await?;
    let mut values = Vec::with_capacity(mix.chunks);
    for _ in 0..mix.chunks {
        server.zero()?;
        send(mix.per_chunk).await?;
        let total = server.dump()?;
        values.push(total as f64 / mix.per_chunk.max(1) as f64);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_line_of_a_dump() {
        let dump = "version: 1\ncreator: callgrind-3.19.0\npid: 7\ncmd: x\npart: 1\n\nevents: Ir\n\nfn=(1) main\n0 12\n\nsummary: 987654\ntotals: 123456789\n";
        assert_eq!(parse_totals(dump), Some(123_456_789));
        assert_eq!(parse_totals("summary: 5\n"), Some(5));
        assert_eq!(parse_totals("events: Ir\n"), None);
    }
}
