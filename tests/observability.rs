//! Metrics, logs and the audit stream of a real `scimgate demo` process after a short provisioning
//! sequence through the emulated OpenMetadata.

#[path = "support/stub_backend.rs"]
mod stub_backend;
mod support;

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::Gateway;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Sends one SCIM request with its own request id; returns status, body and that id.
async fn send(
    gw: &Gateway,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    n: usize,
) -> (StatusCode, Value, String) {
    let rid = format!("req-{n:04}-observability");
    let mut req = Client::new()
        .request(method, format!("{}{path}", gw.base_url))
        .bearer_auth(&gw.token)
        .header("client-request-id", &rid);
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    let resp = req.send().await.expect("answer");
    let status = resp.status();
    assert_eq!(resp.headers()["client-request-id"], rid.as_str(), "the IdP's request id is echoed");
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), rid)
}

fn metric(text: &str, line_prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no metric line starting with {line_prefix}\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_moves_metrics_and_leaves_clean_logs_and_audit_events() {
    let gw = Gateway::demo_target("openmetadata");
    let email = "grace.hopper@navy.example";
    let user = json!({"schemas": [USER], "userName": email, "emails": [{"value": email, "primary": true}],
                      "name": {"givenName": "Grace", "familyName": "Hopper"}, "displayName": "Grace Hopper"});
    let (status, created, create_rid) = send(&gw, reqwest::Method::POST, "/Users", Some(user), 1).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _, _) = send(&gw, reqwest::Method::GET, &format!("/Users/{id}"), None, 2).await;
    assert_eq!(status, StatusCode::OK);
    let disable = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let (status, _, _) = send(&gw, reqwest::Method::PATCH, &format!("/Users/{id}"), Some(disable), 3).await;
    assert_eq!(status, StatusCode::OK);
    let (status, group, _) =
        send(&gw, reqwest::Method::POST, "/Groups", Some(json!({"schemas": [GROUP], "displayName": "navy"})), 4).await;
    assert_eq!(status, StatusCode::CREATED);
    let gid = group["id"].as_str().unwrap().to_owned();
    let (status, _, _) = send(&gw, reqwest::Method::GET, "/Users/00000000-0000-0000-0000-000000000000", None, 5).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, delete_rid) = send(&gw, reqwest::Method::DELETE, &format!("/Groups/{gid}"), None, 6).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let unauthorized = Client::new().get(format!("{}/Users", gw.base_url)).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);

    // Metrics moved as the sequence says.
    let text = Client::new().get(format!("{}/metrics", gw.root_url)).send().await.unwrap().text().await.unwrap();
    let route = r#"route="openmetadata""#;
    assert_eq!(
        metric(
            &text,
            &format!(r#"scimgate_scim_requests_total{{{route},resource="User",operation="create",status="201"}}"#)
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            &format!(r#"scimgate_scim_requests_total{{{route},resource="User",operation="get",status="404"}}"#)
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            &format!(r#"scimgate_scim_requests_total{{{route},resource="Group",operation="delete",status="204"}}"#)
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            &format!(r#"scimgate_scim_request_duration_seconds_count{{{route},resource="User",operation="patch"}}"#)
        ),
        1.0
    );
    assert!(
        metric(&text, r#"scimgate_backend_requests_total{backend="openmetadata",method="POST",status="201"}"#) >= 2.0
    );
    assert!(
        metric(&text, r#"scimgate_backend_request_duration_seconds_count{backend="openmetadata",method="GET"}"#) >= 2.0
    );
    assert_eq!(metric(&text, r#"scimgate_auth_total{kind="static",outcome="rejected",reason="invalid"}"#), 1.0);
    assert_eq!(metric(&text, "scimgate_scim_requests_in_flight"), 0.0);

    // Give the pipes a moment to deliver the last lines.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stderr = gw.stderr_text();
    let logs: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}")))
        .collect();
    // Every line about the create request carries its id, the native calls included.
    let about_create: Vec<&Value> = logs.iter().filter(|l| l.to_string().contains(&create_rid)).collect();
    assert!(about_create.len() >= 3, "the create and its native calls are logged under its id: {about_create:#?}");
    assert!(about_create.iter().any(|l| l["fields"]["message"] == "backend call"));
    for line in &logs {
        let text = line.to_string();
        assert!(!text.contains("@navy.example") && !text.contains("grace"), "personal data in a log line: {text}");
        assert!(
            !text.contains(&gw.token) && !text.contains("openmetadata-emulator-token"),
            "a token in a log line: {text}"
        );
    }

    // One audit event per change, on stdout, with the native calls and no personal data.
    let audit: Vec<Value> = gw
        .stdout_lines()
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("an audit line is not JSON ({e}): {l}")))
        .collect();
    let ops: Vec<(&str, &str)> =
        audit.iter().map(|e| (e["resource"].as_str().unwrap(), e["operation"].as_str().unwrap())).collect();
    assert_eq!(ops, [("User", "create"), ("User", "patch"), ("Group", "create"), ("Group", "delete")]);
    let create = &audit[0];
    assert_eq!(create["resource_id"], id.as_str());
    assert_eq!(create["outcome"], "applied");
    assert_eq!(create["client"], "demo");
    assert_eq!(create["request_id"], create_rid.as_str());
    assert!(
        create["native_calls"].as_array().unwrap().iter().any(|c| c["method"] == "POST" && c["status"] == 201),
        "{create}"
    );
    assert!(
        create["native_calls"].as_array().unwrap().iter().all(|c| c["duration_ms"].as_f64().is_some_and(|d| d > 0.0)),
        "each native call is timed: {create}"
    );
    assert_eq!(audit[3]["request_id"], delete_rid.as_str());
    for e in &audit {
        let text = e.to_string();
        assert!(!text.contains("navy.example") && !text.contains(&gw.token), "{text}");
    }
}

/// `Server-Timing: gateway;dur=…, app;dur=…` (milliseconds) on an answer.
fn server_timing(answer: &stub_backend::Answer) -> Option<(f64, f64)> {
    let v = answer.header("server-timing")?;
    let dur = |name: &str| {
        v.split(", ")
            .find_map(|m| m.strip_prefix(name)?.strip_prefix(";dur="))
            .and_then(|d| d.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {name} in {v}"))
    };
    Some((dur("gateway"), dur("app")))
}

/// With `http.server_timing`, an answer says how much of its time was the application's; the
/// audit event times each native call, and the metrics keep the gateway's own share apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_waiting_on_the_application_is_told_apart_from_the_gateway_s_own() {
    use stub_backend::{Reply, Stub};
    let stub = Stub::start().await;
    let slow = Duration::from_millis(120);
    stub.on("GET", "/api/users/u1", Reply::json(200, json!({"id": "u1", "login": "ann"})).after(slow));
    let mapping = stub_backend::mapping("", stub_backend::PLAIN_USERS, stub_backend::PLAIN_GROUPS);
    let timed = stub_backend::Gateway::start_with(&mapping, &stub, "http: { server_timing: true }").await;
    let answer = timed.get("/Users/u1").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let (gateway_ms, app_ms) = server_timing(&answer).expect("a Server-Timing header");
    assert!(app_ms >= 120.0, "the application took at least {slow:?}: app {app_ms} ms");
    assert!(gateway_ms >= 0.0 && gateway_ms < app_ms, "gateway {gateway_ms} ms, app {app_ms} ms");
    // Off by default.
    let plain = stub_backend::Gateway::start(&mapping, &stub).await;
    let answer = plain.get("/Users/u1").await;
    assert_eq!(answer.status, 200);
    assert_eq!(server_timing(&answer), None);

    let root = timed.scim.strip_suffix("/app/scim/v2").expect("the SCIM base URL ends with the route");
    let text = Client::new().get(format!("{root}/metrics")).send().await.unwrap().text().await.unwrap();
    let labels = r#"route="app",resource="User",operation="get""#;
    assert!(metric(&text, &format!("scimgate_scim_request_gateway_duration_seconds_count{{{labels}}}")) >= 2.0);
    // Every request spent at least 120 ms waiting, none of it the gateway's own.
    assert_eq!(metric(&text, &format!(r#"scimgate_scim_request_duration_seconds_bucket{{le="0.1",{labels}}}"#)), 0.0);
    assert_eq!(
        metric(&text, &format!("scimgate_scim_request_gateway_duration_seconds_count{{{labels}}}")),
        metric(&text, &format!(r#"scimgate_scim_request_gateway_duration_seconds_bucket{{le="0.1",{labels}}}"#)),
        "{text}"
    );
}
