//! How the load reaches the gateway: a JWT from a trusted issuer (as Entra sends, RS256, keys
//! published as a JWKS the gateway fetches and caches), or a static bearer token.

use std::path::Path;
use std::process::Command;

use scimgate::backend::JwtSigner;
use serde_json::json;

const AUDIENCE: &str = "api://scimgate-load";
const STATIC_TOKEN: &str = "load-harness-token";

/// The credential every SCIM request carries, and the route settings that accept it.
pub struct Credentials {
    /// The `auth:` value of a route, as inline YAML.
    pub route_auth: String,
    /// The `Authorization` header value.
    pub authorization: String,
    /// What the table header says.
    pub label: String,
    _jwks_server: Option<tokio::task::JoinHandle<()>>,
}

impl Credentials {
    pub fn static_token() -> Credentials {
        Credentials {
            route_auth: format!("{{ tokens: [{{ name: load, value: {STATIC_TOKEN} }}] }}"),
            authorization: format!("Bearer {STATIC_TOKEN}"),
            label: "static bearer token".into(),
            _jwks_server: None,
        }
    }

    /// A fresh RSA-2048 key (made with `openssl genpkey`), its JWKS served on a local port, and
    /// one token signed with it, valid for longer than any run.
    pub async fn jwt(dir: &Path) -> Result<Credentials, String> {
        let key = dir.join("issuer-key.pem");
        let made = Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
            .arg(&key)
            .output()
            .map_err(|e| format!("JWT auth needs the openssl command to make a key ({e}); or use --auth static"))?;
        if !made.status.success() {
            return Err(format!("openssl genpkey failed: {}", String::from_utf8_lossy(&made.stderr)));
        }
        let pem = std::fs::read(&key).map_err(|e| format!("{}: {e}", key.display()))?;
        let signer = JwtSigner::from_pem_keys([("load-1", pem.as_slice())]).map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let origin = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
        let jwks = signer.jwks();
        let app = axum::Router::new().route("/keys", axum::routing::get(move || async move { axum::Json(jwks) }));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let issuer = format!("{origin}/");
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": issuer,
            "aud": AUDIENCE,
            "sub": "scimgate-load",
            "iat": now,
            "nbf": now,
            "exp": now + 12 * 3600,
            "roles": ["SCIM.Provision"],
        });
        let token = signer.sign(&claims).map_err(|e| e.to_string())?;
        Ok(Credentials {
            route_auth: format!(
                "{{ jwt: [{{ issuer: \"{issuer}\", jwks_url: \"{origin}/keys\", audiences: [\"{AUDIENCE}\"], algorithms: [RS256] }}] }}"
            ),
            authorization: format!("Bearer {token}"),
            label: "JWT (RS256, JWKS cached)".into(),
            _jwks_server: Some(server),
        })
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        if let Some(server) = &self._jwks_server {
            server.abort();
        }
    }
}
