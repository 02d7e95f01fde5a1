//! A PATCH forwarded as one JSON Patch (`update.forward_patch` with `json_patch`) must leave
//! OpenMetadata exactly as the read-and-diff it replaces would. Two routes of one gateway front
//! the same emulated OpenMetadata over real HTTP: `fwd` through the shipped `openmetadata` mapping,
//! `rmw` through the same mapping without `forward_patch`. Each PATCH goes to a twin user on each
//! route; the answers, and the users as OpenMetadata then holds them, must be the same. The
//! backend call counters show which PATCHes were forwarded.

#[path = "support/forwarding.rs"]
mod forwarding;

use std::net::SocketAddr;
use std::path::PathBuf;

use forwarding::{backend_requests as count, route, without_forwarding};
use scimgate::emulator::{OpenMetadataConfig, OpenMetadataEmulator};
use scimgate::settings::{Settings, TargetSettings};
use serde_json::{Value, json};

const TOKEN: &str = "idp-token";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn send(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    let r = req.send().await.expect("the gateway answers");
    let status = r.status().as_u16();
    (status, serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null))
}

/// A SCIM user as both sides compare it: without what differs between twins by design.
fn comparable(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "userName", "emails", "meta"] {
            o.remove(k);
        }
    }
    v
}

/// The stored user's fields a PATCH can change.
fn stored(emu: &OpenMetadataEmulator, id: &str) -> Value {
    let u = emu.user(id).expect("stored");
    let roles: Vec<&Value> = u["roles"].as_array().map(|r| r.iter().map(|r| &r["name"]).collect()).unwrap_or_default();
    json!({"displayName": u["displayName"], "externalId": u["externalId"], "deleted": u["deleted"],
           "isAdmin": u["isAdmin"], "roles": roles})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_json_patches_leave_openmetadata_as_the_read_and_diff_does() {
    let config = OpenMetadataConfig::default();
    let token = config.token.clone();
    let emu = OpenMetadataEmulator::start(config).await.expect("the emulator starts");
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("openmetadata-rmw.yaml");
    let plain_src = without_forwarding("openmetadata");
    assert!(plain_src.contains("body: \"{patch}\""), "{plain_src}");
    std::fs::write(&plain, plain_src).unwrap();
    let backend = json!({"base_url": format!("{}/api", emu.base_url()), "auth": {"type": "bearer", "token": token}});
    let mapped = |file: PathBuf| TargetSettings::Mapping { file, backend: Some(backend.clone()) };
    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        routes: [("fwd", mapped(PathBuf::from("builtin:openmetadata"))), ("rmw", mapped(plain))]
            .into_iter()
            .map(|(n, t)| (n.to_owned(), route(t, TOKEN)))
            .collect(),
        ..Settings::default()
    };
    let gw = scimgate::app::start(&settings).await.expect("the gateway starts");
    let base = |r: &str| gw.scim_base_url(r, false);

    let mut ids = vec![];
    for r in ["fwd", "rmw"] {
        let email = format!("ann-{r}@example.com");
        let user = json!({"schemas": [USER], "userName": email, "displayName": "Ann Lee", "externalId": "e-1",
                          "emails": [{"value": email, "primary": true}], "roles": [{"value": "DataConsumer"}]});
        let (status, created) = send(reqwest::Method::POST, &format!("{}/Users", base(r)), Some(user)).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }

    // Forwarded by `fwd` (set only attributes mapped one to one), then read and diffed by both.
    // `{id}` is the twin's own id, which Okta echoes in a no-path value.
    let forwarded = [
        json!([{"op": "replace", "path": "displayName", "value": "Ann B. Lee"}]),
        json!([{"op": "Replace", "path": "externalId", "value": "e-2"}]),
        json!([{"op": "add", "path": "displayName", "value": "Ann C. Lee"}]),
        json!([{"op": "replace", "value": {"id": "{id}", "displayName": "Ann D. Lee", "EXTERNALID": "e-3"}}]),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "Ann E"}]),
    ];
    let applied_here = [
        json!([{"op": "remove", "path": "externalId"}]),
        json!([{"op": "add", "path": "externalId", "value": "e-4"}, {"op": "replace", "path": "active", "value": false}]),
        json!([{"op": "replace", "path": "active", "value": true}, {"op": "replace", "path": "displayName", "value": "Ann F"}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@work.example"}]),
        json!([{"op": "add", "path": "roles", "value": [{"value": "DataSteward"}]}, {"op": "replace", "path": "displayName", "value": "Ann G"}]),
    ];
    let metrics_url = format!("{}/metrics", base("fwd").split("/fwd/").next().unwrap());
    let metrics = || async { reqwest::get(&metrics_url).await.unwrap().text().await.unwrap() };
    let mut counts = vec![metrics().await];
    for batch in [&forwarded[..], &applied_here[..]] {
        for ops in batch {
            let mut seen = vec![];
            for (r, id) in ["fwd", "rmw"].iter().zip(&ids) {
                let ops = serde_json::from_str::<Value>(&ops.to_string().replace("{id}", id)).unwrap();
                let body = json!({"schemas": [PATCH_OP], "Operations": ops});
                let (status, answer) =
                    send(reqwest::Method::PATCH, &format!("{}/Users/{id}", base(r)), Some(body)).await;
                assert_eq!(status, 200, "{r} {ops}: {answer}");
                seen.push((comparable(answer), stored(&emu, id)));
            }
            assert_eq!(seen[0].0, seen[1].0, "the answers differ after {ops}");
            assert_eq!(seen[0].1, seen[1].1, "the stored users differ after {ops}");
        }
        counts.push(metrics().await);
    }
    let delta = |i: usize, backend: &str, method: &str| {
        count(&counts[i + 1], backend, method) - count(&counts[i], backend, method)
    };
    let n = forwarded.len() as u64;
    assert_eq!((delta(0, "fwd", "PATCH"), delta(0, "fwd", "GET")), (n, 0), "fwd: one PATCH each, no read");
    assert_eq!((delta(0, "rmw", "PATCH"), delta(0, "rmw", "GET")), (n, n), "rmw: a read and a PATCH each");
    assert!(delta(1, "fwd", "GET") >= applied_here.len() as u64, "the others are read first by fwd too");
    let final_user = stored(&emu, &ids[0]);
    assert_eq!(final_user["displayName"], "Ann G", "{final_user}");
    gw.shutdown().await.unwrap();
}
