//! Per-client request rate limit: a token bucket per authenticated client name, so one noisy
//! client (a misconfigured IdP retry loop) cannot starve the others. Clients are the configured
//! token and issuer names, a finite set, so the table stays small.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// `http.rate_limit`: requests per second each client may send on average, and the burst it may
/// send at once.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub requests_per_second: f64,
    #[serde(default = "default_burst")]
    pub burst: u32,
}

fn default_burst() -> u32 {
    20
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every client seen so far.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<Arc<str>, Bucket>>,
}

impl RateLimiter {
    /// Takes one token for `client`; when none is left, how long until one is.
    pub fn check(&self, client: &Arc<str>, limit: RateLimitSettings, now: Instant) -> Result<(), Duration> {
        let rate = limit.requests_per_second.max(f64::MIN_POSITIVE);
        let burst = f64::from(limit.burst.max(1));
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let b = buckets.entry(Arc::clone(client)).or_insert(Bucket { tokens: burst, at: now });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_per_client() {
        let limiter = RateLimiter::default();
        let limit = RateLimitSettings { requests_per_second: 2.0, burst: 3 };
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(&a, limit, t0).is_ok());
        }
        let wait = limiter.check(&a, limit, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500), "{wait:?}");
        assert!(limiter.check(&b, limit, t0).is_ok(), "another client has its own bucket");
        assert!(limiter.check(&a, limit, t0 + Duration::from_millis(500)).is_ok(), "refilled after 1/rate");
        assert!(limiter.check(&a, limit, t0 + Duration::from_millis(500)).is_err());
    }
}
