//! The JWKS cache against a real issuer endpoint that rotates keys, fails and stops, counting
//! every fetch it receives.

mod auth_support;

use std::time::{Duration, Instant};

use auth_support::{Gateway, JwksServer, TestKey, now};
use serde_json::{Value, json};

const ISS: &str = "https://idp.test/";
const AUD: &str = "api://scimgate";

fn claims() -> Value {
    let t = now();
    json!({"iss": ISS, "aud": AUD, "sub": "svc", "exp": t + 600, "iat": t})
}

/// A gateway whose route `app` (memory target) trusts the issuer at `keys_url`.
async fn gateway(location: &str, cache: &str) -> Gateway {
    Gateway::start(&format!(
        r#"listen: 127.0.0.1:0
routes:
  app:
    target: {{ kind: memory }}
    auth:
      jwt:
        - issuer: "{ISS}"
          {location}
          audiences: ["{AUD}"]
          cache: {cache}
"#
    ))
    .await
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_exactly_one_refetch() {
    let k1 = TestKey::rsa("k1");
    let k2 = TestKey::ec("k2");
    let k3 = TestKey::rsa("k3");
    let jwks = JwksServer::start(&[&k1]).await;
    jwks.set_cache_control(Some("public, max-age=3600"));
    let gw =
        gateway(&format!("jwks_url: \"{}\"", jwks.jwks_url()), "{ ttl_secs: 60, min_refetch_interval_secs: 1 }").await;
    assert_eq!(jwks.hits(), 0, "keys are fetched on first use, not at start");

    assert_eq!(gw.status_with("app", &k1.sign(&claims())).await, 200);
    assert_eq!(gw.status_with("app", &k1.sign(&claims())).await, 200);
    assert_eq!(jwks.hits(), 1, "the second token is verified from the cache");

    // The issuer rotates: k1 out, k2 in. Past the refetch interval, the unknown kid triggers
    // one fetch and the new key is accepted.
    jwks.set_keys(&[&k2]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(gw.status_with("app", &k2.sign(&claims())).await, 200);
    assert_eq!(jwks.hits(), 2, "exactly one refetch");
    assert_eq!(gw.status_with("app", &k2.sign(&claims())).await, 200);
    assert_eq!(jwks.hits(), 2);

    // The removed key is gone from the cache with the set it was in.
    assert_eq!(gw.status_with("app", &k1.sign(&claims())).await, 401);
    assert_eq!(jwks.hits(), 2, "within the interval an unknown kid does not refetch");

    // Many concurrent tokens under a new key: one fetch between them.
    jwks.set_keys(&[&k2, &k3]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let token = k3.sign(&claims());
    let calls = (0..20).map(|_| gw.status_with("app", &token));
    let statuses = futures_util::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(jwks.hits(), 3, "concurrent refetches are coalesced");
}

#[tokio::test]
async fn an_unreachable_issuer_leaves_cached_keys_working_and_refetches_rate_limited() {
    let k1 = TestKey::rsa("k1");
    let jwks = JwksServer::start(&[&k1]).await;
    // Keys go stale after a second: every request after that wants a refetch.
    jwks.set_cache_control(Some("max-age=1"));
    let gw = gateway(
        &format!("jwks_url: \"{}\"", jwks.jwks_url()),
        "{ ttl_secs: 60, min_refetch_interval_secs: 1, max_stale_secs: 600 }",
    )
    .await;
    let cached = k1.sign(&claims());
    assert_eq!(gw.status_with("app", &cached).await, 200);
    assert_eq!(jwks.hits(), 1);

    // The issuer fails for 3.5 s while requests keep coming, half with unknown kids.
    jwks.set_failing(true);
    let stranger = TestKey::rsa("forged").sign(&claims());
    let started = Instant::now();
    let mut requests = 0;
    while started.elapsed() < Duration::from_millis(3500) {
        assert_eq!(gw.status_with("app", &cached).await, 200, "a cached key works while the issuer is down");
        assert_eq!(gw.status_with("app", &stranger).await, 401, "an unknown kid fails");
        requests += 2;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let attempts = jwks.hits() - 1;
    assert!(requests > 100, "{requests}");
    // One attempt per second at most: 3.5 s allow 4 (the first may come at once).
    assert!((2..=4).contains(&attempts), "{attempts} fetch attempts during the outage");

    // The issuer disappears altogether (connection refused): same behaviour.
    jwks.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(gw.status_with("app", &cached).await, 200);
    assert_eq!(gw.status_with("app", &stranger).await, 401);
    assert!(scimgate::auth::metrics().jwks_stale_uses.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert!(scimgate::auth::metrics().jwks_failures.load(std::sync::atomic::Ordering::Relaxed) >= 2);
}

#[tokio::test]
async fn a_token_verified_once_is_not_verified_again_until_its_key_changes() {
    use std::sync::atomic::Ordering::Relaxed;
    let hits = || scimgate::auth::metrics().jwt_cache_hits.load(Relaxed);
    let k1 = TestKey::rsa("k1");
    let k2 = TestKey::rsa("k2");
    let jwks = JwksServer::start(&[&k1]).await;
    let gw =
        gateway(&format!("jwks_url: \"{}\"", jwks.jwks_url()), "{ ttl_secs: 60, min_refetch_interval_secs: 1 }").await;
    let token = k1.sign(&claims());
    let before = hits();
    for _ in 0..10 {
        assert_eq!(gw.status_with("app", &token).await, 200);
    }
    assert!(hits() - before >= 9, "nine of ten requests reuse the first verification");

    // A token whose signature was never checked gets no help from one that was, even when only
    // its signature differs.
    let (head, _) = token.rsplit_once('.').unwrap();
    let other = k2.sign(&claims());
    let forged = format!("{head}.{}", other.rsplit_once('.').unwrap().1);
    assert_eq!(gw.status_with("app", &forged).await, 401);

    // k1 is rotated out: after the refetch (triggered by a token under the new key) the cached
    // verification of the k1 token no longer counts.
    jwks.set_keys(&[&k2]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(gw.status_with("app", &other).await, 200);
    assert_eq!(gw.status_with("app", &token).await, 401, "signed by a key the issuer no longer publishes");
}

#[tokio::test]
async fn stale_keys_are_dropped_after_max_stale() {
    let k1 = TestKey::ec("k1");
    let jwks = JwksServer::start(&[&k1]).await;
    jwks.set_cache_control(Some("max-age=1"));
    let gw = gateway(
        &format!("jwks_url: \"{}\"", jwks.jwks_url()),
        "{ ttl_secs: 60, min_refetch_interval_secs: 1, max_stale_secs: 1 }",
    )
    .await;
    let token = k1.sign(&claims());
    assert_eq!(gw.status_with("app", &token).await, 200);
    jwks.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(gw.status_with("app", &token).await, 200, "stale but within max_stale");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(gw.status_with("app", &token).await, 401, "past max_stale the keys are gone");
}

#[tokio::test]
async fn keys_are_found_through_discovery() {
    let k1 = TestKey::rsa("k1");
    let jwks = JwksServer::start(&[&k1]).await;
    let gw = gateway(
        &format!("discovery_url: \"{}\"", jwks.discovery_url()),
        "{ ttl_secs: 60, min_refetch_interval_secs: 1 }",
    )
    .await;
    assert_eq!(gw.status_with("app", &k1.sign(&claims())).await, 200);
    assert_eq!(jwks.hits(), 2, "the discovery document, then the keys");
    assert_eq!(gw.status_with("app", &k1.sign(&claims())).await, 200);
    assert_eq!(jwks.hits(), 2);
}

#[tokio::test]
async fn an_issuer_that_never_answered_costs_one_fetch_per_interval() {
    let k1 = TestKey::rsa("k1");
    let jwks = JwksServer::start(&[&k1]).await;
    jwks.set_failing(true);
    let gw =
        gateway(&format!("jwks_url: \"{}\"", jwks.jwks_url()), "{ ttl_secs: 60, min_refetch_interval_secs: 1 }").await;
    let token = k1.sign(&claims());
    for _ in 0..30 {
        assert_eq!(gw.status_with("app", &token).await, 401);
    }
    assert_eq!(jwks.hits(), 1);
    jwks.set_failing(false);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(gw.status_with("app", &token).await, 200, "the issuer is back");
    assert_eq!(jwks.hits(), 2);
}

#[tokio::test]
async fn a_slow_refetch_does_not_hold_up_tokens_under_cached_keys() {
    let k1 = TestKey::rsa("k1");
    let jwks = JwksServer::start(&[&k1]).await;
    jwks.set_cache_control(Some("max-age=1"));
    let gw = gateway(
        &format!("jwks_url: \"{}\"", jwks.jwks_url()),
        "{ ttl_secs: 60, min_refetch_interval_secs: 1, fetch_timeout_secs: 10 }",
    )
    .await;
    let token = k1.sign(&claims());
    assert_eq!(gw.status_with("app", &token).await, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    jwks.set_delay(Duration::from_millis(3000));

    // The first request after the keys went stale starts the (slow) refetch and waits for it;
    // the others meanwhile use the stale keys at once.
    let refetching = gw.status_with("app", &token);
    let others = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        for _ in 0..5 {
            assert_eq!(gw.status_with("app", &token).await, 200);
        }
        started.elapsed()
    };
    let (first, others_took) = tokio::join!(refetching, others);
    assert_eq!(first, 200);
    // Waiting for the refetch would take at least 2.8 s.
    assert!(others_took < Duration::from_millis(1500), "requests waited for the refetch: {others_took:?}");
    assert_eq!(jwks.hits(), 2);
}
