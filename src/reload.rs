//! Hot reload: the settings file, the mapping files and the certificate are watched (their
//! directories, so the symlink swap Kubernetes does for a ConfigMap or Secret is seen), and SIGHUP
//! forces a reload. Each reload is validated in full before it is swapped in (see
//! [`Running::reload`]); a broken file leaves the running configuration in force.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::new_debouncer;
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
        if events.is_ok_and(|e| !e.is_empty()) {
            let _ = wake.send(());
        }
    })?;
    let mut watched = BTreeSet::new();
    watch_dirs(&mut debouncer, &mut watched, &running.watched_files(&settings_file));
    let mut stop = running.shutdown_signal();
    let task = tokio::spawn(async move {
        let mut hangup = hangup_signals();
        loop {
            tokio::select! {
                changed = rx.recv() => if changed.is_none() { break },
                () = next_hangup(&mut hangup) => tracing::info!("SIGHUP: reloading the configuration"),
                _ = stop.wait_for(|s| *s) => break,
            }
            // Coalesce a burst (an editor's save, a ConfigMap update) into one reload.
            while rx.try_recv().is_ok() {}
            let file = settings_file.clone();
            let r = Arc::clone(&running);
            let reloaded = tokio::task::spawn_blocking(move || r.reload(&file).is_ok()).await.unwrap_or(false);
            if reloaded {
                watch_dirs(&mut debouncer, &mut watched, &running.watched_files(&settings_file));
            }
        }
        drop(debouncer);
        drop(tx);
    });
    Ok(task)
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
