//! Authentication counters: plain atomics, cheap on the request path, read by whoever exports
//! them. Every record is also forwarded to the Prometheus registry of [`crate::observe`].

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::rejection::Reason;

/// The kind of credential a request presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// No usable credential (missing or malformed header).
    None,
    Static,
    /// A JWT from a trusted issuer.
    Jwt,
    /// A token the gateway issued at `/oauth/token`.
    Issued,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 4] =
        [CredentialKind::None, CredentialKind::Static, CredentialKind::Jwt, CredentialKind::Issued];

    pub fn label(self) -> &'static str {
        match self {
            CredentialKind::None => "none",
            CredentialKind::Static => "static",
            CredentialKind::Jwt => "jwt",
            CredentialKind::Issued => "issued",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

const KINDS: usize = CredentialKind::ALL.len();
const REASONS: usize = Reason::ALL.len();

/// Counters of authentication outcomes, JWKS fetches and the token endpoint.
#[derive(Debug)]
pub struct AuthMetrics {
    accepted: [AtomicU64; KINDS],
    rejected: [[AtomicU64; REASONS]; KINDS],
    /// JWKS (or discovery) fetches that produced keys.
    pub jwks_refreshes: AtomicU64,
    /// JWKS fetches that failed (unreachable, bad status, unusable document).
    pub jwks_failures: AtomicU64,
    /// Tokens verified with keys past their lifetime because the issuer was unreachable.
    pub jwks_stale_uses: AtomicU64,
    /// JWTs accepted from an earlier verification of the same token, without a signature check.
    pub jwt_cache_hits: AtomicU64,
    /// Access tokens issued at `/oauth/token`.
    pub tokens_issued: AtomicU64,
    /// Refused token requests (bad client credentials, bad requests, throttled).
    pub token_requests_refused: AtomicU64,
}

/// One counter of [`AuthMetrics::outcomes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub kind: &'static str,
    /// `accepted` or `rejected`.
    pub outcome: &'static str,
    /// Empty for accepted requests.
    pub reason: &'static str,
    pub count: u64,
}

impl AuthMetrics {
    fn new() -> Self {
        AuthMetrics {
            accepted: std::array::from_fn(|_| AtomicU64::new(0)),
            rejected: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            jwks_refreshes: AtomicU64::new(0),
            jwks_failures: AtomicU64::new(0),
            jwks_stale_uses: AtomicU64::new(0),
            jwt_cache_hits: AtomicU64::new(0),
            tokens_issued: AtomicU64::new(0),
            token_requests_refused: AtomicU64::new(0),
        }
    }

    pub(crate) fn accepted(&self, kind: CredentialKind) {
        self.accepted[kind.index()].fetch_add(1, Ordering::Relaxed);
        crate::observe::metrics().record_auth(kind.label(), "accepted", "");
    }

    pub(crate) fn rejected(&self, kind: CredentialKind, reason: Reason) {
        self.rejected[kind.index()][reason.index()].fetch_add(1, Ordering::Relaxed);
        crate::observe::metrics().record_auth(kind.label(), "rejected", reason.label());
    }

    pub(crate) fn jwks_fetched(&self, ok: bool) {
        let counter = if ok { &self.jwks_refreshes } else { &self.jwks_failures };
        counter.fetch_add(1, Ordering::Relaxed);
        let labels = crate::observe::metrics::RefreshLabels {
            source: "jwks".into(),
            result: if ok { "ok" } else { "failed" }.into(),
        };
        crate::observe::metrics().jwks_refreshes.get_or_create(&labels).inc();
    }

    /// Accepted requests of `kind`.
    pub fn accepted_count(&self, kind: CredentialKind) -> u64 {
        self.accepted[kind.index()].load(Ordering::Relaxed)
    }

    /// Rejected requests of `kind` for `reason`.
    pub fn rejected_count(&self, kind: CredentialKind, reason: Reason) -> u64 {
        self.rejected[kind.index()][reason.index()].load(Ordering::Relaxed)
    }

    /// Every non-zero outcome counter.
    pub fn outcomes(&self) -> Vec<Outcome> {
        let mut out = Vec::new();
        for kind in CredentialKind::ALL {
            let count = self.accepted_count(kind);
            if count > 0 {
                out.push(Outcome { kind: kind.label(), outcome: "accepted", reason: "", count });
            }
            for reason in Reason::ALL {
                let count = self.rejected_count(kind, reason);
                if count > 0 {
                    out.push(Outcome { kind: kind.label(), outcome: "rejected", reason: reason.label(), count });
                }
            }
        }
        out
    }
}

/// The process's authentication counters.
pub fn metrics() -> &'static AuthMetrics {
    static METRICS: OnceLock<AuthMetrics> = OnceLock::new();
    METRICS.get_or_init(AuthMetrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_reason() {
        let m = AuthMetrics::new();
        m.accepted(CredentialKind::Jwt);
        m.rejected(CredentialKind::Jwt, Reason::Expired);
        m.rejected(CredentialKind::Jwt, Reason::Expired);
        m.rejected(CredentialKind::Static, Reason::UnknownToken);
        assert_eq!(m.accepted_count(CredentialKind::Jwt), 1);
        assert_eq!(m.rejected_count(CredentialKind::Jwt, Reason::Expired), 2);
        assert_eq!(m.rejected_count(CredentialKind::Jwt, Reason::BadSignature), 0);
        let outcomes = m.outcomes();
        assert_eq!(outcomes.len(), 3, "{outcomes:?}");
        assert!(outcomes.contains(&Outcome { kind: "jwt", outcome: "rejected", reason: "expired", count: 2 }));
    }
}
