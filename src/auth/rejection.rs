//! Why a credential was refused: a fine-grained reason for logs and metrics, a coarse class for
//! the client (status, `WWW-Authenticate` error code and a detail that names no secret).

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No `Authorization` header.
    Missing,
    /// A scheme other than Bearer, an empty token, or bytes that are not text.
    MalformedHeader,
    /// The token is longer than any credential we accept.
    TooLarge,
    /// Neither a known static token nor a well-formed JWT.
    UnknownToken,
    /// A JWT whose parts do not decode (base64url, JSON, claim types).
    MalformedJwt,
    /// `alg` is not on the allow-list (`none` and HMAC never are).
    UnsupportedAlgorithm,
    /// A header parameter we must understand (`crit`) that we do not.
    UnsupportedHeader,
    /// No trusted issuer has this `iss`.
    UnknownIssuer,
    /// The issuer's keys have no such `kid`, even after a refetch.
    UnknownKey,
    /// The key named by `kid` cannot verify this `alg` (wrong type, curve or stated algorithm).
    KeyMismatch,
    /// The issuer's keys could not be fetched and none are cached.
    KeysUnavailable,
    BadSignature,
    Expired,
    NotYetValid,
    /// `iat` is later than now plus the leeway.
    IssuedInFuture,
    WrongAudience,
    WrongType,
    /// A required claim (`exp`, `iss`, `aud`) is absent, or `exp` is not a number.
    MissingClaim,
    /// `sub` is not on the allow-list.
    SubjectNotAllowed,
    /// A gateway-issued token of a client that no longer may use this route.
    UnknownClient,
    /// A valid token without the scope this route needs.
    InsufficientScope,
}

impl Reason {
    /// Every reason, for counters indexed by reason.
    pub const ALL: [Reason; 21] = [
        Reason::Missing,
        Reason::MalformedHeader,
        Reason::TooLarge,
        Reason::UnknownToken,
        Reason::MalformedJwt,
        Reason::UnsupportedAlgorithm,
        Reason::UnsupportedHeader,
        Reason::UnknownIssuer,
        Reason::UnknownKey,
        Reason::KeyMismatch,
        Reason::KeysUnavailable,
        Reason::BadSignature,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::IssuedInFuture,
        Reason::WrongAudience,
        Reason::WrongType,
        Reason::MissingClaim,
        Reason::SubjectNotAllowed,
        Reason::UnknownClient,
        Reason::InsufficientScope,
    ];

    /// The label used in logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::MalformedHeader => "malformed",
            Reason::TooLarge => "too_large",
            Reason::UnknownToken => "invalid",
            Reason::MalformedJwt => "malformed_jwt",
            Reason::UnsupportedAlgorithm => "unsupported_alg",
            Reason::UnsupportedHeader => "unsupported_header",
            Reason::UnknownIssuer => "unknown_issuer",
            Reason::UnknownKey => "unknown_kid",
            Reason::KeyMismatch => "key_mismatch",
            Reason::KeysUnavailable => "jwks_unavailable",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::IssuedInFuture => "iat_in_future",
            Reason::WrongAudience => "wrong_audience",
            Reason::WrongType => "wrong_typ",
            Reason::MissingClaim => "missing_claim",
            Reason::SubjectNotAllowed => "subject_not_allowed",
            Reason::UnknownClient => "unknown_client",
            Reason::InsufficientScope => "insufficient_scope",
        }
    }

    pub(crate) fn index(self) -> usize {
        Reason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// The class of a rejection, which decides what the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// No credentials: 401 with a bare challenge (RFC 6750 §3.1).
    Missing,
    /// Not a Bearer credential: 401 `invalid_request`.
    Malformed,
    /// A bearer token that is not valid here: 401 `invalid_token`.
    Invalid,
    /// A valid token that may not do this: 403 `insufficient_scope`.
    InsufficientScope,
}

/// A refused credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    reason: Reason,
}

impl From<Reason> for Rejection {
    fn from(reason: Reason) -> Self {
        Rejection { reason }
    }
}

impl Rejection {
    pub const MISSING: Rejection = Rejection { reason: Reason::Missing };
    pub const MALFORMED: Rejection = Rejection { reason: Reason::MalformedHeader };
    pub const INSUFFICIENT_SCOPE: Rejection = Rejection { reason: Reason::InsufficientScope };

    pub fn kind(self) -> RejectionKind {
        match self.reason {
            Reason::Missing => RejectionKind::Missing,
            Reason::MalformedHeader => RejectionKind::Malformed,
            Reason::InsufficientScope => RejectionKind::InsufficientScope,
            _ => RejectionKind::Invalid,
        }
    }

    /// The fine-grained reason (logs, metrics); never sent to the client beyond its class.
    pub fn reason(self) -> &'static str {
        self.reason.label()
    }

    pub fn reason_code(self) -> Reason {
        self.reason
    }

    /// The HTTP status: 403 for a valid token lacking scope, else 401.
    pub fn status(self) -> u16 {
        if self.kind() == RejectionKind::InsufficientScope { 403 } else { 401 }
    }

    /// The detail sent to the client. It does not say which check failed, so it cannot guide
    /// an attacker's next attempt.
    pub fn detail(self) -> &'static str {
        match self.kind() {
            RejectionKind::Missing => "authentication required: send Authorization: Bearer <token>",
            RejectionKind::Malformed => "malformed Authorization header: expected Bearer <token>",
            RejectionKind::Invalid => "the bearer token is not valid for this route",
            RejectionKind::InsufficientScope => "the bearer token does not grant this operation",
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3).
    pub fn challenge(self, realm: &str) -> String {
        match self.kind() {
            RejectionKind::Missing => format!("Bearer realm=\"{realm}\""),
            RejectionKind::Malformed => format!("Bearer realm=\"{realm}\", error=\"invalid_request\""),
            RejectionKind::Invalid => format!("Bearer realm=\"{realm}\", error=\"invalid_token\""),
            RejectionKind::InsufficientScope => format!("Bearer realm=\"{realm}\", error=\"insufficient_scope\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_indexed() {
        let mut labels: Vec<&str> = Reason::ALL.iter().map(|r| r.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), Reason::ALL.len());
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }

    #[test]
    fn classes_decide_status_and_challenge() {
        assert_eq!(Rejection::MISSING.challenge("r"), "Bearer realm=\"r\"");
        assert_eq!(Rejection::from(Reason::Expired).status(), 401);
        assert!(Rejection::from(Reason::Expired).challenge("r").contains("invalid_token"));
        assert_eq!(Rejection::INSUFFICIENT_SCOPE.status(), 403);
        assert!(Rejection::INSUFFICIENT_SCOPE.challenge("r").contains("insufficient_scope"));
        assert!(Rejection::MALFORMED.challenge("r").contains("invalid_request"));
    }
}
