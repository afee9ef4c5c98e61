//! The gateway's change feed for consumers records every change of a custodian's catalogue
//! however the gateway learns of it, exactly once: here from a custodian that offers no
//! watch stream (as one of an older release), whose changes are found by revalidation
//! (`cache-control: no-cache`) or by the gateway's poll each catalogue time to live. Real
//! servers on loopback ports, mutual TLS, a data file edited while the custodian serves.

use std::{path::PathBuf, sync::Arc, time::Duration};

use custodian_stub::{live::LiveCatalogue, reload::FileWatch};
use fixture::{
    Pki, Running, gateway_client, gateway_config, repo_path, start_counting_live_custodian,
    start_gateway,
};
use helsedata::proto::{
    self as pb, federated_catalogue_client::FederatedCatalogueClient, source_change::Kind,
};
use tonic::transport::Channel;

/// A copy of `fhi.toml` served by a live custodian without a watch stream, and a gateway.
struct Federation {
    _dir: tempfile::TempDir,
    path: PathBuf,
    original: String,
    live: Arc<LiveCatalogue>,
    _watch: FileWatch,
    custodian: Running,
    gateway: Running,
    client: FederatedCatalogueClient<Channel>,
}

impl Federation {
    async fn start(catalogue_ttl_ms: u64) -> Self {
        let original = std::fs::read_to_string(repo_path("custodian-stub/data/fhi.toml"))
            .expect("bundled data file");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fhi.toml");
        std::fs::write(&path, &original).expect("write");
        let live = Arc::new(LiveCatalogue::from_file(&path).expect("the copy loads"));
        let watch = FileWatch::start(live.clone(), Duration::from_millis(20)).expect("watch");
        let pki = Pki::new(&["fhi"]);
        let (custodian, _calls) = start_counting_live_custodian(&pki, live.clone(), false).await;
        let mut config = gateway_config(&pki, &[("fhi", &custodian)]);
        config.cache.catalogue_ttl_ms = catalogue_ttl_ms;
        let gateway = start_gateway(config).await;
        let client = gateway_client(&pki, &gateway).await;
        Self {
            _dir: dir,
            path,
            original,
            live,
            _watch: watch,
            custodian,
            gateway,
            client,
        }
    }

    /// The first source's id and `name_nb`, and the last source's id, in file order.
    fn first_and_last(&self) -> ((String, String), String) {
        let field = |at: usize, name: &str| {
            self.original[at..]
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} = \"")))
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or_else(|| panic!("{name} of the source"))
                .to_string()
        };
        let first = self.original.find("\n[[source]]").expect("a source");
        let last = self.original.rfind("\n[[source]]").expect("a source");
        assert!(first < last, "the file has two sources or more");
        (
            (field(first, "id"), field(first, "name_nb")),
            field(last, "id"),
        )
    }

    /// Renames the first source and drops the last; waits until the custodian serves it.
    async fn edit(&self, new_name: &str) {
        let ((_, name), _) = self.first_and_last();
        let mut text = self.original.clone();
        text.truncate(text.rfind("\n[[source]]").expect("a source"));
        text.push('\n');
        let text = text.replacen(&format!("\"{name}\""), &format!("\"{new_name}\""), 1);
        let before = self.live.current().revision().to_string();
        let temporary = self.path.with_extension("toml.new");
        std::fs::write(&temporary, text).expect("write");
        std::fs::rename(&temporary, &self.path).expect("rename");
        for _ in 0..1000 {
            if self.live.current().revision() != before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the custodian did not reload the edit within 10 s");
    }

    async fn search(
        &mut self,
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
        self.client
            .search_data_sources(request)
            .await
            .expect("gateway answers")
            .into_inner()
    }

    /// Every change after `since`, and the token after them.
    async fn changes_since(&mut self, since: &str) -> (Vec<pb::SourceChange>, String) {
        let mut token = since.to_string();
        let mut all = Vec::new();
        loop {
            let page = self
                .client
                .list_changes(pb::ListChangesRequest {
                    since: token.clone(),
                    page_size: 100,
                })
                .await
                .expect("ListChanges")
                .into_inner();
            all.extend(page.changes);
            token = page.next_token;
            if page.caught_up {
                return (all, token);
            }
        }
    }

    async fn stop(self) {
        self.gateway.stop().await;
        self.custodian.stop().await;
    }
}

fn name_of(answer: &pb::SearchDataSourcesResponse, id: &str) -> Option<String> {
    answer
        .results
        .iter()
        .filter_map(|r| r.data_source.as_ref())
        .find(|s| s.id == id)
        .and_then(|s| s.name.as_ref())
        .map(|n| n.nb.clone())
}

/// The edit of [`Federation::edit`] as the feed must report it: the first source changed
/// (with its new record), the last removed, both from `previous` to `revision`.
fn assert_the_edit(
    changes: &[pb::SourceChange],
    (first, last): (&str, &str),
    new_name: &str,
    (previous, revision): (&str, &str),
) {
    let kinds: Vec<(i32, &str)> = changes
        .iter()
        .map(|c| (c.kind, c.data_source_id.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(Kind::Changed as i32, first), (Kind::Removed as i32, last)],
        "{changes:#?}"
    );
    for change in changes {
        assert_eq!(change.custodian_id, "fhi");
        assert_eq!(change.previous_revision, previous);
        assert_eq!(change.catalogue_revision, revision);
    }
    let record = changes[0].data_source.as_ref().expect("the new record");
    assert_eq!(record.name.as_ref().map(|n| n.nb.as_str()), Some(new_name));
    assert!(changes[1].data_source.is_none(), "a removal has no record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_found_by_revalidation_at_a_custodian_without_watch_is_in_the_feed_once() {
    // A minute's time to live: nothing but revalidation asks the custodian during the test.
    let mut federation = Federation::start(60_000).await;
    let ((first, _), last) = federation.first_and_last();
    let before = federation.live.current().revision().to_string();
    let start = federation.search(None).await;
    assert!(name_of(&start, &first).is_some());
    let (nothing, token) = federation.changes_since("").await;
    assert!(
        nothing.is_empty(),
        "the first catalogue is the starting point: {nothing:?}"
    );

    federation.edit("Endret navn").await;
    let after = federation.live.current().revision().to_string();
    let revalidated = federation.search(Some("no-cache")).await;
    assert_eq!(
        name_of(&revalidated, &first).as_deref(),
        Some("Endret navn")
    );
    assert_eq!(name_of(&revalidated, &last), None);
    let (changes, token) = federation.changes_since(&token).await;
    assert_the_edit(&changes, (&first, &last), "Endret navn", (&before, &after));

    // Asking again in every way finds the same revision: nothing more is recorded.
    for cache_control in [Some("no-cache"), Some("no-store"), None, Some("no-cache")] {
        let answer = federation.search(cache_control).await;
        assert_eq!(name_of(&answer, &first).as_deref(), Some("Endret navn"));
    }
    let (more, _) = federation.changes_since(&token).await;
    assert!(more.is_empty(), "recorded once: {more:#?}");
    federation.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_at_a_custodian_without_watch_reaches_the_feed_by_polling_once() {
    let ttl = Duration::from_millis(200);
    let mut federation = Federation::start(ttl.as_millis() as u64).await;
    let ((first, _), last) = federation.first_and_last();
    let before = federation.live.current().revision().to_string();
    let _ = federation.search(None).await;
    let mut feed = federation
        .client
        .watch_changes(pb::WatchChangesRequest::default())
        .await
        .expect("WatchChanges")
        .into_inner();

    // No consumer asks the gateway anything: the poll each time to live finds the edit.
    federation.edit("Endret ved polling").await;
    let after = federation.live.current().revision().to_string();
    let mut changes = Vec::new();
    while changes.len() < 2 {
        let change = tokio::time::timeout(Duration::from_secs(10), feed.message())
            .await
            .expect("the change in the feed within 10 s")
            .expect("the feed streams")
            .expect("the feed goes on");
        changes.push(change);
    }
    assert_the_edit(
        &changes,
        (&first, &last),
        "Endret ved polling",
        (&before, &after),
    );

    // Several more polls, and a forced full refetch, find the same revision.
    tokio::time::sleep(ttl * 5).await;
    let _ = federation.search(Some("no-store")).await;
    let (more, _) = federation.changes_since(&changes[1].token).await;
    assert!(more.is_empty(), "recorded once: {more:#?}");
    federation.stop().await;
}
