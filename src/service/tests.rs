//! The SCIM service over the memory target, without sockets.

use std::sync::Arc;

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use super::*;
use crate::target::memory::MemoryTarget;

fn service(group_patch: GroupPatchResponse) -> ScimService {
    let scim = ScimSettings { group_patch_response: group_patch, max_count: 50, ..ScimSettings::default() };
    ScimService::new(
        Arc::new(MemoryTarget::new()),
        ServiceOptions { scim, max_json_depth: 16, max_body_bytes: 1 << 20 },
    )
}

fn req(method: Method, path: &str, body: Option<Value>) -> ScimRequest {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (path.to_owned(), None),
    };
    ScimRequest {
        method,
        path,
        query,
        content_type: Some("application/scim+json".into()),
        body: body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
        base_url: "https://gw.example/main/scim/v2".into(),
        ctx: RequestCtx::default(),
        read_only: false,
    }
}

async fn call(s: &ScimService, method: Method, path: &str, body: Option<Value>) -> ScimResponse {
    s.handle(req(method, path, body)).await
}

fn user(name: &str) -> Value {
    json!({"schemas": [urn::USER], "userName": name, "active": true, "emails": [{"value": format!("{name}@x.example"), "type": "work", "primary": true}]})
}

fn assert_error(r: &ScimResponse, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{:?}", r.body);
    let b = r.body.as_ref().unwrap();
    assert_eq!(b["schemas"][0], urn::ERROR);
    assert_eq!(b["status"], status.to_string());
    assert_eq!(b.get("scimType").and_then(Value::as_str), scim_type, "{b}");
}

#[tokio::test]
async fn create_get_query_patch_delete() {
    let s = service(GroupPatchResponse::WithoutMembers);
    let r = call(&s, Method::POST, "/Users", Some(user("Alice"))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let body = r.body.unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.location.as_deref(), Some(format!("https://gw.example/main/scim/v2/Users/{id}").as_str()));
    assert_eq!(body["meta"]["location"], r.location.unwrap());
    assert_eq!(body["meta"]["resourceType"], "User");

    let r = call(&s, Method::GET, &format!("/Users/{id}"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.unwrap()["userName"], "Alice");

    let r = call(&s, Method::GET, "/Users?filter=userName+eq+%22ALICE%22", None).await;
    let b = r.body.unwrap();
    assert_eq!(b["totalResults"], 1, "userName is caseExact=false: {b}");
    assert_eq!(b["Resources"][0]["id"], id);

    let patch =
        json!({"schemas": [urn::PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let r = call(&s, Method::PATCH, &format!("/Users/{id}"), Some(patch)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body.unwrap()["active"], false);

    let r = call(&s, Method::DELETE, &format!("/Users/{id}"), None).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_none());
    assert_error(&call(&s, Method::GET, &format!("/Users/{id}"), None).await, 404, None);
    assert_error(&call(&s, Method::DELETE, &format!("/Users/{id}"), None).await, 404, None);
}

#[tokio::test]
async fn bad_input_gets_the_right_scim_errors() {
    let s = service(GroupPatchResponse::WithoutMembers);
    let mut r = req(Method::POST, "/Users", None);
    r.body = Bytes::from_static(br#"{"acve": tre, "userName": "x""#);
    assert_error(&s.handle(r).await, 400, Some("invalidSyntax"));

    let r = call(&s, Method::POST, "/Users", Some(json!({"schemas": [urn::USER], "active": true}))).await;
    assert_error(&r, 400, Some("invalidValue"));

    assert_error(&call(&s, Method::GET, "/Users?filter=userName+zz+%22x%22", None).await, 400, Some("invalidFilter"));
    assert_error(
        &call(&s, Method::GET, "/Users?filter=userName%20eq%20%22unterminated", None).await,
        400,
        Some("invalidFilter"),
    );

    assert_eq!(call(&s, Method::POST, "/Users", Some(user("bob"))).await.status, 201);
    assert_error(&call(&s, Method::POST, "/Users", Some(user("BOB"))).await, 409, Some("uniqueness"));

    let r = call(&s, Method::PUT, "/Users", Some(user("x"))).await;
    assert_error(&r, 405, None);
    assert_eq!(r.allow, Some("GET, POST"));
    assert_error(&call(&s, Method::POST, "/Users/abc", Some(user("x"))).await, 405, None);

    let mut deep = json!("x");
    for _ in 0..40 {
        deep = json!({ "a": deep });
    }
    assert_error(&call(&s, Method::POST, "/Users", Some(deep)).await, 400, Some("invalidSyntax"));

    let mut r = req(Method::POST, "/Users", Some(user("carol")));
    r.content_type = Some("text/plain".into());
    assert_error(&s.handle(r).await, 415, None);

    assert_error(&call(&s, Method::GET, "/Nope", None).await, 404, None);
    assert_error(&call(&s, Method::GET, "/Users/a/b", None).await, 404, None);
    assert_error(&call(&s, Method::POST, "/Bulk", Some(json!({}))).await, 501, None);
}

#[tokio::test]
async fn read_only_clients_cannot_write() {
    let s = service(GroupPatchResponse::WithoutMembers);
    let mut r = req(Method::POST, "/Users", Some(user("dan")));
    r.read_only = true;
    assert_error(&s.handle(r).await, 403, None);
    let mut r = req(Method::GET, "/Users", None);
    r.read_only = true;
    assert_eq!(s.handle(r).await.status, 200);
}

#[tokio::test]
async fn paging_clamps_and_counts() {
    let s = service(GroupPatchResponse::WithoutMembers);
    for i in 0..5 {
        assert_eq!(call(&s, Method::POST, "/Users", Some(user(&format!("u{i}")))).await.status, 201);
    }
    let b = call(&s, Method::GET, "/Users?startIndex=0&count=2", None).await.body.unwrap();
    assert_eq!(
        (b["startIndex"].clone(), b["itemsPerPage"].clone(), b["totalResults"].clone()),
        (json!(1), json!(2), json!(5))
    );
    let b = call(&s, Method::GET, "/Users?startIndex=4&count=10", None).await.body.unwrap();
    assert_eq!(b["itemsPerPage"], 2);
    assert_eq!(b["Resources"][0]["userName"], "u3");
    let b = call(&s, Method::GET, "/Users?count=-3", None).await.body.unwrap();
    assert_eq!(b["itemsPerPage"], 0);
    assert_eq!(b["totalResults"], 5);
    let b = call(&s, Method::GET, "/Users?count=500", None).await.body.unwrap();
    assert_eq!(b["itemsPerPage"], 5);
}

#[tokio::test]
async fn group_patch_answers_follow_policy() {
    for (policy, status, has_members) in [
        (GroupPatchResponse::WithoutMembers, 200, false),
        (GroupPatchResponse::NoContent, 204, false),
        (GroupPatchResponse::Full, 200, true),
    ] {
        let s = service(policy);
        let u = call(&s, Method::POST, "/Users", Some(user("m"))).await.body.unwrap();
        let g = call(&s, Method::POST, "/Groups", Some(json!({"schemas": [urn::GROUP], "displayName": "G"}))).await;
        assert_eq!(g.status, 201);
        let gid = g.body.unwrap()["id"].as_str().unwrap().to_owned();
        let patch = json!({"schemas": [urn::PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"value": u["id"]}]}]});
        let r = call(&s, Method::PATCH, &format!("/Groups/{gid}"), Some(patch)).await;
        assert_eq!(r.status, status, "{policy:?}");
        if let Some(b) = &r.body {
            assert_eq!(b.get("members").is_some(), has_members, "{policy:?}: {b}");
            assert_eq!(b["displayName"], "G");
        }
        let full = call(&s, Method::GET, &format!("/Groups/{gid}"), None).await.body.unwrap();
        assert_eq!(full["members"][0]["value"], u["id"]);
        let excluded =
            call(&s, Method::GET, &format!("/Groups/{gid}?excludedAttributes=members"), None).await.body.unwrap();
        assert!(excluded.get("members").is_none());
    }
}

#[tokio::test]
async fn search_endpoint_and_discovery() {
    let s = service(GroupPatchResponse::WithoutMembers);
    assert_eq!(call(&s, Method::POST, "/Users", Some(user("erin"))).await.status, 201);
    let search = json!({"schemas": [urn::SEARCH_REQUEST], "filter": "userName eq \"erin\"", "attributes": ["userName"], "count": 5});
    let b = call(&s, Method::POST, "/Users/.search", Some(search)).await.body.unwrap();
    assert_eq!(b["totalResults"], 1);
    assert!(b["Resources"][0].get("emails").is_none(), "projection applied: {b}");
    assert!(b["Resources"][0].get("id").is_some());

    let spc = call(&s, Method::GET, "/ServiceProviderConfig", None).await.body.unwrap();
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 50);
    let rts = call(&s, Method::GET, "/ResourceTypes", None).await.body.unwrap();
    assert_eq!(rts["totalResults"], 2);
    assert_eq!(call(&s, Method::GET, "/ResourceTypes/User", None).await.status, 200);
    let schemas = call(&s, Method::GET, "/Schemas", None).await.body.unwrap();
    assert_eq!(schemas["totalResults"], 3);
    let r = call(&s, Method::GET, &format!("/Schemas/{}", urn::ENTERPRISE_USER), None).await;
    assert_eq!(r.status, 200);
    assert_error(&call(&s, Method::POST, "/Schemas", Some(json!({}))).await, 405, None);
}

#[tokio::test]
async fn root_search_spans_users_then_groups() {
    let s = service(GroupPatchResponse::WithoutMembers);
    for name in ["u1", "u2", "u3"] {
        assert_eq!(call(&s, Method::POST, "/Users", Some(user(name))).await.status, 201);
    }
    for name in ["g1", "g2"] {
        let g = json!({"schemas": [urn::GROUP], "displayName": name});
        assert_eq!(call(&s, Method::POST, "/Groups", Some(g)).await.status, 201);
    }
    let search = |body: Value| call(&s, Method::POST, "/.search", Some(body));
    let all = search(json!({"schemas": [urn::SEARCH_REQUEST]})).await.body.unwrap();
    assert_eq!(all["totalResults"], 5);
    // A page across the boundary: the last user, then the first group.
    let page = search(json!({"schemas": [urn::SEARCH_REQUEST], "startIndex": 3, "count": 2})).await.body.unwrap();
    assert_eq!(page["totalResults"], 5);
    let types: Vec<&str> =
        page["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!(types, ["User", "Group"]);
    // A filter on a user-only attribute selects no groups.
    let users = search(json!({"schemas": [urn::SEARCH_REQUEST], "filter": "userName sw \"u\""})).await.body.unwrap();
    assert_eq!(users["totalResults"], 3);
    let one = search(json!({"schemas": [urn::SEARCH_REQUEST], "filter": "displayName eq \"g2\""})).await.body.unwrap();
    assert_eq!(one["totalResults"], 1);
    let bad = search(json!({"schemas": [urn::SEARCH_REQUEST], "filter": "nosuch eq 1"})).await;
    assert_error(&bad, 400, Some("invalidFilter"));
    assert_error(&call(&s, Method::GET, "/.search", None).await, 405, None);
}
