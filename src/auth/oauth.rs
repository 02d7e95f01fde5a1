//! The gateway's OAuth 2.0 token endpoint: the client credentials grant (RFC 6749 §4.4).
//!
//! An IdP that can only do OAuth (Entra's "OAuth2 Client Credentials Grant" provisioning mode)
//! gets short-lived JWTs signed with the gateway's key, valid for the routes its client is
//! allowed (`aud`). Client secrets are held as SHA-256 digests and compared in constant time.
//! Failed attempts are counted per client and source address and, past a threshold, refused
//! without checking (see [`super::limiter`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AuthSetupError;
use super::jwt::{ISSUED_TYP, SCOPE_READ, SCOPE_WRITE};
use super::limiter::FailureLimiter;
use super::metrics::metrics;
use super::settings::{OAuthClientSettings, OAuthSettings};
use crate::backend::JwtSigner;

/// Largest token request body read.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 8 * 1024;
const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";

/// One token request, as the router hands it over.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub content_type: Option<&'a str>,
    pub authorization: Option<&'a [u8]>,
    /// The body, or `None` when it was larger than [`MAX_TOKEN_REQUEST_BYTES`] or unreadable.
    pub body: Option<&'a [u8]>,
    pub peer: Option<IpAddr>,
}

/// The answer to a token request.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenReply {
    pub status: u16,
    pub body: Value,
    pub www_authenticate: Option<&'static str>,
    pub retry_after: Option<u64>,
}

impl TokenReply {
    fn error(status: u16, error: &str, description: &str) -> Self {
        TokenReply {
            status,
            body: json!({"error": error, "error_description": description}),
            www_authenticate: None,
            retry_after: None,
        }
    }

    fn invalid_request(description: &str) -> Self {
        Self::error(400, "invalid_request", description)
    }

    fn invalid_client() -> Self {
        TokenReply {
            www_authenticate: Some("Basic realm=\"scimgate\""),
            ..Self::error(401, "invalid_client", "client authentication failed")
        }
    }
}

struct Client {
    digest: [u8; 32],
    routes: Vec<String>,
    scopes: Vec<String>,
}

/// The token endpoint, built from the `oauth` settings.
pub struct TokenEndpoint {
    signer: Arc<JwtSigner>,
    issuer: String,
    lifetime: Duration,
    clients: HashMap<String, Client>,
    limiter: Arc<FailureLimiter>,
}

impl std::fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&String> = self.clients.keys().collect();
        f.debug_struct("TokenEndpoint").field("issuer", &self.issuer).field("clients", &ids).finish()
    }
}

fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// The scopes a client may obtain, checked against the two the gateway knows.
fn client_scopes(c: &OAuthClientSettings, key: &str) -> Result<Vec<String>, AuthSetupError> {
    let scopes = match &c.scopes {
        Some(s) => s.clone(),
        None if c.read_only => vec![SCOPE_READ.to_owned()],
        None => vec![SCOPE_READ.to_owned(), SCOPE_WRITE.to_owned()],
    };
    if let Some(bad) = scopes.iter().find(|s| *s != SCOPE_READ && *s != SCOPE_WRITE) {
        return Err(AuthSetupError::invalid(
            format!("{key}.scopes"),
            format!("unknown scope `{bad}`; the gateway grants `{SCOPE_READ}` and `{SCOPE_WRITE}`"),
        ));
    }
    if c.read_only && scopes.iter().any(|s| s == SCOPE_WRITE) {
        return Err(AuthSetupError::invalid(
            format!("{key}.scopes"),
            format!("a read-only client cannot have `{SCOPE_WRITE}`"),
        ));
    }
    Ok(scopes)
}

fn client_digest(
    c: &OAuthClientSettings,
    key: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<[u8; 32], AuthSetupError> {
    let set = [c.secret_sha256.is_some(), c.secret_env.is_some(), c.secret_file.is_some()];
    if set.iter().filter(|s| **s).count() != 1 {
        return Err(AuthSetupError::invalid(key, "set exactly one of secret_sha256, secret_env, secret_file"));
    }
    if let Some(hex) = &c.secret_sha256 {
        return super::static_token::parse_hex_digest(hex)
            .ok_or_else(|| AuthSetupError::invalid(format!("{key}.secret_sha256"), "must be 64 hex digits"));
    }
    let secret = if let Some(var) = &c.secret_env {
        env(var).ok_or_else(|| {
            AuthSetupError::invalid(format!("{key}.secret_env"), format!("environment variable `{var}` is not set"))
        })?
    } else if let Some(path) = &c.secret_file {
        std::fs::read_to_string(path).map_err(|e| {
            AuthSetupError::invalid(format!("{key}.secret_file"), format!("cannot read {}: {e}", path.display()))
        })?
    } else {
        String::new()
    };
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(AuthSetupError::invalid(key, "the client secret is empty"));
    }
    Ok(digest(secret.as_bytes()))
}

impl TokenEndpoint {
    /// Builds the endpoint; `routes` are the configured route names (a client naming another is
    /// an error), `limiter` is kept across reloads.
    pub(crate) fn from_settings(
        settings: &OAuthSettings,
        signer: Arc<JwtSigner>,
        routes: &[&str],
        env: &dyn Fn(&str) -> Option<String>,
        limiter: Arc<FailureLimiter>,
    ) -> Result<Self, AuthSetupError> {
        if !(60..=86_400).contains(&settings.token_lifetime_secs) {
            return Err(AuthSetupError::invalid("oauth.token_lifetime_secs", "must be between 60 and 86400"));
        }
        if settings.issuer.trim().is_empty() {
            return Err(AuthSetupError::invalid("oauth.issuer", "must not be empty"));
        }
        let mut clients = HashMap::new();
        for (i, c) in settings.clients.iter().enumerate() {
            let key = format!("oauth.clients[{i}]");
            if c.client_id.is_empty() || c.client_id.chars().any(char::is_control) {
                return Err(AuthSetupError::invalid(
                    format!("{key}.client_id"),
                    "must be non-empty, without control characters",
                ));
            }
            if c.routes.is_empty() {
                return Err(AuthSetupError::invalid(format!("{key}.routes"), "name at least one route"));
            }
            if let Some(r) = c.routes.iter().find(|r| !routes.contains(&r.as_str())) {
                return Err(AuthSetupError::invalid(format!("{key}.routes"), format!("there is no route `{r}`")));
            }
            let client = Client {
                digest: client_digest(c, &key, env)?,
                routes: c.routes.clone(),
                scopes: client_scopes(c, &key)?,
            };
            if clients.insert(c.client_id.clone(), client).is_some() {
                return Err(AuthSetupError::invalid(format!("{key}.client_id"), "is used twice"));
            }
        }
        Ok(TokenEndpoint {
            signer,
            issuer: settings.issuer.clone(),
            lifetime: Duration::from_secs(settings.token_lifetime_secs),
            clients,
            limiter,
        })
    }

    pub(crate) fn limiter(&self) -> Arc<FailureLimiter> {
        self.limiter.clone()
    }

    /// Answers one token request. Never logs or echoes a secret.
    pub fn handle(&self, req: TokenRequest<'_>) -> TokenReply {
        let reply = self.answer(req);
        if reply.status == 200 {
            metrics().tokens_issued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        } else {
            metrics().token_requests_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        reply
    }

    fn answer(&self, req: TokenRequest<'_>) -> TokenReply {
        let form_type = req
            .content_type
            .and_then(|c| c.split(';').next())
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !form_type {
            return TokenReply::invalid_request("the body must be application/x-www-form-urlencoded");
        }
        let Some(body) = req.body.filter(|b| b.len() <= MAX_TOKEN_REQUEST_BYTES) else {
            return TokenReply::invalid_request("the request body is too large");
        };
        let form = match parse_form(body) {
            Ok(f) => f,
            Err(e) => return TokenReply::invalid_request(e),
        };
        let (client_id, secret) = match client_credentials(req.authorization, &form) {
            Ok(c) => c,
            Err(reply) => return reply,
        };
        if let Some(wait) = self.limiter.blocked_for(&client_id, req.peer) {
            tracing::warn!(peer = ?req.peer, "token request refused: too many failed client authentications");
            return TokenReply {
                retry_after: Some(wait.as_secs().max(1)),
                ..TokenReply::error(429, "invalid_client", "too many failed attempts; retry later")
            };
        }
        let Some((client_id, client)) = self.authenticate(&client_id, &secret) else {
            self.limiter.record_failure(&client_id, req.peer);
            tracing::info!(peer = ?req.peer, "token request refused: client authentication failed");
            return TokenReply::invalid_client();
        };
        match form.get("grant_type").map(String::as_str) {
            None => return TokenReply::invalid_request("grant_type is required"),
            Some(GRANT_CLIENT_CREDENTIALS) => {}
            Some(_) => {
                return TokenReply::error(400, "unsupported_grant_type", "only client_credentials is supported");
            }
        }
        let scopes = match form.get("scope") {
            None => client.scopes.clone(),
            Some(requested) => {
                let requested: Vec<String> =
                    requested.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if requested.is_empty() || requested.iter().any(|s| !client.scopes.contains(s)) {
                    return TokenReply::error(
                        400,
                        "invalid_scope",
                        "the requested scope is not granted to this client",
                    );
                }
                requested
            }
        };
        self.issue(client_id, client, &scopes)
    }

    /// The client whose id and secret these are. The digest comparison runs even for an
    /// unknown id, so timing does not tell which ids exist.
    fn authenticate(&self, client_id: &str, secret: &str) -> Option<(&str, &Client)> {
        let presented = digest(secret.as_bytes());
        let found = self.clients.get_key_value(client_id).or_else(|| {
            // Admins often paste the percent-encoded id an application displays (Entra's
            // provisioning form asks for it so); accept it decoded once more.
            let decoded = percent_encoding::percent_decode_str(client_id).decode_utf8().ok()?;
            if decoded == client_id { None } else { self.clients.get_key_value(decoded.as_ref()) }
        });
        let expected = found.map_or([0u8; 32], |(_, c)| c.digest);
        let matches = bool::from(expected.ct_eq(&presented));
        found.filter(|_| matches).map(|(id, c)| (id.as_str(), c))
    }

    fn issue(&self, client_id: &str, client: &Client, scopes: &[String]) -> TokenReply {
        let now = jsonwebtoken::get_current_timestamp();
        let scope = scopes.join(" ");
        let claims = json!({
            "iss": self.issuer,
            "sub": client_id,
            "aud": client.routes,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime.as_secs(),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        match self.signer.sign_with_type(&claims, ISSUED_TYP) {
            Ok(token) => {
                tracing::info!(client = client_id, "access token issued");
                TokenReply {
                    status: 200,
                    body: json!({
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": self.lifetime.as_secs(),
                        "scope": scope,
                    }),
                    www_authenticate: None,
                    retry_after: None,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot sign an access token");
                TokenReply::error(500, "server_error", "the token could not be signed")
            }
        }
    }
}

/// The client id and secret, from HTTP Basic (`client_secret_basic`, with the form-encoding of
/// RFC 6749 §2.3.1 undone) or from the body (`client_secret_post`); using both is an error.
fn client_credentials(
    authorization: Option<&[u8]>,
    form: &HashMap<String, String>,
) -> Result<(String, String), TokenReply> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let Some(header) = authorization else {
        return match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
            _ => Err(TokenReply::invalid_client()),
        };
    };
    let text = std::str::from_utf8(header).map_err(|_| TokenReply::invalid_client())?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or_else(TokenReply::invalid_client)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(TokenReply::invalid_client());
    }
    let decoded = BASE64.decode(encoded.trim()).map_err(|_| TokenReply::invalid_client())?;
    let decoded = String::from_utf8(decoded).map_err(|_| TokenReply::invalid_client())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(TokenReply::invalid_client)?;
    let id = form_decode(id).ok_or_else(TokenReply::invalid_client)?;
    let secret = form_decode(secret).ok_or_else(TokenReply::invalid_client)?;
    if body_secret.is_some() {
        return Err(TokenReply::invalid_request("use one client authentication method, not two"));
    }
    if body_id.is_some_and(|b| *b != id) {
        return Err(TokenReply::invalid_request("client_id differs from the authenticated client"));
    }
    Ok((id, secret))
}

/// Parses `application/x-www-form-urlencoded`; a repeated parameter is an error (RFC 6749 §3.2).
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, &'static str> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8")?;
    let mut out = HashMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = form_decode(k).ok_or("a parameter is not valid form encoding")?;
        let v = form_decode(v).ok_or("a parameter is not valid form encoding")?;
        if out.insert(k, v).is_some() {
            return Err("a parameter is repeated");
        }
    }
    Ok(out)
}

/// Undoes form encoding: `+` is a space, `%XX` a byte; the result must be UTF-8.
fn form_decode(s: &str) -> Option<String> {
    let plus = s.replace('+', " ");
    // A `%` not followed by two hex digits is not valid form encoding.
    let bytes = plus.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return None;
        }
    }
    percent_encoding::percent_decode_str(&plus).decode_utf8().ok().map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%3Ac%25").as_deref(), Some("a b:c%"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%FF"), None, "not UTF-8");
        let f = parse_form(b"grant_type=client_credentials&scope=scim.read+scim.write").unwrap();
        assert_eq!(f["scope"], "scim.read scim.write");
        assert!(parse_form(b"a=1&a=2").is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", BASE64.encode("urn%3Asys%3Aid:p%40ss+word"));
        let (id, secret) = client_credentials(Some(header.as_bytes()), &HashMap::new()).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("urn:sys:id", "p@ss word"));
        let both: HashMap<String, String> = [("client_secret".to_owned(), "x".to_owned())].into();
        assert_eq!(client_credentials(Some(header.as_bytes()), &both).unwrap_err().status, 400);
        assert_eq!(client_credentials(Some(b"Bearer abc"), &HashMap::new()).unwrap_err().status, 401);
        assert_eq!(client_credentials(None, &HashMap::new()).unwrap_err().status, 401);
    }
}
