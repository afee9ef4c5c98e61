//! The abuse mode, small: every attack of the hardening review runs for half a second
//! against a gateway in front of two custodians (loopback only), and the normal client and
//! the health check are served throughout, with every custodian healthy after each attack.

use std::process::Command;

#[test]
fn abuse_smoke_serves_the_normal_client_through_every_attack() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["abuse", "--smoke"])
        .output()
        .expect("run bench abuse --smoke");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench abuse --smoke failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| attack"))
        .collect();
    assert_eq!(rows.len(), 6, "the baseline and five attacks:\n{report}");
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        // | attack | calls | p50 | p99 | failed | health failed | rss | healthy |
        assert!(cells[2].parse::<u64>().is_ok_and(|n| n > 0), "{row}");
        assert_eq!(cells[5], "0", "no normal call failed: {row}");
        assert_eq!(cells[6], "0", "no health check failed: {row}");
        assert_eq!(cells[8], "2 of 2", "every custodian healthy after: {row}");
    }
}
