//! The floor under any proxy's cost on this machine: an HTTP/1 pass-through proxy with nothing
//! else in it (no authentication, no mapping, no JSON, no pool: each inbound connection gets one
//! upstream connection, and requests and answers are forwarded unchanged, bodies streamed). It
//! runs as a child process of the harness (`scimgate-load --passthrough-to ADDR [THREADS]`), so that its
//! CPU time is its own, as the gateway's is.

use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::scenarios::{Run, memory_backend, openmetadata_direct, openmetadata_with_users, print_title, side_by_side};
use crate::side::Side;

/// The hidden argument that makes this binary the proxy.
pub const ARG: &str = "--passthrough-to";

/// Serves on a free local port until killed, forwarding to `upstream` with `threads` worker
/// threads (one per CPU when absent); prints the address it listens on as the first line of
/// standard output.
pub fn serve(upstream: &str, threads: Option<&str>) -> Result<(), String> {
    let upstream: SocketAddr = upstream.parse().map_err(|e| format!("{ARG} {upstream}: {e}"))?;
    let threads = threads.map(|n| n.parse::<usize>().map_err(|e| format!("{ARG}: threads {n}: {e}"))).transpose()?;
    // The gateway's runtime, so that the floor has the same scheduler.
    let runtime = scimgate::server::runtime::build(threads).map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        println!("{}", listener.local_addr().map_err(|e| e.to_string())?);
        loop {
            let (inbound, _) = listener.accept().await.map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                if let Err(e) = forward_connection(inbound, upstream).await {
                    eprintln!("passthrough: {e}");
                }
            });
        }
    })
}

/// Forwards one inbound connection's requests, one after the other, over its own upstream
/// connection.
async fn forward_connection(inbound: TcpStream, upstream: SocketAddr) -> Result<(), String> {
    inbound.set_nodelay(true).map_err(|e| e.to_string())?;
    let out = TcpStream::connect(upstream).await.map_err(|e| format!("upstream: {e}"))?;
    out.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(out)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    // HTTP/1 serves a connection's requests in turn, so the lock is never contended.
    let sender: Arc<Mutex<SendRequest<Incoming>>> = Arc::new(Mutex::new(sender));
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let sender = Arc::clone(&sender);
        async move {
            let mut sender = sender.lock().await;
            sender.ready().await?;
            sender.send_request(req).await
        }
    });
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(inbound), service)
        .await
        .map_err(|e| e.to_string())
}

/// A running pass-through proxy.
pub struct Passthrough {
    child: Child,
    pub addr: SocketAddr,
}

impl Passthrough {
    /// Starts this binary as a proxy in front of `upstream`, with `threads` worker threads (one
    /// per CPU when `None`, like the gateway).
    pub fn start(upstream: SocketAddr, threads: Option<usize>) -> Result<Passthrough, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        cmd.arg(ARG).arg(upstream.to_string());
        if let Some(n) = threads {
            cmd.arg(n.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the pass-through proxy: {e}"))?;
        let addr = child.stdout.take().ok_or("no standard output").and_then(first_line_addr);
        match addr {
            Ok(addr) => Ok(Passthrough { child, addr }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("the pass-through proxy did not start: {e}"))
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn first_line_addr(stdout: ChildStdout) -> Result<SocketAddr, &'static str> {
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map_err(|_| "unreadable output")?;
    line.trim().parse().map_err(|_| "no address on its first line")
}

impl Drop for Passthrough {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The section: the pass-through proxy in front of the emulated OpenMetadata and in front of
/// scimgate on the memory target, each against its application called directly. The gateway's
/// ratios in the other sections read against these.
pub async fn section(run: &Run) -> Result<(), String> {
    let (om, users) = openmetadata_with_users(run.o.users).await?;
    let direct = openmetadata_direct(&om, Arc::new(users))?;
    table(run, "the emulated OpenMetadata", "this process (load generator and emulator)", &direct).await?;
    drop(direct);
    let (backend, direct) = memory_backend(run).await?;
    let result = table(run, "scimgate on the memory target", "the backend scimgate process", &direct).await;
    backend.stop();
    result
}

/// One table: each workload through a fresh pass-through proxy in front of `direct`'s endpoint,
/// and straight at it.
async fn table(run: &Run, app: &str, direct_cpu: &str, direct: &Side<'_>) -> Result<(), String> {
    let o = &run.o;
    let proxy = Passthrough::start(direct.endpoint.addr, run.launch.threads)?;
    let proxied = Side {
        endpoint: Arc::new(direct.endpoint.behind(proxy.addr)),
        api: direct.api,
        users: Arc::clone(&direct.users),
        groups: direct.groups,
        cpu_of: Some(proxy.pid()),
    };
    let threads = match run.launch.threads {
        Some(n) => format!("{n} worker thread{}", if n == 1 { "" } else { "s" }),
        None => "one worker thread per CPU".to_owned(),
    };
    print_title(&format!(
        "pass-through proxy (HTTP/1 forwarding only, {threads}) in front of {app} vs that application called directly; {} users stored; {:.1} s per run, median of {}",
        o.users,
        o.duration.as_secs_f64(),
        o.repeat
    ));
    println!("cpu us: CPU time per request of the proxy process; direct: of {direct_cpu}");
    let errors = side_by_side(o, &proxied, direct).await?;
    if errors > 0 { Err(format!("{errors} requests through the pass-through proxy failed")) } else { Ok(()) }
}
