//! The configuration watcher reloads when a configuration file's bytes change, and on nothing
//! else. The gateway runs as an operator often starts it: its log written into the directory of
//! its settings file, which is the directory the watcher watches.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::write_atomically;

const TOKEN: &str = "reload-watch-token";

/// Longer than the watcher's debounce (250 ms) several times over.
const SETTLE: Duration = Duration::from_millis(1500);

fn settings_yaml(max_count: usize) -> String {
    format!(
        "listen: 127.0.0.1:0\nscim:\n  max_count: {max_count}\nroutes:\n  main:\n    target: {{ kind: memory }}\n    auth:\n      tokens: [{{ name: idp, value: {TOKEN} }}]\n"
    )
}

struct Served {
    child: Child,
    root: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `scimgate serve` with its log (stderr) in `log`.
fn serve(settings: &Path, log: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimgate"))
        .args(["serve", "--config"])
        .arg(settings)
        .env("SCIMGATE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let root = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Served { root: root.to_owned(), child }
}

/// (applied, rejected) reloads, from the gateway's metrics.
async fn reloads(http: &reqwest::Client, root: &str) -> (u64, u64) {
    let text = http.get(format!("{root}/metrics")).send().await.unwrap().text().await.unwrap();
    let count = |result: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("scimgate_config_reloads_total{{result=\"{result}\"}}")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    (count("applied"), count("rejected"))
}

async fn until_reloads(http: &reqwest::Client, root: &str, want: (u64, u64), what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reloads(http, root).await != want {
        assert!(Instant::now() < deadline, "{what}: reloads {:?}, expected {want:?}", reloads(http, root).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn max_results(http: &reqwest::Client, root: &str) -> u64 {
    let r = http.get(format!("{root}/main/scim/v2/ServiceProviderConfig")).bearer_auth(TOKEN).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    v["filter"]["maxResults"].as_u64().unwrap()
}

/// Reads, a log written beside the settings, and a rewrite with the same bytes do not reload; a
/// change reloads once, and neither that reload's own reads nor its log line start another; a
/// broken file is refused once and not retried while only the log changes; mending it reloads.
#[tokio::test]
async fn reloads_on_changed_bytes_only() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("scimgate.yaml");
    write_atomically(&settings, &settings_yaml(100));
    let log = dir.path().join("scimgate.log");
    let served = serve(&settings, &log);
    let (http, root) = (reqwest::Client::new(), served.root.as_str());
    assert_eq!(max_results(&http, root).await, 100);

    let unrelated = dir.path().join("notes.txt");
    for i in 0..5 {
        assert!(!std::fs::read(&settings).unwrap().is_empty());
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&unrelated).unwrap();
        writeln!(f, "line {i}").unwrap();
        write_atomically(&settings, &settings_yaml(100));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(SETTLE).await;
    assert_eq!(reloads(&http, root).await, (0, 0), "reads and unchanged bytes reloaded");

    write_atomically(&settings, &settings_yaml(200));
    until_reloads(&http, root, (1, 0), "a changed settings file").await;
    assert_eq!(max_results(&http, root).await, 200);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(reloads(&http, root).await, (1, 0), "a reload started another");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.matches("configuration reloaded").count(), 1, "log: {logged}");

    write_atomically(&settings, "listen: 127.0.0.1:0\nroutes:\n  main:\n    target: { kind: nowhere }\n");
    until_reloads(&http, root, (1, 1), "a broken settings file").await;
    for i in 0..5 {
        let mut f = std::fs::OpenOptions::new().append(true).open(&unrelated).unwrap();
        writeln!(f, "more {i}").unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(SETTLE).await;
    assert_eq!(reloads(&http, root).await, (1, 1), "the same broken file was tried again");
    assert_eq!(max_results(&http, root).await, 200, "the broken file was applied");

    write_atomically(&settings, &settings_yaml(300));
    until_reloads(&http, root, (2, 1), "the mended settings file").await;
    assert_eq!(max_results(&http, root).await, 300);
}

/// A Kubernetes ConfigMap update: the settings file is a symlink through `..data`, and the update
/// writes a new timestamped directory and swaps the `..data` symlink to it in one rename. The
/// watched file's own path never changes; the bytes behind it do, and they reload once.
#[cfg(unix)]
#[tokio::test]
async fn a_configmap_symlink_swap_reloads_once() {
    use std::os::unix::fs::symlink;

    let dir = tempfile::tempdir().unwrap();
    let version = |name: &str, max_count: usize| {
        let d = dir.path().join(name);
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("scimgate.yaml"), settings_yaml(max_count)).unwrap();
    };
    version("..2026_01_01_00_00_00.1", 100);
    symlink("..2026_01_01_00_00_00.1", dir.path().join("..data")).unwrap();
    let settings = dir.path().join("scimgate.yaml");
    symlink("..data/scimgate.yaml", &settings).unwrap();
    let log_dir = tempfile::tempdir().unwrap();
    let served = serve(&settings, &log_dir.path().join("scimgate.log"));
    let (http, root) = (reqwest::Client::new(), served.root.as_str());
    assert_eq!(max_results(&http, root).await, 100);

    version("..2026_01_01_00_01_00.2", 250);
    symlink("..2026_01_01_00_01_00.2", dir.path().join("..data_tmp")).unwrap();
    std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
    std::fs::remove_dir_all(dir.path().join("..2026_01_01_00_00_00.1")).unwrap();
    until_reloads(&http, root, (1, 0), "the swapped ConfigMap").await;
    assert_eq!(max_results(&http, root).await, 250);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(reloads(&http, root).await, (1, 0), "one swap reloaded more than once");
}
