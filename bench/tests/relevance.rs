//! The search over the bundled catalogue finds, for every query of the relevance set
//! (`tests/relevance/queries.toml`), every source a researcher means within the first 20
//! results (recall@20 = 1.0), and no query of the set finds nothing.

use std::process::Command;

#[test]
fn every_expected_source_is_in_the_first_twenty_and_no_query_finds_nothing() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("relevance")
        .current_dir(root)
        .output()
        .expect("bench relevance runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = report
        .lines()
        .find(|l| l.starts_with("| all |"))
        .expect("a summary row");
    assert!(all.contains("| 1.000 |"), "{all}");
    assert!(report.contains("## Misses (0)"), "{report}");
    assert!(report.contains("## Queries without hits (0)"), "{report}");
}
