//! Mapping engine acceptance: group membership stored on the group record, on each user (one
//! write per member), or in a sub-resource taking id arrays, and the fan-out each implies.

#[path = "support/stub_backend.rs"]
mod stub_backend;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use stub_backend::*;

fn groups_with(members: &str, url: &str) -> String {
    format!(
        r#"
id: {{ read: $.id }}
attributes:
  - {{ scim: displayName, native: name }}
members:
{members}
get: [{{ name: read group, method: GET, url: "{url}/{{id}}" }}]
create: [{{ name: create group, method: POST, url: "{url}", body: "{{doc}}" }}]
update: {{ style: merge_patch, steps: [{{ name: patch group, method: PATCH, url: "{url}/{{id}}", body: "{{changes}}" }}] }}
delete: [{{ name: delete group, method: DELETE, url: "{url}/{{id}}" }}]
list: {{ call: {{ method: GET, url: "{url}", query: {{ offset: "{{offset}}", limit: "{{limit}}" }} }}, records: "$.items[*]", paging: {{ style: offset, max_limit: 10 }} }}
"#
    )
}

fn members_of(a: &Answer) -> Vec<Value> {
    a.body["members"].as_array().cloned().unwrap_or_default()
}

fn member_values(a: &Answer) -> Vec<String> {
    members_of(a).iter().filter_map(|m| m["value"].as_str().map(str::to_owned)).collect()
}

fn add(ids: &[&str]) -> Value {
    let values: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
    json!([{"op": "add", "path": "members", "value": values}])
}

/// OpenMetadata teams: members are in the team record; additions replace the whole list through
/// `PUT /teams/{id}/users`, removals delete one sub-resource each.
#[tokio::test]
async fn membership_on_the_group_record() {
    let stub = Stub::start().await;
    let members = r#"  read: { records: "$.users[*]", value: $.id, display: $.name }
  add:
    mode: batch
    steps:
      - name: set team users
        method: PUT
        url: "/teams/{id}/users"
        body: '{members_after | objects("id", {"type": "user"})}'
  remove:
    mode: each
    steps: [{ name: remove team user, method: DELETE, url: "/teams/{id}/users/{member}", accept: [404] }]"#;
    let gw = Gateway::start(&mapping("", PLAIN_USERS, &groups_with(members, "/teams")), &stub).await;
    let team = json!({"id": "g1", "name": "eng", "users": [{"id": "u1", "name": "ann"}, {"id": "u2", "name": "bob"}]});
    stub.get_json("/api/teams/g1", team);
    stub.on("PUT", "/api/teams/g1/users", Reply::empty(200));
    stub.on("DELETE", "/api/teams/g1/users/u1", Reply::empty(200));

    let got = gw.get("/Groups/g1").await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    let ms = members_of(&got);
    assert_eq!(ms.len(), 2);
    assert_eq!((ms[0]["value"].as_str(), ms[0]["display"].as_str()), (Some("u1"), Some("ann")));
    assert_eq!(stub.take_lines(), ["GET /api/teams/g1"]);

    let r = gw.patch("/Groups/g1", add(&["u3"])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        seen[..2].iter().map(Recorded::line).collect::<Vec<_>>(),
        ["GET /api/teams/g1", "PUT /api/teams/g1/users"]
    );
    assert_eq!(
        seen[1].json(),
        &json!([{"id": "u1", "type": "user"}, {"id": "u2", "type": "user"}, {"id": "u3", "type": "user"}])
    );
    assert!(seen[2..].iter().all(|c| c.method == "GET"), "only reads after the write");

    let r = gw.patch("/Groups/g1", json!([{"op": "remove", "path": "members[value eq \"u1\"]"}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let writes: Vec<String> = stub.take().iter().filter(|c| c.method != "GET").map(Recorded::line).collect();
    assert_eq!(writes, ["DELETE /api/teams/g1/users/u1"]);

    // A PUT of the group computes both directions against the current members.
    stub.on("DELETE", "/api/teams/g1/users/u2", Reply::empty(200));
    let r = gw.put("/Groups/g1", scim_group("eng", json!({"members": [{"value": "u1"}, {"value": "u4"}]}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen: Vec<Recorded> = stub.take().into_iter().filter(|c| c.method != "GET").collect();
    assert_eq!(
        seen.iter().map(Recorded::line).collect::<Vec<_>>(),
        ["DELETE /api/teams/g1/users/u2", "PUT /api/teams/g1/users"]
    );
    assert_eq!(seen[1].json(), &json!([{"id": "u1", "type": "user"}, {"id": "u4", "type": "user"}]));
}

/// DataHub: membership lives on each user, so adding N members is N read-modify-writes of user
/// records; the member list is read through a paged relationship call; deleting a group first
/// removes it from every member.
#[tokio::test]
async fn membership_on_users_fans_out_per_member() {
    let stub = Stub::start().await;
    let members = r#"  read:
    call: { name: read members, method: GET, url: /relationships, query: { group: "{id}", start: "{offset}", count: "{limit}" } }
    records: "$.results[*]"
    value: $.user
    paging: { style: offset, max_limit: 2 }
  add:
    mode: each
    steps:
      - { name: read member groups, method: GET, url: "/users/{member}/groups", accept: [404], capture: { groups: $.groups } }
      - name: write member groups
        method: PUT
        url: "/users/{member}/groups"
        body: { groups: "{groups | default([]) | append(id) | unique}" }
  remove:
    mode: each
    steps:
      - { name: read member groups, method: GET, url: "/users/{member}/groups", accept: [404], capture: { groups: $.groups } }
      - name: write member groups
        when: groups
        method: PUT
        url: "/users/{member}/groups"
        body: { groups: "{groups | remove(id)}" }
  clear_on_delete: true"#;
    let gw = Gateway::start(&mapping("", PLAIN_USERS, &groups_with(members, "/groups")), &stub).await;
    stub.get_json("/api/groups/g1", json!({"id": "g1", "name": "eng"}));
    stub.get_json("/api/relationships?count=2&group=g1&start=0", json!({"results": [{"user": "u1"}, {"user": "u2"}]}));
    stub.get_json("/api/relationships?count=2&group=g1&start=2", json!({"results": [{"user": "u3"}]}));
    stub.get_json("/api/users/u1/groups", json!({"groups": ["g0"]}));
    stub.get_json("/api/users/u2/groups", json!({"groups": ["g1"]}));
    for u in ["u1", "u2", "u3"] {
        stub.on("PUT", &format!("/api/users/{u}/groups"), Reply::empty(200));
    }

    let got = gw.get("/Groups/g1").await;
    assert_eq!(member_values(&got), ["u1", "u2", "u3"]);
    assert_eq!(
        stub.take_lines(),
        [
            "GET /api/groups/g1",
            "GET /api/relationships?count=2&group=g1&start=0",
            "GET /api/relationships?count=2&group=g1&start=2"
        ]
    );

    // A listing without members (as Entra asks) reads no member lists.
    stub.get_json("/api/groups?limit=10&offset=0", json!({"items": [{"id": "g1", "name": "eng"}]}));
    let r = gw.get("/Groups?excludedAttributes=members").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], "g1");
    assert!(r.body["Resources"][0].get("members").is_none());
    assert_eq!(stub.take_lines(), ["GET /api/groups?limit=10&offset=0"]);

    let r = gw.patch("/Groups/g1", add(&["u1", "u2", "u3"])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    // The group record is read first; membership additions need no member list.
    assert_eq!(seen[0].line(), "GET /api/groups/g1");
    for u in ["u1", "u2", "u3"] {
        let calls: Vec<&Recorded> = seen.iter().filter(|c| c.path == format!("/api/users/{u}/groups")).collect();
        assert_eq!(calls.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(), ["GET", "PUT"], "{u}");
        let expected = match u {
            "u1" => json!({"groups": ["g0", "g1"]}),
            "u2" => json!({"groups": ["g1"]}),
            _ => json!({"groups": ["g1"]}),
        };
        assert_eq!(calls[1].json(), &expected, "{u}");
    }

    // Deleting the group: every member is cleared first, then the group goes.
    stub.get_json("/api/users/u1/groups", json!({"groups": ["g0", "g1"]}));
    stub.get_json("/api/users/u3/groups", json!({"groups": ["g1"]}));
    stub.on("DELETE", "/api/groups/g1", Reply::empty(204));
    let r = gw.delete("/Groups/g1").await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(seen.last().map(Recorded::line).as_deref(), Some("DELETE /api/groups/g1"));
    let puts: BTreeSet<(String, String)> =
        seen.iter().filter(|c| c.method == "PUT").map(|c| (c.path.clone(), c.json().to_string())).collect();
    let expected: BTreeSet<(String, String)> = [
        ("/api/users/u1/groups", json!({"groups": ["g0"]})),
        ("/api/users/u2/groups", json!({"groups": []})),
        ("/api/users/u3/groups", json!({"groups": []})),
    ]
    .into_iter()
    .map(|(p, b)| (p.to_owned(), b.to_string()))
    .collect();
    assert_eq!(puts, expected);
}

/// Collibra: a sub-resource taking arrays of ids on both sides; members listed through the
/// users endpoint filtered by group.
#[tokio::test]
async fn membership_in_a_sub_resource_with_id_arrays() {
    let stub = Stub::start().await;
    let members = r#"  read:
    call: { name: list group users, method: GET, url: /users, query: { groupId: "{id}", offset: "{offset}", limit: "{limit}" } }
    records: "$.results[*]"
    value: $.id
    display: $.userName
    paging: { style: offset, max_limit: 100 }
  add: { mode: batch, steps: [{ name: add group users, method: POST, url: "/userGroups/{id}/users", body: { userIds: "{members}" } }] }
  remove: { mode: batch, steps: [{ name: remove group users, method: DELETE, url: "/userGroups/{id}/users", body: { userIds: "{members}" } }] }"#;
    let gw = Gateway::start(&mapping("", PLAIN_USERS, &groups_with(members, "/userGroups")), &stub).await;
    stub.get_json("/api/userGroups/g1", json!({"id": "g1", "name": "eng"}));
    stub.get_json(
        "/api/users?groupId=g1&limit=100&offset=0",
        json!({"results": [{"id": "u3", "userName": "cyd"}], "total": 1}),
    );
    stub.on("POST", "/api/userGroups/g1/users", Reply::json(200, json!([{"id": "u1"}, {"id": "u2"}])));
    stub.on("DELETE", "/api/userGroups/g1/users", Reply::empty(200));

    let ops = json!([
        {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
        {"op": "remove", "path": "members[value eq \"u3\"]"}
    ]);
    let r = gw.patch("/Groups/g1", ops).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let seen = stub.take();
    let writes: Vec<&Recorded> = seen.iter().filter(|c| c.method != "GET").collect();
    assert_eq!(
        writes.iter().map(|c| c.line()).collect::<Vec<_>>(),
        ["DELETE /api/userGroups/g1/users", "POST /api/userGroups/g1/users"]
    );
    assert_eq!(writes[0].json(), &json!({"userIds": ["u3"]}));
    assert_eq!(writes[1].json(), &json!({"userIds": ["u1", "u2"]}));
    assert_eq!(seen[0].line(), "GET /api/userGroups/g1");

    // A group created with members: the group, then its members in one call, then the read-back.
    stub.on("POST", "/api/userGroups", Reply::json(201, json!({"id": "g9", "name": "ops"})));
    stub.on("POST", "/api/userGroups/g9/users", Reply::json(200, json!([])));
    stub.get_json("/api/userGroups/g9", json!({"id": "g9", "name": "ops"}));
    stub.get_json(
        "/api/users?groupId=g9&limit=100&offset=0",
        json!({"results": [{"id": "u1", "userName": "ann"}, {"id": "u2", "userName": "bob"}]}),
    );
    let r = gw.post("/Groups", scim_group("ops", json!({"members": [{"value": "u1"}, {"value": "u2"}]}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let seen = stub.take();
    assert_eq!(
        seen.iter().map(Recorded::line).collect::<Vec<_>>(),
        [
            "POST /api/userGroups",
            "POST /api/userGroups/g9/users",
            "GET /api/userGroups/g9",
            "GET /api/users?groupId=g9&limit=100&offset=0"
        ]
    );
    assert_eq!(seen[0].json(), &json!({"name": "ops"}));
    assert_eq!(seen[1].json(), &json!({"userIds": ["u1", "u2"]}));
    assert_eq!(member_values(&r), ["u1", "u2"]);
}

/// Member values must name users of this target: with base64url user ids, a value that does not
/// decode is refused rather than dropped while the PATCH reports success.
#[tokio::test]
async fn member_values_that_name_no_user_are_refused() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let stub = Stub::start().await;
    let users = PLAIN_USERS.replace(
        "id: { read: $.id }",
        "id: { read: $.urn, template: \"urn:user:{scim.userName}\", encoding: base64url }",
    );
    let members = r#"  read: { records: "$.members[*]", value: $ }
  add: { mode: each, steps: [{ name: add member, method: PUT, url: "/groups/{id}/members/{member}" }] }
  remove: { mode: each, steps: [{ name: remove member, method: DELETE, url: "/groups/{id}/members/{member}" }] }"#;
    let gw = Gateway::start(&mapping("", &users, &groups_with(members, "/groups")), &stub).await;
    stub.get_json("/api/groups/g1", json!({"id": "g1", "name": "eng", "members": ["urn:user:ann"]}));
    stub.on("PUT", "/api/groups/g1/members/urn%3Auser%3Abob", Reply::empty(204));

    let got = gw.get("/Groups/g1").await;
    assert_eq!(member_values(&got), [b64("urn:user:ann")]);
    stub.take();

    for bad in ["not base64!", "%%%"] {
        let r = gw
            .patch(
                "/Groups/g1",
                json!([{"op": "add", "path": "members", "value": [{"value": b64("urn:user:bob")}, {"value": bad}]}]),
            )
            .await;
        assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{bad:?}: {:?}", r.body);
        assert!(r.detail().contains(bad), "{}", r.detail());
        assert!(stub.take().iter().all(|c| c.method == "GET"), "{bad:?}: nothing written");
    }
    let r = gw.put("/Groups/g1", scim_group("eng", json!({"members": [{"value": "???"}]}))).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(stub.take().iter().all(|c| c.method == "GET"), "nothing written");

    let r = gw.patch("/Groups/g1", add(&[&b64("urn:user:bob")])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let writes: Vec<String> = stub.take().iter().filter(|c| c.method != "GET").map(Recorded::line).collect();
    assert_eq!(writes, ["PUT /api/groups/g1/members/urn%3Auser%3Abob"]);
}

/// An application that answers a member write with 404 does not know the user: the group was read
/// just before. The IdP gets 400 `invalidValue`, not a 404 it would read as "no such group".
#[tokio::test]
async fn a_member_the_application_does_not_know_is_an_invalid_value() {
    let stub = Stub::start().await;
    let members = r#"  read: { records: "$.members[*]", value: $ }
  add: { mode: each, steps: [{ name: add member, method: PUT, url: "/groups/{id}/members/{member}" }] }
  remove: { mode: each, steps: [{ name: remove member, method: DELETE, url: "/groups/{id}/members/{member}" }] }"#;
    let gw = Gateway::start(&mapping("", PLAIN_USERS, &groups_with(members, "/groups")), &stub).await;
    stub.get_json("/api/groups/g1", json!({"id": "g1", "name": "eng", "members": []}));
    stub.on("PUT", "/api/groups/g1/members/u9", Reply::json(404, json!({"message": "user u9 not found"})));

    let r = gw.patch("/Groups/g1", add(&["u9"])).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{:?}", r.body);
    assert!(r.detail().contains("u9"), "{}", r.detail());

    // A group the application does not have is still 404, found by the read before any write.
    let r = gw.patch("/Groups/g2", add(&["u9"])).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert!(stub.take().iter().all(|c| c.line() != "PUT /api/groups/g2/members/u9"));

    // The same in one batch write of the whole list.
    let gw = Gateway::start(&mapping("", PLAIN_USERS, &groups_with(TEAM_MEMBERS, "/teams")), &stub).await;
    stub.get_json("/api/teams/t1", json!({"id": "t1", "name": "eng", "users": []}));
    stub.on("PUT", "/api/teams/t1/users", Reply::json(404, json!({"message": "user u9 not found"})));
    let r = gw.patch("/Groups/t1", add(&["u9"])).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{:?}", r.body);
}

/// Team members held in the team record, set as a whole list and removed one at a time.
const TEAM_MEMBERS: &str = r#"  read: { records: "$.users[*]", value: $.id }
  add:
    mode: batch
    steps: [{ name: set team users, method: PUT, url: "/teams/{id}/users", body: '{members_after}' }]
  remove:
    mode: each
    steps: [{ name: remove team user, method: DELETE, url: "/teams/{id}/users/{member}" }]"#;

/// A group's `get` steps learn through `with_members` whether the members will be read from the
/// record: reads that need none (`excludedAttributes=members`, a group PATCH touching only other
/// attributes, the answer to a member PATCH) can leave a large member list out.
#[tokio::test]
async fn reads_that_need_no_members_say_so() {
    let stub = Stub::start().await;
    let light_get = r#"get: [{ name: read group, method: GET, url: "/teams/{id}", query: { fields: '{with_members | map({"true": "users", "false": "basic"})}' } }]"#;
    let groups = groups_with(TEAM_MEMBERS, "/teams")
        .replace(r#"get: [{ name: read group, method: GET, url: "/teams/{id}" }]"#, light_get);
    assert!(groups.contains("with_members"), "the mapping's get is replaced");
    let gw = Gateway::start(&mapping("", PLAIN_USERS, &groups), &stub).await;
    stub.get_json(
        "/api/teams/g1?fields=users",
        json!({"id": "g1", "name": "eng", "users": [{"id": "u1"}, {"id": "u2"}]}),
    );
    stub.get_json("/api/teams/g1?fields=basic", json!({"id": "g1", "name": "eng"}));
    stub.on("PUT", "/api/teams/g1/users", Reply::empty(200));
    stub.on("PATCH", "/api/teams/g1", Reply::empty(200));
    stub.on("DELETE", "/api/teams/g1/users/u2", Reply::empty(200));

    let got = gw.get("/Groups/g1").await;
    assert_eq!(member_values(&got), ["u1", "u2"]);
    assert_eq!(stub.take_lines(), ["GET /api/teams/g1?fields=users"]);

    let got = gw.get("/Groups/g1?excludedAttributes=members").await;
    assert_eq!((got.status, got.body.get("members")), (200, None), "{:?}", got.body);
    assert_eq!(got.body["displayName"], "eng");
    assert_eq!(stub.take_lines(), ["GET /api/teams/g1?fields=basic"]);

    // The whole list is written back, so it is read before; the answer has no members.
    let r = gw.patch("/Groups/g1", add(&["u3"])).await;
    assert_eq!((r.status, r.body.get("members")), (200, None), "{:?}", r.body);
    assert_eq!(
        stub.take_lines(),
        ["GET /api/teams/g1?fields=users", "PUT /api/teams/g1/users", "GET /api/teams/g1?fields=basic"]
    );

    // A rename needs no members at all.
    let r = gw.patch("/Groups/g1", json!([{"op": "replace", "path": "displayName", "value": "core"}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let lines = stub.take_lines();
    assert_eq!(lines[..2], ["GET /api/teams/g1?fields=basic", "PATCH /api/teams/g1"]);
    assert!(lines.iter().all(|l| !l.contains("fields=users")), "{lines:?}");

    // A PUT of the group replaces the members: they are read.
    let r = gw.put("/Groups/g1", scim_group("eng", json!({"members": [{"value": "u1"}]}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(stub.take_lines()[0], "GET /api/teams/g1?fields=users");
}

/// Nothing reads a member write's answer, so it is read to its end and dropped: an application
/// that echoes the whole team, past `max_response_bytes`, is no failure. A failed write's answer
/// still gives its message.
#[tokio::test]
async fn a_member_write_s_answer_is_not_held() {
    let stub = Stub::start().await;
    let yaml = mapping("", PLAIN_USERS, &groups_with(TEAM_MEMBERS, "/teams"))
        .replace("  retries: { attempts: 1 }\n", "  retries: { attempts: 1 }\n  max_response_bytes: 2048\n");
    assert!(yaml.contains("max_response_bytes: 2048"), "{yaml}");
    let gw = Gateway::start(&yaml, &stub).await;
    stub.get_json("/api/teams/g1", json!({"id": "g1", "name": "eng", "users": [{"id": "u1"}]}));
    let everyone: Vec<Value> = (0..2000).map(|i| json!({"id": format!("u{i}"), "name": format!("user {i}")})).collect();
    stub.on("PUT", "/api/teams/g1/users", Reply::json(200, json!({"id": "g1", "users": everyone})));

    let r = gw.patch("/Groups/g1", add(&["u2"])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let writes: Vec<String> = stub.take().iter().filter(|c| c.method != "GET").map(Recorded::line).collect();
    assert_eq!(writes, ["PUT /api/teams/g1/users"]);

    stub.on("DELETE", "/api/teams/g1/users/u1", Reply::json(409, json!({"message": "u1 owns the team"})));
    let r = gw.patch("/Groups/g1", json!([{"op": "remove", "path": "members[value eq \"u1\"]"}])).await;
    assert!(r.status >= 400, "{:?}", r.body);
    assert!(r.detail().contains("u1 owns the team"), "{}", r.detail());
}

/// A group created with members is read back even when its create answer is complete: the
/// member writes came after that answer. Created empty, the answer stands.
#[tokio::test]
async fn a_group_created_with_members_is_read_back() {
    let stub = Stub::start().await;
    let groups = groups_with(TEAM_MEMBERS, "/teams").replace(
        r#"create: [{ name: create group, method: POST, url: "/teams", body: "{doc}" }]"#,
        r#"create: [{ name: create group, method: POST, url: "/teams", body: "{doc}", read_back: false }]"#,
    );
    assert!(groups.contains("read_back"), "the mapping's create is replaced");
    let gw = Gateway::start(&mapping("", PLAIN_USERS, &groups), &stub).await;

    stub.on("POST", "/api/teams", Reply::json(201, json!({"id": "g1", "name": "eng", "users": []})));
    let created = gw.post("/Groups", scim_group("eng", json!({}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(stub.take_lines(), ["POST /api/teams"]);
    assert_eq!(created.body["displayName"], "eng");
    assert!(member_values(&created).is_empty(), "{:?}", created.body);

    stub.on("POST", "/api/teams", Reply::json(201, json!({"id": "g2", "name": "ops", "users": []})));
    stub.on("PUT", "/api/teams/g2/users", Reply::empty(200));
    stub.get_json("/api/teams/g2", json!({"id": "g2", "name": "ops", "users": [{"id": "u1"}]}));
    let created = gw.post("/Groups", scim_group("ops", add_members(&["u1"]))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(stub.take_lines(), ["POST /api/teams", "PUT /api/teams/g2/users", "GET /api/teams/g2"]);
    assert_eq!(member_values(&created), ["u1"]);
}

fn add_members(ids: &[&str]) -> Value {
    let values: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
    json!({ "members": values })
}
