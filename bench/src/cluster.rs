//! Child processes of a run: the `bench` binary itself in a hidden server role (see
//! [`crate::roles`]) or nginx, each in its own process group, pinned to the server CPU.
//!
//! A [`Child`] kills its whole process group on drop, so nothing outlives the run: not on
//! success, not on error, not on panic, not on Ctrl-C. The children also ask the kernel to
//! signal them when the thread that spawned them dies (`PR_SET_PDEATHSIG`), which covers the
//! bench being killed outright.
//!
//! A role tells the parent it is ready with one line on stdout, `READY <addr>`, written after
//! its listener is bound (connections made from then on wait in the backlog).

use std::{
    fs::File,
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpStream},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::procstat;

/// Which CPU runs what. With `taskset` and at least two CPUs, servers share CPU 0 and the
/// load generator has CPU 1 to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinning {
    /// CPU of every server process, if pinned.
    pub server_cpu: Option<usize>,
    /// CPU of the load generator, if pinned.
    pub loadgen_cpu: Option<usize>,
}

impl Pinning {
    /// Pins when `taskset` runs and there are two CPUs or more.
    pub fn detect() -> Self {
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if taskset && procstat::online_cpus() >= 2 {
            Self {
                server_cpu: Some(0),
                loadgen_cpu: Some(1),
            }
        } else {
            Self {
                server_cpu: None,
                loadgen_cpu: None,
            }
        }
    }

    /// A line for the report.
    pub fn describe(&self) -> String {
        match (self.server_cpu, self.loadgen_cpu) {
            (Some(s), Some(l)) => {
                format!("taskset: servers on CPU {s}, load generator on CPU {l}")
            }
            _ => "not pinned (taskset missing or fewer than two CPUs)".into(),
        }
    }
}

/// Pins the calling process to `cpu`. Call before any thread is started: threads inherit
/// the affinity of the thread that creates them.
pub fn pin_self(cpu: usize) -> Result<()> {
    let status = Command::new("taskset")
        .args(["-cp", &cpu.to_string(), &std::process::id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run taskset")?;
    if !status.success() {
        bail!("taskset -cp {cpu} failed with {status}");
    }
    Ok(())
}

/// How the parent learns that a child is ready.
#[derive(Debug, Clone, Copy)]
pub enum Ready {
    /// The child prints `READY <addr>` on stdout.
    Line,
    /// The child accepts TCP connections on this address (nginx).
    Port(SocketAddr),
}

/// What to start.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Name in logs and reports (`gateway`, `custodian c2`…).
    pub name: String,
    /// Program.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// CPU to pin it to.
    pub cpu: Option<usize>,
    /// Directory of the child's stderr log.
    pub log_dir: PathBuf,
    /// How readiness is signalled.
    pub ready: Ready,
    /// How long to wait for readiness.
    pub ready_timeout: Duration,
    /// Signal the kernel sends the child when the bench dies (`PR_SET_PDEATHSIG`): SIGKILL
    /// for our own roles; SIGTERM for nginx, whose master then stops its workers (they would
    /// outlive a killed master).
    pub death_signal: libc::c_int,
}

/// A running child process; dropping it kills its process group.
#[derive(Debug)]
pub struct Child {
    /// Name.
    pub name: String,
    /// Process id (also its process group id).
    pub pid: u32,
    /// The address it serves.
    pub addr: SocketAddr,
    /// Time from spawn to ready.
    pub startup: Duration,
    /// Its stderr log.
    pub log: PathBuf,
    child: std::process::Child,
}

/// The last lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

impl Child {
    /// Starts a child and waits until it is ready (or fails, or the timeout passes).
    pub fn spawn(launch: Launch) -> Result<Self> {
        let log = launch
            .log_dir
            .join(format!("{}.log", file_name(&launch.name)));
        let stderr =
            File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = match launch.cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(&launch.program);
                c
            }
            None => Command::new(&launch.program),
        };
        command
            .args(&launch.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .process_group(0);
        let death_signal = launch.death_signal as libc::c_ulong;
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent; this runs
        // in the child between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, death_signal) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", launch.name))?;
        let pid = child.id();
        let stdout = child.stdout.take();
        let mut this = Self {
            name: launch.name.clone(),
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            startup: Duration::ZERO,
            log,
            child,
        };
        let (tx, rx) = mpsc::channel::<std::result::Result<SocketAddr, String>>();
        if let Some(stdout) = stdout {
            // Reads the READY line, then drains stdout until the child exits.
            std::thread::Builder::new()
                .name(format!("stdout {}", launch.name))
                .spawn(move || {
                    let mut announced = false;
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        if !announced && let Some(rest) = line.strip_prefix("READY ") {
                            announced = true;
                            let parsed = rest
                                .trim()
                                .parse::<SocketAddr>()
                                .map_err(|e| format!("bad READY line `{line}`: {e}"));
                            let _ = tx.send(parsed);
                        }
                    }
                    if !announced {
                        let _ = tx.send(Err("exited before it was ready".into()));
                    }
                })
                .context("cannot start a reader thread")?;
        }
        let deadline = started + launch.ready_timeout;
        let addr = loop {
            if Instant::now() >= deadline {
                bail!(
                    "{} was not ready within {:?}; log {}:\n{}",
                    this.name,
                    launch.ready_timeout,
                    this.log.display(),
                    log_tail(&this.log, 20)
                );
            }
            match launch.ready {
                Ready::Line => match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(Ok(addr)) => break addr,
                    Ok(Err(reason)) => bail!(
                        "{} {reason}; log {}:\n{}",
                        this.name,
                        this.log.display(),
                        log_tail(&this.log, 20)
                    ),
                    Err(_) => {}
                },
                Ready::Port(addr) => {
                    if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                        break addr;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            if let Ok(Some(status)) = this.child.try_wait() {
                bail!(
                    "{} exited with {status} before it was ready; log {}:\n{}",
                    this.name,
                    this.log.display(),
                    log_tail(&this.log, 20)
                );
            }
        };
        if !addr.ip().is_loopback() {
            bail!("{} serves on {addr}, which is not loopback", this.name);
        }
        this.addr = addr;
        this.startup = started.elapsed();
        Ok(this)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// CPU time of the process so far (all its threads).
    pub fn cpu_time(&self) -> Duration {
        procstat::cpu_time(self.pid).unwrap_or_default()
    }

    /// CPU time of its whole process group so far (nginx: master and workers).
    pub fn group_cpu_time(&self) -> Duration {
        procstat::group_cpu_time(self.pid)
    }

    /// Memory of the main process.
    pub fn memory(&self) -> procstat::Memory {
        procstat::memory(self.pid).unwrap_or_default()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(pgid) = i32::try_from(self.pid)
            && pgid > 1
        {
            // SAFETY: kill has no memory-safety preconditions. The group is the one this
            // child leads (spawned with process_group(0)), never 0 or -1.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (for nginx, which cannot report the port it bound).
pub fn free_port() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0")?;
    listener.local_addr().context("no local address")
}
