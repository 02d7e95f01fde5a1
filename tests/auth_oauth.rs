//! Entra ID's two ways in, end to end over real HTTP: the OAuth2 client credentials grant at the
//! gateway's own token endpoint (Basic and post, with Collibra-style URN client ids), and
//! Entra-issued tokens through the Entra preset; plus the gateway's JWKS, used by backends too.

mod auth_support;

use auth_support::{
    CountingApp, Gateway, JwksServer, TestKey, USER, form, mapped_route, now, token_request, write_file,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const APP_ID: &str = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";
const CLIENT_ID: &str = "urn:sys:env:4a1261cc-5bc0-44c0-9b85-fc4942ae7c58:i:q2724e";
const CLIENT_SECRET: &str = "s3cr3t+/with&odd=chars%";
const THROTTLED_SECRET: &str = "throttled-secret";

struct Setup {
    gw: Gateway,
    app: CountingApp,
    app2: CountingApp,
    entra_key: TestKey,
    _jwks: JwksServer,
}

async fn setup() -> Setup {
    let entra_key = TestKey::rsa("entra-kid-1");
    let jwks = JwksServer::start(&[&entra_key]).await;
    let app = CountingApp::start().await;
    let app2 = CountingApp::start().await;
    let dir = Gateway::prepare();
    write_file(&dir, "gw-new.pem", &TestKey::rsa("gw-new").pem);
    write_file(&dir, "gw-old.pem", &TestKey::ec("gw-old").pem);
    write_file(&dir, "entra.secret", &format!("{CLIENT_SECRET}\n"));
    let entra_auth = format!(
        "      entra:\n        tenant_id: {TENANT}\n        audience: \"{APP_ID}\"\n        jwks_url: \"{}\"\n",
        jwks.jwks_url()
    );
    let backend_route = format!(
        "  jwt_backend:\n    target:\n      kind: mapping\n      file: builtin:scim\n      backend:\n        base_url: \"{}\"\n        auth: {{ type: gateway_jwt, issuer: \"https://gateway.test/backend\", audience: app2, subject: scimgate }}\n    auth:\n      tokens: [{{ name: idp, value: backend-route-token }}]\n",
        app2.base_url()
    );
    let settings = format!(
        r#"listen: 127.0.0.1:0
oauth:
  issuer: https://gateway.test
  signing_keys:
    - {{ kid: gw-new, key_file: "{{dir}}/gw-new.pem" }}
    - {{ kid: gw-old, key_file: "{{dir}}/gw-old.pem" }}
  clients:
    - client_id: "{CLIENT_ID}"
      secret_file: "{{dir}}/entra.secret"
      routes: [app]
    - client_id: throttled
      secret_sha256: "{}"
      routes: [app]
routes:
{}{backend_route}"#,
        auth_support::sha256_hex(THROTTLED_SECRET),
        mapped_route("app", &app, &entra_auth),
    );
    let gw = Gateway::start_in(dir, &settings).await;
    Setup { gw, app, app2, entra_key, _jwks: jwks }
}

/// `client_secret_basic` as RFC 6749 §2.3.1 has it: id and secret form-encoded, then Basic.
fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| form(&[("", s)])[1..].to_owned();
    format!("Basic {}", BASE64.encode(format!("{}:{}", enc(id), enc(secret))))
}

async fn post_token(
    gw: &Gateway,
    authorization: Option<&str>,
    body: &str,
    content_type: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req =
        gw.http.post(format!("{}/oauth/token", gw.root())).header("content-type", content_type).body(body.to_owned());
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

const FORM: &str = "application/x-www-form-urlencoded";

async fn gateway_jwks(gw: &Gateway) -> JwkSet {
    let resp = gw.http.get(format!("{}/.well-known/jwks.json", gw.root())).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn client_credentials_then_scim_calls() {
    let s = setup().await;
    let gw = &s.gw;

    // client_secret_basic with the URN id percent-encoded inside Basic.
    let (status, headers, body) =
        post_token(gw, Some(&basic(CLIENT_ID, CLIENT_SECRET)), "grant_type=client_credentials", FORM).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "scim.read scim.write");
    assert_eq!(headers["cache-control"], "no-store");
    let token = body["access_token"].as_str().unwrap().to_owned();

    // The token works for SCIM calls on its route, reads and writes, and reaches the application.
    let before = s.app.hits();
    let scim = gw.scim("app");
    let list = gw.http.get(format!("{scim}/Users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let created = gw
        .http
        .post(format!("{scim}/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [USER], "userName": "ann@contoso.com"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(s.app.hits() >= before + 2);
    assert_eq!(
        s.app.last_authorization().as_deref(),
        Some(format!("Bearer {}", auth_support::BACKEND_TOKEN).as_str()),
        "the IdP's token is not forwarded"
    );

    // Not on a route the client is not given.
    let other = gw.http.get(format!("{}/Users", gw.scim("jwt_backend"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(other.status(), 401);

    // The token is a JWT under the first signing key, verifiable with the published JWKS,
    // which holds every key.
    let keys = gateway_jwks(gw).await;
    let kids: Vec<_> = keys.keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
    assert_eq!(kids, ["gw-new", "gw-old"]);
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!((header.kid.as_deref(), header.typ.as_deref()), (Some("gw-new"), Some("at+jwt")));
    let key = DecodingKey::from_jwk(keys.find("gw-new").unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_audience(&["app"]);
    v.set_issuer(&["https://gateway.test"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &v).unwrap().claims;
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert_eq!(claims["sub"], CLIENT_ID);
}

#[tokio::test]
async fn client_secret_post_and_encoded_ids() {
    let s = setup().await;
    let gw = &s.gw;
    let grant = [("grant_type", "client_credentials")];

    // client_secret_post: the form encoding carries the URN id and the odd secret.
    let resp = token_request(gw, None, &[grant[0], ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]).await;
    assert_eq!(resp.status(), 200);
    let token: Value = resp.json().await.unwrap();
    assert_eq!(gw.status_with("app", token["access_token"].as_str().unwrap()).await, 200);

    // The id as an admin pastes it from the application's page (already percent-encoded).
    let pasted = form(&[("", CLIENT_ID)])[1..].to_owned();
    assert!(pasted.contains("%3A"));
    let resp = token_request(gw, None, &[grant[0], ("client_id", &pasted), ("client_secret", CLIENT_SECRET)]).await;
    assert_eq!(resp.status(), 200);

    // A requested subset of scopes gives a read-only token.
    let resp = token_request(
        gw,
        None,
        &[grant[0], ("scope", "scim.read"), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)],
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["scope"], "scim.read");
    let read_only = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(gw.status_with("app", &read_only).await, 200);
    let write = gw
        .http
        .post(format!("{}/Users", gw.scim("app")))
        .bearer_auth(&read_only)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [USER], "userName": "bob"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    assert!(write.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let s = setup().await;
    let gw = &s.gw;
    let good = basic(CLIENT_ID, CLIENT_SECRET);
    let cc = "grant_type=client_credentials";
    let check = |(status, headers, body): (u16, reqwest::header::HeaderMap, Value), want: u16, error: &str| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["error"], error, "{body}");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(!body.to_string().contains(CLIENT_SECRET));
        headers
    };
    let h = check(post_token(gw, Some(&basic(CLIENT_ID, "wrong")), cc, FORM).await, 401, "invalid_client");
    assert_eq!(h["www-authenticate"], "Basic realm=\"scimgate\"");
    check(post_token(gw, Some(&basic("nobody", CLIENT_SECRET)), cc, FORM).await, 401, "invalid_client");
    check(post_token(gw, None, cc, FORM).await, 401, "invalid_client");
    check(post_token(gw, Some("Bearer abc"), cc, FORM).await, 401, "invalid_client");
    check(
        post_token(gw, Some(&good), "grant_type=password&username=a&password=b", FORM).await,
        400,
        "unsupported_grant_type",
    );
    check(post_token(gw, Some(&good), "", FORM).await, 400, "invalid_request");
    check(post_token(gw, Some(&good), &format!("{cc}&scope=admin"), FORM).await, 400, "invalid_scope");
    check(
        post_token(gw, Some(&good), r#"{"grant_type":"client_credentials"}"#, "application/json").await,
        400,
        "invalid_request",
    );
    check(post_token(gw, Some(&good), &format!("{cc}&{cc}"), FORM).await, 400, "invalid_request");
    let both = format!("{cc}&client_secret={}", form(&[("", CLIENT_SECRET)])[1..].to_owned());
    check(post_token(gw, Some(&good), &both, FORM).await, 400, "invalid_request");
    check(post_token(gw, Some(&good), &format!("{cc}&pad={}", "x".repeat(10_000)), FORM).await, 400, "invalid_request");
    // Unknown parameters are ignored (RFC 6749 §3.2).
    let (status, _, _) = post_token(gw, Some(&good), &format!("{cc}&resource=x"), FORM).await;
    assert_eq!(status, 200);
    let get = gw.http.get(format!("{}/oauth/token", gw.root())).send().await.unwrap();
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn failed_attempts_are_throttled_per_client_and_address() {
    let s = setup().await;
    let gw = &s.gw;
    let cc = "grant_type=client_credentials";
    for i in 0..5 {
        let (status, _, _) = post_token(gw, Some(&basic("throttled", &format!("guess-{i}"))), cc, FORM).await;
        assert_eq!(status, 401);
    }
    // Even the right secret is not checked now.
    let (status, headers, body) = post_token(gw, Some(&basic("throttled", THROTTLED_SECRET)), cc, FORM).await;
    assert_eq!(status, 429, "{body}");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Another client from the same address is not affected.
    let (status, _, _) = post_token(gw, Some(&basic(CLIENT_ID, CLIENT_SECRET)), cc, FORM).await;
    assert_eq!(status, 200);
}

fn entra_claims(iss: &str) -> Value {
    let t = now();
    json!({
        "aud": APP_ID, "iss": iss, "iat": t, "nbf": t, "exp": t + 3600,
        "aio": "E2ZgYJj", "appid": "b2f2e1f4-1f43-4e7b-9b0c-3a4c2f6f2d10", "appidacr": "1",
        "idp": format!("https://sts.windows.net/{TENANT}/"), "oid": "4f1c6a53-1a8a-4c93-8a34-0b1b0c2f8d61",
        "rh": "0.AAAA", "roles": ["SCIM.Provision"], "sub": "4f1c6a53-1a8a-4c93-8a34-0b1b0c2f8d61",
        "tid": TENANT, "uti": "x", "ver": "1.0"
    })
}

#[tokio::test]
async fn entra_preset_accepts_entra_tokens_only() {
    let s = setup().await;
    let gw = &s.gw;
    let v1 = format!("https://sts.windows.net/{TENANT}/");
    let v2 = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
    let before = s.app.hits();
    assert_eq!(gw.status_with("app", &s.entra_key.sign(&entra_claims(&v1))).await, 200);
    assert_eq!(gw.status_with("app", &s.entra_key.sign(&entra_claims(&v2))).await, 200);
    assert!(s.app.hits() >= before + 2);

    let mut other_tenant = entra_claims("https://sts.windows.net/00000000-0000-0000-0000-000000000000/");
    other_tenant["tid"] = json!("00000000-0000-0000-0000-000000000000");
    assert_eq!(gw.status_with("app", &s.entra_key.sign(&other_tenant)).await, 401);
    let mut other_app = entra_claims(&v1);
    other_app["aud"] = json!("00000003-0000-0000-c000-000000000000");
    assert_eq!(gw.status_with("app", &s.entra_key.sign(&other_app)).await, 401);
    // Entra signs with RS256 only; an ES256 token under a known kid is refused.
    let es = TestKey::ec("entra-kid-1");
    assert_eq!(gw.status_with("app", &es.sign(&entra_claims(&v1))).await, 401);
    assert_eq!(s.app.hits(), before + 2, "refused tokens reach nothing");
}

#[tokio::test]
async fn backends_get_tokens_signed_with_the_published_keys() {
    let s = setup().await;
    let gw = &s.gw;
    assert_eq!(gw.status_with("jwt_backend", "backend-route-token").await, 200);
    let sent = s.app2.last_authorization().expect("the application was called");
    let jwt = sent.strip_prefix("Bearer ").expect("a bearer token");
    let keys = gateway_jwks(gw).await;
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let key = DecodingKey::from_jwk(keys.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_audience(&["app2"]);
    v.set_issuer(&["https://gateway.test/backend"]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &v).unwrap().claims;
    assert_eq!(claims["sub"], "scimgate");
}
