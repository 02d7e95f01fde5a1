//! JWT bearer tokens: a trusted issuer's rules, and the verification of one token against them.
//!
//! The order of checks is deliberate. Cheap structural checks on the unverified token come first
//! (size, three base64url parts, a header naming an allowed asymmetric algorithm); the unverified
//! `iss` only selects which issuer's keys to try. Then the signature, with a key whose type and
//! curve fit the algorithm; only then the claims (`exp`, `nbf`, `iat`, `aud`, `typ`, `sub`,
//! scopes). The algorithm is taken from the allow-list and checked against the key, never trusted
//! from the token alone.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::Principal;
use super::jwks::{JwksCache, VerifyKey, find_key};
use super::metrics::CredentialKind;
use super::rejection::Reason;

/// Scope that lets a gateway-issued token read.
pub const SCOPE_READ: &str = "scim.read";
/// Scope that lets a gateway-issued token write.
pub const SCOPE_WRITE: &str = "scim.write";
/// `typ` of the access tokens the gateway issues (RFC 9068), so that no other JWT signed with the
/// same key (e.g. one minted for a backend) is taken for one.
pub const ISSUED_TYP: &str = "at+jwt";

/// How an issuer entry matches `iss`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IssuerMatch {
    Exact(String),
    /// Ends with `/`, checked when built.
    Prefix(String),
}

impl IssuerMatch {
    fn matches(&self, iss: &str) -> bool {
        match self {
            IssuerMatch::Exact(e) => iss == e,
            IssuerMatch::Prefix(p) => iss.len() > p.len() && iss.starts_with(p.as_str()),
        }
    }
}

/// Where an issuer's verification keys come from.
pub(crate) enum KeySource {
    Remote(Arc<JwksCache>),
    /// The gateway's own keys, known without fetching.
    Local(Vec<Arc<VerifyKey>>),
}

/// The clients allowed to present gateway-issued tokens on a route, with their read-only flag.
pub(crate) type IssuedClients = HashMap<String, bool>;

/// One trusted issuer of a route.
pub(crate) struct JwtIssuer {
    pub(crate) issuers: Vec<IssuerMatch>,
    pub(crate) typ: Option<String>,
    pub(crate) subjects: Option<HashSet<String>>,
    pub(crate) required_scopes: Vec<String>,
    pub(crate) leeway: u64,
    pub(crate) read_only: bool,
    pub(crate) keys: KeySource,
    /// `Some` for the gateway's own tokens: who may use them here.
    pub(crate) issued_clients: Option<IssuedClients>,
    /// One prepared validation per allowed algorithm.
    validations: HashMap<Algorithm, Validation>,
}

/// Settings of a [`JwtIssuer`] that shape its validations.
pub(crate) struct IssuerRules {
    pub(crate) issuers: Vec<IssuerMatch>,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) typ: Option<String>,
    pub(crate) subjects: Option<Vec<String>>,
    pub(crate) required_scopes: Vec<String>,
    pub(crate) leeway: u64,
    pub(crate) read_only: bool,
}

impl JwtIssuer {
    pub(crate) fn new(rules: IssuerRules, keys: KeySource, issued_clients: Option<IssuedClients>) -> Self {
        let validations = rules
            .algorithms
            .iter()
            .map(|alg| {
                let mut v = Validation::new(*alg);
                v.leeway = rules.leeway;
                v.validate_exp = true;
                v.validate_nbf = true;
                v.validate_aud = true;
                v.set_audience(&rules.audiences);
                v.set_required_spec_claims(&["exp", "aud", "iss"]);
                (*alg, v)
            })
            .collect();
        JwtIssuer {
            issuers: rules.issuers,
            typ: rules.typ.map(|t| normalize_typ(&t)),
            subjects: rules.subjects.map(|s| s.into_iter().collect()),
            required_scopes: rules.required_scopes,
            leeway: rules.leeway,
            read_only: rules.read_only,
            keys,
            issued_clients,
            validations,
        }
    }

    pub(crate) fn kind(&self) -> CredentialKind {
        if self.issued_clients.is_some() { CredentialKind::Issued } else { CredentialKind::Jwt }
    }

    /// The key `kid` names among the issuer's current keys (fetched or refreshed as the JWKS
    /// cache decides).
    pub(crate) async fn key(&self, kid: Option<&str>) -> Result<Arc<VerifyKey>, Reason> {
        match &self.keys {
            KeySource::Remote(cache) => cache.key(kid).await,
            KeySource::Local(keys) => find_key(keys, kid).ok_or(Reason::UnknownKey),
        }
    }

    pub(crate) fn trusts(&self, iss: &str) -> bool {
        self.issuers.iter().any(|m| m.matches(iss))
    }

    /// Verifies `token` (already parsed as `unverified`) against this issuer.
    pub(crate) async fn verify(&self, token: &str, unverified: &Unverified) -> Result<Accepted, Reason> {
        let validation = self.validations.get(&unverified.alg).ok_or(Reason::UnsupportedAlgorithm)?;
        let key = self.key(unverified.kid.as_deref()).await?;
        if !key.accepts(unverified.alg) {
            return Err(Reason::KeyMismatch);
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, validation).map_err(decode_reason)?;
        let claims = data.claims;
        self.check_claims(&claims, unverified)?;
        // `exp` is a required claim the decoder has checked as a number.
        let exp = claims.get("exp").and_then(Value::as_f64).ok_or(Reason::MissingClaim)?;
        let valid_until = (exp.max(0.0) as u64).saturating_add(self.leeway);
        Ok(Accepted { principal: self.principal(&claims)?, valid_until, key })
    }

    fn check_claims(&self, claims: &Map<String, Value>, unverified: &Unverified) -> Result<(), Reason> {
        match claims.get("iss").and_then(Value::as_str) {
            Some(iss) if self.trusts(iss) => {}
            Some(_) => return Err(Reason::UnknownIssuer),
            None => return Err(Reason::MissingClaim),
        }
        match claims.get("iat") {
            None => {}
            Some(Value::Number(n)) => {
                let now = jsonwebtoken::get_current_timestamp() as f64;
                if n.as_f64().is_none_or(|iat| iat > now + self.leeway as f64) {
                    return Err(Reason::IssuedInFuture);
                }
            }
            Some(_) => return Err(Reason::MalformedJwt),
        }
        if let Some(want) = &self.typ
            && unverified.typ.as_deref().map(normalize_typ).as_deref() != Some(want.as_str())
        {
            return Err(Reason::WrongType);
        }
        if let Some(allowed) = &self.subjects {
            let sub = claims.get("sub").and_then(Value::as_str).ok_or(Reason::SubjectNotAllowed)?;
            if !allowed.contains(sub) {
                return Err(Reason::SubjectNotAllowed);
            }
        }
        Ok(())
    }

    fn principal(&self, claims: &Map<String, Value>) -> Result<Principal, Reason> {
        let scopes = scopes(claims);
        let has = |s: &str| scopes.iter().any(|x| x == s);
        if !self.required_scopes.is_empty() && !self.required_scopes.iter().any(|s| has(s)) {
            return Err(Reason::InsufficientScope);
        }
        let Some(clients) = &self.issued_clients else {
            let name = ["sub", "azp", "appid", "client_id"]
                .iter()
                .find_map(|c| claims.get(*c).and_then(Value::as_str))
                .map_or_else(|| "jwt".to_owned(), printable);
            return Ok(Principal { name: Arc::from(name), read_only: self.read_only });
        };
        let client = claims.get("client_id").and_then(Value::as_str).ok_or(Reason::MissingClaim)?;
        let client_read_only = *clients.get(client).ok_or(Reason::UnknownClient)?;
        if !has(SCOPE_READ) && !has(SCOPE_WRITE) {
            return Err(Reason::InsufficientScope);
        }
        Ok(Principal { name: Arc::from(printable(client)), read_only: client_read_only || !has(SCOPE_WRITE) })
    }
}

/// A token this issuer accepted.
pub(crate) struct Accepted {
    pub(crate) principal: Principal,
    /// `exp` plus the leeway, in seconds since the epoch: the last second the token is accepted.
    pub(crate) valid_until: u64,
    /// The key whose signature it carries.
    pub(crate) key: Arc<VerifyKey>,
}

/// What can be read from a token before its signature is checked; used only to choose the
/// issuer and key, never to decide anything on its own.
#[derive(Debug)]
pub(crate) struct Unverified {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    pub(crate) iss: Option<String>,
}

/// Whether `token` has the shape of a JWS compact serialization (three base64url parts).
///
/// Runs on every request, cache hit or not, over a kilobyte or more: both passes are free of
/// early exits so that the compiler can vectorise them.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    let bytes = token.as_bytes();
    let allowed =
        bytes.iter().fold(true, |ok, &b| ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.')));
    allowed && bytes.iter().filter(|&&b| b == b'.').count() == 2
}

/// Parses header and payload without trusting them.
pub(crate) fn parse_unverified(token: &str) -> Result<Unverified, Reason> {
    if !looks_like_jwt(token) {
        return Err(Reason::MalformedJwt);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Reason::MalformedJwt);
    };
    let header = decode_object(header)?;
    let alg = header.get("alg").and_then(Value::as_str).ok_or(Reason::MalformedJwt)?;
    // `none` (usually with an empty signature) is reported as what it is.
    let alg = Algorithm::from_str(alg).map_err(|_| Reason::UnsupportedAlgorithm)?;
    if header.contains_key("crit") {
        return Err(Reason::UnsupportedHeader);
    }
    if payload.is_empty() || signature.is_empty() {
        return Err(Reason::MalformedJwt);
    }
    let text = |name: &str| -> Result<Option<String>, Reason> {
        match header.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Reason::MalformedJwt),
        }
    };
    let kid = text("kid")?;
    let typ = text("typ")?;
    let claims = decode_object(payload)?;
    let iss = match claims.get("iss") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Reason::MalformedJwt),
    };
    Ok(Unverified { alg, kid, typ, iss })
}

fn decode_object(part: &str) -> Result<Map<String, Value>, Reason> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| Reason::MalformedJwt)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Reason::MalformedJwt),
    }
}

fn decode_reason(e: jsonwebtoken::errors::Error) -> Reason {
    match e.kind() {
        ErrorKind::InvalidSignature => Reason::BadSignature,
        ErrorKind::ExpiredSignature => Reason::Expired,
        ErrorKind::ImmatureSignature => Reason::NotYetValid,
        ErrorKind::InvalidAudience => Reason::WrongAudience,
        ErrorKind::InvalidIssuer => Reason::UnknownIssuer,
        ErrorKind::MissingRequiredClaim(_) => Reason::MissingClaim,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
            Reason::UnsupportedAlgorithm
        }
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => Reason::KeyMismatch,
        _ => Reason::MalformedJwt,
    }
}

/// `typ` compared as RFC 8725 §3.11 and RFC 9068 §4 advise: without case and without the
/// `application/` prefix.
fn normalize_typ(typ: &str) -> String {
    let lower = typ.trim().to_ascii_lowercase();
    lower.strip_prefix("application/").map(str::to_owned).unwrap_or(lower)
}

/// Scopes and roles from `scope` (space-separated), `scp` (string or list) and `roles` (list).
fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["scope", "scp", "roles"] {
        match claims.get(name) {
            Some(Value::String(s)) => out.extend(s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned)),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned)),
            _ => {}
        }
    }
    out
}

/// A claim value fit for logs: printable ASCII, at most 128 characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic()).take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_stop_at_their_slash() {
        let m = IssuerMatch::Prefix("https://sts.windows.net/".into());
        assert!(m.matches("https://sts.windows.net/tenant/"));
        assert!(!m.matches("https://sts.windows.net.evil/"));
        assert!(!m.matches("https://sts.windows.net/"), "the prefix alone names no tenant");
        assert!(IssuerMatch::Exact("a".into()).matches("a"));
        assert!(!IssuerMatch::Exact("a".into()).matches("ab"));
    }

    #[test]
    fn typ_is_compared_loosely_but_fully() {
        assert_eq!(normalize_typ("application/AT+JWT"), "at+jwt");
        assert_eq!(normalize_typ("JWT"), "jwt");
    }

    #[test]
    fn jwt_shape_is_three_base64url_parts() {
        let obvious = |t: &str| {
            t.split('.').count() == 3 && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        let long = "A".repeat(1500);
        for t in [
            "a.b.c",
            "a-_.b9.Z",
            "..",
            "a.b",
            "a.b.c.d",
            "",
            "a.b.c=",
            "a.b.c ",
            "a.b.\u{e9}",
            "a+b.c.d",
            "a/b.c.d",
            &format!("{long}.{long}.{long}"),
            &format!("{long}.{long}.{long}!"),
            &format!("{long}.{long}"),
        ] {
            assert_eq!(looks_like_jwt(t), obvious(t), "{t:.40}");
        }
        assert!(looks_like_jwt("a-_.b9.Z") && looks_like_jwt(".."));
        assert!(!looks_like_jwt("a.b.c=") && !looks_like_jwt("a.b.c.d") && !looks_like_jwt("a.b.\u{e9}"));
    }

    #[test]
    fn unverified_parse_rejects_bad_shapes() {
        let b = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let payload = b(&serde_json::json!({"iss": "x"}));
        let good = format!("{}.{payload}.c2ln", b(&serde_json::json!({"alg": "RS256", "kid": "k"})));
        let u = parse_unverified(&good).unwrap();
        assert_eq!((u.alg, u.kid.as_deref(), u.iss.as_deref()), (Algorithm::RS256, Some("k"), Some("x")));
        let none = format!("{}.{payload}.c2ln", b(&serde_json::json!({"alg": "none"})));
        assert_eq!(parse_unverified(&none).unwrap_err(), Reason::UnsupportedAlgorithm);
        let crit = format!("{}.{payload}.c2ln", b(&serde_json::json!({"alg": "RS256", "crit": ["exp"]})));
        assert_eq!(parse_unverified(&crit).unwrap_err(), Reason::UnsupportedHeader);
        let kid_num = format!("{}.{payload}.c2ln", b(&serde_json::json!({"alg": "RS256", "kid": 3})));
        assert_eq!(parse_unverified(&kid_num).unwrap_err(), Reason::MalformedJwt);
        assert_eq!(parse_unverified("a.b").unwrap_err(), Reason::MalformedJwt);
        assert_eq!(parse_unverified(&format!("{good}=")).unwrap_err(), Reason::MalformedJwt);
        assert_eq!(
            parse_unverified(&format!("{}.{payload}.", b(&serde_json::json!({"alg": "RS256"})))).unwrap_err(),
            Reason::MalformedJwt
        );
    }

    #[test]
    fn scopes_come_from_every_claim_form() {
        let claims: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "scope": "a b", "scp": ["c"], "roles": ["d"]
        }))
        .unwrap();
        assert_eq!(scopes(&claims), ["a", "b", "c", "d"]);
    }
}
