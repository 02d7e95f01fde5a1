//! Shared helpers for integration tests: start the real `scimgate` binary and learn where it listens.
//!
//! The gateway runs as a child process, exactly as an operator starts it, and tests talk to it over real
//! HTTP on loopback. The child is killed when the [`Gateway`] value is dropped, including when a test panics.

// Each test crate includes this module and uses a subset of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long the gateway may take to print its address.
const STARTUP: Duration = Duration::from_secs(60);

/// The path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_scimgate")
}

/// A running gateway process; killed on drop.
pub struct Gateway {
    child: Child,
    /// The SCIM base URL, e.g. `http://127.0.0.1:41234/demo/scim/v2`.
    pub base_url: String,
    /// The root URL of the listener, e.g. `http://127.0.0.1:41234`.
    pub root_url: String,
    /// A bearer token the gateway accepts.
    pub token: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    // Keeps a configuration file alive as long as the process that reads it.
    _dir: Option<tempfile::TempDir>,
}

impl Gateway {
    /// Starts `scimgate demo --target memory --listen 127.0.0.1:0` and reads its SCIM base URL and
    /// token from stdout.
    pub fn demo() -> Gateway {
        Gateway::demo_target("memory")
    }

    /// Starts `scimgate demo --target TARGET` on a free port and reads its SCIM base URL and token.
    pub fn demo_target(target: &str) -> Gateway {
        let mut command = Command::new(binary());
        command.args(["demo", "--target", target, "--listen", "127.0.0.1:0"]);
        let mut started = Started::spawn(command, "scimgate demo");
        let lines =
            started.wait_for(|lines| value_after(lines, "SCIM base URL:").zip(value_after(lines, "Bearer token:")));
        let (base_url, token) = lines;
        let root_url = root_of(&base_url);
        started.into_gateway(base_url, root_url, token, None)
    }

    /// Starts `scimgate serve --config <file>` with `yaml` as the file, and waits for its
    /// `listening on http://ADDR` line. `route` and `token` are those the YAML configures.
    pub fn serve(yaml: &str, route: &str, token: &str) -> Gateway {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let path = dir.path().join("scimgate.yaml");
        std::fs::write(&path, yaml).expect("write the configuration file");
        let mut command = Command::new(binary());
        command.arg("serve").arg("--config").arg(&path);
        let mut started = Started::spawn(command, "scimgate serve");
        let root_url = started.wait_for(|lines| {
            lines.iter().find_map(|line| line.trim().strip_prefix("listening on ").map(|url| url.trim().to_owned()))
        });
        let base_url = format!("{root_url}/{route}/scim/v2");
        started.into_gateway(base_url, root_url, token.to_owned(), Some(dir))
    }

    /// Everything the gateway printed so far, for failure messages.
    pub fn output(&self) -> String {
        let stdout = self.stdout.lock().map(|l| l.join("\n")).unwrap_or_default();
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        format!("--- gateway stdout ---\n{stdout}\n--- gateway stderr ---\n{stderr}")
    }

    /// The lines printed on stdout so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Everything printed on stderr so far.
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit; its exit code, if it exited with one.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child whose output is being collected, before it has said where it listens.
struct Started {
    child: Option<Child>,
    what: &'static str,
    lines: Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Started {
    fn spawn(mut command: Command, what: &'static str) -> Started {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {what} ({}): {e}", binary()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            drain_stdout(out, tx, Arc::clone(&stdout));
        }
        if let Some(mut err) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            // Keep reading so the child never blocks on a full pipe.
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        Started { child: Some(child), what, lines, stdout, stderr }
    }

    /// Waits until `ready` finds what it needs in the lines printed so far.
    fn wait_for<T>(&mut self, ready: impl Fn(&[String]) -> Option<T>) -> T {
        let deadline = Instant::now() + STARTUP;
        let mut seen = Vec::new();
        loop {
            if let Some(found) = ready(&seen) {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(RecvTimeoutError::Timeout) => self.fail(&format!("did not become ready within {STARTUP:?}")),
                Err(RecvTimeoutError::Disconnected) => self.fail("exited (or closed stdout) before it was ready"),
            }
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        let status = self.child.as_mut().map(|c| {
            let _ = c.kill();
            c.wait().map(|s| s.to_string()).unwrap_or_default()
        });
        // Let the reader threads catch up with the last output.
        thread::sleep(Duration::from_millis(200));
        let stdout = self.stdout.lock().map(|l| l.join("\n")).unwrap_or_default();
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        panic!(
            "{} {why} ({}).\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            self.what,
            status.unwrap_or_else(|| "exit status unknown".into())
        );
    }

    fn into_gateway(
        mut self,
        base_url: String,
        root_url: String,
        token: String,
        dir: Option<tempfile::TempDir>,
    ) -> Gateway {
        let child = self.child.take().expect("the child is present until handed over");
        Gateway {
            child,
            base_url,
            root_url,
            token,
            stdout: Arc::clone(&self.stdout),
            stderr: Arc::clone(&self.stderr),
            _dir: dir,
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn drain_stdout(out: ChildStdout, tx: mpsc::Sender<String>, log: Arc<Mutex<Vec<String>>>) {
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut log) = log.lock() {
                log.push(line.clone());
            }
            // The receiver is gone once the gateway is ready; keep draining regardless.
            let _ = tx.send(line);
        }
    });
}

/// The first non-empty line after the line `label`.
fn value_after(lines: &[String], label: &str) -> Option<String> {
    let at = lines.iter().position(|line| line.trim() == label)?;
    lines[at + 1..].iter().map(|l| l.trim()).find(|l| !l.is_empty()).map(str::to_owned)
}

/// `http://host:port` of a URL such as `http://host:port/demo/scim/v2`.
fn root_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => url[..after_scheme + slash].to_owned(),
        None => url.to_owned(),
    }
}

/// A `serve` configuration with one route on the in-memory target and one static token.
pub fn memory_route_yaml(route: &str, token: &str) -> String {
    format!(
        "listen: \"127.0.0.1:0\"\nroutes:\n  {route}:\n    target: {{ kind: memory }}\n    auth:\n      tokens:\n        - name: tester\n          value: \"{token}\"\n"
    )
}

/// Replaces `path` with `text` in one rename, as editors and Kubernetes do, so a watcher never
/// reads a half-written file.
pub fn write_atomically(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
