//! Reloading the data file when it changes on disk (or when asked, for example on SIGHUP).
//!
//! The directory holding the file is watched, not the file itself, so that editors and
//! deployment tools that replace the file (write a new one, then rename it over the old)
//! are followed as well as those that write in place. Bursts of events are coalesced: a
//! reload starts once the file has been quiet for the debounce interval. Writing the file
//! by rename is the safe way to edit it; a file written in place could be read half-written,
//! and is then refused (or, if the half happens to be a valid file, served until the rest
//! lands a moment later).

use std::{path::PathBuf, sync::Arc, time::Duration};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::live::{LiveCatalogue, ReloadError, ReloadOutcome};

/// How long the file must be quiet before it is read, unless configured otherwise.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(50);

/// Why the data file cannot be watched.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The catalogue was not loaded from a file.
    #[error("this catalogue was not loaded from a data file and cannot be watched")]
    NoFile,
    /// The operating system refused to watch the directory.
    #[error("cannot watch `{dir}` for changes of the data file: {source}")]
    Notify {
        /// The directory holding the data file (`.` when its path names none).
        dir: PathBuf,
        /// The error the file watcher reported.
        source: notify::Error,
    },
}

/// Watches a catalogue's data file and reloads it after each change; stops when dropped.
#[derive(Debug)]
pub struct FileWatch {
    _watcher: notify::RecommendedWatcher,
    trigger: mpsc::UnboundedSender<()>,
    task: JoinHandle<()>,
}

impl FileWatch {
    /// Starts watching `live`'s data file. Needs a Tokio runtime.
    pub fn start(live: Arc<LiveCatalogue>, debounce: Duration) -> Result<Self, WatchError> {
        let path = live.path().ok_or(WatchError::NoFile)?.to_path_buf();
        let name = path.file_name().ok_or(WatchError::NoFile)?.to_os_string();
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (trigger, mut events) = mpsc::unbounded_channel();
        let on_event = trigger.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                match event {
                    Ok(event)
                        if !matches!(event.kind, EventKind::Access(_))
                            && event
                                .paths
                                .iter()
                                .any(|p| p.file_name() == Some(name.as_os_str())) =>
                    {
                        let _ = on_event.send(());
                    }
                    Ok(_) => {}
                    // Lost events: read the file again to be sure.
                    Err(e) => {
                        tracing::warn!(error = %e, "watching the data file failed; reloading to be sure");
                        let _ = on_event.send(());
                    }
                }
            })
            .map_err(|source| WatchError::Notify {
                dir: dir.clone(),
                source,
            })?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|source| WatchError::Notify {
                dir: dir.clone(),
                source,
            })?;
        let task = tokio::spawn(async move {
            while events.recv().await.is_some() {
                loop {
                    match tokio::time::timeout(debounce, events.recv()).await {
                        Ok(Some(())) => continue,
                        Ok(None) => return,
                        Err(_quiet) => break,
                    }
                }
                reload_and_log(&live).await;
            }
        });
        tracing::info!(file = %path.display(), "watching the data file for changes");
        Ok(Self {
            _watcher: watcher,
            trigger,
            task,
        })
    }

    /// Asks for a reload now (debounced like a change of the file).
    pub fn trigger(&self) {
        let _ = self.trigger.send(());
    }
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reloads on a blocking thread and logs what happened: the new revision and what changed,
/// or the file, line, column and field of a refused edit.
pub async fn reload_and_log(live: &Arc<LiveCatalogue>) -> Option<ReloadOutcome> {
    let reloading = live.clone();
    let result = match tokio::task::spawn_blocking(move || reloading.reload()).await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "reloading the data file failed");
            return None;
        }
    };
    match result {
        Ok(outcome @ ReloadOutcome::Unchanged { .. }) => {
            tracing::debug!(?outcome, "data file read again; nothing changed");
            Some(outcome)
        }
        Ok(ReloadOutcome::Swapped {
            previous,
            revision,
            diff,
        }) => {
            tracing::info!(
                previous = %previous,
                revision = %revision,
                added = ?diff.added,
                changed = ?diff.changed,
                removed = ?diff.removed,
                "data file reloaded; new revision served"
            );
            Some(ReloadOutcome::Swapped {
                previous,
                revision,
                diff,
            })
        }
        Err(ReloadError::Refused(e)) => {
            tracing::error!(
                file = %e.file.display(),
                line = e.line,
                column = e.column,
                field = %e.field,
                error = %e,
                revision = %live.current().revision(),
                "edited data file refused; the previous catalogue keeps serving"
            );
            None
        }
        Err(e @ ReloadError::NoFile) => {
            tracing::warn!(error = %e, "reload asked for");
            None
        }
    }
}
