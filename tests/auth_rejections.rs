//! Bad credentials, one table: every row goes to a real gateway over HTTP, in front of an
//! application that counts the requests reaching it. Each rejected row must get the expected
//! status and challenge, be counted under the expected reason, and reach the application zero
//! times; the accepted rows (positive controls) must reach it.

mod auth_support;

use auth_support::{CountingApp, Gateway, JwksServer, TestKey, USER, mapped_route, now, raw_token, sha256_hex};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use scimgate::auth::{CredentialKind, Reason, metrics};
use serde_json::{Value, json};

const STATIC_TOKEN: &str = "static-token-0123456789abcdef";
const ISS: &str = "https://idp.test/";
const AUD: &str = "api://scimgate";

/// What a row must produce.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Refused by authentication: status, `error` in the challenge (none for a bare challenge),
    /// and the counter that must move.
    Rejected { status: u16, error: Option<&'static str>, kind: CredentialKind, reason: Reason },
    /// Authenticated, then refused before the target because the caller may only read.
    ReadOnly { kind: CredentialKind },
    /// Accepted and forwarded.
    Accepted { kind: CredentialKind },
}

struct Case {
    name: &'static str,
    /// The raw `Authorization` header, or none.
    header: Option<Vec<u8>>,
    method: Method,
    expect: Expect,
}

fn bearer(token: &str) -> Option<Vec<u8>> {
    Some(format!("Bearer {token}").into_bytes())
}

fn invalid(kind: CredentialKind, reason: Reason) -> Expect {
    Expect::Rejected { status: 401, error: Some("invalid_token"), kind, reason }
}

fn jwt(reason: Reason) -> Expect {
    invalid(CredentialKind::Jwt, reason)
}

fn issued(reason: Reason) -> Expect {
    invalid(CredentialKind::Issued, reason)
}

fn idp_claims() -> Value {
    let t = now();
    json!({
        "iss": ISS, "aud": AUD, "sub": "svc-provisioner", "exp": t + 600, "iat": t, "nbf": t,
        "roles": ["SCIM.Provision"]
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn flip_last_signature_char(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    // Change a character in the middle of the signature (the last one may carry unused bits).
    let i = token.rfind('.').unwrap() + 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

async fn issue(gw: &Gateway, client: &str, secret: &str, scope: Option<&str>) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
    let (id, pw) = (auth_support::form(&[("", client)]), auth_support::form(&[("", secret)]));
    let resp = auth_support::token_request(gw, Some((&id[1..], &pw[1..])), &form).await;
    assert_eq!(resp.status(), 200, "token for {client}");
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn settings(jwks: &JwksServer, app: &CountingApp) -> String {
    let auth = format!(
        r#"      tokens: [{{ name: idp-static, value: "{STATIC_TOKEN}" }}]
      jwt:
        - issuer: "{ISS}"
          jwks_url: "{jwks}"
          audiences: ["{AUD}"]
          typ: JWT
          subjects: [svc-provisioner]
          required_scopes: [SCIM.Provision]
          cache: {{ ttl_secs: 1, min_refetch_interval_secs: 1 }}
        - issuer_prefix: "https://tenants.idp.test/"
          jwks_url: "{jwks}"
          audiences: ["{AUD}"]
          cache: {{ ttl_secs: 1, min_refetch_interval_secs: 1 }}
"#,
        jwks = jwks.jwks_url()
    );
    format!(
        r#"listen: 127.0.0.1:0
oauth:
  issuer: https://gateway.test
  token_lifetime_secs: 300
  signing_keys: [{{ kid: gw-1, key_file: "{{dir}}/gw.pem" }}]
  clients:
    - {{ client_id: app-client, secret_sha256: "{app}", routes: [app] }}
    - {{ client_id: reader, secret_sha256: "{reader}", routes: [app], read_only: true }}
    - {{ client_id: other-client, secret_sha256: "{other}", routes: [other] }}
routes:
{route}  other:
    target: {{ kind: memory }}
    auth:
      tokens: [{{ name: other-static, value: other-token }}]
"#,
        app = sha256_hex("app-secret"),
        reader = sha256_hex("reader-secret"),
        other = sha256_hex("other-secret"),
        route = mapped_route("app", app, &auth),
    )
}

#[tokio::test]
async fn bad_credentials_never_reach_the_target() {
    let rsa = TestKey::rsa("rsa-main");
    let ec = TestKey::ec("ec-main");
    let old = TestKey::rsa("rsa-old");
    let impostor = TestKey::rsa("rsa-other").with_kid("rsa-main");
    // An RSA key that says it is only for RS256, and an EC key that tokens will call an RSA key.
    let mut rs_only = TestKey::rsa("rsa-rs256-only");
    rs_only.jwk.common.key_algorithm = Some(jsonwebtoken::jwk::KeyAlgorithm::RS256);
    let gw_key = TestKey::ec("gw-1");

    let jwks = JwksServer::start(&[&rsa, &ec, &old, &rs_only]).await;
    let mut raw_keys: Vec<Value> = [&rsa, &ec, &rs_only].iter().map(|k| k.jwk_json()).collect();
    // A symmetric key in the set must never verify anything.
    raw_keys.push(json!({"kty": "oct", "kid": "hmac", "k": "c2hhcmVkLXNlY3JldA"}));
    let app = CountingApp::start().await;
    let dir = Gateway::prepare();
    auth_support::write_file(&dir, "gw.pem", &gw_key.pem);
    let gw = Gateway::start_in(dir, &settings(&jwks, &app)).await;

    // Warm the cache with a key that is then removed from the issuer's set; once the cached set
    // is stale (ttl 1 s), the next fetch forgets it.
    assert_eq!(gw.status_with("app", &old.sign(&idp_claims())).await, 200, "the old key works while published");
    jwks.set_raw_keys(raw_keys);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let app_token = issue(&gw, "app-client", "app-secret", None).await;
    let reader_token = issue(&gw, "reader", "reader-secret", None).await;
    let read_scope_token = issue(&gw, "app-client", "app-secret", Some("scim.read")).await;
    let other_route_token = issue(&gw, "other-client", "other-secret", None).await;
    let gw_claims = |extra: Value| {
        let t = now();
        let mut c = json!({
            "iss": "https://gateway.test", "aud": ["app"], "sub": "app-client", "client_id": "app-client",
            "scope": "scim.read scim.write", "iat": t, "nbf": t, "exp": t + 300
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let gw_sign = |claims: Value| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("gw-1".into());
        h.typ = Some("at+jwt".into());
        gw_key.sign_with(h, &claims)
    };

    let good = rsa.sign(&idp_claims());
    let t = now();
    let header_of = |alg: &str, kid: &str| json!({"alg": alg, "typ": "JWT", "kid": kid});
    let hs256_with_public_key = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("rsa-main".into());
        jsonwebtoken::encode(&h, &idp_claims(), &EncodingKey::from_secret(rsa.public_pem.as_bytes())).unwrap()
    };
    let hs256_with_oct_key = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("hmac".into());
        jsonwebtoken::encode(&h, &idp_claims(), &EncodingKey::from_secret(b"shared-secret")).unwrap()
    };
    let ps256_on_rs256_only_key = {
        let mut h = Header::new(Algorithm::PS256);
        h.kid = Some("rsa-rs256-only".into());
        rs_only.sign_with(h, &idp_claims())
    };
    let rs256_naming_ec_key = rsa.with_kid("ec-main").sign(&idp_claims());
    let es256_naming_rsa_key = ec.with_kid("rsa-main").sign(&idp_claims());
    let with_typ = |typ: &str| {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some("rsa-main".into());
        h.typ = Some(typ.into());
        rsa.sign_with(h, &idp_claims())
    };
    let huge = |len: usize| {
        let pad = "x".repeat(len);
        rsa.sign(&with(idp_claims(), "pad", json!(pad)))
    };
    let static_one_byte_off = {
        let mut b = STATIC_TOKEN.as_bytes().to_vec();
        b[5] ^= 0x01;
        String::from_utf8(b).unwrap()
    };
    let gw_backend_style = {
        // What the same key signs for a backend (`gateway_jwt`): typ JWT, no client_id.
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("gw-1".into());
        gw_key.sign_with(h, &gw_claims(json!({})))
    };

    use CredentialKind::{Issued, Jwt, Static};
    let get = Method::GET;
    let post = Method::POST;
    let cases: Vec<Case> = vec![
        // Positive controls first: the same gateway accepts well-made credentials.
        Case {
            name: "valid RS256 token",
            header: bearer(&good),
            method: get.clone(),
            expect: Expect::Accepted { kind: Jwt },
        },
        Case {
            name: "valid ES256 token",
            header: bearer(&ec.sign(&idp_claims())),
            method: get.clone(),
            expect: Expect::Accepted { kind: Jwt },
        },
        Case {
            name: "lower-case bearer scheme (RFC 7235)",
            header: Some(format!("bearer {good}").into_bytes()),
            method: get.clone(),
            expect: Expect::Accepted { kind: Jwt },
        },
        Case {
            name: "expired within the leeway",
            header: bearer(&rsa.sign(&with(idp_claims(), "exp", json!(t - 30)))),
            method: get.clone(),
            expect: Expect::Accepted { kind: Jwt },
        },
        Case {
            name: "aud array with ours",
            header: bearer(&rsa.sign(&with(idp_claims(), "aud", json!(["x", AUD])))),
            method: get.clone(),
            expect: Expect::Accepted { kind: Jwt },
        },
        Case {
            name: "issuer under the trusted prefix",
            header: bearer(&rsa.sign(&with(idp_claims(), "iss", json!("https://tenants.idp.test/t1/")))),
            method: get.clone(),
            expect: Expect::Accepted { kind: Jwt },
        },
        Case {
            name: "static token",
            header: bearer(STATIC_TOKEN),
            method: get.clone(),
            expect: Expect::Accepted { kind: Static },
        },
        Case {
            name: "gateway-issued token",
            header: bearer(&app_token),
            method: post.clone(),
            expect: Expect::Accepted { kind: Issued },
        },
        Case {
            name: "read-only client reading",
            header: bearer(&reader_token),
            method: get.clone(),
            expect: Expect::Accepted { kind: Issued },
        },
        // Header shapes.
        Case {
            name: "no Authorization header",
            header: None,
            method: get.clone(),
            expect: Expect::Rejected { status: 401, error: None, kind: CredentialKind::None, reason: Reason::Missing },
        },
        Case {
            name: "empty bearer",
            header: Some(b"Bearer ".to_vec()),
            method: get.clone(),
            expect: Expect::Rejected {
                status: 401,
                error: Some("invalid_request"),
                kind: CredentialKind::None,
                reason: Reason::MalformedHeader,
            },
        },
        Case {
            name: "scheme only",
            header: Some(b"Bearer".to_vec()),
            method: get.clone(),
            expect: Expect::Rejected {
                status: 401,
                error: Some("invalid_request"),
                kind: CredentialKind::None,
                reason: Reason::MalformedHeader,
            },
        },
        Case {
            name: "Basic instead of Bearer",
            header: Some(format!("Basic {}", base64_std(&format!("idp:{STATIC_TOKEN}"))).into_bytes()),
            method: get.clone(),
            expect: Expect::Rejected {
                status: 401,
                error: Some("invalid_request"),
                kind: CredentialKind::None,
                reason: Reason::MalformedHeader,
            },
        },
        Case {
            name: "token with an inner space",
            header: bearer(&format!("{} {}", &good[..20], &good[20..])),
            method: get.clone(),
            expect: Expect::Rejected {
                status: 401,
                error: Some("invalid_request"),
                kind: CredentialKind::None,
                reason: Reason::MalformedHeader,
            },
        },
        Case {
            name: "non-UTF-8 header bytes",
            header: Some([b"Bearer ".as_slice(), &[0xC3, 0x28, 0x41]].concat()),
            method: get.clone(),
            expect: Expect::Rejected {
                status: 401,
                error: Some("invalid_request"),
                kind: CredentialKind::None,
                reason: Reason::MalformedHeader,
            },
        },
        // Static tokens.
        Case {
            name: "static token differing in one byte",
            header: bearer(&static_one_byte_off),
            method: get.clone(),
            expect: invalid(Static, Reason::UnknownToken),
        },
        Case {
            name: "static token missing its last byte",
            header: bearer(&STATIC_TOKEN[..STATIC_TOKEN.len() - 1]),
            method: get.clone(),
            expect: invalid(Static, Reason::UnknownToken),
        },
        Case {
            name: "static token with a suffix",
            header: bearer(&format!("{STATIC_TOKEN}x")),
            method: get.clone(),
            expect: invalid(Static, Reason::UnknownToken),
        },
        Case {
            name: "another route's static token",
            header: bearer("other-token"),
            method: get.clone(),
            expect: invalid(Static, Reason::UnknownToken),
        },
        // Token shapes.
        Case {
            name: "non-base64 characters",
            header: bearer("!!!.***.###"),
            method: get.clone(),
            expect: invalid(Static, Reason::UnknownToken),
        },
        Case {
            name: "four parts",
            header: bearer(&format!("{good}.eA")),
            method: get.clone(),
            expect: invalid(Static, Reason::UnknownToken),
        },
        Case {
            name: "padded base64",
            header: bearer(&format!("{good}==")),
            method: get.clone(),
            expect: invalid(Static, Reason::UnknownToken),
        },
        Case {
            name: "garbage in three parts",
            header: bearer("abc.def.ghi"),
            method: get.clone(),
            expect: jwt(Reason::MalformedJwt),
        },
        Case {
            name: "truncated signature",
            header: bearer(&good[..good.len() - 42]),
            method: get.clone(),
            expect: jwt(Reason::BadSignature),
        },
        Case {
            name: "truncated to the header",
            header: bearer(&format!("{}..", good.split('.').next().unwrap())),
            method: get.clone(),
            expect: jwt(Reason::MalformedJwt),
        },
        Case {
            name: "payload is a JSON array",
            header: bearer(&raw_token(&header_of("RS256", "rsa-main"), &json!([1, 2]), "c2ln")),
            method: get.clone(),
            expect: jwt(Reason::MalformedJwt),
        },
        Case {
            name: "kid is a number",
            header: bearer(&raw_token(&json!({"alg": "RS256", "kid": 7}), &idp_claims(), "c2ln")),
            method: get.clone(),
            expect: jwt(Reason::MalformedJwt),
        },
        Case {
            name: "17 KiB token",
            header: bearer(&huge(17 * 1024)),
            method: get.clone(),
            expect: jwt(Reason::TooLarge),
        },
        Case {
            name: "64 KiB token",
            header: bearer(&huge(64 * 1024)),
            method: get.clone(),
            expect: jwt(Reason::TooLarge),
        },
        // Algorithms and keys.
        Case {
            name: "alg none, empty signature",
            header: bearer(&raw_token(&header_of("none", "rsa-main"), &idp_claims(), "")),
            method: get.clone(),
            expect: jwt(Reason::UnsupportedAlgorithm),
        },
        Case {
            name: "alg none, some signature",
            header: bearer(&raw_token(&header_of("none", "rsa-main"), &idp_claims(), "c2ln")),
            method: get.clone(),
            expect: jwt(Reason::UnsupportedAlgorithm),
        },
        Case {
            name: "HS256 signed with the issuer's public key",
            header: bearer(&hs256_with_public_key),
            method: get.clone(),
            expect: jwt(Reason::UnsupportedAlgorithm),
        },
        Case {
            name: "HS256 naming an oct key in the JWKS",
            header: bearer(&hs256_with_oct_key),
            method: get.clone(),
            expect: jwt(Reason::UnsupportedAlgorithm),
        },
        Case {
            name: "crit header",
            header: bearer(&raw_token(
                &json!({"alg": "RS256", "kid": "rsa-main", "crit": ["exp"]}),
                &idp_claims(),
                "c2ln",
            )),
            method: get.clone(),
            expect: jwt(Reason::UnsupportedHeader),
        },
        Case {
            name: "unknown kid",
            header: bearer(&TestKey::rsa("nobody").sign(&idp_claims())),
            method: get.clone(),
            expect: jwt(Reason::UnknownKey),
        },
        Case {
            name: "kid of a removed key",
            header: bearer(&old.sign(&idp_claims())),
            method: get.clone(),
            expect: jwt(Reason::UnknownKey),
        },
        Case {
            name: "RS256 token naming an EC key",
            header: bearer(&rs256_naming_ec_key),
            method: get.clone(),
            expect: jwt(Reason::KeyMismatch),
        },
        Case {
            name: "ES256 token naming an RSA key",
            header: bearer(&es256_naming_rsa_key),
            method: get.clone(),
            expect: jwt(Reason::KeyMismatch),
        },
        Case {
            name: "PS256 on a key published for RS256 only",
            header: bearer(&ps256_on_rs256_only_key),
            method: get.clone(),
            expect: jwt(Reason::KeyMismatch),
        },
        Case {
            name: "bad signature",
            header: bearer(&flip_last_signature_char(&good)),
            method: get.clone(),
            expect: jwt(Reason::BadSignature),
        },
        Case {
            name: "another key with the same kid",
            header: bearer(&impostor.sign(&idp_claims())),
            method: get.clone(),
            expect: jwt(Reason::BadSignature),
        },
        Case {
            name: "claims swapped under a valid signature",
            header: bearer(&format!(
                "{}.{}.{}",
                good.split('.').next().unwrap(),
                rsa.sign(&with(idp_claims(), "sub", json!("other"))).split('.').nth(1).unwrap(),
                good.split('.').nth(2).unwrap()
            )),
            method: get.clone(),
            expect: jwt(Reason::BadSignature),
        },
        // Claims.
        Case {
            name: "expired",
            header: bearer(&rsa.sign(&with(idp_claims(), "exp", json!(t - 3600)))),
            method: get.clone(),
            expect: jwt(Reason::Expired),
        },
        Case {
            name: "no exp",
            header: bearer(&rsa.sign(&without(idp_claims(), "exp"))),
            method: get.clone(),
            expect: jwt(Reason::MissingClaim),
        },
        Case {
            name: "exp is a string",
            header: bearer(&rsa.sign(&with(idp_claims(), "exp", json!("tomorrow")))),
            method: get.clone(),
            expect: jwt(Reason::MissingClaim),
        },
        Case {
            name: "nbf in the future",
            header: bearer(&rsa.sign(&with(idp_claims(), "nbf", json!(t + 3600)))),
            method: get.clone(),
            expect: jwt(Reason::NotYetValid),
        },
        Case {
            name: "iat far in the future",
            header: bearer(&rsa.sign(&with(idp_claims(), "iat", json!(t + 3600)))),
            method: get.clone(),
            expect: jwt(Reason::IssuedInFuture),
        },
        Case {
            name: "iat is a string",
            header: bearer(&rsa.sign(&with(idp_claims(), "iat", json!("now")))),
            method: get.clone(),
            expect: jwt(Reason::MalformedJwt),
        },
        Case {
            name: "wrong issuer",
            header: bearer(&rsa.sign(&with(idp_claims(), "iss", json!("https://evil.test/")))),
            method: get.clone(),
            expect: jwt(Reason::UnknownIssuer),
        },
        Case {
            name: "issuer prefix attack",
            header: bearer(&rsa.sign(&with(idp_claims(), "iss", json!("https://tenants.idp.test.evil/t1/")))),
            method: get.clone(),
            expect: jwt(Reason::UnknownIssuer),
        },
        Case {
            name: "the bare issuer prefix",
            header: bearer(&rsa.sign(&with(idp_claims(), "iss", json!("https://tenants.idp.test/")))),
            method: get.clone(),
            expect: jwt(Reason::UnknownIssuer),
        },
        Case {
            name: "issuer with a trailing space",
            header: bearer(&rsa.sign(&with(idp_claims(), "iss", json!("https://idp.test/ ")))),
            method: get.clone(),
            expect: jwt(Reason::UnknownIssuer),
        },
        Case {
            name: "no iss",
            header: bearer(&rsa.sign(&without(idp_claims(), "iss"))),
            method: get.clone(),
            expect: jwt(Reason::MissingClaim),
        },
        Case {
            name: "wrong audience",
            header: bearer(&rsa.sign(&with(idp_claims(), "aud", json!("api://other")))),
            method: get.clone(),
            expect: jwt(Reason::WrongAudience),
        },
        Case {
            name: "aud array without ours",
            header: bearer(&rsa.sign(&with(idp_claims(), "aud", json!(["api://a", "api://b"])))),
            method: get.clone(),
            expect: jwt(Reason::WrongAudience),
        },
        Case {
            name: "no aud",
            header: bearer(&rsa.sign(&without(idp_claims(), "aud"))),
            method: get.clone(),
            expect: jwt(Reason::MissingClaim),
        },
        Case {
            name: "wrong typ",
            header: bearer(&with_typ("at+jwt")),
            method: get.clone(),
            expect: jwt(Reason::WrongType),
        },
        Case {
            name: "subject not allowed",
            header: bearer(&rsa.sign(&with(idp_claims(), "sub", json!("svc-intruder")))),
            method: get.clone(),
            expect: jwt(Reason::SubjectNotAllowed),
        },
        Case {
            name: "valid token lacking the required role",
            header: bearer(&rsa.sign(&with(idp_claims(), "roles", json!(["Other.Role"])))),
            method: get.clone(),
            expect: Expect::Rejected {
                status: 403,
                error: Some("insufficient_scope"),
                kind: Jwt,
                reason: Reason::InsufficientScope,
            },
        },
        // Gateway-issued tokens.
        Case {
            name: "expired gateway-issued token",
            header: bearer(&gw_sign(gw_claims(json!({"iat": t - 4000, "nbf": t - 4000, "exp": t - 3600})))),
            method: get.clone(),
            expect: issued(Reason::Expired),
        },
        Case {
            name: "gateway token for another route",
            header: bearer(&other_route_token),
            method: get.clone(),
            expect: issued(Reason::WrongAudience),
        },
        Case {
            name: "gateway-signed token without typ at+jwt",
            header: bearer(&gw_backend_style),
            method: get.clone(),
            expect: issued(Reason::WrongType),
        },
        Case {
            name: "gateway token of an unknown client",
            header: bearer(&gw_sign(gw_claims(json!({"client_id": "ghost", "sub": "ghost"})))),
            method: get.clone(),
            expect: issued(Reason::UnknownClient),
        },
        Case {
            name: "gateway token signed by a stranger",
            header: bearer(&{
                let k = TestKey::ec("gw-1");
                let mut h = Header::new(Algorithm::ES256);
                h.kid = Some("gw-1".into());
                h.typ = Some("at+jwt".into());
                k.sign_with(h, &gw_claims(json!({})))
            }),
            method: get.clone(),
            expect: issued(Reason::BadSignature),
        },
        Case {
            name: "gateway token without scope",
            header: bearer(&gw_sign(gw_claims(json!({"scope": ""})))),
            method: get.clone(),
            expect: Expect::Rejected {
                status: 403,
                error: Some("insufficient_scope"),
                kind: Issued,
                reason: Reason::InsufficientScope,
            },
        },
        Case {
            name: "read-only client writing",
            header: bearer(&reader_token),
            method: post.clone(),
            expect: Expect::ReadOnly { kind: Issued },
        },
        Case {
            name: "read scope only, writing",
            header: bearer(&read_scope_token),
            method: post.clone(),
            expect: Expect::ReadOnly { kind: Issued },
        },
    ];

    let rejections = cases.iter().filter(|c| !matches!(c.expect, Expect::Accepted { .. })).count();
    assert!(rejections >= 40, "only {rejections} rejection rows");
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = run(&gw, &app, case).await {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    assert!(failures.is_empty(), "{} rows failed:\n{}", failures.len(), failures.join("\n"));
}

fn base64_std(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn run(gw: &Gateway, app: &CountingApp, case: &Case) -> Result<(), String> {
    let before_hits = app.hits();
    let counter = |e: Expect| match e {
        Expect::Rejected { kind, reason, .. } => metrics().rejected_count(kind, reason),
        Expect::ReadOnly { kind } | Expect::Accepted { kind } => metrics().accepted_count(kind),
    };
    let before_count = counter(case.expect);
    let mut req = gw.http.request(case.method.clone(), format!("{}/Users", gw.scim("app")));
    if let Some(h) = &case.header {
        req = req.header(http::header::AUTHORIZATION, http::HeaderValue::from_bytes(h).map_err(|e| e.to_string())?);
    }
    if case.method == Method::POST {
        req = req
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [USER], "userName": "ann"}).to_string());
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let challenge = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let reached = app.hits() - before_hits;
    let counted = counter(case.expect) - before_count;
    match case.expect {
        Expect::Accepted { .. } => {
            if !(200..300).contains(&status) {
                return Err(format!("expected success, got {status} {body}"));
            }
            if reached == 0 {
                return Err("accepted but the target saw nothing".into());
            }
        }
        Expect::Rejected { status: want, error, .. } => {
            check_refusal(status, want, challenge.as_deref(), error, &body)?;
            if reached != 0 {
                return Err(format!("{reached} request(s) reached the target"));
            }
        }
        Expect::ReadOnly { .. } => {
            check_refusal(status, 403, challenge.as_deref(), Some("insufficient_scope"), &body)?;
            if reached != 0 {
                return Err(format!("{reached} request(s) reached the target"));
            }
        }
    }
    if counted != 1 {
        return Err(format!("expected counter {:?} to move by 1, moved by {counted}", case.expect));
    }
    Ok(())
}

fn check_refusal(
    status: u16,
    want: u16,
    challenge: Option<&str>,
    error: Option<&str>,
    body: &Value,
) -> Result<(), String> {
    if status != want {
        return Err(format!("expected {want}, got {status} {body}"));
    }
    if body["schemas"][0] != "urn:ietf:params:scim:api:messages:2.0:Error"
        || body["status"].as_str() != Some(want.to_string().as_str())
    {
        return Err(format!("not a SCIM error body: {body}"));
    }
    let challenge = challenge.ok_or("no WWW-Authenticate")?;
    if !challenge.starts_with("Bearer realm=") {
        return Err(format!("challenge {challenge}"));
    }
    match error {
        Some(code) if !challenge.contains(&format!("error=\"{code}\"")) => {
            Err(format!("challenge {challenge} lacks {code}"))
        }
        None if challenge.contains("error=") => Err(format!("challenge {challenge} has an error code")),
        _ => Ok(()),
    }
}
