//! A trusted issuer's public keys, fetched from its JWKS URL and cached per replica.
//!
//! The cache is a moka entry whose value is the whole key set with two deadlines: fresh until the
//! issuer's `Cache-Control: max-age` (or the configured TTL) runs out, usable while stale for a
//! bounded time after that. Refetches happen when the set is stale or a token names an unknown
//! `kid`; they are single-flight (moka's per-key compute lock) and at most one per
//! `min_refetch_interval`, so a flood of tokens with forged key ids costs the issuer one request
//! per interval. An unreachable issuer therefore does not lock callers out: the last keys keep
//! working, stale, until `max_stale` has passed.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;
use serde_json::Value;

use super::metrics::metrics;
use super::rejection::Reason;
use super::settings::JwksCacheSettings;

/// Largest JWKS or discovery document read (a JWKS is a few kilobytes).
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Keys beyond this many in one JWKS are ignored.
const MAX_KEYS: usize = 64;
/// A `max-age` longer than this is shortened, so a key revoked by its issuer is dropped within a day.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// The shape of a key, which decides the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyShape {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

/// One public key usable for signature verification.
#[derive(Clone)]
pub(crate) struct VerifyKey {
    kid: Option<String>,
    shape: KeyShape,
    /// The algorithm the JWK states (`alg`), if any: then only that one is accepted.
    alg: Option<Algorithm>,
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey").field("kid", &self.kid).field("shape", &self.shape).field("alg", &self.alg).finish()
    }
}

impl VerifyKey {
    #[cfg(test)]
    pub(crate) fn for_tests(key: DecodingKey) -> Self {
        VerifyKey { kid: None, shape: KeyShape::Rsa, alg: None, key }
    }

    /// A verification key from a JWK, or `None` for keys that must never verify a signature
    /// here: symmetric (`oct`) keys, encryption keys, unknown curves and key types.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Option<VerifyKey> {
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            return None;
        }
        let alg = match jwk.common.key_algorithm {
            Some(a) => Some(Algorithm::from_str(&a.to_string()).ok()?),
            None => None,
        };
        let shape = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyShape::Rsa,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => KeyShape::EcP256,
                EllipticCurve::P384 => KeyShape::EcP384,
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => KeyShape::Ed25519,
            _ => return None,
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        let v = VerifyKey { kid: jwk.common.key_id.clone(), shape, alg, key };
        // A JWK stating an algorithm its own key cannot do is unusable, not a wildcard.
        if let Some(a) = alg
            && !v.shape_fits(a)
        {
            return None;
        }
        Some(v)
    }

    fn shape_fits(&self, alg: Algorithm) -> bool {
        match self.shape {
            KeyShape::Rsa => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
            KeyShape::EcP256 => alg == Algorithm::ES256,
            KeyShape::EcP384 => alg == Algorithm::ES384,
            KeyShape::Ed25519 => alg == Algorithm::EdDSA,
        }
    }

    /// Whether this key may verify a token signed with `alg`: its type and curve fit, and the
    /// JWK's own `alg`, when stated, is the same.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        self.shape_fits(alg) && self.alg.is_none_or(|a| a == alg)
    }
}

/// The keys of one issuer as last fetched.
#[derive(Debug)]
pub(crate) struct KeySet {
    keys: Vec<Arc<VerifyKey>>,
    generation: u64,
    fresh_until: Instant,
    stale_until: Instant,
}

/// Finds the key a token names; a token without `kid` may use the only key of a one-key set.
pub(crate) fn find_key(keys: &[Arc<VerifyKey>], kid: Option<&str>) -> Option<Arc<VerifyKey>> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
        None if keys.len() == 1 => keys.first().cloned(),
        None => None,
    }
}

/// Parses a JWKS document, keeping the usable signature keys (first of each `kid`).
pub(crate) fn parse_jwks(doc: &Value) -> Vec<Arc<VerifyKey>> {
    let Some(list) = doc.get("keys").and_then(Value::as_array) else { return Vec::new() };
    let mut keys: Vec<Arc<VerifyKey>> = Vec::new();
    for raw in list.iter().take(MAX_KEYS) {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else { continue };
        let Some(key) = VerifyKey::from_jwk(&jwk) else { continue };
        if key.kid.is_some() && keys.iter().any(|k| k.kid == key.kid) {
            continue;
        }
        keys.push(Arc::new(key));
    }
    keys
}

/// Where the keys are published.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyLocation {
    Jwks(reqwest::Url),
    /// An OpenID Connect discovery document naming `jwks_uri`.
    Discovery(reqwest::Url),
}

/// Cache timing, resolved from settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CacheTimes {
    pub(crate) ttl: Duration,
    pub(crate) min_refetch: Duration,
    pub(crate) max_stale: Duration,
    pub(crate) fetch_timeout: Duration,
}

impl From<&JwksCacheSettings> for CacheTimes {
    fn from(s: &JwksCacheSettings) -> Self {
        CacheTimes {
            ttl: Duration::from_secs(s.ttl_secs),
            min_refetch: Duration::from_secs(s.min_refetch_interval_secs),
            max_stale: Duration::from_secs(s.max_stale_secs),
            fetch_timeout: Duration::from_secs(s.fetch_timeout_secs.max(1)),
        }
    }
}

struct StaleDeadline;

impl Expiry<(), Arc<KeySet>> for StaleDeadline {
    fn expire_after_create(&self, _: &(), set: &Arc<KeySet>, now: Instant) -> Option<Duration> {
        Some(set.stale_until.saturating_duration_since(now))
    }

    fn expire_after_update(&self, _: &(), set: &Arc<KeySet>, now: Instant, _: Option<Duration>) -> Option<Duration> {
        Some(set.stale_until.saturating_duration_since(now))
    }
}

/// Fetch counters of one cache (the process-wide ones are in [`super::metrics`]).
#[derive(Debug, Default)]
pub struct JwksStats {
    pub fetches: AtomicU64,
    pub failures: AtomicU64,
}

/// The cached keys of one JWKS location.
pub struct JwksCache {
    location: KeyLocation,
    times: CacheTimes,
    http: reqwest::Client,
    cache: Cache<(), Arc<KeySet>>,
    /// When a fetch was last attempted (successful or not): the refetch rate limit.
    last_attempt: Mutex<Option<Instant>>,
    /// The `jwks_uri` found through discovery, until a fetch from it fails.
    discovered: Mutex<Option<reqwest::Url>>,
    generation: AtomicU64,
    /// A fetch is under way.
    in_flight: AtomicBool,
    pub stats: JwksStats,
}

/// Whether a caller waits for a refetch.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// Nothing is cached: wait (concurrent first callers share the fetch).
    Always,
    /// The kid is unknown: wait for a fetch under way, or start one if the rate limit allows.
    ForNewKeys,
    /// The keys are stale but usable: start a fetch if allowed, never queue behind one.
    Never,
}

/// Marks a fetch as under way until dropped (also when the request is cancelled mid-fetch).
struct InFlight<'a>(&'a AtomicBool);

impl<'a> InFlight<'a> {
    fn set(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::Release);
        InFlight(flag)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache").field("location", &self.location).field("times", &self.times).finish()
    }
}

impl JwksCache {
    pub(crate) fn new(location: KeyLocation, times: CacheTimes) -> Result<Self, String> {
        // Fetches over https need a process-wide rustls provider; an error means one is installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(times.fetch_timeout)
            .user_agent(concat!("scimgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {e}"))?;
        Ok(JwksCache {
            location,
            times,
            http,
            cache: Cache::builder().max_capacity(1).expire_after(StaleDeadline).build(),
            last_attempt: Mutex::new(None),
            discovered: Mutex::new(None),
            generation: AtomicU64::new(0),
            in_flight: AtomicBool::new(false),
            stats: JwksStats::default(),
        })
    }

    /// The cache for `location`, shared by every route and issuer entry of this process that
    /// names the same location with the same timing (and kept across reloads while in use).
    pub(crate) fn shared(location: KeyLocation, times: CacheTimes) -> Result<Arc<JwksCache>, String> {
        type Registry = Mutex<HashMap<(KeyLocation, CacheTimes), Weak<JwksCache>>>;
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        let mut map = REGISTRY.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, w| w.strong_count() > 0);
        let key = (location, times);
        if let Some(existing) = map.get(&key).and_then(Weak::upgrade) {
            return Ok(existing);
        }
        let cache = Arc::new(JwksCache::new(key.0.clone(), times)?);
        map.insert(key, Arc::downgrade(&cache));
        Ok(cache)
    }

    /// The key `kid` names, fetching the keys when none are cached, they are stale, or the kid
    /// is unknown (each within the refetch rate limit).
    pub(crate) async fn key(&self, kid: Option<&str>) -> Result<Arc<VerifyKey>, Reason> {
        let Some(set) = self.cache.get(&()).await else {
            let set = self.refresh(None, Wait::Always).await.ok_or(Reason::KeysUnavailable)?;
            return find_key(&set.keys, kid).ok_or(Reason::UnknownKey);
        };
        if Instant::now() < set.fresh_until {
            if let Some(k) = find_key(&set.keys, kid) {
                return Ok(k);
            }
            let set = self.refresh(Some(set.generation), Wait::ForNewKeys).await.unwrap_or(set);
            return find_key(&set.keys, kid).ok_or(Reason::UnknownKey);
        }
        let set = self.refresh(Some(set.generation), Wait::Never).await.unwrap_or(set);
        let key = find_key(&set.keys, kid).ok_or(Reason::UnknownKey)?;
        if Instant::now() >= set.fresh_until {
            metrics().jwks_stale_uses.fetch_add(1, Ordering::Relaxed);
        }
        Ok(key)
    }

    /// Fetches the keys unless another caller already replaced generation `seen` or the rate
    /// limit says not yet; answers the set in the cache afterwards. Callers holding usable keys
    /// do not queue behind a fetch that cannot help them (see [`Wait`]).
    async fn refresh(&self, seen: Option<u64>, wait: Wait) -> Option<Arc<KeySet>> {
        let in_flight = self.in_flight.load(Ordering::Acquire);
        let skip = match wait {
            Wait::Always => false,
            Wait::ForNewKeys => !in_flight && !self.attempt_due(),
            Wait::Never => in_flight || !self.attempt_due(),
        };
        if skip {
            return self.cache.get(&()).await;
        }
        let outcome = self
            .cache
            .entry(())
            .and_compute_with(|entry| async move {
                if let Some(current) = entry.map(|e| e.into_value())
                    && seen != Some(current.generation)
                {
                    return Op::Nop;
                }
                if !self.begin_attempt() {
                    return Op::Nop;
                }
                let _flag = InFlight::set(&self.in_flight);
                match self.fetch().await {
                    Ok(set) => Op::Put(Arc::new(set)),
                    Err(e) => {
                        tracing::warn!(location = ?self.location, error = %e, "cannot fetch the issuer's JWKS");
                        Op::Nop
                    }
                }
            })
            .await;
        outcome.into_entry().map(|e| e.into_value())
    }

    fn attempt_due(&self) -> bool {
        let last = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
        last.is_none_or(|t| t.elapsed() >= self.times.min_refetch)
    }

    fn begin_attempt(&self) -> bool {
        let mut last = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < self.times.min_refetch) {
            return false;
        }
        *last = Some(now);
        true
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        self.stats.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch_keys().await;
        if result.is_err() {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        metrics().jwks_fetched(result.is_ok());
        let (keys, max_age) = result?;
        let ttl = max_age.unwrap_or(self.times.ttl).clamp(self.times.min_refetch.min(MAX_TTL), MAX_TTL);
        let now = Instant::now();
        let fresh_until = now + ttl;
        Ok(KeySet {
            keys,
            generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
            fresh_until,
            stale_until: fresh_until + self.times.max_stale,
        })
    }

    async fn fetch_keys(&self) -> Result<(Vec<Arc<VerifyKey>>, Option<Duration>), String> {
        let url = self.jwks_url().await?;
        let fetched = get_json(&self.http, &url, self.times.fetch_timeout).await;
        let (doc, max_age) = match fetched {
            Ok(ok) => ok,
            Err(e) => {
                // The discovery document may have moved the keys: look again next time.
                *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) = None;
                return Err(e);
            }
        };
        let keys = parse_jwks(&doc);
        if keys.is_empty() {
            return Err("the JWKS holds no usable signature key".into());
        }
        Ok((keys, max_age))
    }

    async fn jwks_url(&self) -> Result<reqwest::Url, String> {
        let discovery = match &self.location {
            KeyLocation::Jwks(url) => return Ok(url.clone()),
            KeyLocation::Discovery(url) => url,
        };
        if let Some(url) = self.discovered.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(url);
        }
        let (doc, _) = get_json(&self.http, discovery, self.times.fetch_timeout).await?;
        let uri = doc.get("jwks_uri").and_then(Value::as_str).ok_or("the discovery document has no jwks_uri")?;
        let url = reqwest::Url::parse(uri).map_err(|e| format!("jwks_uri is not a URL: {e}"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err("jwks_uri is not an http(s) URL".into());
        }
        *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) = Some(url.clone());
        Ok(url)
    }
}

/// GETs a JSON document of bounded size; answers it with the `max-age` it may be cached for.
async fn get_json(
    http: &reqwest::Client,
    url: &reqwest::Url,
    timeout: Duration,
) -> Result<(Value, Option<Duration>), String> {
    let fetch = async {
        let mut resp = http
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("answered {}", resp.status()));
        }
        let max_age = resp
            .headers()
            .get(http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(cache_control_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading the answer failed: {e}"))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("the answer is larger than {MAX_DOCUMENT_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let doc = serde_json::from_slice(&body).map_err(|e| format!("the answer is not JSON: {e}"))?;
        Ok((doc, max_age))
    };
    tokio::time::timeout(timeout, fetch).await.map_err(|_| format!("no answer within {timeout:?}"))?
}

/// The lifetime a `Cache-Control` header allows: `max-age`, or zero for `no-cache`/`no-store`.
pub(crate) fn cache_control_max_age(header: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in header.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age() {
        assert_eq!(cache_control_max_age("public, max-age=3600"), Some(Duration::from_secs(3600)));
        assert_eq!(cache_control_max_age("Max-Age=\"5\""), Some(Duration::from_secs(5)));
        assert_eq!(cache_control_max_age("no-store, max-age=50"), Some(Duration::ZERO));
        assert_eq!(cache_control_max_age("public"), None);
        assert_eq!(cache_control_max_age("max-age=lots"), None);
    }

    #[test]
    fn symmetric_encryption_and_unknown_keys_are_dropped() {
        let doc = serde_json::json!({"keys": [
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "enc", "use": "enc", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "EC", "kid": "sig", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "EC", "kid": "says-rs", "alg": "RS256", "crv": "P-256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "weird", "kid": "w"},
            "not an object"
        ]});
        let keys = parse_jwks(&doc);
        assert_eq!(keys.len(), 1, "{keys:?}");
        let k = find_key(&keys, Some("sig")).unwrap();
        assert!(k.accepts(Algorithm::ES256));
        assert!(!k.accepts(Algorithm::ES384));
        assert!(!k.accepts(Algorithm::RS256));
        assert!(!k.accepts(Algorithm::HS256));
        assert!(find_key(&keys, Some("h")).is_none());
        assert!(find_key(&keys, None).is_some(), "a one-key set serves tokens without kid");
    }
}
