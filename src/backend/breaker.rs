//! Per-backend circuit breaker.
//!
//! After `threshold` consecutive failures the breaker opens: calls fail at once, without
//! touching the application, for `open_for`. Then it half-opens and lets exactly one probe call
//! through; the probe's success closes it, its failure opens it again. A probe whose caller gave
//! up before an outcome frees the slot for the next call, so the breaker cannot stick half-open.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The breaker's state, for metrics and health reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow normally.
    Closed,
    /// Calls fail fast until the open period ends.
    Open,
    /// One probe call decides whether to close again.
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
pub(crate) struct Breaker {
    /// 0 turns the breaker off.
    threshold: u32,
    open_for: Duration,
    state: Mutex<State>,
}

/// Leave to make one call. Report the outcome with [`BreakerPermit::record`].
#[derive(Debug)]
pub(crate) struct BreakerPermit {
    breaker: Arc<Breaker>,
    probe: bool,
    recorded: bool,
}

/// While a probe is in flight other calls are told to come back after this long.
const PROBE_WAIT: Duration = Duration::from_secs(1);

impl Breaker {
    pub(crate) fn new(threshold: u32, open_for: Duration) -> Arc<Self> {
        Arc::new(Breaker { threshold, open_for, state: Mutex::new(State::Closed { failures: 0 }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value updated in one assignment; a panic elsewhere cannot leave
        // it half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A permit to call, or how long until calls are allowed again.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Result<BreakerPermit, Duration> {
        let permit = |probe| BreakerPermit { breaker: Arc::clone(self), probe, recorded: false };
        if self.threshold == 0 {
            return Ok(permit(false));
        }
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(permit(false)),
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    Err(until - now)
                } else {
                    *state = State::HalfOpen { probing: true };
                    Ok(permit(true))
                }
            }
            State::HalfOpen { probing: true } => Err(PROBE_WAIT),
            State::HalfOpen { probing: false } => {
                *state = State::HalfOpen { probing: true };
                Ok(permit(true))
            }
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn record(&self, probe: bool, ok: bool) {
        if self.threshold == 0 {
            return;
        }
        let mut state = self.lock();
        let open = || State::Open { until: Instant::now() + self.open_for };
        match (&mut *state, probe) {
            (State::HalfOpen { .. }, true) => *state = if ok { State::Closed { failures: 0 } } else { open() },
            (State::Closed { failures }, false) => {
                if ok {
                    *failures = 0;
                } else {
                    *failures += 1;
                    if *failures >= self.threshold {
                        *state = open();
                    }
                }
            }
            // Calls that started before the breaker opened do not decide anything any more.
            _ => {}
        }
    }
}

impl BreakerPermit {
    /// Reports the call's outcome: `ok` is false for failures that say the application is
    /// unwell (no connection, timeout, broken answer, 5xx but 501 Not Implemented).
    pub(crate) fn record(mut self, ok: bool) {
        self.recorded = true;
        self.breaker.record(self.probe, ok);
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            let mut state = self.breaker.lock();
            if let State::HalfOpen { probing } = &mut *state {
                *probing = false;
            }
        }
    }
}

/// Rounds a wait up to whole seconds (at least one), the unit of `Retry-After`.
pub(crate) fn whole_seconds(d: Duration) -> Duration {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Duration::from_secs(secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(b: &Arc<Breaker>) {
        b.try_acquire().expect("permit").record(false);
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_only() {
        let b = Breaker::new(3, Duration::from_secs(10));
        fail(&b);
        fail(&b);
        b.try_acquire().unwrap().record(true);
        fail(&b);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Closed, "a success resets the count");
        fail(&b);
        assert_eq!(b.state(), BreakerState::Open);
        let wait = b.try_acquire().unwrap_err();
        assert!(wait <= Duration::from_secs(10) && wait > Duration::from_secs(9), "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_one_probe_through() {
        let b = Breaker::new(1, Duration::from_secs(5));
        fail(&b);
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(b.try_acquire().unwrap_err(), Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probe = b.try_acquire().expect("probe");
        assert_eq!(b.try_acquire().unwrap_err(), PROBE_WAIT, "only one probe at a time");
        probe.record(true);
        assert_eq!(b.state(), BreakerState::Closed);
        b.try_acquire().expect("closed again").record(true);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_reopens() {
        let b = Breaker::new(1, Duration::from_secs(5));
        fail(&b);
        tokio::time::advance(Duration::from_secs(5)).await;
        b.try_acquire().expect("probe").record(false);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.try_acquire().unwrap_err(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_probe_frees_the_slot() {
        let b = Breaker::new(1, Duration::from_secs(5));
        fail(&b);
        tokio::time::advance(Duration::from_secs(5)).await;
        drop(b.try_acquire().expect("probe"));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.try_acquire().expect("next probe").record(true);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn late_outcomes_of_earlier_calls_are_ignored() {
        let b = Breaker::new(1, Duration::from_secs(5));
        let early = b.try_acquire().unwrap();
        fail(&b);
        early.record(true);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn threshold_zero_never_opens() {
        let b = Breaker::new(0, Duration::from_secs(5));
        for _ in 0..100 {
            fail(&b);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn waits_round_up_to_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), Duration::from_secs(1));
        assert_eq!(whole_seconds(Duration::from_millis(2_100)), Duration::from_secs(3));
        assert_eq!(whole_seconds(Duration::from_secs(4)), Duration::from_secs(4));
        assert_eq!(whole_seconds(Duration::ZERO), Duration::from_secs(1));
    }
}
