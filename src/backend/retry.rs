//! When to send a call again, and how long to wait first.
//!
//! A call is sent again only when that cannot apply it twice: it never reached the application,
//! or its method is idempotent. 429 and 503 with a short `Retry-After` are waited out; a long one
//! is handed back so the IdP learns when to come back.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::error::BackendError;
use super::native::NativeResponse;
use super::settings::RetrySettings;

#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    attempts: u32,
    initial: Duration,
    max: Duration,
    max_retry_after: Duration,
}

/// What to do after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand this outcome to the caller.
    Done,
    /// Wait this long, then try again.
    RetryIn(Duration),
}

impl RetryPolicy {
    pub(crate) fn new(s: &RetrySettings) -> Self {
        RetryPolicy {
            attempts: s.attempts.max(1),
            initial: Duration::from_millis(s.initial_backoff_ms),
            max: Duration::from_millis(s.max_backoff_ms.max(s.initial_backoff_ms)),
            max_retry_after: Duration::from_secs(s.max_retry_after_secs),
        }
    }

    /// Decides after attempt number `attempt` (1-based).
    pub(crate) fn verdict(
        &self,
        outcome: &Result<NativeResponse, BackendError>,
        idempotent: bool,
        attempt: u32,
    ) -> Verdict {
        if attempt >= self.attempts {
            return Verdict::Done;
        }
        let backoff = Verdict::RetryIn(self.backoff(attempt));
        match outcome {
            Err(BackendError::NotSent { .. }) => backoff,
            Err(BackendError::Timeout { .. } | BackendError::OutcomeUnknown { .. }) if idempotent => backoff,
            Ok(resp) if idempotent && matches!(resp.status, 429 | 502 | 503 | 504) => {
                match resp.retry_after().filter(|_| matches!(resp.status, 429 | 503)) {
                    Some(wait) if wait > self.max_retry_after => Verdict::Done,
                    Some(wait) if !wait.is_zero() => Verdict::RetryIn(wait),
                    _ => backoff,
                }
            }
            _ => Verdict::Done,
        }
    }

    /// Exponential backoff with "equal jitter": half the step is fixed, half random, so
    /// replicas that failed together do not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        let step = self.initial.saturating_mul(factor).min(self.max);
        let half = step / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let random = if jitter_nanos == 0 { 0 } else { random_u64() % (jitter_nanos + 1) };
        half + Duration::from_nanos(random)
    }
}

/// A random number for jitter. `RandomState` is seeded randomly per process and varied per
/// instance, which is plenty for spreading retries and needs no extra dependency.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    h.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use http::{HeaderMap, HeaderValue};

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::new(&RetrySettings {
            attempts: 3,
            initial_backoff_ms: 100,
            max_backoff_ms: 300,
            max_retry_after_secs: 10,
        })
    }

    fn answer(status: u16, retry_after: Option<&'static str>) -> Result<NativeResponse, BackendError> {
        let mut headers = HeaderMap::new();
        if let Some(v) = retry_after {
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static(v));
        }
        Ok(NativeResponse { status, headers, body: Bytes::new() })
    }

    fn step() -> Arc<str> {
        Arc::from("s")
    }

    fn retries(v: Verdict) -> bool {
        matches!(v, Verdict::RetryIn(_))
    }

    #[test]
    fn not_sent_is_retried_whatever_the_method() {
        let e = Err(BackendError::NotSent { step: step(), reason: "refused".into() });
        assert!(retries(policy().verdict(&e, false, 1)));
        assert!(retries(policy().verdict(&e, true, 2)));
        assert_eq!(policy().verdict(&e, true, 3), Verdict::Done, "attempts exhausted");
    }

    #[test]
    fn unknown_outcomes_are_retried_only_when_idempotent() {
        for e in [
            BackendError::Timeout { step: step() },
            BackendError::OutcomeUnknown { step: step(), reason: "reset".into() },
        ] {
            let e = Err(e);
            assert!(retries(policy().verdict(&e, true, 1)));
            assert_eq!(policy().verdict(&e, false, 1), Verdict::Done);
        }
    }

    #[test]
    fn transient_statuses_are_retried_only_when_idempotent() {
        for status in [429, 502, 503, 504] {
            assert!(retries(policy().verdict(&answer(status, None), true, 1)), "{status}");
            assert_eq!(policy().verdict(&answer(status, None), false, 1), Verdict::Done, "{status}");
        }
        for status in [200, 400, 404, 409, 500, 501] {
            assert_eq!(policy().verdict(&answer(status, None), true, 1), Verdict::Done, "{status}");
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_limit() {
        assert_eq!(policy().verdict(&answer(503, Some("2")), true, 1), Verdict::RetryIn(Duration::from_secs(2)));
        assert_eq!(policy().verdict(&answer(429, Some("10")), true, 1), Verdict::RetryIn(Duration::from_secs(10)));
        assert_eq!(policy().verdict(&answer(429, Some("11")), true, 1), Verdict::Done);
        assert!(retries(policy().verdict(&answer(503, Some("0")), true, 1)));
        // 502/504 carry no meaningful Retry-After: normal backoff.
        let Verdict::RetryIn(d) = policy().verdict(&answer(502, Some("600")), true, 1) else { panic!() };
        assert!(d <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_doubles_within_bounds_with_jitter() {
        let p = policy();
        for _ in 0..50 {
            let first = p.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let second = p.backoff(2);
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200), "{second:?}");
            let capped = p.backoff(30);
            assert!(capped >= Duration::from_millis(150) && capped <= Duration::from_millis(300), "{capped:?}");
        }
        let distinct: std::collections::HashSet<_> = (0..20).map(|_| p.backoff(1)).collect();
        assert!(distinct.len() > 1, "jitter varies");
    }

    #[test]
    fn zero_attempts_means_one_try() {
        let p = RetryPolicy::new(&RetrySettings { attempts: 0, ..RetrySettings::default() });
        let e = Err(BackendError::NotSent { step: step(), reason: "x".into() });
        assert_eq!(p.verdict(&e, true, 1), Verdict::Done);
    }
}
