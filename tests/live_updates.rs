//! Live updates of a custodian: its data file is edited while it serves, over mutual TLS on
//! a loopback port. Valid edits are swapped in whole with a new revision while calls keep
//! arriving; refused edits keep the previous catalogue serving and are reported (in
//! `GetCustodianInfo` and in the data-file health); `WatchCatalogue` follows every change.
//! In front of them the gateway follows each custodian's stream and fetches only what
//! changed, and `cache-control: no-cache` confirms revisions instead of refetching.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use custodian_stub::{live::LiveCatalogue, reload::FileWatch, server::DATA_FILE_HEALTH};
use fixture::{
    CallCounter, Pki, Running, custodian_client, gateway_client, gateway_config, repo_path,
    start_counting_live_custodian, start_gateway, start_live_custodian,
};
use helsedata::{
    identity,
    proto::{
        self as pb, custodian_catalogue_client::CustodianCatalogueClient,
        federated_catalogue_client::FederatedCatalogueClient,
    },
};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A copy of a bundled data file in a temporary directory, edited by replacing it whole.
struct DataFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
    original: String,
    /// Id and `name_nb` of the first and the last source in file order.
    first: (String, String),
    last: (String, String),
}

impl DataFile {
    fn copy_of(name: &str) -> Self {
        let original = std::fs::read_to_string(repo_path(&format!("custodian-stub/data/{name}")))
            .expect("bundled data file");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, &original).expect("write");
        let first_at = original.find("\n[[source]]").expect("a source");
        let last_at = original.rfind("\n[[source]]").expect("a source");
        assert!(first_at < last_at, "the file has two sources or more");
        let first = source_at(&original, first_at);
        let last = source_at(&original, last_at);
        Self {
            _dir: dir,
            path,
            original,
            first,
            last,
        }
    }

    /// Replaces the file by rename, as an editor or a deployment does.
    fn write(&self, text: &str) {
        let temporary = self.path.with_extension("toml.new");
        std::fs::write(&temporary, text).expect("write");
        std::fs::rename(&temporary, &self.path).expect("rename");
    }

    /// Version `k`: both marked names say `Versjon k`; odd versions drop the last source;
    /// every third keeps the previous version's revision value (the custodian derives one).
    fn version(&self, k: u32) -> String {
        let marker = format!("Versjon {k}");
        let mut text = self.original.clone();
        let last_at = text.rfind("\n[[source]]").expect("a source");
        if k % 2 == 1 {
            text.truncate(last_at);
            text.push('\n');
        } else {
            let (head, tail) = text.split_at(last_at);
            text = format!(
                "{head}{}",
                tail.replacen(&quoted(&self.last.1), &quoted(&marker), 1)
            );
        }
        let first_at = text.find("\n[[source]]").expect("a source");
        let (head, tail) = text.split_at(first_at);
        text = format!(
            "{head}{}",
            tail.replacen(&quoted(&self.first.1), &quoted(&marker), 1)
        );
        let revision_line = text
            .lines()
            .find(|l| l.starts_with("revision = "))
            .expect("revision")
            .to_string();
        let value = if k.is_multiple_of(3) { k - 1 } else { k };
        text.replacen(&revision_line, &format!("revision = \"load-{value}\""), 1)
    }

    /// A file that is refused: an unknown field in the first source.
    fn refused(&self) -> String {
        self.original
            .replacen("\n[[source]]\n", "\n[[source]]\nno_such_field = 1\n", 1)
    }
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

fn source_at(text: &str, at: usize) -> (String, String) {
    let field = |name: &str| {
        text[at..]
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = \"")))
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{name} of the source"))
            .to_string()
    };
    (field("id"), field("name_nb"))
}

/// Polls `check` every 10 ms until it gives an answer (at most 10 s).
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..1000 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 10 s");
}

async fn health(pki: &Pki, running: &Running, service: &str) -> ServingStatus {
    let channel = fixture::channel(
        &pki.developer_tls(),
        running.addr,
        &identity::custodian_identity("fhi"),
        |e| e,
    )
    .await
    .expect("health client connects");
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health check")
        .into_inner()
        .status;
    ServingStatus::try_from(status).expect("known status")
}

async fn all_sources(
    client: &mut CustodianCatalogueClient<Channel>,
) -> pb::ListDataSourcesResponse {
    client
        .list_data_sources(pb::ListDataSourcesRequest {
            page_size: 500,
            view: pb::DataSourceView::Full as i32,
            ..Default::default()
        })
        .await
        .expect("every call during reloads is answered")
        .into_inner()
}

/// What one answer says, reduced to the version marks.
#[derive(Debug)]
struct Seen {
    revision: String,
    first_name: String,
    last_name: Option<String>,
    total: u32,
}

fn seen(file: &DataFile, page: &pb::ListDataSourcesResponse) -> Seen {
    let name_of = |id: &str| {
        page.data_sources
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.as_ref().expect("name").nb.clone())
    };
    assert_eq!(
        page.total_size as usize,
        page.data_sources.len(),
        "one page holds all"
    );
    Seen {
        revision: page.catalogue_revision.clone(),
        first_name: name_of(&file.first.0).expect("the first source is always published"),
        last_name: name_of(&file.last.0),
        total: page.total_size,
    }
}

/// The version an answer comes from, after checking that every part of it agrees.
fn version_of(file: &DataFile, base: u32, seen: &Seen) -> u32 {
    let k = if seen.first_name == file.first.1 {
        0
    } else {
        seen.first_name
            .strip_prefix("Versjon ")
            .and_then(|k| k.parse().ok())
            .unwrap_or_else(|| panic!("unexpected name {seen:?}"))
    };
    let (total, last) = match k {
        0 => (base, Some(file.last.1.clone())),
        k if k % 2 == 1 => (base - 1, None),
        k => (base, Some(format!("Versjon {k}"))),
    };
    assert_eq!(seen.total, total, "answer mixes versions: {seen:?}");
    assert_eq!(seen.last_name, last, "answer mixes versions: {seen:?}");
    k
}

struct Started {
    file: DataFile,
    live: Arc<LiveCatalogue>,
    pki: Pki,
    running: Running,
    _watch: FileWatch,
}

async fn start(latency: Duration) -> Started {
    let file = DataFile::copy_of("fhi.toml");
    let live = Arc::new(LiveCatalogue::from_file(&file.path).expect("the copy loads"));
    let watch = FileWatch::start(live.clone(), Duration::from_millis(20)).expect("watch");
    let pki = Pki::new(&["fhi"]);
    let running = start_live_custodian(&pki, live.clone(), latency).await;
    Started {
        file,
        live,
        pki,
        running,
        _watch: watch,
    }
}

async fn served_version(live: &LiveCatalogue, file: &DataFile, k: u32) {
    let marker = format!("Versjon {k}");
    eventually(&format!("version {k} served"), || {
        let current = live.current();
        let done = current.catalogue.sources().any(|s| {
            s.source.id == file.first.0 && s.source.name.as_ref().is_some_and(|n| n.nb == marker)
        });
        async move { done.then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn valid_edits_under_load_are_swapped_in_whole_with_a_new_revision_each() {
    let Started {
        file,
        live,
        pki,
        running,
        _watch,
    } = start(Duration::ZERO).await;
    let base = live.current().catalogue.sources().count() as u32;
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..6 {
        let mut client = custodian_client(&pki, &running, "fhi").await;
        let stop = stop.clone();
        readers.push(tokio::spawn(async move {
            let mut pages = Vec::new();
            for _ in 0..5_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                pages.push(all_sources(&mut client).await);
            }
            pages
        }));
    }
    const VERSIONS: u32 = 12;
    for k in 1..=VERSIONS {
        file.write(&file.version(k));
        served_version(&live, &file, k).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut revision_of_version: HashMap<u32, String> = HashMap::new();
    let mut version_of_revision: HashMap<String, u32> = HashMap::new();
    let mut answers = 0;
    for reader in readers {
        for page in reader.await.expect("reader") {
            let seen = seen(&file, &page);
            let k = version_of(&file, base, &seen);
            let revision = revision_of_version
                .entry(k)
                .or_insert_with(|| seen.revision.clone());
            assert_eq!(*revision, seen.revision, "version {k} under two revisions");
            let version = version_of_revision
                .entry(seen.revision.clone())
                .or_insert(k);
            assert_eq!(*version, k, "revision {} for two versions", seen.revision);
            answers += 1;
        }
    }
    assert!(
        revision_of_version.len() >= 3,
        "the readers saw only {revision_of_version:?} over {answers} answers"
    );
    // Every version got its own revision; the file's value where it changed, derived otherwise.
    assert_eq!(live.swaps(), u64::from(VERSIONS));
    for (k, revision) in &revision_of_version {
        match k {
            0 => {}
            k if k % 3 != 0 => assert_eq!(revision, &format!("load-{k}")),
            k => assert!(
                revision.starts_with(&format!("load-{}+", k - 1)),
                "{k}: {revision}"
            ),
        }
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_edit_keeps_the_previous_catalogue_serving_and_is_reported() {
    let Started {
        file,
        live,
        pki,
        running,
        _watch,
    } = start(Duration::ZERO).await;
    let mut client = custodian_client(&pki, &running, "fhi").await;
    let before = all_sources(&mut client).await;
    assert_eq!(
        health(&pki, &running, DATA_FILE_HEALTH).await,
        ServingStatus::Serving
    );

    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let mut client = custodian_client(&pki, &running, "fhi").await;
        let stop = stop.clone();
        readers.push(tokio::spawn(async move {
            let mut pages = Vec::new();
            for _ in 0..5_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                pages.push(all_sources(&mut client).await);
            }
            pages
        }));
    }
    file.write(&file.refused());
    let reported = eventually("the refusal reported", || {
        let mut client = client.clone();
        async move {
            client
                .get_custodian_info(pb::GetCustodianInfoRequest {})
                .await
                .expect("info")
                .into_inner()
                .reload_error
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        for page in reader.await.expect("reader") {
            assert_eq!(page, before, "the previous catalogue keeps serving, whole");
        }
    }
    assert!(reported.file.ends_with("fhi.toml"), "{reported:?}");
    let line_text = file
        .refused()
        .lines()
        .nth(reported.line as usize - 1)
        .map(str::to_string);
    assert_eq!(
        line_text.as_deref(),
        Some("no_such_field = 1"),
        "{reported:?}"
    );
    assert_eq!(reported.column, 1, "{reported:?}");
    assert!(
        format!("{} {}", reported.field, reported.message).contains("no_such_field"),
        "{reported:?}"
    );
    assert!(reported.failed_at.is_some());
    assert_eq!(
        health(&pki, &running, DATA_FILE_HEALTH).await,
        ServingStatus::NotServing
    );
    assert_eq!(
        health(&pki, &running, "helsedata.federation.v1.CustodianCatalogue").await,
        ServingStatus::Serving,
        "the catalogue itself is still served"
    );
    let info = client
        .get_custodian_info(pb::GetCustodianInfoRequest {})
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.catalogue_revision, before.catalogue_revision);

    // A valid edit replaces it and clears the report.
    file.write(&file.version(2));
    served_version(&live, &file, 2).await;
    let info = eventually("the report cleared", || {
        let mut client = client.clone();
        async move {
            let info = client
                .get_custodian_info(pb::GetCustodianInfoRequest {})
                .await
                .expect("info")
                .into_inner();
            info.reload_error.is_none().then_some(info)
        }
    })
    .await;
    assert_eq!(info.catalogue_revision, "load-2");
    assert_eq!(
        health(&pki, &running, DATA_FILE_HEALTH).await,
        ServingStatus::Serving
    );
    running.stop().await;
}

#[tokio::test]
async fn a_call_in_flight_during_a_reload_finishes_on_the_revision_it_started_on() {
    let Started {
        file,
        live,
        pki,
        running,
        _watch,
    } = start(Duration::from_millis(400)).await;
    let old_revision = live.current().revision().to_string();
    let mut client = custodian_client(&pki, &running, "fhi").await;
    let in_flight = {
        let mut client = client.clone();
        tokio::spawn(async move { all_sources(&mut client).await })
    };
    // The call is held by the added latency while the edit is swapped in.
    tokio::time::sleep(Duration::from_millis(100)).await;
    file.write(&file.version(1));
    served_version(&live, &file, 1).await;
    let answered = in_flight.await.expect("call");
    assert_eq!(answered.catalogue_revision, old_revision);
    assert_eq!(
        answered
            .data_sources
            .iter()
            .find(|s| s.id == file.first.0)
            .and_then(|s| s.name.clone())
            .map(|n| n.nb),
        Some(file.first.1.clone())
    );
    let after = all_sources(&mut client).await;
    assert_eq!(after.catalogue_revision, "load-1");
    running.stop().await;
}

#[tokio::test]
async fn a_page_token_of_an_older_revision_is_refused_with_a_clear_message() {
    let Started {
        file,
        live,
        pki,
        running,
        _watch,
    } = start(Duration::ZERO).await;
    let mut client = custodian_client(&pki, &running, "fhi").await;
    let first = client
        .list_data_sources(pb::ListDataSourcesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("first page")
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    file.write(&file.version(1));
    served_version(&live, &file, 1).await;
    let refused = client
        .list_data_sources(pb::ListDataSourcesRequest {
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .expect_err("a token of another revision");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused.message().contains("page_token"),
        "{}",
        refused.message()
    );
    running.stop().await;
}

async fn next_change(stream: &mut tonic::Streaming<pb::CatalogueChange>) -> pb::CatalogueChange {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a change within 10 s")
        .expect("stream healthy")
        .expect("stream open")
}

#[tokio::test]
async fn watch_catalogue_sends_the_current_revision_then_every_change() {
    let Started {
        file,
        live,
        pki,
        running,
        _watch,
    } = start(Duration::ZERO).await;
    let mut client = custodian_client(&pki, &running, "fhi").await;
    let mut stream = client
        .watch_catalogue(pb::WatchCatalogueRequest {})
        .await
        .expect("watch")
        .into_inner();
    let initial = next_change(&mut stream).await;
    assert_eq!(initial.catalogue_revision, live.current().revision());
    assert!(initial.previous_revision.is_empty());
    assert!(
        initial.added_ids.is_empty()
            && initial.changed_ids.is_empty()
            && initial.removed_ids.is_empty()
    );
    assert!(initial.served_since.is_some());

    file.write(&file.version(1));
    let one = next_change(&mut stream).await;
    assert_eq!(one.previous_revision, initial.catalogue_revision);
    assert_eq!(one.catalogue_revision, "load-1");
    assert_eq!(one.changed_ids, vec![file.first.0.clone()]);
    assert_eq!(one.removed_ids, vec![file.last.0.clone()]);
    assert!(one.added_ids.is_empty());

    file.write(&file.version(2));
    let two = next_change(&mut stream).await;
    assert_eq!(two.previous_revision, "load-1");
    assert_eq!(two.catalogue_revision, "load-2");
    assert_eq!(two.added_ids, vec![file.last.0.clone()]);
    assert_eq!(two.changed_ids, vec![file.first.0.clone()]);
    assert!(two.removed_ids.is_empty());

    // A refused edit sends nothing: the next message follows load-2 directly.
    file.write(&file.refused());
    eventually("the refusal", || {
        let error = live.reload_error();
        async move { error }
    })
    .await;
    file.write(&file.version(4));
    let four = next_change(&mut stream).await;
    assert_eq!(four.previous_revision, "load-2");
    assert_eq!(four.catalogue_revision, "load-4");
    let mut both = vec![file.first.0.clone(), file.last.0.clone()];
    both.sort();
    assert_eq!(four.changed_ids, both);

    // A watcher that starts now begins at the revision served now.
    let mut late = client
        .watch_catalogue(pb::WatchCatalogueRequest {})
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(next_change(&mut late).await.catalogue_revision, "load-4");

    // Shutting down ends the streams instead of waiting for them.
    running.stop().await;
    let ended = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the stream ends at shutdown");
    assert!(!matches!(ended, Ok(Some(_))), "{ended:?}");
}

/// The gateway's merged answer: every source it serves now, and the outcomes.
async fn gateway_sources(
    client: &mut FederatedCatalogueClient<Channel>,
    cache_control: Option<&'static str>,
) -> pb::SearchDataSourcesResponse {
    let mut request = tonic::Request::new(pb::SearchDataSourcesRequest {
        page_size: 500,
        ..Default::default()
    });
    if let Some(value) = cache_control {
        request
            .metadata_mut()
            .insert("cache-control", value.parse().expect("ascii"));
    }
    client
        .search_data_sources(request)
        .await
        .expect("gateway answers")
        .into_inner()
}

fn name_at_gateway(answer: &pb::SearchDataSourcesResponse, id: &str) -> Option<String> {
    answer
        .results
        .iter()
        .filter_map(|r| r.data_source.as_ref())
        .find(|s| s.id == id)
        .and_then(|s| s.name.as_ref())
        .map(|n| n.nb.clone())
}

fn outcome_of<'a>(
    answer: &'a pb::SearchDataSourcesResponse,
    custodian: &str,
) -> &'a pb::CustodianOutcome {
    answer
        .custodians
        .iter()
        .find(|o| o.custodian_id == custodian)
        .expect("an outcome per custodian")
}

/// A live custodian (counting its calls) for `name`.toml and a gateway in front of it.
struct LiveFederation {
    files: Vec<DataFile>,
    lives: Vec<Arc<LiveCatalogue>>,
    counters: Vec<CallCounter>,
    _watches: Vec<FileWatch>,
    custodians: Vec<Running>,
    gateway: Running,
    pki: Pki,
}

impl LiveFederation {
    async fn start(ids: &[&str], offers_watch: bool) -> Self {
        let pki = Pki::new(ids);
        let (mut files, mut lives, mut counters, mut watches, mut custodians) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for id in ids {
            let file = DataFile::copy_of(&format!("{id}.toml"));
            let live = Arc::new(LiveCatalogue::from_file(&file.path).expect("the copy loads"));
            watches.push(FileWatch::start(live.clone(), Duration::from_millis(20)).expect("watch"));
            let (running, counter) =
                start_counting_live_custodian(&pki, live.clone(), offers_watch).await;
            files.push(file);
            lives.push(live);
            counters.push(counter);
            custodians.push(running);
        }
        let named: Vec<(&str, &Running)> = ids.iter().copied().zip(custodians.iter()).collect();
        let config = gateway_config(&pki, &named);
        let gateway = start_gateway(config).await;
        Self {
            files,
            lives,
            counters,
            _watches: watches,
            custodians,
            gateway,
            pki,
        }
    }

    async fn stop(self) {
        self.gateway.stop().await;
        for custodian in self.custodians {
            custodian.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edit_reaches_the_gateway_through_the_watch_stream_and_only_what_changed_is_fetched() {
    let federation = LiveFederation::start(&["fhi"], true).await;
    let (file, live, counter) = (
        &federation.files[0],
        &federation.lives[0],
        &federation.counters[0],
    );
    let mut client = gateway_client(&federation.pki, &federation.gateway).await;
    let first = gateway_sources(&mut client, None).await;
    assert_eq!(
        name_at_gateway(&first, &file.first.0),
        Some(file.first.1.clone())
    );
    eventually("the gateway watching", || {
        let watching = live.watchers() > 0;
        async move { watching.then_some(()) }
    })
    .await;
    let (lists, gets) = (
        counter.calls_of("ListDataSources"),
        counter.calls_of("GetDataSource"),
    );

    // The catalogue time to live is a minute: seeing the edit sooner is the watch stream's doing.
    file.write(&file.version(2));
    let answer = eventually("the edit visible at the gateway", || {
        let mut client = client.clone();
        async move {
            let answer = gateway_sources(&mut client, None).await;
            (name_at_gateway(&answer, &file.first.0).as_deref() == Some("Versjon 2"))
                .then_some(answer)
        }
    })
    .await;
    assert_eq!(
        name_at_gateway(&answer, &file.last.0).as_deref(),
        Some("Versjon 2")
    );
    assert_eq!(outcome_of(&answer, "fhi").catalogue_revision, "load-2");
    assert_eq!(
        counter.calls_of("ListDataSources"),
        lists,
        "the catalogue is not read again"
    );
    assert_eq!(
        counter.calls_of("GetDataSource"),
        gets + 2,
        "the two changed sources are"
    );

    // A removed source disappears; the changed one is fetched, nothing else.
    file.write(&file.version(1));
    let answer = eventually("the removal visible at the gateway", || {
        let mut client = client.clone();
        async move {
            let answer = gateway_sources(&mut client, None).await;
            (name_at_gateway(&answer, &file.first.0).as_deref() == Some("Versjon 1"))
                .then_some(answer)
        }
    })
    .await;
    assert_eq!(name_at_gateway(&answer, &file.last.0), None);
    assert_eq!(counter.calls_of("ListDataSources"), lists);
    assert_eq!(counter.calls_of("GetDataSource"), gets + 3);
    federation.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_cache_confirms_each_revision_and_refetches_only_changed_custodians() {
    // Custodians without the watch stream: the gateway falls back to its time to live, and
    // only revalidation shows an edit before the minute is over.
    let federation = LiveFederation::start(&["fhi", "ssb"], false).await;
    let mut client = gateway_client(&federation.pki, &federation.gateway).await;
    let first = gateway_sources(&mut client, None).await;
    let counts = |method: &str| -> Vec<usize> {
        federation
            .counters
            .iter()
            .map(|c| c.calls_of(method))
            .collect()
    };
    let (lists, infos) = (counts("ListDataSources"), counts("GetCustodianInfo"));

    // Unchanged: one GetCustodianInfo each, the cached catalogues reused and confirmed live.
    let confirmed = gateway_sources(&mut client, Some("no-cache")).await;
    assert_eq!(confirmed.results, first.results);
    for outcome in &confirmed.custodians {
        assert_eq!(outcome.freshness, pb::Freshness::Live as i32, "{outcome:?}");
    }
    assert_eq!(counts("ListDataSources"), lists);
    assert_eq!(counts("GetCustodianInfo"), vec![infos[0] + 1, infos[1] + 1]);

    // Without no-cache the edit is not seen (the cached catalogue is fresh) ...
    let (fhi, ssb) = (&federation.files[0], &federation.files[1]);
    fhi.write(&fhi.version(2));
    served_version(&federation.lives[0], fhi, 2).await;
    let cached = gateway_sources(&mut client, None).await;
    assert_eq!(
        name_at_gateway(&cached, &fhi.first.0),
        Some(fhi.first.1.clone())
    );
    // ... with it, only the changed custodian's catalogue is read again.
    let revalidated = gateway_sources(&mut client, Some("no-cache")).await;
    assert_eq!(
        name_at_gateway(&revalidated, &fhi.first.0).as_deref(),
        Some("Versjon 2")
    );
    assert_eq!(
        name_at_gateway(&revalidated, &ssb.first.0),
        Some(ssb.first.1.clone())
    );
    assert_eq!(outcome_of(&revalidated, "fhi").catalogue_revision, "load-2");
    let after = counts("ListDataSources");
    assert!(after[0] > lists[0], "the changed custodian is read again");
    assert_eq!(after[1], lists[1], "the unchanged one is not");

    // no-store reads everything again.
    let _ = gateway_sources(&mut client, Some("no-store")).await;
    let forced = counts("ListDataSources");
    assert!(
        forced[0] > after[0] && forced[1] > after[1],
        "{forced:?} after {after:?}"
    );
    federation.stop().await;
}

/// The ids that differ between versions `a` and `b` of a file (see [`DataFile::version`]).
fn expected_diff(file: &DataFile, a: u32, b: u32) -> (Vec<String>, Vec<String>, Vec<String>) {
    let has_last = |k: u32| k.is_multiple_of(2);
    let (mut added, mut changed, mut removed) =
        (Vec::new(), vec![file.first.0.clone()], Vec::new());
    match (has_last(a), has_last(b)) {
        (true, true) => changed.push(file.last.0.clone()),
        (true, false) => removed.push(file.last.0.clone()),
        (false, true) => added.push(file.last.0.clone()),
        (false, false) => {}
    }
    changed.sort();
    added.sort();
    removed.sort();
    (added, changed, removed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_churn_answers_are_whole_page_tokens_are_kept_or_refused_clearly_and_the_feed_is_exact()
 {
    let federation = LiveFederation::start(&["fhi"], true).await;
    let (file, live) = (&federation.files[0], &federation.lives[0]);
    let base = live.current().catalogue.sources().count() as u32;
    let mut client = gateway_client(&federation.pki, &federation.gateway).await;
    let _ = gateway_sources(&mut client, None).await;
    eventually("the gateway watching", || {
        let watching = live.watchers() > 0;
        async move { watching.then_some(()) }
    })
    .await;
    let mut feed = client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .expect("watch the feed")
        .into_inner();
    let stop = Arc::new(AtomicBool::new(false));
    // The searchers and the pager share one identity: paced, the four stay under its rate
    // limit (1000 calls a second) however fast the gateway answers from its cache.
    const PACE: Duration = Duration::from_millis(5);
    let mut searchers = Vec::new();
    for _ in 0..3 {
        let mut client = client.clone();
        let stop = stop.clone();
        searchers.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..2_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                answers.push(gateway_sources(&mut client, None).await);
                tokio::time::sleep(PACE).await;
            }
            answers
        }));
    }
    let pager = {
        let mut client = client.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let (mut pages, mut refused) = (0, 0);
            let mut token = String::new();
            for _ in 0..2_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                tokio::time::sleep(PACE).await;
                let page = client
                    .search_data_sources(pb::SearchDataSourcesRequest {
                        page_size: 2,
                        page_token: token.clone(),
                        ..Default::default()
                    })
                    .await;
                match page {
                    Ok(page) => {
                        pages += 1;
                        token = page.into_inner().next_page_token;
                    }
                    Err(status) => {
                        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
                        assert!(
                            status.message().contains("start again from the first page"),
                            "{}",
                            status.message()
                        );
                        refused += 1;
                        token.clear();
                    }
                }
            }
            (pages, refused)
        })
    };
    let mut revision_of = HashMap::from([(live.current().revision().to_string(), 0u32)]);
    const VERSIONS: u32 = 10;
    for k in 1..=VERSIONS {
        file.write(&file.version(k));
        served_version(live, file, k).await;
        revision_of.insert(live.current().revision().to_string(), k);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let last_revision = live.current().revision().to_string();
    // The gateway catches up with the last version ...
    eventually("the last version at the gateway", || {
        let mut client = client.clone();
        let last_revision = last_revision.clone();
        async move {
            let answer = gateway_sources(&mut client, None).await;
            (outcome_of(&answer, "fhi").catalogue_revision == last_revision).then_some(())
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);

    // Every answer is one version, whole, under its own revision.
    let mut versions_seen = std::collections::BTreeSet::new();
    for searcher in searchers {
        for answer in searcher.await.expect("searcher") {
            let revision = outcome_of(&answer, "fhi").catalogue_revision.clone();
            let k = *revision_of
                .get(&revision)
                .unwrap_or_else(|| panic!("unknown revision {revision}"));
            let names: HashMap<&str, String> = answer
                .results
                .iter()
                .filter_map(|r| r.data_source.as_ref())
                .map(|s| (s.id.as_str(), s.name.clone().expect("name").nb))
                .collect();
            let first = if k == 0 {
                file.first.1.clone()
            } else {
                format!("Versjon {k}")
            };
            assert_eq!(
                names.get(file.first.0.as_str()),
                Some(&first),
                "revision {revision}"
            );
            let last = match k {
                0 => Some(file.last.1.clone()),
                k if k % 2 == 1 => None,
                k => Some(format!("Versjon {k}")),
            };
            assert_eq!(
                names.get(file.last.0.as_str()).cloned(),
                last,
                "revision {revision}"
            );
            assert_eq!(answer.total_size, if k % 2 == 1 { base - 1 } else { base });
            versions_seen.insert(k);
        }
    }
    assert!(versions_seen.len() >= 2, "{versions_seen:?}");
    let (pages, _refused) = pager.await.expect("pager");
    assert!(pages > 0);

    // The feed: a continuous chain of generations, each exactly the difference of its two
    // versions, ending at the last; no change missed or repeated.
    let mut changes = Vec::new();
    while changes
        .last()
        .map(|c: &pb::SourceChange| c.catalogue_revision.clone())
        != Some(last_revision.clone())
        || changes.len() < 2
    {
        let change = tokio::time::timeout(Duration::from_secs(10), feed.message())
            .await
            .expect("the feed within 10 s")
            .expect("feed healthy")
            .expect("feed open");
        changes.push(change);
        // Drain the rest of the last generation, if any.
        if changes
            .last()
            .is_some_and(|c| c.catalogue_revision == last_revision)
        {
            while let Ok(Ok(Some(more))) =
                tokio::time::timeout(Duration::from_millis(300), feed.message()).await
            {
                changes.push(more);
            }
            break;
        }
    }
    let tokens: std::collections::HashSet<&str> =
        changes.iter().map(|c| c.token.as_str()).collect();
    assert_eq!(tokens.len(), changes.len(), "no change repeated");
    let listed = client
        .list_changes(pb::ListChangesRequest {
            since: String::new(),
            page_size: 1000,
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.changes, changes, "the list and the stream agree");
    assert!(listed.caught_up);
    let mut generations: Vec<(String, String, Vec<&pb::SourceChange>)> = Vec::new();
    for change in &changes {
        match generations.last_mut() {
            Some((_, revision, members)) if *revision == change.catalogue_revision => {
                members.push(change)
            }
            _ => generations.push((
                change.previous_revision.clone(),
                change.catalogue_revision.clone(),
                vec![change],
            )),
        }
    }
    let mut at = live_revision_at_start(&revision_of);
    for (previous, revision, members) in &generations {
        assert_eq!(previous, &at, "the chain continues");
        let (a, b) = (revision_of[previous], revision_of[revision]);
        let of = |kind: pb::source_change::Kind| {
            let mut ids: Vec<String> = members
                .iter()
                .filter(|c| c.kind == kind as i32)
                .map(|c| c.data_source_id.clone())
                .collect();
            ids.sort();
            ids
        };
        use pb::source_change::Kind;
        assert_eq!(
            (of(Kind::Added), of(Kind::Changed), of(Kind::Removed)),
            expected_diff(file, a, b),
            "{previous} → {revision}"
        );
        for change in members.iter().filter(|c| c.kind != Kind::Removed as i32) {
            let record = change
                .data_source
                .as_ref()
                .expect("the record at the revision");
            let name = record.name.as_ref().expect("name").nb.clone();
            if change.data_source_id == file.first.0 {
                assert_eq!(name, format!("Versjon {b}"));
            }
        }
        at = revision.clone();
    }
    assert_eq!(at, last_revision);

    // A source as of an earlier retained revision.
    let (_, early, _) = &generations[0];
    let then = client
        .get_data_source_revision(pb::GetDataSourceRevisionRequest {
            id: file.first.0.clone(),
            catalogue_revision: early.clone(),
        })
        .await
        .expect("as of a retained revision")
        .into_inner();
    assert_eq!(
        then.data_source.expect("record").name.expect("name").nb,
        format!("Versjon {}", revision_of[early])
    );
    federation.stop().await;
}

fn live_revision_at_start(revision_of: &HashMap<String, u32>) -> String {
    revision_of
        .iter()
        .find(|(_, k)| **k == 0)
        .map(|(r, _)| r.clone())
        .expect("the first revision")
}
