//! Inbound authentication: turns the `Authorization` header into a [`Principal`] or a rejection.
//!
//! A route accepts the credential kinds its settings list. Rejections never say which part of a
//! credential was wrong beyond a coarse reason, and never echo the credential.

mod static_token;

use std::sync::Arc;

pub use static_token::{StaticTokenError, StaticTokens};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The configured client name (never the credential).
    pub name: Arc<str>,
    /// Only reads are allowed.
    pub read_only: bool,
}

/// Why a request was not authenticated; the label is used for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No `Authorization` header.
    Missing,
    /// A scheme other than Bearer, or an empty token.
    Malformed,
    /// A well-formed token that no configured credential accepts.
    Invalid,
}

impl Rejection {
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::Missing => "missing",
            Rejection::Malformed => "malformed",
            Rejection::Invalid => "invalid",
        }
    }

    /// The detail sent to the client (RFC 6750 §3.1 error codes in spirit).
    pub fn detail(self) -> &'static str {
        match self {
            Rejection::Missing => "authentication required: send Authorization: Bearer <token>",
            Rejection::Malformed => "malformed Authorization header: expected Bearer <token>",
            Rejection::Invalid => "the bearer token is not valid for this route",
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3).
    pub fn challenge(self, realm: &str) -> String {
        match self {
            Rejection::Missing => format!("Bearer realm=\"{realm}\""),
            Rejection::Malformed => format!("Bearer realm=\"{realm}\", error=\"invalid_request\""),
            Rejection::Invalid => format!("Bearer realm=\"{realm}\", error=\"invalid_token\""),
        }
    }
}

/// Extracts the token from an `Authorization` header value. The scheme is case-insensitive
/// (RFC 7235 §2.1), so `bearer x` is accepted.
pub fn bearer_token(header: Option<&[u8]>) -> Result<&str, Rejection> {
    let raw = header.ok_or(Rejection::Missing)?;
    let text = std::str::from_utf8(raw).map_err(|_| Rejection::Malformed)?;
    let (scheme, token) = text.trim().split_once(' ').ok_or(Rejection::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::Malformed);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(Rejection::Malformed);
    }
    Ok(token)
}

/// The credentials one route accepts.
#[derive(Debug, Clone, Default)]
pub struct RouteAuth {
    pub static_tokens: StaticTokens,
}

impl RouteAuth {
    /// Authenticates the `Authorization` header value.
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<Principal, Rejection> {
        let token = bearer_token(header)?;
        self.static_tokens.verify(token).ok_or(Rejection::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict_otherwise() {
        assert_eq!(bearer_token(Some(b"Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some(b"bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some(b"BEARER  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(Rejection::Missing));
        assert_eq!(bearer_token(Some(b"Basic dXNlcjpwYXNz")), Err(Rejection::Malformed));
        assert_eq!(bearer_token(Some(b"Bearer")), Err(Rejection::Malformed));
        assert_eq!(bearer_token(Some(b"Bearer ")), Err(Rejection::Malformed));
        assert_eq!(bearer_token(Some(b"Bearer a b")), Err(Rejection::Malformed));
        assert_eq!(bearer_token(Some(&[0x42, 0xff, 0x20, 0x61])), Err(Rejection::Malformed));
    }
}
