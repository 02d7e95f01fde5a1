//! The load driver: N workers, each with its own keep-alive HTTP/1.1 connection, send workload
//! iterations for a fixed time, either one after another (a closed loop, like `wrk -c N`) or at a
//! fixed rate (like `wrk2 -R`; see [`Pace`]).
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

/// How a run offers its load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Each connection sends its next iteration as soon as the previous one is answered. The
    /// system runs at its limit, so latency there is mostly queueing: N / throughput.
    Closed,
    /// This many iterations per second in all, due at even intervals on each connection. An
    /// iteration's latency counts from its due time when the connection was still busy then, so
    /// a side that falls behind pays for the wait (no coordinated omission).
    Rate(f64),
}

impl Pace {
    /// The interval between two iterations on one of `concurrency` connections, and the offset
    /// of connection `worker`'s first one.
    fn schedule(self, concurrency: usize, worker: usize) -> Option<(Duration, Duration)> {
        let Pace::Rate(rate) = self else { return None };
        let every = Duration::from_secs_f64(concurrency as f64 / rate);
        Some((every, Duration::from_secs_f64(worker as f64 / rate)))
    }
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
pub async fn drive(addr: SocketAddr, make: &MakeRequest, concurrency: usize, duration: Duration, pace: Pace) -> Sample {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let make = Arc::clone(make);
        let schedule = pace.schedule(concurrency, w).map(|(every, offset)| (started + offset, every));
        workers.push(tokio::spawn(async move { worker(addr, &make, deadline, schedule).await }));
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

/// One connection's loop; `schedule` is the first due time and the interval, at a fixed rate.
async fn worker(
    addr: SocketAddr,
    make: &MakeRequest,
    deadline: Instant,
    mut schedule: Option<(Instant, Duration)>,
) -> Measured {
    let (mut latencies, mut own, mut errors) = (Vec::with_capacity(4096), Vec::new(), 0);
    let mut conn: Option<Connection> = None;
    while Instant::now() < deadline {
        let t = match &mut schedule {
            None => Instant::now(),
            Some((due, every)) => {
                let this = *due;
                *due += *every;
                if this >= deadline {
                    break;
                }
                started_at(this).await
            }
        };
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

/// Waits for an iteration due at `due` and returns the time its latency counts from: `due` when
/// the connection was late for it (the wait is part of what the measured side costs), else the
/// moment the timer fired (the timer's own lateness is not).
async fn started_at(due: Instant) -> Instant {
    if Instant::now() >= due {
        return due;
    }
    tokio::time::sleep_until(due.into()).await;
    Instant::now()
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

    /// A server on loopback whose every answer takes `delay`.
    async fn server(delay: Duration) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = hyper::service::service_fn(move |_req| async move {
                    tokio::time::sleep(delay).await;
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        addr
    }

    fn get(addr: SocketAddr) -> MakeRequest {
        Arc::new(move |_, step, _| {
            (step == 0).then(|| Request::get(format!("http://{addr}/")).body(Full::new(Bytes::new())).unwrap())
        })
    }

    #[test]
    fn a_rate_is_spread_over_the_connections() {
        let (every, first) = Pace::Rate(100.0).schedule(4, 0).unwrap();
        assert_eq!((every, first), (Duration::from_millis(40), Duration::ZERO));
        assert_eq!(Pace::Rate(100.0).schedule(4, 3).unwrap().1, Duration::from_millis(30));
        assert_eq!(Pace::Closed.schedule(4, 0), None);
    }

    /// At a rate the server keeps up with, the run sends what was offered, not as much as it can.
    #[tokio::test]
    async fn a_fixed_rate_sends_what_is_offered() {
        let addr = server(Duration::ZERO).await;
        let s = drive(addr, &get(addr), 4, Duration::from_secs(1), Pace::Rate(200.0)).await;
        assert_eq!(s.errors, 0);
        // 200 due in the second; a closed loop would send thousands.
        assert!((190..=200).contains(&s.requests), "{} requests", s.requests);
    }

    /// A connection that cannot keep up counts each iteration from its due time: with answers of
    /// 20 ms and one due every 10 ms, the wait grows through the run, far past 20 ms.
    #[tokio::test]
    async fn falling_behind_counts_the_wait() {
        let addr = server(Duration::from_millis(20)).await;
        let s = drive(addr, &get(addr), 1, Duration::from_millis(600), Pace::Rate(100.0)).await;
        assert_eq!(s.errors, 0);
        assert!(s.p99_us > 200_000, "p99 {} us", s.p99_us);
        let closed = drive(addr, &get(addr), 1, Duration::from_millis(600), Pace::Closed).await;
        assert!(closed.p99_us < 200_000, "closed-loop p99 {} us", closed.p99_us);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.0);
        assert_eq!(median(vec![]), 0.0);
    }
}
