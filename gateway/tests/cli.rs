//! The gateway binary's configuration handling: environment overrides and errors that name
//! the key at fault.

use std::process::Command;

fn gateway() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    command.env_remove("RUST_LOG");
    command
}

#[test]
fn the_bundled_configuration_checks_out() {
    let output = gateway().arg("check-config").output().expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("17 custodians"));
}

#[test]
fn environment_overrides_the_file() {
    let output = gateway()
        .arg("check-config")
        .env("HELSEDATA_GATEWAY__LISTEN", "127.0.0.1:6001")
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("127.0.0.1:6001"));
}

#[test]
fn a_bad_value_stops_the_gateway_with_the_key_named() {
    let output = gateway()
        .arg("check-config")
        .env("HELSEDATA_GATEWAY__DEFAULTS__TIMEOUT_MS", "0")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("defaults.timeout_ms"), "{stderr}");
}

#[test]
fn a_missing_configuration_file_is_named() {
    let output = gateway()
        .args(["--config", "no/such/gateway.toml", "check-config"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no/such/gateway.toml"));
}
