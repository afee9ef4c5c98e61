//! nginx from the distribution as a gRPC pass-through proxy over TLS to one custodian: the
//! yardstick for the gateway's GetDataSource pass-through.
//!
//! nginx terminates mutual TLS with a server certificate from the dev CA (identity
//! `spiffe://helsedata.test/nginx`) and requires a client certificate from the same CA, as
//! the gateway does. Upstream it speaks gRPC over TLS with the gateway's client
//! certificate (`grpc_ssl_certificate`), verifies the custodian's chain and host name
//! (nginx cannot check the SPIFFE identity, which the gateway does), and keeps upstream
//! connections alive (`keepalive`), as the gateway keeps its channels.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, Result};
use dev_certs::DevPki;

use crate::cluster::{self, Child, Launch, Ready};

/// Identity path of nginx's server certificate.
pub const IDENTITY_PATH: &str = "nginx";

/// The nginx on PATH, or why there is none.
pub fn find() -> std::result::Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            "nginx is not on PATH (Debian: `apt-get install nginx`; /usr/sbin must be on PATH)"
                .to_string()
        })
}

/// `nginx -v` (it prints to stderr).
pub fn version(nginx: &Path) -> String {
    Command::new(nginx)
        .arg("-v")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stderr)
                .trim()
                .trim_start_matches("nginx version: ")
                .to_string()
        })
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

fn config(dir: &Path, pki: &DevPki, listen: SocketAddr, upstream: SocketAddr) -> String {
    let p = |path: PathBuf| path.display().to_string();
    let d = dir.display();
    let nginx_cert = p(pki.dir().join(format!("{IDENTITY_PATH}.pem")));
    let nginx_key = p(pki.dir().join(format!("{IDENTITY_PATH}.key")));
    let ca = p(pki.ca_cert());
    // The gateway's client certificate (clientAuth), as the gateway itself presents it.
    let gateway_cert = p(pki.gateway_client_cert());
    let gateway_key = p(pki.gateway_client_key());
    format!(
        r#"# Written by the bench harness: gRPC pass-through over mutual TLS to one custodian.
worker_processes 1;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;

    upstream custodian {{
        server {upstream};
        keepalive 128;
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }}

    server {{
        listen {listen} ssl http2;
        ssl_certificate {nginx_cert};
        ssl_certificate_key {nginx_key};
        ssl_client_certificate {ca};
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_protocols TLSv1.2 TLSv1.3;
        http2_max_concurrent_streams 256;

        location / {{
            grpc_pass grpcs://custodian;
            grpc_ssl_certificate {gateway_cert};
            grpc_ssl_certificate_key {gateway_key};
            grpc_ssl_trusted_certificate {ca};
            grpc_ssl_verify on;
            grpc_ssl_verify_depth 2;
            grpc_ssl_name localhost;
            grpc_ssl_server_name on;
            grpc_ssl_protocols TLSv1.2 TLSv1.3;
            grpc_ssl_session_reuse on;
        }}
    }}
}}
"#
    )
}

/// Issues nginx's certificate, writes its configuration into `dir` and starts it on
/// `cpu`, proxying to `upstream`.
pub fn start(
    nginx: &Path,
    dir: &Path,
    pki: &DevPki,
    upstream: SocketAddr,
    cpu: Option<usize>,
) -> Result<Child> {
    std::fs::create_dir_all(dir.join("tmp"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    pki.issue_with_identity(IDENTITY_PATH, IDENTITY_PATH)
        .context("cannot issue nginx's certificate")?;
    let listen = cluster::free_port()?;
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(dir, pki, listen, upstream))
        .with_context(|| format!("cannot write {}", conf.display()))?;
    Child::spawn(Launch {
        name: "nginx".into(),
        program: nginx.to_path_buf(),
        args: vec![
            "-p".into(),
            dir.display().to_string(),
            "-c".into(),
            conf.display().to_string(),
        ],
        cpu,
        log_dir: dir.to_path_buf(),
        ready: Ready::Port(listen),
        ready_timeout: Duration::from_secs(20),
        death_signal: libc::SIGTERM,
    })
}
