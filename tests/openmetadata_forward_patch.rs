//! The shipped OpenMetadata mapping forwards a PATCH that only sets attributes mapped one to one
//! as one JSON Patch, and reads, applies and diffs any other: checked on a real `scimgate demo`
//! process in front of the emulated OpenMetadata, by the answers, the stored user and the native
//! calls in the audit stream.

mod support;

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use support::Gateway;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn send(gw: &Gateway, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Client::new().request(method, format!("{}{path}", gw.base_url)).bearer_auth(&gw.token);
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    let resp = req.send().await.expect("answer");
    let status = resp.status();
    (status, serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null))
}

/// The native calls (method and status) of each audited PATCH of `resource` so far, oldest first.
async fn patch_calls(gw: &Gateway, resource: &str, expected: usize) -> Vec<Vec<String>> {
    // The audit line is written as the answer is sent; give the reader thread a moment.
    for _ in 0..100 {
        let calls: Vec<Vec<String>> = gw
            .stdout_lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["operation"] == "patch" && e["resource"] == resource)
            .map(|e| {
                let calls = e["native_calls"].as_array().cloned().unwrap_or_default();
                calls.iter().map(|c| format!("{} {}", c["method"].as_str().unwrap(), c["status"])).collect()
            })
            .collect();
        if calls.len() >= expected {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {expected} audited PATCHes:\n{}", gw.stdout_lines().join("\n"));
}

fn role_names(user: &Value) -> Vec<&str> {
    user["roles"].as_array().map(|r| r.iter().filter_map(|r| r["value"].as_str()).collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_of_attributes_mapped_one_to_one_is_one_json_patch_and_any_other_is_read_first() {
    let gw = Gateway::demo_target("openmetadata");
    let user = json!({"schemas": [USER], "userName": "ada@example.com", "displayName": "Ada",
                      "externalId": "e-1", "emails": [{"value": "ada@example.com", "primary": true}],
                      "roles": [{"value": "DataConsumer"}]});
    let (status, created) = send(&gw, Method::POST, "/Users", Some(user)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");

    // Entra's spelling of the operation; both attributes are mapped one to one.
    let rename = json!({"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Ada Lovelace"},
        {"op": "replace", "value": {"externalId": "e-2"}},
    ]});
    let (status, patched) = send(&gw, Method::PATCH, &path, Some(rename)).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["displayName"], "Ada Lovelace");
    assert_eq!(patched["externalId"], "e-2");
    // The answer is OpenMetadata's answer to the PATCH, which holds the whole user.
    assert_eq!(role_names(&patched), ["DataConsumer"], "{patched}");
    assert_eq!(patched["userName"], "ada@example.com");
    assert_eq!(patched["active"], true);
    assert_eq!(patch_calls(&gw, "User", 1).await, [vec!["PATCH 200"]], "one native call, no read");

    let (_, read) = send(&gw, Method::GET, &path, None).await;
    assert_eq!((&read["displayName"], &read["externalId"]), (&json!("Ada Lovelace"), &json!("e-2")), "{read}");

    // A removal is no JSON Patch without the record (`remove` of an absent member fails).
    let clear = json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": "externalId"}]});
    let (status, patched) = send(&gw, Method::PATCH, &path, Some(clear)).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert!(patched.get("externalId").is_none(), "{patched}");
    assert_eq!(patch_calls(&gw, "User", 2).await[1], ["GET 200", "PATCH 200"], "read, then the difference");

    // Neither is an attribute that is not mapped one to one (`active` soft-deletes).
    let both = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "A. Lovelace"},
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@example.com"},
    ]});
    let (status, patched) = send(&gw, Method::PATCH, &path, Some(both)).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["displayName"], "A. Lovelace");
    assert_eq!(patch_calls(&gw, "User", 3).await[2][0], "GET 200");

    let (_, read) = send(&gw, Method::GET, &path, None).await;
    assert_eq!(read["displayName"], "A. Lovelace");
    assert!(read.get("externalId").is_none(), "{read}");
    assert_eq!(role_names(&read), ["DataConsumer"], "{read}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_rename_is_written_without_a_read_first_and_keeps_the_members() {
    let gw = Gateway::demo_target("openmetadata");
    let user = json!({"schemas": [USER], "userName": "bob@example.com", "displayName": "Bob"});
    let (status, user) = send(&gw, Method::POST, "/Users", Some(user)).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let member = user["id"].as_str().unwrap();
    let group = json!({"schemas": [GROUP], "displayName": "Eng", "members": [{"value": member}]});
    let (status, group) = send(&gw, Method::POST, "/Groups", Some(group)).await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let id = group["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{id}");

    // Okta's rename: the group's own id echoed in a no-path value.
    let rename =
        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"id": id, "displayName": "Platform"}}]});
    let (status, renamed) = send(&gw, Method::PATCH, &path, Some(rename)).await;
    assert!(status == StatusCode::OK || status == StatusCode::NO_CONTENT, "{status}: {renamed}");
    // The write comes first; the answer's read follows it.
    assert_eq!(patch_calls(&gw, "Group", 1).await, [vec!["PATCH 200", "GET 200"]], "no read before the write");

    let (_, read) = send(&gw, Method::GET, &path, None).await;
    assert_eq!(read["displayName"], "Platform", "{read}");
    let members: Vec<&str> = read["members"].as_array().unwrap().iter().filter_map(|m| m["value"].as_str()).collect();
    assert_eq!(members, [member], "{read}");

    // A rename with a member change is applied here: the members have their own steps.
    let both = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Platform Eng"},
        {"op": "remove", "path": format!("members[value eq \"{member}\"]")},
    ]});
    let (status, _) = send(&gw, Method::PATCH, &path, Some(both)).await;
    assert!(status == StatusCode::OK || status == StatusCode::NO_CONTENT, "{status}");
    assert_eq!(patch_calls(&gw, "Group", 2).await[1][0], "GET 200", "read first");
    let (_, read) = send(&gw, Method::GET, &path, None).await;
    assert_eq!(read["displayName"], "Platform Eng", "{read}");
    assert!(read["members"].as_array().is_none_or(Vec::is_empty), "{read}");
}
