//! What each fuzz target does with one input, and the properties it checks beyond "no panic".
//!
//! Shared by the libFuzzer binaries (`fuzz_targets/*.rs`) and by the test that replays the
//! committed seeds on every `cargo test` (`tests/reliability_fuzz_corpus.rs`), so a regression
//! input added to `seeds/` is checked without cargo-fuzz.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::Method;
use scimgate::mapping::compile_str;
use scimgate::scim::filter::{Limits, parse_with_limits};
use scimgate::scim::patch::{self, PatchPath, PatchRequest};
use scimgate::scim::{Resource, ResourceKind, ResourceSchema, urn};
use scimgate::service::{ScimRequest, ScimService, ServiceOptions};
use scimgate::settings::ScimSettings;
use scimgate::target::RequestCtx;
use scimgate::target::memory::MemoryTarget;
use serde_json::{Value, json};

/// Filter parser: never panics; whatever parses prints back to a filter that parses to the same
/// tree (the printer and the parser agree).
pub fn filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits::default();
    let Ok(parsed) = parse_with_limits(text, limits) else { return };
    let printed = parsed.to_string();
    match parse_with_limits(&printed, Limits { max_len: usize::MAX, ..limits }) {
        Ok(again) => assert_eq!(again, parsed, "`{text}` printed as `{printed}` parses differently"),
        Err(e) => panic!("`{text}` printed as `{printed}`, which does not parse: {e}"),
    }
}

/// PATCH: the input is a PatchOp message (or, when it is not JSON, a single path). Parsing never
/// panics; applying to a user and to a group never panics, and a refused PATCH leaves the
/// resource exactly as it was (RFC 7644 §3.5.2: all or nothing).
pub fn patch(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        let _ = PatchPath::parse(text);
        return;
    };
    let Ok(request) = PatchRequest::from_json(&body) else { return };
    for (kind, resource) in [(ResourceKind::User, user()), (ResourceKind::Group, group())] {
        let schema = ResourceSchema::rfc(kind);
        let mut patched = resource.clone();
        match patch::apply(&schema, &mut patched, &request) {
            Ok(_) => assert!(patched.contains_key("schemas"), "a PATCH removed `schemas`: {patched:?}"),
            Err(e) => assert_eq!(patched, resource, "a refused PATCH ({}) changed the resource", e.detail),
        }
    }
}

/// Mapping loader: any text either compiles or is refused with diagnostics; never a panic.
pub fn mapping(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(diagnostics) = compile_str("fuzz.yaml", text) {
        // Rendering the diagnostics (file:line:col and the source excerpt) must not panic either.
        let _ = diagnostics.to_string();
    }
}

/// The whole request path through `ScimService` on the memory target (dialect, validation,
/// filters, PATCH, projection, paging, errors). The input is `METHOD PATH\nBODY`, where
/// `{user}` and `{group}` in the path stand for a user and a group that exist. Every answer has
/// a valid status, and every error is a SCIM error body with the same status.
pub fn service(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (head, body) = text.split_once('\n').unwrap_or((text, ""));
    let (method, target) = head.split_once(' ').unwrap_or(("GET", head));
    let Ok(method) = Method::from_bytes(method.as_bytes()) else { return };
    runtime().block_on(async {
        let service = ScimService::new(
            Arc::new(MemoryTarget::new()),
            ServiceOptions { scim: ScimSettings::default(), max_json_depth: 64, max_body_bytes: 1 << 20 },
        );
        let user = seed(&service, "/Users", json!({"schemas": [urn::USER], "userName": "fuzz", "active": true})).await;
        let members = json!([{"value": user}]);
        let group = json!({"schemas": [urn::GROUP], "displayName": "fuzzers", "members": members});
        let group = seed(&service, "/Groups", group).await;
        let target = target.replace("{user}", &user).replace("{group}", &group);
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.clone(), None),
        };
        let response = service.handle(request(method, path, query, Bytes::from(body.to_owned()))).await;
        assert!((200..600).contains(&response.status), "status {}", response.status);
        if response.status >= 400 {
            let body = response.body.expect("an error has a body");
            assert_eq!(body["schemas"][0], urn::ERROR, "{body}");
            assert_eq!(body["status"], response.status.to_string(), "{body}");
        } else if let Some(body) = response.body {
            assert!(body.is_object(), "{body}");
        }
    });
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a current-thread runtime")
    })
}

fn request(method: Method, path: String, query: Option<String>, body: Bytes) -> ScimRequest {
    ScimRequest {
        method,
        path,
        query,
        content_type: Some("application/scim+json".into()),
        body,
        base_url: "https://gw.example/fuzz/scim/v2".into(),
        ctx: RequestCtx::default(),
        read_only: false,
    }
}

async fn seed(service: &ScimService, path: &str, body: Value) -> String {
    let r = service.handle(request(Method::POST, path.into(), None, Bytes::from(body.to_string()))).await;
    assert_eq!(r.status, 201, "seeding {path}: {:?}", r.body);
    r.body.and_then(|b| b["id"].as_str().map(str::to_owned)).expect("a created id")
}

fn user() -> Resource {
    object(json!({
        "schemas": [urn::USER, urn::ENTERPRISE_USER],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "0a21f0f2",
        "userName": "Test_User@contoso.com",
        "active": true,
        "displayName": "Test User",
        "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
        "emails": [
            {"primary": true, "type": "work", "value": "Test_User@contoso.com"},
            {"type": "home", "value": "test@home.example"}
        ],
        "roles": [{"value": "Reader", "primary": true}],
        urn::ENTERPRISE_USER: {"employeeNumber": "1000", "department": "Sales", "manager": {"value": "m1"}},
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"}
    }))
}

fn group() -> Resource {
    object(json!({
        "schemas": [urn::GROUP],
        "id": "g1",
        "displayName": "Sales",
        "members": [{"value": "u1", "display": "one"}, {"value": "u2"}]
    }))
}

fn object(v: Value) -> Resource {
    v.as_object().cloned().unwrap_or_default()
}
