//! The gateway under test: `scimgate serve` as a child process, so that its memory is its own and
//! it is started exactly as an operator starts it (settings file, production loader).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;

use crate::drive::Connection;

/// A running `scimgate serve`.
pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    /// From spawning the process to the first `200` from `/readyz`.
    pub startup: Duration,
    log: PathBuf,
}

/// How the gateway is started.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// A command the gateway runs under (e.g. `valgrind --tool=callgrind`), empty for none.
    pub wrap: Vec<String>,
    /// How long to wait for `/readyz`.
    pub ready_timeout: Duration,
    /// The binary; `scimgate` beside this one when not given.
    pub binary: Option<PathBuf>,
    /// `http.worker_threads`; the gateway's default when `None`.
    pub threads: Option<usize>,
    /// `http.server_timing`: on for the gateway being measured, so that its answers tell its own
    /// time apart from the application's; off for an application, whose header a pass-through
    /// proxy would forward as its own.
    pub server_timing: bool,
}

impl Gateway {
    /// Writes `routes` (YAML, indented under `routes:`) to a settings file in `dir` and starts
    /// the gateway on a free local port.
    pub async fn start(dir: &Path, name: &str, routes: &str, launch: &Launch) -> Result<Gateway, String> {
        let addr = free_port()?;
        let threads = launch.threads.map(|n| format!(", worker_threads: {n}")).unwrap_or_default();
        let http = format!("http: {{ server_timing: {}{threads} }}\n", launch.server_timing);
        let settings = format!("listen: {addr}\naudit: {{ to: off }}\n{http}routes:\n{routes}");
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, settings).map_err(|e| format!("{}: {e}", file.display()))?;
        let log = dir.join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let binary = match &launch.binary {
            Some(b) => b.clone(),
            None => gateway_binary()?,
        };
        let mut cmd = match launch.wrap.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        cmd.args(["serve", "--config"]).arg(&file).env("SCIMGATE_LOG", "warn");
        let started = Instant::now();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut gw = Gateway { child, addr, startup: Duration::ZERO, log };
        gw.wait_ready(started, launch.ready_timeout).await?;
        Ok(gw)
    }

    /// Polls `/readyz` every millisecond until it answers 200.
    async fn wait_ready(&mut self, started: Instant, timeout: Duration) -> Result<(), String> {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the gateway exited ({status}) before it was ready: {}", self.log_tail()));
            }
            if ready(self.addr).await {
                self.startup = started.elapsed();
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(format!("the gateway was not ready within {timeout:?}: {}", self.log_tail()));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// `http://addr`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory, from `/proc/PID/status`.
    pub fn rss_kib(&self) -> Option<u64> {
        crate::procfs::rss_kib(self.pid())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Asks the gateway to stop (SIGTERM, so that a wrapper such as valgrind writes its output)
    /// and waits for it.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let terminated = Command::new("kill").args(["-TERM", &pid]).status().is_ok_and(|s| s.success());
        if terminated {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether `/readyz` answers 200.
async fn ready(addr: SocketAddr) -> bool {
    let Ok(mut conn) = Connection::open(addr).await else { return false };
    let mut req = Request::new(Full::new(Bytes::new()));
    *req.method_mut() = Method::GET;
    *req.uri_mut() = http::Uri::from_static("/readyz");
    if let Ok(host) = addr.to_string().parse() {
        req.headers_mut().insert(header::HOST, host);
    }
    conn.send(req).await.is_ok_and(|r| r.status().is_success())
}

/// `scimgate`, next to this binary.
fn gateway_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let binary = exe.with_file_name(format!("scimgate{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        return Err(format!("{} not found: build both binaries (cargo build --release --bins)", binary.display()));
    }
    Ok(binary)
}

/// A local port no one listens on right now.
fn free_port() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// The YAML of one route, indented under `routes:`.
pub fn route(name: &str, target: &str, auth: &str) -> String {
    format!("  {name}:\n    target: {target}\n    auth: {auth}\n")
}
