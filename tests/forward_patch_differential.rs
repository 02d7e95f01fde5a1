//! A forwarded PATCH (`update.forward_patch`) must leave the application exactly as the
//! read-modify-write it replaces would. Two routes of one gateway front the same SCIM service
//! (scimgate on the memory target, over real HTTP): `fwd` through the shipped `scim` mapping, `rmw`
//! through the same mapping without `forward_patch`. Each PATCH goes to a twin user on each route;
//! the answers, and the users as the service then holds them, must be the same. The backend call
//! counters show which PATCHes were forwarded.

#[path = "support/forwarding.rs"]
mod forwarding;

use std::net::SocketAddr;
use std::path::PathBuf;

use forwarding::{backend_requests as count, route, without_forwarding};
use scimgate::settings::{RouteSettings, Settings, TargetSettings};
use serde_json::{Value, json};

const TOKEN: &str = "idp-token";
const BACKEND_TOKEN: &str = "backend-token";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn settings(routes: Vec<(&str, RouteSettings)>) -> Settings {
    Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        routes: routes.into_iter().map(|(n, r)| (n.to_owned(), r)).collect(),
        ..Settings::default()
    }
}

struct Client {
    http: reqwest::Client,
}

impl Client {
    async fn send(&self, method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        let r = req.send().await.expect("the gateway answers");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A user as both sides compare it: without what differs between twins by design.
fn comparable(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "userName", "meta", "externalId"] {
            o.remove(k);
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_patches_leave_the_application_as_read_modify_write_does() {
    let inner = scimgate::app::start(&settings(vec![("app", route(TargetSettings::Memory, BACKEND_TOKEN))]))
        .await
        .expect("the SCIM service starts");
    let inner_url = inner.scim_base_url("app", false);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("scim-rmw.yaml");
    let plain_src = without_forwarding("scim");
    assert!(plain_src.contains("style: put"), "{plain_src}");
    std::fs::write(&plain, plain_src).unwrap();
    let backend = json!({"base_url": inner_url, "auth": {"type": "bearer", "token": BACKEND_TOKEN}});
    let mapped = |file: PathBuf| TargetSettings::Mapping { file, backend: Some(backend.clone()) };
    let gw = scimgate::app::start(&settings(vec![
        ("fwd", route(mapped(PathBuf::from("builtin:scim")), TOKEN)),
        ("rmw", route(mapped(plain), TOKEN)),
    ]))
    .await
    .expect("the gateway starts");
    let c = Client { http: reqwest::Client::new() };
    let base = |r: &str| gw.scim_base_url(r, false);

    let user = |name: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": name, "externalId": name, "displayName": "Ann Lee", "title": "Engineer", "active": true,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            ENTERPRISE: {"department": "R&D", "manager": {"value": "m-1"}}
        })
    };
    let mut ids = vec![];
    for (r, name) in [("fwd", "ann-fwd"), ("rmw", "ann-rmw")] {
        let (status, created) =
            c.send(reqwest::Method::POST, &format!("{}/Users", base(r)), TOKEN, Some(user(name))).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }

    // Forwarded by the `fwd` route: plain paths and no-path values on attributes mapped one to one.
    let forwarded = [
        json!([{"op": "replace", "path": "displayName", "value": "Ann B. Lee"}]),
        json!([{"op": "Replace", "path": "active", "value": false}]),
        json!([{"op": "replace", "value": {"active": true, "TITLE": "Lead"}}]),
        json!([{"op": "add", "path": "name.middleName", "value": "B"}]),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Anna"}}]),
        json!([{"op": "add", "path": "emails", "value": [{"value": "ann@home.example", "type": "home"}]}]),
        json!([{"op": "add", "path": "emails", "value": [{"value": "ann@new.example", "type": "work", "primary": true}]}]),
        json!([{"op": "replace", "path": "phoneNumbers", "value": [{"value": "+1 555 0199", "type": "mobile"}]}]),
        json!([{"op": "remove", "path": "title"}]),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Platform"}]),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager.value"), "value": "m-2"}]),
        json!([{"op": "replace", "value": {"nickName": null, "displayName": "Ann L."}}]),
        json!([{"op": "add", "path": "roles", "value": [{"value": "admin", "display": "Admin", "id": "x"}]}]),
    ];
    // Read, applied here and PUT by both routes.
    let applied_here = [
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@work.example"}]),
        json!([{"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Oslo"}]),
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
    ];
    let metrics_url = format!("{}/metrics", base("fwd").split("/fwd/").next().unwrap());
    let metrics = || async { reqwest::get(&metrics_url).await.unwrap().text().await.unwrap() };
    let before = metrics().await;
    for (i, ops) in forwarded.iter().chain(&applied_here).enumerate() {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let mut answers = vec![];
        for (r, id) in ["fwd", "rmw"].iter().zip(&ids) {
            let url = format!("{}/Users/{id}", base(r));
            let (status, answer) = c.send(reqwest::Method::PATCH, &url, TOKEN, Some(body.clone())).await;
            assert_eq!(status, 200, "{r} {i} {ops}: {answer}");
            let (_, stored) =
                c.send(reqwest::Method::GET, &format!("{inner_url}/Users/{id}"), BACKEND_TOKEN, None).await;
            answers.push((comparable(answer), comparable(stored)));
        }
        assert_eq!(answers[0].0, answers[1].0, "the answers differ after {i}: {ops}");
        assert_eq!(answers[0].1, answers[1].1, "the stored users differ after {i}: {ops}");
    }
    let after = metrics().await;
    let delta = |backend: &str, method: &str| count(&after, backend, method) - count(&before, backend, method);
    let (n_fwd, n_here) = (forwarded.len() as u64, applied_here.len() as u64);
    assert_eq!(
        (delta("fwd", "PATCH"), delta("fwd", "PUT"), delta("fwd", "GET")),
        (n_fwd, n_here, n_here),
        "fwd: one PATCH per forwarded request and nothing else (the answer is the user); a read and a PUT per other one"
    );
    assert_eq!((delta("rmw", "PATCH"), delta("rmw", "PUT")), (0, n_fwd + n_here));
    gw.shutdown().await.unwrap();
    inner.shutdown().await.unwrap();
}
