//! JWTs whose signature and claims were already checked, so that the next request carrying the
//! same token skips the signature check (an RSA or ECDSA verification is most of what a request
//! costs the gateway). IdPs reuse one access token for its whole lifetime, often an hour.
//!
//! An entry is keyed by the SHA-256 digest of the token, so the cache never holds a credential,
//! and only an identical token hits it. A hit counts only while the token has not expired (with
//! the issuer's leeway) and while the key that signed it is still one of the issuer's current
//! keys, looked up as for a new token (the caller checks that): a rotation, a revoked key or keys
//! dropped as too stale send the token through the full check again. Rejections are never cached,
//! so a forged or expired token always pays the full check.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use super::Principal;
use super::jwks::VerifyKey;

/// Digest of a presented token.
pub(crate) type TokenDigest = [u8; 32];

/// How many distinct tokens are remembered per route; IdPs present a handful at a time.
const CAPACITY: u64 = 10_000;
/// Upper bound on how long a verification is trusted, whatever the token's own lifetime.
const MAX_AGE: Duration = Duration::from_secs(300);

/// The outcome of one full verification.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(crate) principal: Principal,
    /// Index of the route's issuer entry that accepted the token.
    pub(crate) issuer: usize,
    /// The token's `kid`, to look its key up again.
    pub(crate) kid: Option<String>,
    /// The key that verified the signature.
    pub(crate) key: Arc<VerifyKey>,
    /// `exp + leeway`, in seconds since the epoch: the last second the token is accepted.
    pub(crate) valid_until: u64,
}

/// Verified tokens of one route.
#[derive(Clone)]
pub(crate) struct VerifiedTokens {
    cache: Cache<TokenDigest, Verified>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        VerifiedTokens { cache: Cache::builder().max_capacity(CAPACITY).time_to_live(MAX_AGE).build() }
    }
}

impl VerifiedTokens {
    /// A previous verification of this token, if the token is still unexpired at `now` (seconds
    /// since the epoch).
    pub(crate) fn get(&self, digest: &TokenDigest, now: u64) -> Option<Verified> {
        let hit = self.cache.get(digest)?;
        if now <= hit.valid_until {
            return Some(hit);
        }
        self.cache.invalidate(digest);
        None
    }

    pub(crate) fn insert(&self, digest: TokenDigest, verified: Verified) {
        self.cache.insert(digest, verified);
    }

    pub(crate) fn forget(&self, digest: &TokenDigest) {
        self.cache.invalidate(digest);
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::DecodingKey;

    use super::*;

    fn verified(valid_until: u64) -> Verified {
        Verified {
            principal: Principal { name: Arc::from("idp"), read_only: false },
            issuer: 0,
            kid: Some("k1".into()),
            key: Arc::new(VerifyKey::for_tests(DecodingKey::from_secret(b"unused"))),
            valid_until,
        }
    }

    #[test]
    fn a_hit_needs_the_same_token_unexpired() {
        let cache = VerifiedTokens::default();
        let d = [7u8; 32];
        cache.insert(d, verified(100));
        assert!(cache.get(&d, 100).is_some(), "valid through its last second");
        assert!(cache.get(&[8u8; 32], 50).is_none(), "another token");
        assert!(cache.get(&d, 101).is_none(), "expired");
        assert!(cache.get(&d, 50).is_none(), "an expired entry is dropped");
        cache.insert(d, verified(100));
        cache.forget(&d);
        assert!(cache.get(&d, 50).is_none());
    }
}
