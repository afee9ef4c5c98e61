//! The catalogue a custodian serves now, replaced whole when its data file changes.
//!
//! A reload reads, validates and indexes the file off to the side; only a catalogue that
//! passed every check is swapped in, in one atomic store. A request takes the catalogue
//! once when it arrives and answers from it to the end, so calls in flight during a
//! reload finish on the revision they started on and no answer mixes two revisions. An
//! edit that fails validation changes nothing that is served: the error (file, line,
//! column, field) is kept and reported until a valid edit replaces it.
//!
//! # Revisions
//!
//! The served revision is the data file's `custodian.revision` value, unless this process
//! already served that value for other content (among its last 4096 revisions): then it is `<value>+<content hash>` (12
//! hex digits of a hash of the whole catalogue). So an edit that forgets to change the
//! value still yields a new revision, a value never names two contents, and an edit back
//! to content served before gets that content's revision again. An edit that changes
//! nothing (the file saved again as it was) keeps the revision and notifies no one.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use arc_swap::ArcSwap;
use helsedata::{
    custodian_data::{
        SourceBundle,
        load::{LoadError, LoadedCatalogue, load_file},
    },
    proto as pb,
};
use prost::Message;
use tokio::sync::watch;

use crate::catalogue::Catalogue;

/// How many served revisions (and their content hashes) are remembered to keep a revision
/// value from naming two contents.
const MAX_REMEMBERED_REVISIONS: usize = 4096;

/// One revision of the catalogue and when it began to be served.
#[derive(Debug)]
pub struct Revision {
    /// The validated, indexed catalogue this revision answers from.
    pub catalogue: Arc<Catalogue>,
    /// When it was swapped in.
    pub served_since: SystemTime,
}

impl Revision {
    fn now(catalogue: Arc<Catalogue>) -> Arc<Self> {
        Arc::new(Self {
            catalogue,
            served_since: SystemTime::now(),
        })
    }

    /// The revision served: the data file's `custodian.revision`, with a suffix added when
    /// that value already named other content.
    pub fn revision(&self) -> &str {
        &self.catalogue.info().catalogue_revision
    }
}

/// What differs between two catalogues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogueDiff {
    /// Source ids only in the newer catalogue, ordered.
    pub added: Vec<String>,
    /// Source ids in both whose record, access rules or variables differ, ordered.
    pub changed: Vec<String>,
    /// Source ids only in the older catalogue, ordered.
    pub removed: Vec<String>,
    /// Whether the facts about the custodian (other than the revision and counts) differ.
    pub custodian_changed: bool,
}

impl CatalogueDiff {
    /// Compares `old` with `new` (both keep their sources ordered by id).
    pub fn between(old: &Catalogue, new: &Catalogue) -> Self {
        Self::of(old.info(), old.sources(), new.info(), new.sources())
    }

    /// Compares two lists of sources, each ordered by id.
    fn of<'a>(
        old_info: &pb::CustodianInfo,
        old: impl Iterator<Item = &'a SourceBundle>,
        new_info: &pb::CustodianInfo,
        new: impl Iterator<Item = &'a SourceBundle>,
    ) -> Self {
        let mut diff = Self {
            custodian_changed: custodian_facts(old_info) != custodian_facts(new_info),
            ..Self::default()
        };
        let mut olds = old.peekable();
        let mut news = new.peekable();
        loop {
            match (olds.peek(), news.peek()) {
                (None, None) => return diff,
                (Some(o), None) => {
                    diff.removed.push(o.source.id.clone());
                    olds.next();
                }
                (None, Some(n)) => {
                    diff.added.push(n.source.id.clone());
                    news.next();
                }
                (Some(o), Some(n)) => match o.source.id.cmp(&n.source.id) {
                    std::cmp::Ordering::Less => {
                        diff.removed.push(o.source.id.clone());
                        olds.next();
                    }
                    std::cmp::Ordering::Greater => {
                        diff.added.push(n.source.id.clone());
                        news.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if o != n {
                            diff.changed.push(n.source.id.clone());
                        }
                        olds.next();
                        news.next();
                    }
                },
            }
        }
    }

    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && !self.custodian_changed
    }
}

/// The custodian's own facts without what a reload derives (revision, counts, reload error).
fn custodian_facts(info: &pb::CustodianInfo) -> pb::CustodianInfo {
    pb::CustodianInfo {
        catalogue_revision: String::new(),
        data_source_count: 0,
        variable_count: 0,
        reload_error: None,
        ..info.clone()
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The file describes the catalogue already served; nothing was swapped.
    Unchanged {
        /// The revision still served.
        revision: String,
    },
    /// A new revision is served.
    Swapped {
        /// The revision served before.
        previous: String,
        /// The revision served now.
        revision: String,
        /// The sources added, changed and removed, and whether the custodian's facts changed.
        diff: CatalogueDiff,
    },
}

/// Why a catalogue cannot be reloaded.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The catalogue was not loaded from a file.
    #[error("this catalogue was not loaded from a data file and cannot be reloaded")]
    NoFile,
    /// The edited file was refused; the previous catalogue keeps serving.
    #[error(transparent)]
    Refused(#[from] LoadError),
}

/// The catalogue a custodian serves now, with the means to reload and follow it.
#[derive(Debug)]
pub struct LiveCatalogue {
    path: Option<PathBuf>,
    current: ArcSwap<Revision>,
    changes: watch::Sender<Arc<Revision>>,
    refused: watch::Sender<Option<pb::ReloadError>>,
    closed: watch::Sender<bool>,
    /// Content hash of every revision served; held while reloading so that reloads run
    /// one at a time.
    served: Mutex<HashMap<String, u64>>,
    reloads: AtomicU64,
}

impl LiveCatalogue {
    /// A catalogue that is not backed by a file (it never changes).
    pub fn fixed(catalogue: Arc<Catalogue>) -> Self {
        Self::with(None, catalogue, HashMap::new())
    }

    /// Loads and indexes `path`; [`LiveCatalogue::reload`] reads it again.
    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        let loaded = load_file(path)?;
        let catalogue = Arc::new(Catalogue::new(loaded.info, loaded.sources));
        let served = HashMap::from([(
            catalogue.info().catalogue_revision.clone(),
            content_hash(catalogue.info(), catalogue.sources()),
        )]);
        Ok(Self::with(Some(path.to_path_buf()), catalogue, served))
    }

    fn with(
        path: Option<PathBuf>,
        catalogue: Arc<Catalogue>,
        served: HashMap<String, u64>,
    ) -> Self {
        let revision = Revision::now(catalogue);
        Self {
            path,
            current: ArcSwap::new(revision.clone()),
            changes: watch::channel(revision).0,
            refused: watch::channel(None).0,
            closed: watch::channel(false).0,
            served: Mutex::new(served),
            reloads: AtomicU64::new(0),
        }
    }

    /// The data file, when the catalogue was loaded from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The revision served now. Hold it for the whole of a request.
    pub fn current(&self) -> Arc<Revision> {
        self.current.load_full()
    }

    /// The custodian's facts as served now, with the reload error if the latest edit was refused.
    pub fn info(&self, revision: &Revision) -> pb::CustodianInfo {
        pb::CustodianInfo {
            reload_error: self.refused.borrow().clone(),
            ..revision.catalogue.info().clone()
        }
    }

    /// The refusal of the latest edit, if it was refused.
    pub fn reload_error(&self) -> Option<pb::ReloadError> {
        self.refused.borrow().clone()
    }

    /// Follows the served revision: the receiver sees every swap (or, when slow, the latest).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Revision>> {
        self.changes.subscribe()
    }

    /// Follows the reload error: `Some` while the latest edit is refused.
    pub fn subscribe_reload_errors(&self) -> watch::Receiver<Option<pb::ReloadError>> {
        self.refused.subscribe()
    }

    /// How many watch streams follow this catalogue now.
    pub fn watchers(&self) -> usize {
        self.changes.receiver_count()
    }

    /// Becomes `true` when the custodian shuts down; watch streams end then.
    pub fn subscribe_closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Ends every watch stream (at shutdown, so that draining does not wait for them).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Successful reloads that swapped in a new revision since start.
    pub fn swaps(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Reads the data file again. A valid file that changes the catalogue is swapped in
    /// with a new revision; a refused one leaves the served catalogue as it was and is
    /// reported by [`LiveCatalogue::reload_error`] until a later reload succeeds.
    /// Blocking (reads and indexes the file): call it from a blocking thread.
    pub fn reload(&self) -> Result<ReloadOutcome, ReloadError> {
        let path = self.path.as_deref().ok_or(ReloadError::NoFile)?;
        let mut served = self
            .served
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let loaded = match load_file(path) {
            Ok(loaded) => loaded,
            Err(e) => {
                self.refused.send_replace(Some(reload_error_of(&e)));
                return Err(e.into());
            }
        };
        let old = self.current();
        let outcome = self.swap_in(&old, loaded, &mut served);
        self.refused.send_replace(None);
        Ok(outcome)
    }

    fn swap_in(
        &self,
        old: &Revision,
        loaded: LoadedCatalogue,
        served: &mut HashMap<String, u64>,
    ) -> ReloadOutcome {
        let LoadedCatalogue {
            mut info,
            mut sources,
        } = loaded;
        sources.sort_by(|a, b| a.source.id.cmp(&b.source.id));
        let file_revision = std::mem::take(&mut info.catalogue_revision);
        let previous = old.revision().to_string();
        let diff = CatalogueDiff::of(
            old.catalogue.info(),
            old.catalogue.sources(),
            &info,
            sources.iter(),
        );
        let hash = content_hash(&info, sources.iter());
        let mut revision = match served.get(&file_revision) {
            Some(&other) if other != hash => {
                format!("{file_revision}+{:012x}", hash & 0xffff_ffff_ffff)
            }
            _ => file_revision,
        };
        if revision == previous {
            if diff.is_empty() {
                return ReloadOutcome::Unchanged { revision: previous };
            }
            // Only on a hash collision.
            revision = format!("{revision}.{}", self.swaps() + 1);
        }
        if served.len() >= MAX_REMEMBERED_REVISIONS {
            // Bounded memory for a custodian edited very often: forget all but the last.
            served.retain(|r, _| *r == previous);
        }
        served.insert(revision.clone(), hash);
        info.catalogue_revision = revision.clone();
        let catalogue = Arc::new(Catalogue::new(info, sources));
        let next = Revision::now(catalogue);
        self.current.store(next.clone());
        self.changes.send_replace(next);
        self.reloads.fetch_add(1, Ordering::Relaxed);
        ReloadOutcome::Swapped {
            previous,
            revision,
            diff,
        }
    }
}

fn reload_error_of(e: &LoadError) -> pb::ReloadError {
    pb::ReloadError {
        file: e.file.display().to_string(),
        line: e.line as u32,
        column: e.column as u32,
        field: e.field.clone(),
        message: e.message.clone(),
        failed_at: Some(SystemTime::now().into()),
    }
}

/// FNV-1a over the encoded custodian facts and sources: stable for the same content.
fn content_hash<'a>(
    info: &pb::CustodianInfo,
    sources: impl Iterator<Item = &'a SourceBundle>,
) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(&custodian_facts(info).encode_to_vec());
    for bundle in sources {
        feed(&bundle.source.encode_to_vec());
        feed(&bundle.access.encode_to_vec());
        for variable in &bundle.variables {
            feed(&variable.encode_to_vec());
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = include_str!("../data/fhi.toml");

    fn live_from(text: &str) -> (tempfile::TempDir, PathBuf, LiveCatalogue) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fhi.toml");
        std::fs::write(&path, text).expect("write");
        let live = LiveCatalogue::from_file(&path).expect("loads");
        (dir, path, live)
    }

    /// The Norwegian name of the `nth` source of `catalogue`.
    fn nb_name(catalogue: &Catalogue, nth: usize) -> String {
        let source = &catalogue.sources().nth(nth).expect("a source").source;
        source.name.clone().expect("name").nb
    }

    fn file_revision(text: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix("revision = "))
            .expect("revision line")
            .trim_matches('"')
            .to_string()
    }

    #[test]
    fn saving_the_same_content_keeps_the_revision() {
        let (_dir, _path, live) = live_from(FILE);
        let before = live.current().revision().to_string();
        let outcome = live.reload().expect("reloads");
        assert_eq!(outcome, ReloadOutcome::Unchanged { revision: before });
        assert_eq!(live.swaps(), 0);
    }

    #[test]
    fn an_edit_without_a_new_file_revision_gets_a_derived_one_and_a_diff() {
        let (_dir, path, live) = live_from(FILE);
        let old = live.current();
        let target = old
            .catalogue
            .sources()
            .nth(1)
            .expect("a source")
            .source
            .id
            .clone();
        let old_name = nb_name(&old.catalogue, 1);
        let edited = FILE.replacen(&format!("\"{old_name}\""), "\"Et nytt navn\"", 1);
        assert_ne!(edited, FILE, "the name is written as a quoted string");
        std::fs::write(&path, &edited).expect("write");
        let ReloadOutcome::Swapped {
            previous,
            revision,
            diff,
        } = live.reload().expect("reloads")
        else {
            panic!("an edit swaps");
        };
        assert_eq!(previous, file_revision(FILE));
        assert!(revision.starts_with(&format!("{previous}+")), "{revision}");
        assert_eq!(diff.changed, vec![target.clone()]);
        assert!(diff.added.is_empty() && diff.removed.is_empty());
        assert_eq!(live.current().revision(), revision);
        // The old revision is still whole for whoever holds it.
        assert_eq!(
            old.catalogue
                .get_source(&pb::GetDataSourceRequest {
                    id: target,
                    view: 0
                })
                .expect("old source")
                .name
                .expect("name")
                .nb,
            old_name
        );
    }

    #[test]
    fn a_new_file_revision_is_served_as_it_is() {
        let (_dir, path, live) = live_from(FILE);
        let rev = file_revision(FILE);
        std::fs::write(
            &path,
            FILE.replacen(
                &format!("revision = \"{rev}\""),
                "revision = \"rev-next\"",
                1,
            ),
        )
        .expect("write");
        let ReloadOutcome::Swapped { revision, diff, .. } = live.reload().expect("reloads") else {
            panic!("a new revision swaps");
        };
        assert_eq!(revision, "rev-next");
        assert!(diff.is_empty(), "{diff:?}");
    }

    #[test]
    fn a_revision_value_names_one_content_only() {
        let (_dir, path, live) = live_from(FILE);
        let original = live.current().revision().to_string();
        let name = nb_name(&live.current().catalogue, 0);
        let edited = FILE.replacen(&format!("\"{name}\""), "\"Et nytt navn\"", 1);
        std::fs::write(&path, &edited).expect("write");
        let derived = live.current_after_reload();
        assert!(derived.starts_with(&format!("{original}+")), "{derived}");
        // Back to the first content: its revision again.
        std::fs::write(&path, FILE).expect("write");
        assert_eq!(live.current_after_reload(), original);
        // The edited content under a new value, then under the first value again.
        std::fs::write(
            &path,
            edited.replacen(
                &format!("revision = \"{original}\""),
                "revision = \"neste\"",
                1,
            ),
        )
        .expect("write");
        assert_eq!(live.current_after_reload(), "neste");
        std::fs::write(&path, &edited).expect("write");
        assert_eq!(
            live.current_after_reload(),
            derived,
            "the value was served for other content"
        );
    }

    impl LiveCatalogue {
        fn current_after_reload(&self) -> String {
            self.reload().expect("reloads");
            self.current().revision().to_string()
        }
    }

    #[test]
    fn a_refused_edit_keeps_the_catalogue_and_reports_where() {
        let (_dir, path, live) = live_from(FILE);
        let before = live.current();
        std::fs::write(
            &path,
            FILE.replacen("[[source]]", "[[source]]\nno_such_field = 1", 1),
        )
        .expect("write");
        let Err(ReloadError::Refused(e)) = live.reload() else {
            panic!("an unknown field is refused");
        };
        let reported = live.reload_error().expect("reported");
        assert_eq!(reported.line as usize, e.line);
        assert!(reported.line > 0 && reported.column > 0, "{reported:?}");
        assert!(
            reported.field.contains("no_such_field") || reported.message.contains("no_such_field"),
            "{reported:?}"
        );
        assert!(
            Arc::ptr_eq(&before, &live.current()),
            "the old revision keeps serving"
        );
        assert_eq!(live.info(&live.current()).reload_error, Some(reported));
        std::fs::write(&path, FILE).expect("write back");
        assert!(matches!(live.reload(), Ok(ReloadOutcome::Unchanged { .. })));
        assert_eq!(live.reload_error(), None, "a valid file clears the error");
    }

    #[test]
    fn removing_and_adding_sources_is_reported() {
        let (_dir, path, live) = live_from(FILE);
        let ids: Vec<String> = live
            .current()
            .catalogue
            .sources()
            .map(|b| b.source.id.clone())
            .collect();
        // Drop the last [[source]] table (and everything after it).
        let cut = FILE.rfind("\n[[source]]").expect("sources");
        std::fs::write(&path, &FILE[..cut]).expect("write");
        let ReloadOutcome::Swapped { diff, .. } = live.reload().expect("reloads") else {
            panic!("swaps");
        };
        assert_eq!(diff.removed.len(), 1);
        assert!(ids.contains(&diff.removed[0]));
        std::fs::write(&path, FILE).expect("write back");
        let ReloadOutcome::Swapped { diff: back, .. } = live.reload().expect("reloads") else {
            panic!("swaps");
        };
        assert_eq!(back.added, diff.removed);
    }
}
