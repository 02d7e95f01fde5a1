use serde_json::{Value, json};

use super::*;
use crate::replay::corpus::{Check, CheckOp, StatusExpectation};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn schema(id: &str, names: &[&str]) -> Value {
    let attributes: Vec<Value> = names.iter().map(|n| json!({"name": n, "type": "string"})).collect();
    json!({"id": id, "attributes": attributes})
}

/// A target that holds userName, name, emails and active, one enterprise attribute, and group members.
fn advertised() -> Advertised {
    let schemas = json!({"Resources": [
        schema(USER, &["userName", "name", "emails", "active"]),
        schema(ENTERPRISE, &["employeeNumber"]),
        schema("urn:ietf:params:scim:schemas:core:2.0:Group", &["displayName", "members"]),
    ]});
    let types = json!({"Resources": [
        {"endpoint": "/Users", "schema": USER, "schemaExtensions": [{"schema": ENTERPRISE, "required": false}]},
        {"endpoint": "/Groups", "schema": "urn:ietf:params:scim:schemas:core:2.0:Group"},
    ]});
    Advertised::from_discovery(&schemas, Some(&types)).expect("valid discovery")
}

fn expect(body: Value, checks: Vec<Check>) -> Expect {
    Expect {
        status: StatusExpectation::One(200),
        body_contains: Some(body),
        body_not_contains: Some(json!({"title": "x"})),
        checks,
        headers_contain: Default::default(),
        notes: None,
    }
}

fn check(op: CheckOp, pointer: &str) -> Check {
    Check { op, pointer: pointer.into(), value: None }
}

#[test]
fn resource_endpoints_are_found_by_path() {
    let adv = advertised();
    assert!(adv.for_path("/Users?filter=userName+eq+%22a%22").is_some());
    assert!(adv.for_path("/users/123").is_some());
    assert!(adv.for_path("/Groups").is_some());
    assert!(adv.for_path("/Schemas").is_none());
    assert!(adv.for_path("/ServiceProviderConfig").is_none());
}

#[test]
fn drops_only_unadvertised_attributes() {
    let adv = advertised();
    let attrs = adv.for_path("/Users").expect("users");
    let body = json!({
        "schemas": [USER], "id": "1", "externalId": "e", "meta": {"resourceType": "User"},
        "userName": "u", "name": {"givenName": "g"}, "title": "Boss", "displayName": "D",
        "USERNAME": "case-insensitive attribute names",
        ENTERPRISE: {"employeeNumber": "7", "department": "R&D"},
        "urn:ietf:params:scim:schemas:extension:other:2.0:User": {"x": 1},
    });
    let (pruned, skipped) = attrs.prune(&expect(body, Vec::new()));
    assert_eq!(
        pruned.body_contains,
        Some(json!({
            "schemas": [USER], "id": "1", "externalId": "e", "meta": {"resourceType": "User"},
            "userName": "u", "name": {"givenName": "g"}, "USERNAME": "case-insensitive attribute names",
            ENTERPRISE: {"employeeNumber": "7"},
        }))
    );
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert!(skipped.iter().any(|s| s.contains("/title")), "{skipped:?}");
    assert!(skipped.iter().any(|s| s.contains("department")), "{skipped:?}");
    // Negative expectations stay.
    assert_eq!(pruned.body_not_contains, Some(json!({"title": "x"})));
}

#[test]
fn recurses_into_list_resources() {
    let adv = advertised();
    let attrs = adv.for_path("/Users").expect("users");
    let body = json!({"totalResults": 1, "itemsPerPage": 1, "startIndex": 1, "schemas": ["x"],
        "Resources": [{"id": "1", "nickName": "n", "active": true}]});
    let (pruned, skipped) = attrs.prune(&expect(body, Vec::new()));
    assert_eq!(
        pruned.body_contains,
        Some(json!({"totalResults": 1, "itemsPerPage": 1, "startIndex": 1, "schemas": ["x"],
            "Resources": [{"id": "1", "active": true}]}))
    );
    assert_eq!(skipped, vec!["body_contains /Resources/0/nickName: `nickName` is not advertised".to_owned()]);
}

#[test]
fn checks_on_unadvertised_attributes_are_skipped_except_negative_ones() {
    let adv = advertised();
    let attrs = adv.for_path("/Users").expect("users");
    let checks = vec![
        check(CheckOp::Present, "/id"),
        check(CheckOp::Present, "/Resources/0/name/familyName"),
        check(CheckOp::Present, "/Resources/0/title"),
        check(CheckOp::LenEq, "/Resources"),
        check(CheckOp::IsNumber, "/totalResults"),
        check(CheckOp::Present, "/title"),
        check(CheckOp::Present, &format!("/{ENTERPRISE}/employeeNumber")),
        check(CheckOp::Present, &format!("/{ENTERPRISE}/manager")),
        check(CheckOp::Present, &format!("/{ENTERPRISE}:employeeNumber")),
        check(CheckOp::Present, "/name.givenName"),
        check(CheckOp::Absent, "/password"),
        check(CheckOp::EmptyOrAbsent, "/roles"),
    ];
    let (pruned, skipped) = attrs.prune(&expect(json!({}), checks));
    let kept: Vec<&str> = pruned.checks.iter().map(|c| c.pointer.as_str()).collect();
    let enterprise_number = format!("/{ENTERPRISE}/employeeNumber");
    let qualified_number = format!("/{ENTERPRISE}:employeeNumber");
    assert_eq!(
        kept,
        vec![
            "/id",
            "/Resources/0/name/familyName",
            "/Resources",
            "/totalResults",
            enterprise_number.as_str(),
            qualified_number.as_str(),
            "/name.givenName",
            "/password",
            "/roles",
        ]
    );
    assert_eq!(skipped.len(), 3, "{skipped:?}");
}

#[test]
fn without_resource_types_the_standard_endpoints_are_assumed() {
    let schemas = json!([schema(USER, &["userName"])]);
    let adv = Advertised::from_discovery(&schemas, None).expect("valid");
    let users = adv.for_path("/Users").expect("users");
    let (pruned, skipped) = users.prune(&expect(json!({"userName": "u", "active": true}), Vec::new()));
    assert_eq!(pruned.body_contains, Some(json!({"userName": "u"})));
    assert_eq!(skipped.len(), 1);
    // The Group schema is not served, so nothing of a group is advertised.
    let groups = adv.for_path("/Groups").expect("groups");
    let (pruned, _) = groups.prune(&expect(json!({"displayName": "g", "id": "1"}), Vec::new()));
    assert_eq!(pruned.body_contains, Some(json!({"id": "1"})));
}

#[test]
fn malformed_discovery_documents_are_errors() {
    assert!(Advertised::from_discovery(&json!({"totalResults": 0}), None).is_err());
    assert!(Advertised::from_discovery(&json!([{"attributes": []}]), None).is_err());
    assert!(Advertised::from_discovery(&json!([]), Some(&json!("x"))).is_err());
}

#[test]
fn a_filter_on_an_unadvertised_attribute_drops_positive_body_expectations() {
    let adv = advertised();
    let attrs = adv.for_path("/Users").expect("users");
    let path = "/Users?filter=id+eq+%221%22+and+manager+eq+%222%22&attributes=id";
    assert_eq!(attrs.unadvertised_in_filter(path).as_deref(), Some("manager"));
    let e = expect(json!({"Resources": [{"id": "1"}]}), vec![check(CheckOp::Absent, "/Resources/1")]);
    let (pruned, skipped) = attrs.prune_for_filter(&e, "manager");
    assert!(pruned.body_contains.is_none());
    assert_eq!(pruned.checks.len(), 1, "negative checks stay");
    assert_eq!(pruned.body_not_contains, e.body_not_contains);
    assert_eq!(skipped.len(), 1);

    // Advertised attributes, URN-qualified ones included, leave the expectations alone.
    let held = format!("/Users?filter=userName%20eq%20%22a%22%20and%20{ENTERPRISE}:employeeNumber%20pr");
    assert_eq!(attrs.unadvertised_in_filter(&held), None);
    assert_eq!(attrs.unadvertised_in_filter("/Users"), None);
    assert_eq!(
        attrs.unadvertised_in_filter(&format!("/Users?filter={ENTERPRISE}:manager.value+eq+%22x%22")).as_deref(),
        Some(format!("{ENTERPRISE}:manager").as_str())
    );
}

#[test]
fn unlisted_sub_attributes_are_skipped() {
    let schemas = json!({"Resources": [{"id": USER, "attributes": [
        {"name": "userName", "type": "string"},
        {"name": "name", "type": "complex", "subAttributes": [{"name": "givenName"}, {"name": "familyName"}]},
        {"name": "emails", "type": "complex", "multiValued": true, "subAttributes": [{"name": "value"}, {"name": "primary"}]}
    ]}]});
    let adv = Advertised::from_discovery(&schemas, None).expect("valid");
    let attrs = adv.for_path("/Users").expect("users");
    let e = expect(
        json!({"name": {"givenName": "g", "middleName": "m"}, "emails": [{"value": "v", "type": "work"}]}),
        vec![],
    );
    let (pruned, skipped) = attrs.prune(&e);
    assert_eq!(pruned.body_contains, Some(json!({"name": {"givenName": "g"}, "emails": [{"value": "v"}]})));
    assert_eq!(skipped.len(), 2, "{skipped:?}");
}
