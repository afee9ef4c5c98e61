//! The custodian binary refuses a broken data file and names file, line and field.

use std::process::Command;

#[test]
fn check_accepts_the_bundled_files() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_custodian-stub"))
        .arg("check")
        .args(&files)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn serve_refuses_a_broken_file_and_names_file_line_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/siv.toml"))
        .expect("siv");
    let broken = original.replacen("[[source]]\n", "[[source]]\ncolour = \"blue\"\n", 1);
    let line = broken
        .lines()
        .position(|l| l.starts_with("colour"))
        .expect("inserted")
        + 1;
    let path = dir.path().join("siv.toml");
    std::fs::write(&path, broken).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_custodian-stub"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("siv.toml:{line}:")), "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");
}
