//! `scimgate explain` on each shipped mapping: a user create, a user PATCH as Entra sends it
//! (capitalised ops, string booleans), a group PATCH as Okta sends it (no path, a value object),
//! a disable in both IdPs' shapes, a delete and a group member add, asserting the native calls
//! printed, in order, with their key body fields. Then `--live` against an emulated application,
//! which must receive reads only; and the masking of credentials.

use std::io::Write;
use std::process::{Command, Stdio};

use scimgate::emulator::{OpenMetadataConfig, OpenMetadataEmulator};

const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"e-1","userName":"Jane@X.com",
    "active":true,"displayName":"Jane X","name":{"givenName":"Jane","familyName":"X"},
    "emails":[{"value":"jane@x.com","type":"work","primary":true}]}"#;
const ENTRA_PATCH: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
    {"op":"Replace","path":"displayName","value":"Jane Q"},
    {"op":"Replace","path":"name.familyName","value":"Q"},
    {"op":"Replace","path":"active","value":"True"}]}"#;
const ENTRA_DISABLE: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#;
const ENTRA_WORK_EMAIL: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"jane@work.example"}]}"#;
const OKTA_DISABLE: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}"#;

/// Okta's group rename: no path, the group's id and new name as the value.
fn okta_rename(group: &str) -> String {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"replace","value":{{"id":"{group}","displayName":"Platform"}}}}]}}"#
    )
}

/// Entra's member add.
fn entra_member_add(member: &str) -> String {
    format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Add","path":"members","value":[{{"$ref":null,"value":"{member}"}}]}}]}}"#
    )
}

/// What `scimgate explain` printed.
struct Explained {
    text: String,
}

impl Explained {
    /// The numbered call lines, as `METHOD /path?query` (the origin left out).
    fn calls(&self) -> Vec<String> {
        self.text
            .lines()
            .filter_map(|l| {
                let (n, rest) = l.split_once(". ")?;
                if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let (method, url) = rest.split_once(' ')?;
                let url = url.split("    [step").next()?;
                let path = url.splitn(4, '/').nth(3).unwrap_or_default();
                Some(format!("{method} /{path}"))
            })
            .collect()
    }

    /// The printed block of call `n` (1-based): its line, headers, body and notes.
    fn call(&self, n: usize) -> String {
        let start = format!("{n}. ");
        let mut lines = self.text.lines().skip_while(|l| !l.starts_with(&start));
        let mut block: Vec<&str> = lines.next().into_iter().collect();
        block.extend(lines.take_while(|l| l.starts_with("   ")));
        block.join("\n")
    }

    /// The block of the first call whose line starts with `METHOD /path` (panics if none).
    fn call_to(&self, method_and_path: &str) -> String {
        let n = self.calls().iter().position(|c| c.starts_with(method_and_path));
        let n = n.unwrap_or_else(|| panic!("no call {method_and_path}:\n{}", self.text));
        self.call(n + 1)
    }

    fn status(&self) -> u16 {
        let line = self.text.lines().find_map(|l| l.strip_prefix("SCIM answer: "));
        line.and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| panic!("no SCIM answer:\n{}", self.text))
    }
}

/// Runs `scimgate explain ARGS` with `body` on standard input and `fixtures` as the fixtures file.
fn run(args: &[&str], body: Option<&str>, fixtures: Option<&str>) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimgate"));
    cmd.arg("explain").args(args);
    if let Some(f) = fixtures {
        let path = dir.path().join("fixtures.json");
        std::fs::write(&path, f).unwrap();
        cmd.arg("--fixtures").arg(path);
    }
    if body.is_some() {
        cmd.args(["--body", "-"]);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    if let Some(b) = body {
        child.stdin.take().unwrap().write_all(b.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn explain(args: &[&str], body: Option<&str>, fixtures: Option<&str>) -> Explained {
    let out = run(args, body, fixtures);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Explained { text: String::from_utf8_lossy(&out.stdout).into_owned() }
}

/// `explain MAPPING -X METHOD --path PATH` with a body and fixtures.
fn ask(mapping: &str, method: &str, path: &str, body: Option<&str>, fixtures: &str) -> Explained {
    explain(&[mapping, "-X", method, "--path", path], body, Some(fixtures))
}

/// No call but reads: the writes a test expects are the ones that would be sent.
fn writes(e: &Explained) -> Vec<String> {
    e.calls().into_iter().filter(|c| !c.starts_with("GET ") && !c.starts_with("HEAD ")).collect()
}

const OM: &str = r#"{
    "GET /api/v1/users/u-1": {"id":"u-1","name":"jane_x.com","displayName":"Jane X","email":"jane@x.com","scimUserName":"Jane@X.com","deleted":false},
    "GET /api/v1/users/u-2": {"id":"u-2","name":"bob","email":"bob@x.com","deleted":false},
    "GET /api/v1/teams/t-1": {"id":"t-1","name":"eng","displayName":"Eng","teamType":"Group","users":[]}}"#;

#[test]
fn openmetadata() {
    let m = "builtin:openmetadata";
    let e = ask(m, "POST", "/Users", Some(USER), "{}");
    assert_eq!(
        e.calls(),
        [
            "POST /api/v1/users",
            "GET /api/v1/users/00000000-0000-4000-8000-000000000001?fields=teams%2Croles&include=all"
        ],
        "{}",
        e.text
    );
    let create = e.call(1);
    assert!(
        create.contains(r#""name": "jane_x.com""#) && create.contains(r#""scimUserName": "Jane@X.com""#),
        "{create}"
    );
    assert!(create.contains("`name` ← scim `userName` | lower | slug"), "where the name comes from: {create}");
    assert!(create.contains("→ 201: a synthetic success; NOT SENT"), "{create}");
    assert_eq!(e.status(), 201);

    // Entra: capitalised ops; `"True"` on an active user changes nothing, so no restore call.
    let e = ask(m, "PATCH", "/Users/u-1", Some(ENTRA_PATCH), OM);
    assert_eq!(writes(&e), ["PATCH /api/v1/users/u-1"], "{}", e.text);
    let patch = e.call_to("PATCH /api/v1/users/u-1");
    assert!(patch.contains("content-type: application/json-patch+json"), "{patch}");
    assert!(patch.contains(r#""path": "/displayName""#) && patch.contains(r#""value": "Jane Q""#), "{patch}");
    assert!(e.text.contains("scim `name`: no attribute mapping"), "familyName has nowhere to go: {}", e.text);
    // Attributes mapped one to one alone: one JSON Patch, no read first.
    let rename = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"Replace","path":"displayName","value":"Jane Q"}]}"#;
    let e = ask(m, "PATCH", "/Users/u-1", Some(rename), OM);
    assert_eq!(e.calls()[0], "PATCH /api/v1/users/u-1", "{}", e.text);
    let patch = e.call(1);
    assert!(patch.contains(r#""op": "add""#) && patch.contains(r#""path": "/displayName""#), "{patch}");
    assert!(
        patch.contains("[step: patch user (forwarded); users update, PATCH forwarded (read-modify-write on 405/501)]"),
        "{patch}"
    );

    let e = ask(m, "PATCH", "/Groups/t-1", Some(&okta_rename("t-1")), OM);
    assert_eq!(writes(&e), ["PATCH /api/v1/teams/t-1"], "{}", e.text);
    assert!(e.call_to("PATCH /api/v1/teams/t-1").contains(r#""value": "Platform""#), "{}", e.text);

    // Both IdPs' disables become the soft delete, and nothing else is written.
    for body in [ENTRA_DISABLE, OKTA_DISABLE] {
        let e = ask(m, "PATCH", "/Users/u-1", Some(body), OM);
        assert_eq!(writes(&e), ["DELETE /api/v1/users/u-1?hardDelete=false"], "{}", e.text);
        assert!(e.text.contains("[step: soft-delete user; users: when `active` = false]"), "{}", e.text);
    }

    let e = ask(m, "DELETE", "/Users/u-1", None, OM);
    assert_eq!(e.calls(), ["DELETE /api/v1/users/u-1?hardDelete=true"], "{}", e.text);
    assert_eq!(e.status(), 204);

    let e = ask(m, "PATCH", "/Groups/t-1", Some(&entra_member_add("u-2")), OM);
    assert_eq!(writes(&e), ["PATCH /api/v1/teams/t-1"], "{}", e.text);
    let add = e.call_to("PATCH /api/v1/teams/t-1");
    assert!(add.contains(r#""path": "/users/-""#) && add.contains(r#""id": "u-2""#), "{add}");
    let reads_members = |c: &String| c.contains("users%2C") || c.contains("users,");
    assert!(!e.calls().iter().any(reads_members), "the member list is not read: {}", e.text);
}

const COLLIBRA: &str = r#"{
    "GET /rest/2.0/users/u-1": {"id":"u-1","userName":"Jane@X.com","firstName":"Jane","lastName":"X","emailAddress":"jane@x.com","enabled":true},
    "GET /rest/2.0/users/u-2": {"id":"u-2","userName":"bob","emailAddress":"bob@x.com","enabled":true},
    "GET /rest/2.0/userGroups/g-1": {"id":"g-1","name":"Eng"},
    "GET /rest/2.0/users": {"results":[],"total":0}}"#;

#[test]
fn collibra() {
    let m = "builtin:collibra";
    let e = ask(m, "POST", "/Users", Some(USER), "{}");
    assert_eq!(writes(&e), ["POST /rest/2.0/users", "POST /rest/2.0/mappings"], "{}", e.text);
    let create = e.call(1);
    assert!(
        create.contains(r#""emailAddress": "jane@x.com""#) && create.contains(r#""userName": "Jane@X.com""#),
        "{create}"
    );
    assert!(create.contains("authorization: Basic •••• (user `scimgate`)"), "{create}");
    // externalId lives in the mappings API, keyed by the id the create answered.
    let mapping = e.call(2);
    assert!(mapping.contains(r#""externalEntityId": "e-1""#), "{mapping}");
    assert!(mapping.contains("`externalEntityId` ← scim `externalId`"), "{mapping}");
    assert!(mapping.contains(r#""mappedResourceId": "00000000-0000-4000-8000-000000000001""#), "{mapping}");

    let e = ask(m, "PATCH", "/Users/u-1", Some(ENTRA_PATCH), COLLIBRA);
    assert_eq!(writes(&e), ["PATCH /rest/2.0/users/u-1"], "{}", e.text);
    let change = e.call_to("PATCH /rest/2.0/users/u-1");
    assert!(change.contains(r#""lastName": "Q""#) && !change.contains("enabled"), "{change}");
    assert!(e.text.contains("scim `displayName`: no attribute mapping"), "{}", e.text);

    let e = ask(m, "PATCH", "/Groups/g-1", Some(&okta_rename("g-1")), COLLIBRA);
    assert_eq!(writes(&e), ["PATCH /rest/2.0/userGroups/g-1"], "{}", e.text);
    assert!(e.call_to("PATCH /rest/2.0/userGroups/g-1").contains(r#""name": "Platform""#), "{}", e.text);

    for body in [ENTRA_DISABLE, OKTA_DISABLE] {
        let e = ask(m, "PATCH", "/Users/u-1", Some(body), COLLIBRA);
        assert_eq!(writes(&e), ["PATCH /rest/2.0/users/u-1"], "{}", e.text);
        assert!(e.call_to("PATCH /rest/2.0/users/u-1").contains(r#""enabled": false"#), "{}", e.text);
    }

    let e = ask(m, "DELETE", "/Users/u-1", None, COLLIBRA);
    assert_eq!(
        e.calls(),
        ["DELETE /rest/2.0/mappings/externalSystem/scim/mappedResource/u-1", "DELETE /rest/2.0/users/u-1"],
        "{}",
        e.text
    );

    let e = ask(m, "PATCH", "/Groups/g-1", Some(&entra_member_add("u-2")), COLLIBRA);
    assert_eq!(writes(&e), ["POST /rest/2.0/userGroups/g-1/users"], "{}", e.text);
    let add = e.call_to("POST /rest/2.0/userGroups/g-1/users");
    assert!(add.contains(r#""u-2""#) && add.contains("`userIds` ← `members`"), "{add}");
}

/// DataHub ids are the base64url of the URN.
const JANE: &str = "dXJuOmxpOmNvcnB1c2VyOmphbmU"; // urn:li:corpuser:jane
const BOB: &str = "dXJuOmxpOmNvcnB1c2VyOmJvYg"; // urn:li:corpuser:bob
const ENG: &str = "dXJuOmxpOmNvcnBHcm91cDplbmc"; // urn:li:corpGroup:eng
const DATAHUB: &str = r#"{
    "GET /openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Ajane": {"urn":"urn:li:corpuser:jane","corpUserKey":{"value":{"username":"jane"}},
        "corpUserInfo":{"value":{"active":true,"displayName":"Jane X","lastName":"X","customProperties":{"scimUserName":"Jane"}}},
        "corpUserStatus":{"value":{"status":"ACTIVE"}}},
    "HEAD /openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Ajane": {},
    "GET /openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Abob": {"urn":"urn:li:corpuser:bob","corpUserKey":{"value":{"username":"bob"}}},
    "GET /openapi/v3/entity/corpGroup/urn%3Ali%3AcorpGroup%3Aeng": {"urn":"urn:li:corpGroup:eng","corpGroupKey":{"value":{"name":"eng"}},
        "corpGroupInfo":{"value":{"displayName":"eng"}}},
    "GET /openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Abob/groupMembership": {"value":{"groups":[]}},
    "GET /openapi/v3/relationship/corpGroup/urn%3Ali%3AcorpGroup%3Aeng": {"results":[]}}"#;

#[test]
fn datahub() {
    let m = "builtin:datahub";
    let e = ask(m, "POST", "/Users", Some(USER), "{}");
    let user = "/openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Ajane%40x.com";
    assert_eq!(
        e.calls()[..2],
        [format!("HEAD {user}"), "POST /openapi/v3/entity/corpuser?async=false&systemMetadata=false".to_owned()],
        "{}",
        e.text
    );
    assert!(e.call(1).contains("→ 404: no fixture answers this read"), "the user must not exist yet: {}", e.text);
    let create = e.call(2);
    assert!(create.contains(r#""urn": "urn:li:corpuser:jane@x.com""#), "{create}");
    assert!(create.contains("`corpUserKey.value.username` ← scim `userName` | lower"), "{create}");
    assert!(create.contains("`origin.value.type` ← the constant \"EXTERNAL\""), "{create}");
    assert_eq!(e.status(), 201, "the created entity is read back: {}", e.text);

    let jane = "/openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Ajane";
    let e = ask(m, "PATCH", &format!("/Users/{JANE}"), Some(ENTRA_PATCH), DATAHUB);
    assert_eq!(writes(&e), [format!("POST {jane}/corpUserInfo?async=false&createIfNotExists=false")], "{}", e.text);
    let info = e.call_to(&format!("POST {jane}/corpUserInfo"));
    assert!(info.contains(r#""displayName": "Jane Q""#) && info.contains(r#""lastName": "Q""#), "{info}");
    assert!(info.contains("`corpUserInfo.value.displayName` ← scim `displayName`"), "{info}");

    let e = ask(m, "PATCH", &format!("/Groups/{ENG}"), Some(&okta_rename(ENG)), DATAHUB);
    let eng = "/openapi/v3/entity/corpGroup/urn%3Ali%3AcorpGroup%3Aeng";
    assert_eq!(writes(&e), [format!("POST {eng}/corpGroupInfo?async=false&createIfNotExists=false")], "{}", e.text);
    assert!(e.call_to(&format!("POST {eng}/corpGroupInfo")).contains(r#""displayName": "Platform""#), "{}", e.text);

    for body in [ENTRA_DISABLE, OKTA_DISABLE] {
        let e = ask(m, "PATCH", &format!("/Users/{JANE}"), Some(body), DATAHUB);
        let status = e.call_to(&format!("POST {jane}/corpUserStatus"));
        assert!(status.contains(r#""status": "SUSPENDED""#), "{status}");
        assert!(e.call_to(&format!("POST {jane}/corpUserInfo")).contains(r#""active": false"#), "{}", e.text);
    }

    let e = ask(m, "DELETE", &format!("/Users/{JANE}"), None, DATAHUB);
    assert_eq!(e.calls(), [format!("HEAD {jane}"), format!("DELETE {jane}")], "{}", e.text);
    assert_eq!(e.status(), 204);

    // Membership is stored on the member: the group PATCH reads and writes Bob's groups.
    let e = ask(m, "PATCH", &format!("/Groups/{ENG}"), Some(&entra_member_add(BOB)), DATAHUB);
    let bob = "/openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Abob/groupMembership";
    assert_eq!(writes(&e), [format!("POST {bob}?async=false&createIfNotExists=false")], "{}", e.text);
    assert!(e.call_to(&format!("POST {bob}")).contains(r#""urn:li:corpGroup:eng""#), "{}", e.text);
}

const SCIM: &str = r#"{
    "GET /scim/v2/Users/u-1": {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u-1","userName":"jane","displayName":"Jane X",
        "name":{"givenName":"Jane","familyName":"X"},"active":true},
    "GET /scim/v2/Groups/g-1": {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g-1","displayName":"g","members":[]}}"#;

#[test]
fn scim() {
    let m = "builtin:scim";
    let e = ask(m, "POST", "/Users", Some(USER), "{}");
    assert_eq!(writes(&e), ["POST /scim/v2/Users"], "{}", e.text);
    let create = e.call(1);
    assert!(
        create.contains(r#""userName": "Jane@X.com""#) && create.contains("content-type: application/scim+json"),
        "{create}"
    );
    assert!(create.contains("authorization: Bearer ••••"), "{create}");

    // What reaches the application is clean RFC 7644: Entra's PATCH of attributes mapped one to
    // one is sent on as one PATCH, with real booleans and no read first.
    let e = ask(m, "PATCH", "/Users/u-1", Some(ENTRA_PATCH), SCIM);
    assert_eq!(e.calls()[..1], ["PATCH /scim/v2/Users/u-1"], "{}", e.text);
    let patch = e.call(1);
    assert!(patch.contains(r#""path": "displayName""#) && patch.contains(r#""path": "name.familyName""#), "{patch}");
    assert!(patch.contains(r#""value": true"#) && !patch.contains(r#""True""#), "{patch}");
    assert!(
        patch.contains("[step: patch user; users update, PATCH forwarded (read-modify-write on 405/501)]"),
        "{patch}"
    );
    assert!(!patch.contains("vars.user_schemas"), "{patch}");
    assert!(patch.contains("`name` ← scim `name`") && patch.contains("`active` ← scim `active`"), "{patch}");
    // A value-filtered path is applied here: the whole user is read and replaced.
    let e = ask(m, "PATCH", "/Users/u-1", Some(ENTRA_WORK_EMAIL), SCIM);
    assert_eq!(e.calls()[..2], ["GET /scim/v2/Users/u-1", "PUT /scim/v2/Users/u-1"], "{}", e.text);
    let put = e.call(2);
    assert!(put.contains(r#""value": "jane@work.example""#) && put.contains(r#""type": "work""#), "{put}");

    let e = ask(m, "PATCH", "/Groups/g-1", Some(&okta_rename("g-1")), SCIM);
    assert_eq!(writes(&e), ["PATCH /scim/v2/Groups/g-1"], "{}", e.text);
    let rename = e.call_to("PATCH /scim/v2/Groups/g-1");
    assert!(
        rename.contains(r#""displayName": "Platform""#) && rename.contains("`displayName` ← scim `displayName`"),
        "{rename}"
    );

    for body in [ENTRA_DISABLE, OKTA_DISABLE] {
        let e = ask(m, "PATCH", "/Users/u-1", Some(body), SCIM);
        assert_eq!(writes(&e), ["PATCH /scim/v2/Users/u-1"], "{}", e.text);
        let patch = e.call_to("PATCH /scim/v2/Users/u-1");
        assert!(patch.contains("false") && patch.contains("`active` ← scim `active`"), "{}", e.text);
        assert!(!e.text.contains("in no call above"), "{}", e.text);
    }

    let e = ask(m, "DELETE", "/Users/u-1", None, SCIM);
    assert_eq!(e.calls(), ["DELETE /scim/v2/Users/u-1"], "{}", e.text);

    let e = ask(m, "PATCH", "/Groups/g-1", Some(&entra_member_add("u-1")), SCIM);
    assert_eq!(writes(&e), ["PATCH /scim/v2/Groups/g-1"], "{}", e.text);
    let add = e.call_to("PATCH /scim/v2/Groups/g-1");
    assert!(add.contains(r#""path": "members""#) && add.contains(r#""value": "u-1""#), "{add}");
    assert!(e.calls()[0].ends_with("?excludedAttributes=members"), "the members are not read: {}", e.text);

    // The application's members are asked for only when they are shown.
    let e = ask(m, "GET", "/Groups/g-1?excludedAttributes=members", None, SCIM);
    assert_eq!(e.calls(), ["GET /scim/v2/Groups/g-1?excludedAttributes=members"], "{}", e.text);
    let e = ask(m, "GET", "/Groups/g-1", None, SCIM);
    assert_eq!(e.calls(), ["GET /scim/v2/Groups/g-1"], "{}", e.text);
}

#[test]
fn a_read_no_fixture_answers_is_a_404_and_nothing_is_written() {
    let e = ask("builtin:collibra", "PATCH", "/Users/u-9", Some(ENTRA_DISABLE), COLLIBRA);
    assert_eq!(e.calls(), ["GET /rest/2.0/users/u-9"], "{}", e.text);
    assert!(e.text.contains("→ 404: no fixture answers this read"), "{}", e.text);
    assert_eq!(e.status(), 404);
}

#[test]
fn credentials_are_masked_and_static_headers_shown() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.yaml");
    std::fs::write(
        &settings,
        "routes:\n  app:\n    target:\n      kind: mapping\n      file: builtin:scim\n      backend:\n        base_url: https://app.example/scim/v2\n        auth: { type: header, name: X-API-Key, value: key-3f9a1c }\n        headers: { X-Tenant: acme, X-Session-Token: sess-77e2 }\n",
    )
    .unwrap();
    let e = explain(
        &["--config", settings.to_str().unwrap(), "--route", "app", "-X", "POST", "--path", "/Users"],
        Some(USER),
        None,
    );
    assert!(e.calls()[0].starts_with("POST /scim/v2/Users"), "{}", e.text);
    assert!(e.text.contains("1. POST https://app.example/scim/v2/Users"), "the route's base URL: {}", e.text);
    let create = e.call(1);
    assert!(create.contains("x-tenant: acme"), "{create}");
    assert!(create.contains("x-api-key: ••••") && create.contains("x-session-token: ••••"), "{create}");
    assert!(!e.text.contains("key-3f9a1c") && !e.text.contains("sess-77e2"), "no secret printed: {}", e.text);

    // The mapping's own credential (an environment variable nobody set) is not needed either.
    let e = explain(&["builtin:openmetadata", "-X", "DELETE", "--path", "/Users/u-1"], None, None);
    assert!(e.call(1).contains("authorization: Bearer ••••"), "{}", e.text);
}

#[test]
fn the_body_can_come_from_a_pipe_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("user.json");
    std::fs::write(&file, USER).unwrap();
    let from_file =
        explain(&["builtin:scim", "-X", "POST", "--path", "/Users", "--body", file.to_str().unwrap()], None, None);
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimgate"))
        .args(["explain", "builtin:scim", "-X", "POST", "--path", "/Users"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(USER.as_bytes()).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    let piped = Explained { text: String::from_utf8_lossy(&piped.stdout).into_owned() };
    for e in [from_file, piped] {
        assert_eq!(writes(&e), ["POST /scim/v2/Users"], "{}", e.text);
        assert!(e.call(1).contains(r#""userName": "Jane@X.com""#), "{}", e.text);
    }
}

#[test]
fn unusable_requests_are_refused_with_a_message() {
    let cases: [(&[&str], &str); 4] = [
        (&["builtin:nothing", "--path", "/Users"], "nothing"),
        (&["--config", "/nonexistent/settings.yaml", "--route", "r", "--path", "/Users"], "/nonexistent/settings.yaml"),
        (&["builtin:scim", "-X", "BAD METHOD", "--path", "/Users"], "no HTTP method"),
        (&["builtin:scim", "--path", "/Users", "--fixtures", "/nonexistent/fixtures.json"], "fixtures.json"),
    ];
    for (args, expected) in cases {
        let out = run(args, None, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_reads_come_from_the_application_and_no_write_reaches_it() {
    let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await.unwrap();
    let user = om.seed_user(serde_json::json!({"name": "jane_x.com", "email": "jane@x.com"})).unwrap();
    let bob = om.seed_user(serde_json::json!({"name": "bob", "email": "bob@x.com"})).unwrap();
    let team = om.seed_team(serde_json::json!({"name": "eng", "teamType": "Group"})).unwrap();
    let (id, bob, team) = (user["id"].as_str().unwrap(), bob["id"].as_str().unwrap(), team["id"].as_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("s.yaml");
    std::fs::write(
        &settings,
        format!(
            "routes:\n  om:\n    target:\n      kind: mapping\n      file: builtin:openmetadata\n      backend:\n        base_url: {}/api\n        auth: {{ type: bearer, token: openmetadata-emulator-token }}\n",
            om.base_url()
        ),
    )
    .unwrap();
    let users_before = om.users().len();
    om.requests().clear();
    let config = settings.to_str().unwrap().to_owned();
    let requests: Vec<(String, String, Option<String>)> = vec![
        ("POST".into(), "/Users".into(), Some(USER.into())),
        ("PATCH".into(), format!("/Users/{id}"), Some(ENTRA_DISABLE.into())),
        ("PATCH".into(), format!("/Users/{id}"), Some(ENTRA_PATCH.into())),
        ("DELETE".into(), format!("/Users/{id}"), None),
        ("PATCH".into(), format!("/Groups/{team}"), Some(entra_member_add(bob))),
    ];
    let outputs = tokio::task::spawn_blocking(move || {
        requests
            .iter()
            .map(|(method, path, body)| {
                let args = ["--config", &config, "--route", "om", "--live", "-X", method, "--path", path];
                explain(&args, body.as_deref(), None)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();

    let [create, disable, patch, delete, add] = outputs.try_into().map_err(|_| ()).unwrap();
    assert_eq!(writes(&create)[0], "POST /api/v1/users", "{}", create.text);
    assert!(create.call(1).contains("NOT SENT"), "{}", create.text);
    assert!(disable.call_to("GET /api/v1/users/").contains("→ 200 from the application"), "{}", disable.text);
    assert_eq!(writes(&disable), [format!("DELETE /api/v1/users/{id}?hardDelete=false")], "{}", disable.text);
    assert_eq!(writes(&patch), [format!("PATCH /api/v1/users/{id}")], "{}", patch.text);
    assert_eq!(delete.calls(), [format!("DELETE /api/v1/users/{id}?hardDelete=true")], "{}", delete.text);
    assert_eq!(writes(&add), [format!("PATCH /api/v1/teams/{team}")], "{}", add.text);
    assert!(add.call_to("PATCH").contains(&format!(r#""id": "{bob}""#)), "{}", add.text);
    for e in [&create, &disable, &patch, &delete, &add] {
        assert!(!e.text.contains("openmetadata-emulator-token"), "the credential is not printed: {}", e.text);
    }

    let seen = om.requests().all();
    assert!(seen.len() >= 4, "the reads reached the application: {seen:?}");
    assert!(seen.iter().all(|r| r.method == http::Method::GET), "only reads reached the application: {seen:?}");
    assert_eq!(om.users().len(), users_before, "no user was created");
    let after = om.user(id).unwrap();
    assert_eq!((after["deleted"].as_bool(), after["displayName"].as_str()), (Some(false), None), "{after}");
    assert_eq!(om.team_by_name("eng").unwrap()["users"], serde_json::json!([]), "no member was added");
    om.shutdown().await.unwrap();
}
