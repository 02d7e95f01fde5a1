//! The HTTP/1.1 server every emulator runs on, and the [`Emulator`] handle that owns it.
//!
//! Each request goes through the same pipeline: read the body (bounded), record it in the request log, ask the
//! fault configuration what to do, wait the injected latency, check credentials, then let the backend answer.
//! A hand-written accept loop (rather than `axum::serve`) gives every connection a [`CutStream`], so a
//! "connection reset" fault really closes the socket after part of the response bytes went out, headers
//! included, which is what an application crashing mid-answer looks like to a client.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::EmulatorError;
use super::faults::{FaultAction, Faults};
use super::log::RequestLog;
use super::wire::{Credentials, NativeRequest, Reply};

/// How long a stopping emulator waits for open connections to finish their current request.
const DRAIN: Duration = Duration::from_secs(5);

/// What an emulated application provides to the shared server.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The credentials every request must carry.
    fn credentials(&self) -> &Credentials;
    /// An error answer in the application's own envelope.
    fn error(&self, status: StatusCode, message: &str) -> Reply;
    /// The answer to a request without valid credentials.
    fn unauthorized(&self) -> Reply {
        self.error(StatusCode::UNAUTHORIZED, "Unauthorized")
    }
    /// Answers an authenticated request.
    fn handle(&self, request: &NativeRequest) -> Reply;
}

/// Listener and bookkeeping options shared by all emulators.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where to listen; the default `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// Seed of the fault generator, so probabilistic faults replay identically.
    pub fault_seed: u64,
    /// How many requests the request log keeps (oldest dropped first); 0 keeps none.
    pub log_capacity: usize,
    /// Largest accepted request body; bigger bodies get 413.
    pub max_body_bytes: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            fault_seed: 0x5EED,
            log_capacity: 10_000,
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

/// A running emulator: its address, fault knobs and request log. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    faults: Faults,
    log: RequestLog,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// The socket address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The fault knobs; changes apply to the next request.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Every request received so far.
    pub fn requests(&self) -> &RequestLog {
        &self.log
    }

    /// Stops accepting connections and waits (bounded) for open ones to finish their current request.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(stop) = self.stop.take() {
            // The accept loop may already be gone; nothing left to stop then.
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(|_| EmulatorError::Stopped),
            None => Ok(()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds the listener first, so the backend can be built knowing its own base URL (OpenMetadata puts it in
/// every `href`).
pub(crate) async fn bind(options: &ServerOptions) -> Result<TcpListener, EmulatorError> {
    TcpListener::bind(options.bind).await.map_err(|source| EmulatorError::Bind { addr: options.bind, source })
}

/// Starts serving `backend` on an already bound listener.
pub(crate) fn serve(
    listener: TcpListener,
    backend: Arc<dyn Backend>,
    options: &ServerOptions,
) -> Result<Emulator, EmulatorError> {
    let addr = listener.local_addr().map_err(|source| EmulatorError::Bind { addr: options.bind, source })?;
    let faults = Faults::new(options.fault_seed);
    let log = RequestLog::new(options.log_capacity);
    let ctx =
        Arc::new(Pipeline { backend, faults: faults.clone(), log: log.clone(), max_body: options.max_body_bytes });
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(accept_loop(listener, ctx, stop_rx));
    Ok(Emulator { addr, faults, log, stop: Some(stop_tx), task: Some(task) })
}

struct Pipeline {
    backend: Arc<dyn Backend>,
    faults: Faults,
    log: RequestLog,
    max_body: usize,
}

async fn accept_loop(listener: TcpListener, ctx: Arc<Pipeline>, mut stop: oneshot::Receiver<()>) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else {
                    // Out of descriptors or a connection that died while queued: back off briefly.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                // Latency matters more than packet count for an emulator answering small JSON bodies.
                let _ = tcp.set_nodelay(true);
                let armed = Arc::new(AtomicBool::new(false));
                let io = TokioIo::new(CutStream { inner: tcp, armed: Arc::clone(&armed), state: CutState::Normal });
                let ctx = Arc::clone(&ctx);
                let service = service_fn(move |req| {
                    let ctx = Arc::clone(&ctx);
                    let armed = Arc::clone(&armed);
                    async move { Ok::<_, Infallible>(respond(&ctx, &armed, req).await) }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .keep_alive(true)
                    .serve_connection(io, service);
                let watched = graceful.watch(conn);
                tokio::spawn(async move {
                    // Connection errors (including injected resets) end that connection only.
                    let _ = watched.await;
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

async fn respond(ctx: &Pipeline, armed: &AtomicBool, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let body = Limited::new(body, ctx.max_body).collect().await.map(|c| c.to_bytes());
    ctx.log.record(
        parts.method.clone(),
        path.clone(),
        query.clone(),
        parts.headers.clone(),
        body.as_ref().map(Bytes::clone).unwrap_or_default(),
    );
    let body = match body {
        Ok(body) => body,
        Err(e) if e.is::<LengthLimitError>() => {
            return into_response(ctx.backend.error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"));
        }
        Err(_) => return into_response(ctx.backend.error(StatusCode::BAD_REQUEST, "request body could not be read")),
    };

    let decision = ctx.faults.decide(&parts.method, &path);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    match &decision.action {
        Some(FaultAction::Status(status)) => {
            return into_response(ctx.backend.error(*status, "injected fault"));
        }
        Some(FaultAction::RateLimited { retry_after }) => {
            let reply = ctx.backend.error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            return into_response(reply.with_header(RETRY_AFTER, retry_after));
        }
        _ => {}
    }

    let reply = if !ctx.backend.credentials().accepts(&parts.headers) {
        ctx.backend.unauthorized()
    } else {
        match NativeRequest::parse(parts.method, &path, query.as_deref(), parts.headers, body) {
            Ok(request) => ctx.backend.handle(&request),
            Err(message) => ctx.backend.error(StatusCode::BAD_REQUEST, &message),
        }
    };
    if decision.action == Some(FaultAction::Reset) {
        armed.store(true, Ordering::SeqCst);
    }
    into_response(reply)
}

fn into_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    for (name, value) in reply.headers {
        headers.append(name, value);
    }
    response
}

/// Where a connection is in a possible injected reset.
#[derive(Debug, Clone, Copy)]
enum CutState {
    /// Writes pass through.
    Normal,
    /// This many more bytes may go out before the connection dies.
    Cutting(usize),
    /// Every further write or flush fails.
    Dead,
}

/// A TCP stream that, once armed, lets half of the next response's first write through and then breaks.
///
/// hyper writes the status line, headers and a small body in one buffer, so half of it always leaves the client
/// with an incomplete message. The socket is set to linger zero, so closing it sends a TCP reset.
struct CutStream {
    inner: TcpStream,
    armed: Arc<AtomicBool>,
    state: CutState,
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "injected connection reset")
}

impl CutStream {
    fn die(&mut self) -> io::Error {
        self.state = CutState::Dead;
        // Best effort: without it the close is a FIN, which the client still sees as a truncated message.
        let _ = self.inner.set_zero_linger();
        reset_error()
    }
}

impl AsyncRead for CutStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CutStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if matches!(self.state, CutState::Normal) && self.armed.swap(false, Ordering::SeqCst) {
            self.state = CutState::Cutting(buf.len() / 2);
        }
        match self.state {
            CutState::Normal => Pin::new(&mut self.inner).poll_write(cx, buf),
            CutState::Dead => Poll::Ready(Err(reset_error())),
            CutState::Cutting(0) => Poll::Ready(Err(self.die())),
            CutState::Cutting(remaining) => {
                let allowed = remaining.min(buf.len());
                match Pin::new(&mut self.inner).poll_write(cx, &buf[..allowed]) {
                    Poll::Ready(Ok(written)) => {
                        self.state = CutState::Cutting(remaining - written.min(remaining));
                        Poll::Ready(Ok(written))
                    }
                    other => other,
                }
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.state {
            CutState::Dead => Poll::Ready(Err(reset_error())),
            // Push the partial bytes out before the connection breaks on the next write.
            _ => Pin::new(&mut self.inner).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.state {
            CutState::Normal => Pin::new(&mut self.inner).poll_shutdown(cx),
            CutState::Cutting(_) => Poll::Ready(Err(self.die())),
            CutState::Dead => Poll::Ready(Err(reset_error())),
        }
    }
}
