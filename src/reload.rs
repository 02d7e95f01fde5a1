//! Hot reload: the settings file, the mapping files and the certificate are watched (their
//! directories, so the symlink swap Kubernetes does for a ConfigMap or Secret is seen), and SIGHUP
//! forces a reload. Each reload is validated in full before it is swapped in (see
//! [`Running::reload`]); a broken file leaves the running configuration in force.
//!
//! A directory sees more than its configuration files change: a log file beside them, an editor's
//! swap file, and every read of them (a reload reads them too). So reads are not changes, and a
//! change reloads only when the bytes a reload would read differ from those last loaded or
//! refused: otherwise a reload's own reads, or a log written beside the settings, would reload
//! without end.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::RecursiveMode;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify_debouncer_full::new_debouncer;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::app::Running;

/// Changes closer together than this are one reload.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Watches what `running` was configured from until it shuts down. Returns once the watcher is
/// installed.
pub fn spawn(running: Arc<Running>, settings_file: PathBuf) -> notify::Result<tokio::task::JoinHandle<()>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let wake = tx.clone();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |events: notify_debouncer_full::DebounceEventResult| {
        if events.is_ok_and(|e| e.iter().any(|e| may_change(&e.kind))) {
            let _ = wake.send(());
        }
    })?;
    let mut loaded = Fingerprint::of(running.watched_files(&settings_file));
    let mut watched = BTreeSet::new();
    watch_dirs(&mut debouncer, &mut watched, &loaded.files);
    let mut stop = running.shutdown_signal();
    let task = tokio::spawn(async move {
        let mut hangup = hangup_signals();
        loop {
            let forced = tokio::select! {
                changed = rx.recv() => if changed.is_none() { break } else { false },
                () = next_hangup(&mut hangup) => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    true
                }
                _ = stop.wait_for(|s| *s) => break,
            };
            // Coalesce a burst (an editor's save, a ConfigMap update) into one reload.
            while rx.try_recv().is_ok() {}
            let file = settings_file.clone();
            let r = Arc::clone(&running);
            let previous = loaded.clone();
            let attempt = tokio::task::spawn_blocking(move || {
                // Taken before the reload reads the files: a change made in between is seen by
                // the next event, never lost.
                let now = Fingerprint::of(r.watched_files(&file));
                if !forced && now == previous {
                    return (now, None);
                }
                let reloaded = r.reload(&file).is_ok();
                (now, Some(reloaded))
            })
            .await;
            let Ok((now, outcome)) = attempt else { continue };
            match outcome {
                None => tracing::debug!("configuration files unchanged; not reloaded"),
                // The files the new settings name: those the fingerprint was just taken of.
                Some(true) => watch_dirs(&mut debouncer, &mut watched, &now.files),
                Some(false) => {}
            }
            // Also after a refused reload: the same broken bytes are not tried again on every
            // unrelated event in the directory.
            loaded = now;
        }
        drop(debouncer);
        drop(tx);
    });
    Ok(task)
}

/// Whether an event can mean new content. Opening, reading and closing a file unwritten cannot.
fn may_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// The files a reload would read, and a digest of each one's bytes (`None`: the file cannot be
/// read, as in the middle of a swap).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    files: Vec<PathBuf>,
    digests: Vec<Option<[u8; 32]>>,
}

impl Fingerprint {
    fn of(files: Vec<PathBuf>) -> Fingerprint {
        let digests = files.iter().map(|f| std::fs::read(f).ok().map(|b| Sha256::digest(b).into())).collect();
        Fingerprint { files, digests }
    }
}

fn watch_dirs<D: notify_debouncer_full::notify::Watcher, C: notify_debouncer_full::FileIdCache>(
    debouncer: &mut notify_debouncer_full::Debouncer<D, C>,
    watched: &mut BTreeSet<PathBuf>,
    files: &[PathBuf],
) {
    for file in files {
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        if watched.insert(dir.clone())
            && let Err(e) = debouncer.watch(&dir, RecursiveMode::NonRecursive)
        {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch for configuration changes");
            watched.remove(&dir);
        }
    }
}

#[cfg(unix)]
fn hangup_signals() -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangup_signals() -> Option<()> {
    None
}

#[cfg(unix)]
async fn next_hangup(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Option<()>) {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode};

    use super::*;

    #[test]
    fn reads_are_not_changes_and_writes_are() {
        for read in
            [AccessKind::Open(AccessMode::Read), AccessKind::Read, AccessKind::Close(AccessMode::Read), AccessKind::Any]
        {
            assert!(!may_change(&EventKind::Access(read)), "{read:?}");
        }
        for change in [
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Remove(RemoveKind::File),
            EventKind::Any,
        ] {
            assert!(may_change(&change), "{change:?}");
        }
    }

    #[test]
    fn a_fingerprint_follows_the_bytes_and_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
        std::fs::write(&a, "x: 1\n").unwrap();
        std::fs::write(&b, "y: 1\n").unwrap();
        let files = vec![a.clone(), b.clone()];
        let first = Fingerprint::of(files.clone());
        std::fs::write(&a, "x: 1\n").unwrap();
        assert_eq!(Fingerprint::of(files.clone()), first, "same bytes written again");
        std::fs::write(&b, "y: 2\n").unwrap();
        let changed = Fingerprint::of(files.clone());
        assert_ne!(changed, first);
        std::fs::remove_file(&a).unwrap();
        assert_ne!(Fingerprint::of(files.clone()), changed, "a file gone");
        assert_ne!(Fingerprint::of(files[1..].to_vec()), Fingerprint::of(files), "another set of files");
    }
}
