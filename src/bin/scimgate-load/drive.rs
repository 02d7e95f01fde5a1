//! The closed-loop load driver: N workers, each with its own keep-alive HTTP/1.1 connection,
//! send one request after another for a fixed time, like `wrk -c N`.
//!
//! Raw hyper connections rather than a pooled client: the number of connections is exactly the
//! concurrency, and the driver spends as little CPU as possible, since it shares the machine
//! with what it measures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

/// The requests of one workload iteration, sent in turn on one connection: called with the
/// iteration's number (unique across a whole run, so that each create can name a new user), the
/// step, and the previous step's answer body; `None` ends the iteration. Most workloads are one
/// request; the native side of a workload replays the sequence of calls the gateway makes.
pub type MakeRequest = Arc<dyn Fn(u64, usize, &[u8]) -> Option<Request<Full<Bytes>>> + Send + Sync>;

/// Numbers requests across all cells of a run.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The next request number.
pub fn next_sequence() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// What one fixed-duration run at one concurrency measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub requests: u64,
    /// Answers outside 2xx, and requests that got no answer.
    pub errors: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// The 99th percentile of the gateway's own time per iteration, from its `Server-Timing`
    /// answers (absent when the answers carry none).
    pub own_p99_us: Option<u64>,
    pub elapsed: Duration,
    /// CPU time the measured process spent during the run, when it was sampled.
    pub cpu: Option<Duration>,
}

impl Sample {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// CPU microseconds the measured process spent per request.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let cpu = self.cpu?;
        (self.requests > 0).then(|| cpu.as_secs_f64() * 1e6 / self.requests as f64)
    }
}

/// A keep-alive HTTP/1.1 connection.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection { sender })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Response<Bytes>, hyper::Error> {
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Response::from_parts(parts, body))
    }
}

/// Runs `make` on `concurrency` connections for `duration`.
pub async fn drive(addr: SocketAddr, make: &MakeRequest, concurrency: usize, duration: Duration) -> Sample {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let make = Arc::clone(make);
        workers.push(tokio::spawn(async move { worker(addr, &make, deadline).await }));
    }
    let (mut latencies, mut own, mut errors) = (Vec::new(), Vec::new(), 0);
    for w in workers {
        if let Ok(r) = w.await {
            latencies.extend(r.latencies);
            own.extend(r.own);
            errors += r.errors;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    own.sort_unstable();
    Sample {
        requests: latencies.len() as u64,
        errors,
        p50_us: percentile(&latencies, 0.50),
        p99_us: percentile(&latencies, 0.99),
        own_p99_us: (!own.is_empty()).then(|| percentile(&own, 0.99)),
        elapsed,
        cpu: None,
    }
}

/// What one connection measured: latencies in microseconds, the gateway's own time of the
/// iterations whose answers told it, and the error count.
struct Measured {
    latencies: Vec<u64>,
    own: Vec<u64>,
    errors: u64,
}

/// One connection's loop.
async fn worker(addr: SocketAddr, make: &MakeRequest, deadline: Instant) -> Measured {
    let (mut latencies, mut own, mut errors) = (Vec::with_capacity(4096), Vec::new(), 0);
    let mut conn: Option<Connection> = None;
    while Instant::now() < deadline {
        let t = Instant::now();
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Connection::open(addr).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        match iteration(c, make, next_sequence()).await {
            Ok(Iteration { ok, own: gateway }) => {
                errors += u64::from(!ok);
                own.extend(gateway.map(|d| d.as_micros() as u64));
            }
            Err(_) => {
                errors += 1;
                conn = None;
            }
        }
        latencies.push(t.elapsed().as_micros() as u64);
    }
    Measured { latencies, own, errors }
}

/// How one iteration went.
pub struct Iteration {
    /// Every answer was a success.
    pub ok: bool,
    /// The gateway's own time summed over the answers, when they carry `Server-Timing`.
    pub own: Option<Duration>,
}

/// Sends the steps of iteration `i`.
pub async fn iteration(conn: &mut Connection, make: &MakeRequest, i: u64) -> Result<Iteration, hyper::Error> {
    let mut previous = Bytes::new();
    let mut step = 0;
    let mut own: Option<Duration> = None;
    while let Some(req) = make(i, step, &previous) {
        let resp = conn.send(req).await?;
        if let Some(d) = resp.headers().get("server-timing").and_then(|v| gateway_time(v.to_str().ok()?)) {
            own = Some(own.unwrap_or_default() + d);
        }
        if !resp.status().is_success() {
            return Ok(Iteration { ok: false, own });
        }
        previous = resp.into_body();
        step += 1;
    }
    Ok(Iteration { ok: true, own })
}

/// The `gateway` metric of a `Server-Timing` value (`gateway;dur=0.123, app;dur=1.5`, in ms).
fn gateway_time(value: &str) -> Option<Duration> {
    let ms: f64 = value.split(',').find_map(|m| m.trim().strip_prefix("gateway;dur="))?.parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1e3))
}

/// The `p` quantile of sorted values (nearest rank), 0 when there are none.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The median of `values` (the lower one of the middle two); 0 when there are none.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn reads_the_gateway_time_of_server_timing() {
        assert_eq!(gateway_time("gateway;dur=0.250, app;dur=1.500"), Some(Duration::from_micros(250)));
        assert_eq!(gateway_time("app;dur=1.5,gateway;dur=2"), Some(Duration::from_millis(2)));
        assert_eq!(gateway_time("app;dur=1.5"), None);
        assert_eq!(gateway_time("gateway;dur=-1"), None);
        assert_eq!(gateway_time("gateway;dur=x"), None);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.0);
        assert_eq!(median(vec![]), 0.0);
    }
}
