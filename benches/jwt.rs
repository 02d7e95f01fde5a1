//! Authentication hot path: one `Authorization` header checked by a route that trusts a JWT
//! issuer, with the issuer's keys already cached, for RS256 and ES256 tokens: the first use of a
//! token (full signature check) and a token seen before (the steady state: IdPs reuse one token
//! for its lifetime); a static token on the same route for comparison.

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scimgate::auth::settings::JwtIssuerSettings;
use scimgate::auth::{GatewayAuth, RouteAuth};
use scimgate::settings::{AuthSettings, StaticTokenSettings};
use serde_json::{Value, json};

struct Key {
    kid: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

fn key(kid: &'static str, alg: Algorithm) -> Key {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let (pair, encoding): (rcgen::KeyPair, fn(&[u8]) -> _) = match alg {
        Algorithm::ES256 => {
            (rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("EC key"), EncodingKey::from_ec_pem)
        }
        _ => (
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).expect("RSA key"),
            EncodingKey::from_rsa_pem,
        ),
    };
    let encoding = encoding(pair.serialize_pem().as_bytes()).expect("encoding key");
    let mut jwk = Jwk::from_encoding_key(&encoding, alg).expect("jwk");
    jwk.common.key_id = Some(kid.to_owned());
    Key { kid, alg, encoding, jwk: serde_json::to_value(&jwk).expect("jwk json") }
}

fn token(k: &Key) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let claims = json!({
        "iss": "https://idp.test/", "aud": "api://scimgate", "sub": "svc-provisioner",
        "iat": now, "nbf": now, "exp": now + 86_400, "roles": ["SCIM.Provision"]
    });
    let mut header = Header::new(k.alg);
    header.kid = Some(k.kid.to_owned());
    jsonwebtoken::encode(&header, &claims, &k.encoding).expect("sign")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let rsa = key("rsa-1", Algorithm::RS256);
    let ec = key("ec-1", Algorithm::ES256);
    let jwks = json!({ "keys": [rsa.jwk, ec.jwk] });
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().route("/keys", axum::routing::get(move || async move { axum::Json(jwks) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    let issuer: JwtIssuerSettings = serde_json::from_value(json!({
        "issuer": "https://idp.test/",
        "jwks_url": format!("http://{addr}/keys"),
        "audiences": ["api://scimgate"],
        "required_scopes": ["SCIM.Provision"],
    }))
    .expect("issuer settings");
    let settings = AuthSettings {
        tokens: vec![StaticTokenSettings {
            name: "idp".into(),
            value: Some("static-bench-token".into()),
            value_env: None,
            value_file: None,
            sha256: None,
            read_only: false,
        }],
        jwt: vec![issuer],
        ..Default::default()
    };
    let route =
        || RouteAuth::from_settings("bench", &settings, &GatewayAuth::default(), &|_| None).expect("route auth");
    // Kept alive throughout, so every route built below shares its (warm) JWKS cache.
    let auth = route();
    let rs256 = format!("Bearer {}", token(&rsa));
    let es256 = format!("Bearer {}", token(&ec));
    let headers = [
        ("verify_rs256", &rs256),
        ("verify_es256", &es256),
        ("seen_rs256", &rs256),
        ("static_token", &"Bearer static-bench-token".to_owned()),
    ];
    for (_, h) in &headers {
        rt.block_on(auth.authenticate(Some(h.as_bytes()))).expect("accepted");
    }
    let mut group = c.benchmark_group("jwt");
    for (name, h) in headers {
        if name.starts_with("verify_") {
            // A route that has not seen the token: the signature is checked.
            group.bench_function(name, |b| {
                // By reference, so that dropping the route's caches stays out of the measurement.
                b.iter_batched_ref(
                    route,
                    |fresh| rt.block_on(fresh.authenticate(black_box(Some(h.as_bytes())))).expect("accepted"),
                    BatchSize::SmallInput,
                )
            });
        } else {
            group.bench_function(name, |b| {
                b.iter(|| rt.block_on(auth.authenticate(black_box(Some(h.as_bytes())))).expect("accepted"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
