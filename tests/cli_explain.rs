//! `scimgate explain` on each shipped mapping: the native calls printed, in order, and no write
//! ever reaching the application (checked with `--live` against an emulated OpenMetadata).

use std::io::Write;
use std::process::{Command, Stdio};

use scimgate::emulator::{OpenMetadataConfig, OpenMetadataEmulator};

const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Jane@X.com","emails":[{"value":"jane@x.com","primary":true}]}"#;
const ENTRA_DISABLE: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#;
const OKTA_PATCH: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}"#;

fn explain(args: &[&str], body: Option<&str>, fixtures: Option<&str>) -> String {
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
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The numbered call lines, as `METHOD path?query`.
fn calls(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.split('.').next().is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())))
        .map(|l| {
            let rest = l.split_once(". ").unwrap().1;
            let (method, url) = rest.split_once(' ').unwrap();
            let url = url.split("    [step").next().unwrap();
            let path = url.splitn(4, '/').nth(3).unwrap_or_default();
            format!("{method} /{path}")
        })
        .collect()
}

const OM_USER: &str = r#"{"GET /api/v1/users/u-1?fields=teams%2Croles&include=all": {"id":"u-1","name":"jane_x.com","email":"jane@x.com","scimUserName":"Jane@X.com","deleted":false}}"#;

#[test]
fn openmetadata_create_patch_disable_delete_and_member_add() {
    let out = explain(&["builtin:openmetadata", "-X", "POST", "--path", "/Users"], Some(USER), None);
    assert_eq!(calls(&out)[0], "POST /api/v1/users", "{out}");
    assert!(out.contains(r#""name": "jane_x.com""#) && out.contains(r#""scimUserName": "Jane@X.com""#), "{out}");
    assert!(out.contains("SCIM answer: 201"), "{out}");
    assert!(out.contains("`name` on create ← scim `userName` | lower | slug"), "where the name comes from: {out}");

    // Entra's default-mode disable and Okta's no-path one both become the soft delete.
    for body in [ENTRA_DISABLE, OKTA_PATCH] {
        let out = explain(&["builtin:openmetadata", "-X", "PATCH", "--path", "/Users/u-1"], Some(body), Some(OM_USER));
        let c = calls(&out);
        assert!(c.contains(&"DELETE /api/v1/users/u-1?hardDelete=false".to_owned()), "{out}");
        assert!(c.iter().all(|c| !c.starts_with("PATCH")), "nothing else changes: {out}");
    }

    let out = explain(&["builtin:openmetadata", "-X", "DELETE", "--path", "/Users/u-1"], None, Some(OM_USER));
    assert_eq!(calls(&out), ["DELETE /api/v1/users/u-1?hardDelete=true"], "{out}");
    assert!(out.contains("SCIM answer: 204"));

    let fixtures = r#"{"GET /api/v1/teams/t-1?fields=users%2Cparents": {"id":"t-1","name":"g","teamType":"Group","users":[]},
                      "GET /api/v1/users/u-1?fields=teams%2Croles&include=all": {"id":"u-1","name":"jane_x.com","email":"jane@x.com"}}"#;
    let add = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"u-1"}]}]}"#;
    let out = explain(&["builtin:openmetadata", "-X", "PATCH", "--path", "/Groups/t-1"], Some(add), Some(fixtures));
    assert!(calls(&out).iter().any(|c| c.starts_with("PUT /api/v1/teams/t-1/users")), "{out}");
}

#[test]
fn the_other_shipped_mappings_explain_a_create() {
    let out = explain(&["builtin:collibra", "-X", "POST", "--path", "/Users"], Some(USER), None);
    assert_eq!(calls(&out)[0], "POST /rest/2.0/users", "{out}");
    assert!(out.contains(r#""emailAddress": "jane@x.com""#), "{out}");
    let out = explain(&["builtin:datahub", "-X", "POST", "--path", "/Users"], Some(USER), None);
    assert!(calls(&out).iter().any(|c| c.starts_with("POST /openapi/v3/entity/corpuser")), "{out}");
    assert!(out.contains("urn:li:corpuser:jane@x.com"), "{out}");
    let out = explain(&["builtin:scim", "-X", "POST", "--path", "/Users"], Some(USER), None);
    assert_eq!(calls(&out)[0], "POST /scim/v2/Users", "{out}");
    assert!(out.contains(r#""userName": "Jane@X.com""#), "{out}");
    assert!(out.contains("`bearer` credential"), "{out}");
    assert!(!out.contains("SCIM_BACKEND_TOKEN"), "no credential is printed: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_reads_come_from_the_application_and_no_write_reaches_it() {
    let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await.unwrap();
    let user = om.seed_user(serde_json::json!({"name": "jane_x.com", "email": "jane@x.com"})).unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
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
    om.requests().clear();
    let path = format!("/Users/{id}");
    let out = tokio::task::spawn_blocking(move || {
        explain(
            &["--config", settings.to_str().unwrap(), "--route", "om", "--live", "-X", "PATCH", "--path", &path],
            Some(ENTRA_DISABLE),
            None,
        )
    })
    .await
    .unwrap();
    assert!(out.contains("(answered by the application)"), "{out}");
    assert!(calls(&out).iter().any(|c| c.starts_with("DELETE")), "the write is shown: {out}");
    let seen = om.requests().all();
    assert!(!seen.is_empty(), "reads reached the application");
    assert!(seen.iter().all(|r| r.method == http::Method::GET), "only reads reached the application: {seen:?}");
    assert_eq!(om.user(&id).unwrap()["deleted"], false, "the user was not touched");
    om.shutdown().await.unwrap();
}

const SCIM_RECORDS: &str = r#"{"GET /scim/v2/Users/u-1": {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u-1","userName":"jane","active":true},
    "GET /scim/v2/Groups/g-1": {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g-1","displayName":"g","members":[]}}"#;

#[test]
fn scim_to_scim_patch_disable_delete_and_member_add() {
    for body in [ENTRA_DISABLE, OKTA_PATCH] {
        let out = explain(&["builtin:scim", "-X", "PATCH", "--path", "/Users/u-1"], Some(body), Some(SCIM_RECORDS));
        assert_eq!(calls(&out)[..2], ["GET /scim/v2/Users/u-1", "PUT /scim/v2/Users/u-1"], "{out}");
        assert!(out.contains(r#""active": false"#), "clean RFC 7644 with a boolean: {out}");
    }
    let out = explain(&["builtin:scim", "-X", "DELETE", "--path", "/Users/u-1"], None, Some(SCIM_RECORDS));
    assert_eq!(calls(&out), ["DELETE /scim/v2/Users/u-1"], "{out}");
    let add = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"u-1"}]}]}"#;
    let out = explain(&["builtin:scim", "-X", "PATCH", "--path", "/Groups/g-1"], Some(add), Some(SCIM_RECORDS));
    assert!(calls(&out).contains(&"PATCH /scim/v2/Groups/g-1".to_owned()), "{out}");
    assert!(out.contains(r#""value": "u-1""#), "{out}");
}

#[test]
fn collibra_and_datahub_deletes() {
    let out = explain(&["builtin:collibra", "-X", "DELETE", "--path", "/Users/u-1"], None, None);
    assert_eq!(
        calls(&out),
        ["DELETE /rest/2.0/mappings/externalSystem/scim/mappedResource/u-1", "DELETE /rest/2.0/users/u-1"],
        "{out}"
    );
    // DataHub ids are the base64url of the URN.
    let fixtures = r#"{"HEAD /openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Ajane": {}}"#;
    let out = explain(
        &["builtin:datahub", "-X", "DELETE", "--path", "/Users/dXJuOmxpOmNvcnB1c2VyOmphbmU"],
        None,
        Some(fixtures),
    );
    assert!(
        calls(&out).iter().any(|c| c.starts_with("DELETE /openapi/v3/entity/corpuser/urn%3Ali%3Acorpuser%3Ajane")),
        "{out}"
    );
}
