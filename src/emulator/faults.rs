//! Fault injection shared by every emulator: latency, error statuses, throttling and broken connections.
//!
//! A [`Faults`] handle is cloned into the server and kept by the test, so knobs can be turned while requests are
//! in flight. Rules are checked in the order they were added; every rule whose matcher fits a request counts that
//! request (so "the 7th member addition" means the 7th matching request since the rule was added, whatever other
//! rules did to the earlier ones), and the first rule whose trigger fires decides the outcome. Delay rules add up
//! instead of deciding.
//!
//! Randomness comes from a seeded SplitMix64 generator owned by the handle, so a probabilistic run replays
//! exactly when the same seed and the same request order are used. Pulling in a crate for a dozen lines of
//! well-known arithmetic was not worth a dependency.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{Method, StatusCode};

/// What a firing rule does to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status and the application's error envelope; the request is **not** applied.
    Status(StatusCode),
    /// Answer `429 Too Many Requests` with this `Retry-After` header value (seconds or an HTTP date); the
    /// request is not applied.
    RateLimited {
        /// The raw `Retry-After` header value.
        retry_after: String,
    },
    /// Apply the request, then send only part of the response and close the connection: the client sees a
    /// broken or incomplete message and cannot know whether the write happened.
    Reset,
    /// Wait this long before handling the request (added to the global latency and to other delay rules).
    Delay(Duration),
}

/// When a rule fires, counted over the requests its matcher accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Every matching request.
    Always,
    /// The next `n` matching requests, then never again.
    Times(u64),
    /// Only the `k`-th matching request (1-based).
    Nth(u64),
    /// Each matching request independently with probability `p` (clamped to `0.0..=1.0`).
    Probability(f64),
}

/// One fault: an action, a trigger and an optional request matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    action: FaultAction,
    trigger: Trigger,
    method: Option<Method>,
    path_prefix: Option<String>,
}

impl FaultRule {
    /// A rule with this action that fires on every request until removed or narrowed.
    pub fn new(action: FaultAction) -> Self {
        FaultRule { action, trigger: Trigger::Always, method: None, path_prefix: None }
    }

    /// Answer with `status` (typically 500, 502 or 503).
    pub fn status(status: StatusCode) -> Self {
        Self::new(FaultAction::Status(status))
    }

    /// Answer 429 with `Retry-After: <whole seconds>`.
    pub fn rate_limited(retry_after: Duration) -> Self {
        Self::new(FaultAction::RateLimited { retry_after: retry_after.as_secs().to_string() })
    }

    /// Answer 429 with a raw `Retry-After` value, e.g. an HTTP date.
    pub fn rate_limited_until(retry_after: impl Into<String>) -> Self {
        Self::new(FaultAction::RateLimited { retry_after: retry_after.into() })
    }

    /// Apply the request, then cut the connection in the middle of the response.
    pub fn reset() -> Self {
        Self::new(FaultAction::Reset)
    }

    /// Delay matching requests by `delay`.
    pub fn delay(delay: Duration) -> Self {
        Self::new(FaultAction::Delay(delay))
    }

    /// Only requests with this method match.
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Only requests whose raw (still percent-encoded) path starts with `prefix` match.
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Fire on the next `n` matching requests only.
    pub fn times(mut self, n: u64) -> Self {
        self.trigger = Trigger::Times(n);
        self
    }

    /// Fire on the `k`-th matching request only (1-based, counted from when the rule is added).
    pub fn nth(mut self, k: u64) -> Self {
        self.trigger = Trigger::Nth(k);
        self
    }

    /// Fire on each matching request with probability `p`, drawn from the handle's seeded generator.
    pub fn probability(mut self, p: f64) -> Self {
        self.trigger = Trigger::Probability(p.clamp(0.0, 1.0));
        self
    }

    /// The rule's action.
    pub fn action(&self) -> &FaultAction {
        &self.action
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && self.path_prefix.as_deref().is_none_or(|prefix| path.starts_with(prefix))
    }
}

/// Identifies an installed rule, for removal and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(u64);

/// The live fault configuration of one emulator. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    latency: Duration,
    rules: Vec<Installed>,
    next_id: u64,
    rng: SplitMix64,
}

#[derive(Debug)]
struct Installed {
    id: FaultId,
    rule: FaultRule,
    matched: u64,
    fired: u64,
}

/// The outcome for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Decision {
    /// Total extra wait before the request is handled.
    pub delay: Duration,
    /// The deciding action, if any rule other than a delay fired.
    pub action: Option<FaultAction>,
}

impl Faults {
    /// No faults, with the random generator seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        Faults {
            inner: Arc::new(Mutex::new(State {
                latency: Duration::ZERO,
                rules: Vec::new(),
                next_id: 1,
                rng: SplitMix64(seed),
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets a fixed extra latency for every request.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    /// The fixed extra latency.
    pub fn latency(&self) -> Duration {
        self.state().latency
    }

    /// Installs a rule after the existing ones.
    pub fn add(&self, rule: FaultRule) -> FaultId {
        let mut state = self.state();
        let id = FaultId(state.next_id);
        state.next_id += 1;
        state.rules.push(Installed { id, rule, matched: 0, fired: 0 });
        id
    }

    /// Removes a rule; false when it was not installed.
    pub fn remove(&self, id: FaultId) -> bool {
        let mut state = self.state();
        let before = state.rules.len();
        state.rules.retain(|r| r.id != id);
        state.rules.len() != before
    }

    /// Removes every rule and the fixed latency.
    pub fn clear(&self) {
        let mut state = self.state();
        state.rules.clear();
        state.latency = Duration::ZERO;
    }

    /// Restarts the random generator from `seed`.
    pub fn reseed(&self, seed: u64) {
        self.state().rng = SplitMix64(seed);
    }

    /// How many requests a rule's matcher has accepted so far (0 for an unknown rule).
    pub fn matched(&self, id: FaultId) -> u64 {
        self.state().rules.iter().find(|r| r.id == id).map_or(0, |r| r.matched)
    }

    /// How many times a rule has fired so far (0 for an unknown rule).
    pub fn fired(&self, id: FaultId) -> u64 {
        self.state().rules.iter().find(|r| r.id == id).map_or(0, |r| r.fired)
    }

    /// Decides what happens to one request and advances the counters.
    pub(crate) fn decide(&self, method: &Method, path: &str) -> Decision {
        let mut state = self.state();
        let State { latency, rules, rng, .. } = &mut *state;
        let mut decision = Decision { delay: *latency, action: None };
        for installed in rules.iter_mut() {
            if !installed.rule.matches(method, path) {
                continue;
            }
            installed.matched += 1;
            let is_delay = matches!(installed.rule.action, FaultAction::Delay(_));
            if decision.action.is_some() && !is_delay {
                continue;
            }
            let fires = match installed.rule.trigger {
                Trigger::Always => true,
                Trigger::Times(n) => installed.fired < n,
                Trigger::Nth(k) => installed.matched == k,
                Trigger::Probability(p) => rng.next_f64() < p,
            };
            if !fires {
                continue;
            }
            installed.fired += 1;
            match &installed.rule.action {
                FaultAction::Delay(d) => decision.delay += *d,
                other => decision.action = Some(other.clone()),
            }
        }
        decision
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast and good enough to pick which requests fail.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_fires_exactly_once_on_the_kth_match() {
        let faults = Faults::new(1);
        let id = faults.add(FaultRule::status(StatusCode::BAD_GATEWAY).method(Method::POST).nth(3));
        let outcomes: Vec<bool> = (0..5).map(|_| faults.decide(&Method::POST, "/x").action.is_some()).collect();
        assert_eq!(outcomes, [false, false, true, false, false]);
        assert!(faults.decide(&Method::GET, "/x").action.is_none());
        assert_eq!(faults.matched(id), 5);
        assert_eq!(faults.fired(id), 1);
    }

    #[test]
    fn times_is_exhausted_and_prefix_filters() {
        let faults = Faults::new(1);
        faults.add(FaultRule::status(StatusCode::SERVICE_UNAVAILABLE).path_prefix("/api/v1/teams").times(2));
        assert!(faults.decide(&Method::GET, "/api/v1/users").action.is_none());
        assert!(faults.decide(&Method::GET, "/api/v1/teams/x").action.is_some());
        assert!(faults.decide(&Method::GET, "/api/v1/teams").action.is_some());
        assert!(faults.decide(&Method::GET, "/api/v1/teams").action.is_none());
    }

    #[test]
    fn probability_is_reproducible_per_seed() {
        let run = |seed| {
            let faults = Faults::new(seed);
            faults.add(FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR).probability(0.3));
            (0..200).map(|_| faults.decide(&Method::GET, "/").action.is_some()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let hits = run(7).iter().filter(|b| **b).count();
        assert!((30..=90).contains(&hits), "{hits} of 200 at p=0.3");
    }

    #[test]
    fn delays_add_up_and_do_not_decide() {
        let faults = Faults::new(1);
        faults.set_latency(Duration::from_millis(5));
        faults.add(FaultRule::delay(Duration::from_millis(7)));
        faults.add(FaultRule::reset());
        let decision = faults.decide(&Method::GET, "/");
        assert_eq!(decision.delay, Duration::from_millis(12));
        assert_eq!(decision.action, Some(FaultAction::Reset));
    }
}
