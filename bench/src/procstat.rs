//! What `/proc` says about a process: CPU time (`utime + stime` of `/proc/PID/stat`, all
//! threads, in clock ticks) and memory (`VmRSS`, `VmHWM` of `/proc/PID/status`), plus the
//! machine description (`nproc`, memory, CPU model) the report starts with.

use std::{fs, time::Duration};

use anyhow::{Context, Result};

/// Clock ticks per second of `/proc/PID/stat` times.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

/// The fields of `/proc/PID/stat` after the command name (field 3 onwards).
fn stat_fields(pid: u32) -> Result<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    let after = text
        .rfind(')')
        .map(|i| &text[i + 1..])
        .context("malformed /proc stat")?;
    Ok(after.split_whitespace().map(str::to_string).collect())
}

/// CPU time (user + system, all threads) of a process so far.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let fields = stat_fields(pid)?;
    // Fields 14 (utime) and 15 (stime) are at 11 and 12 once the first two are cut off.
    let ticks: u64 = [11, 12]
        .iter()
        .map(|&i| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum();
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// CPU time of the calling process.
pub fn own_cpu_time() -> Result<Duration> {
    cpu_time(std::process::id())
}

/// Processes whose process group is `pgid` (for nginx: master and workers).
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return vec![pgid];
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|&pid| {
            stat_fields(pid)
                .ok()
                .and_then(|f| f.get(2).and_then(|g| g.parse::<u32>().ok()))
                == Some(pgid)
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// CPU time of every process in a process group.
pub fn group_cpu_time(pgid: u32) -> Duration {
    group_members(pgid)
        .into_iter()
        .filter_map(|pid| cpu_time(pid).ok())
        .sum()
}

/// Memory of a process, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size now.
    pub rss: u64,
    /// Peak resident set size.
    pub hwm: u64,
}

fn status_kib(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// `VmRSS` and `VmHWM` of a process.
pub fn memory(pid: u32) -> Result<Memory> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    Ok(Memory {
        rss: status_kib(&text, "VmRSS:"),
        hwm: status_kib(&text, "VmHWM:"),
    })
}

/// `MemAvailable` of the machine, in bytes.
pub fn mem_available() -> u64 {
    fs::read_to_string("/proc/meminfo")
        .map(|t| status_kib(&t, "MemAvailable:"))
        .unwrap_or(0)
}

/// The machine the benchmark ran on.
#[derive(Debug, Clone)]
pub struct Machine {
    /// CPUs available.
    pub cpus: usize,
    /// `MemTotal`, bytes.
    pub memory: u64,
    /// `model name` of the first CPU.
    pub cpu_model: String,
    /// Kernel release.
    pub kernel: String,
}

/// Describes this machine.
pub fn machine() -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .max(online_cpus()),
        memory: status_kib(&meminfo, "MemTotal:"),
        cpu_model,
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

/// The 1, 5 and 15 minute load averages of `/proc/loadavg` (how busy the machine is besides
/// this run), as printed there.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// CPUs online (not limited by this process's affinity).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 { n as usize } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        assert!(own_cpu_time().unwrap() > Duration::ZERO);
        let mem = memory(std::process::id()).unwrap();
        assert!(mem.rss > 0 && mem.hwm >= mem.rss);
        assert!(machine().cpus >= 1);
    }
}
