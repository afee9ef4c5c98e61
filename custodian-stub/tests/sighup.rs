//! The `custodian-stub serve` binary reads its data file again on SIGHUP: started with
//! `--no-watch` on a loopback port with real certificates, it serves an edit only once it
//! is signalled, and reports a refused edit the same way.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fixture::Pki;
use helsedata::{
    identity,
    proto::{self as pb, custodian_catalogue_client::CustodianCatalogueClient},
};
use tonic::transport::Channel;

/// The running binary; killed when dropped.
struct Stub(Child);

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Stub {
    fn hang_up(&self) {
        let pid = libc::pid_t::try_from(self.0.id()).expect("pid");
        // SAFETY: sends a signal to the child this test started and still owns.
        let sent = unsafe { libc::kill(pid, libc::SIGHUP) };
        assert_eq!(sent, 0, "SIGHUP sent");
    }
}

async fn connect(pki: &Pki, addr: SocketAddr) -> CustodianCatalogueClient<Channel> {
    for _ in 0..1000 {
        if let Ok(channel) = fixture::channel(
            &pki.developer_tls(),
            addr,
            &identity::custodian_identity("fhi"),
            |e| e,
        )
        .await
        {
            let mut client = CustodianCatalogueClient::new(channel);
            if client
                .get_custodian_info(pb::GetCustodianInfoRequest {})
                .await
                .is_ok()
            {
                return client;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the custodian did not answer within 20 s");
}

async fn info(client: &mut CustodianCatalogueClient<Channel>) -> pb::CustodianInfo {
    client
        .get_custodian_info(pb::GetCustodianInfoRequest {})
        .await
        .expect("info")
        .into_inner()
}

#[tokio::test]
async fn sighup_reloads_the_data_file() {
    let original = std::fs::read_to_string(fixture::repo_path("custodian-stub/data/fhi.toml"))
        .expect("bundled data file");
    let revision_line = original
        .lines()
        .find(|l| l.starts_with("revision = "))
        .expect("revision")
        .to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("fhi.toml");
    std::fs::write(&data, &original).expect("write");
    let pki = Pki::new(&["fhi"]);
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr")
    };
    // The test calls the custodian with the developer's certificate, allowed here as an
    // operator (by default only the gateway and operators may call a custodian).
    let mut serve = Command::new(env!("CARGO_BIN_EXE_custodian-stub"));
    serve.arg("serve");
    for operator in fixture::test_operator_identities() {
        serve.arg("--operator-identity").arg(operator);
    }
    let stub = Stub(
        serve
            .arg("--data")
            .arg(&data)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--ca")
            .arg(pki.pki.ca_cert())
            .arg("--cert")
            .arg(pki.pki.custodian_cert("fhi"))
            .arg("--key")
            .arg(pki.pki.custodian_key("fhi"))
            .arg("--no-watch")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let mut client = connect(&pki, addr).await;
    let before = info(&mut client).await.catalogue_revision;

    std::fs::write(
        &data,
        original.replacen(&revision_line, "revision = \"etter-sighup\"", 1),
    )
    .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        info(&mut client).await.catalogue_revision,
        before,
        "not watched: nothing changes before the signal"
    );
    stub.hang_up();
    let mut served = String::new();
    for _ in 0..500 {
        served = info(&mut client).await.catalogue_revision;
        if served == "etter-sighup" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(served, "etter-sighup");

    std::fs::write(
        &data,
        original.replacen(&revision_line, "revision = \"\"", 1),
    )
    .expect("write");
    stub.hang_up();
    let mut refused = None;
    for _ in 0..500 {
        refused = info(&mut client).await.reload_error;
        if refused.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = refused.expect("the refused edit is reported");
    assert_eq!(refused.field, "custodian.revision", "{refused:?}");
    assert_eq!(info(&mut client).await.catalogue_revision, "etter-sighup");
}
