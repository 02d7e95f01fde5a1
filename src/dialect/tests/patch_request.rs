//! Whole PATCH normalisation: IdP bodies in, the exact parsed [`PatchRequest`] out.

use serde_json::{Value, json};

use super::{group, user};
use crate::dialect::normalize_patch;
use crate::scim::ScimType;
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::patch::{PatchOpKind, PatchOperation, PatchPath, PatchRequest};
use crate::scim::urn::{ENTERPRISE_USER, PATCH_OP};

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

fn attr(name: &str) -> AttrPath {
    AttrPath { uri: None, name: name.into(), sub: None }
}

fn at(name: &str) -> Option<PatchPath> {
    Some(PatchPath::Attr(attr(name)))
}

fn sub(name: &str, sub: &str) -> Option<PatchPath> {
    Some(PatchPath::Attr(AttrPath { uri: None, name: name.into(), sub: Some(sub.into()) }))
}

fn enterprise(name: &str) -> Option<PatchPath> {
    Some(PatchPath::Attr(AttrPath { uri: Some(ENTERPRISE_USER.into()), name: name.into(), sub: None }))
}

fn where_eq(name: &str, field: &str, literal: CompValue, sub: Option<&str>) -> Option<PatchPath> {
    Some(PatchPath::Filtered {
        attr: attr(name),
        filter: Filter::Compare { path: attr(field), op: CompareOp::Eq, value: literal },
        sub: sub.map(str::to_owned),
    })
}

fn text(s: &str) -> CompValue {
    CompValue::String(s.into())
}

fn op(op: PatchOpKind, path: Option<PatchPath>, value: Option<Value>) -> PatchOperation {
    PatchOperation { op, path, value }
}

fn request(operations: Vec<PatchOperation>) -> PatchRequest {
    PatchRequest { operations }
}

use PatchOpKind::{Add, Remove, Replace};

#[test]
fn entra_default_disable_and_enable() {
    // §1.6; corpus entra-08, entra-11
    for (sent, want) in [("False", false), ("True", true), ("false", false)] {
        assert_eq!(
            normalize_patch(&user(), body(json!([{"op": "Replace", "path": "active", "value": sent}]))).unwrap(),
            request(vec![op(Replace, at("active"), Some(json!(want)))])
        );
    }
}

#[test]
fn entra_flag_replace_of_several_attributes() {
    // §1.6 with aadOptscim062020; corpus entra-16
    let sent = body(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes_ab12@test.microsoft.example"},
        {"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
        }}
    ]));
    assert_eq!(
        normalize_patch(&user(), sent).unwrap(),
        request(vec![
            op(
                Replace,
                where_eq("emails", "type", text("work"), Some("value")),
                Some(json!("TestMhvaes_ab12@test.microsoft.example"))
            ),
            op(Replace, at("displayName"), Some(json!("Bjfe"))),
            op(Replace, sub("name", "familyName"), Some(json!("Unua"))),
            op(Replace, sub("name", "givenName"), Some(json!("Kkom"))),
            op(Replace, enterprise("employeeNumber"), Some(json!("Aklq"))),
        ])
    );
}

#[test]
fn okta_no_path_deactivate_and_password_sync() {
    // §2.2; corpus okta-08, okta-11
    assert_eq!(
        normalize_patch(&user(), body(json!([{"op": "replace", "value": {"active": false}}]))).unwrap(),
        request(vec![op(Replace, None, Some(json!({"active": false})))])
    );
    assert_eq!(
        normalize_patch(&user(), body(json!([{"op": "replace", "value": {"password": "N3wPassw0rd-ab12"}}]))).unwrap(),
        request(vec![op(Replace, None, Some(json!({"password": "N3wPassw0rd-ab12"})))])
    );
}

#[test]
fn okta_group_push_membership_and_rename() {
    // §2.2 Group Push steps 4 and 5; corpus okta-15
    let sent = body(json!([
        {"op": "replace", "value": {"id": "g1", "displayName": "Okta_Group_ab12_v2"}},
        {"op": "remove", "path": "members[value eq \"00u1\"]"},
        {"op": "add", "path": "members", "value": [{"value": "00u2", "display": "test.user@okta.local"}]}
    ]));
    assert_eq!(
        normalize_patch(&group(), sent).unwrap(),
        request(vec![
            op(Replace, None, Some(json!({"displayName": "Okta_Group_ab12_v2"}))),
            op(Remove, where_eq("members", "value", text("00u1"), None), None),
            op(Add, at("members"), Some(json!([{"value": "00u2", "display": "test.user@okta.local"}]))),
        ])
    );
}

#[test]
fn entra_default_member_removal() {
    // §1.6; corpus entra-34
    let sent = body(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]));
    assert_eq!(
        normalize_patch(&group(), sent).unwrap(),
        request(vec![
            op(Remove, where_eq("members", "value", text("u1"), None), None),
            op(Remove, where_eq("members", "value", text("u2"), None), None),
        ])
    );
}

#[test]
fn removing_an_empty_member_list_is_an_empty_request() {
    let sent = body(json!([{"op": "Remove", "path": "members", "value": []}]));
    assert_eq!(normalize_patch(&group(), sent).unwrap(), PatchRequest::default());
    // The message must still be a PatchOp.
    let e = normalize_patch(&group(), json!({"Operations": [{"op": "Remove", "path": "members", "value": []}]}))
        .unwrap_err();
    assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidSyntax)));
}

#[test]
fn entra_manager_as_string_and_as_tutorial_array() {
    // §1.6; corpus entra-21, entra-22
    assert_eq!(
        normalize_patch(
            &user(),
            body(json!([{"op": "add", "path": format!("{ENTERPRISE_USER}:manager"), "value": "m1"}]))
        )
        .unwrap(),
        request(vec![op(Add, enterprise("manager"), Some(json!({"value": "m1"})))])
    );
    assert_eq!(
        normalize_patch(
            &user(),
            body(json!([{"op": "Add", "path": "manager", "value": [{"$ref": "../Users/m1", "value": "m1"}]}]))
        )
        .unwrap(),
        request(vec![op(Add, enterprise("manager"), Some(json!({"$ref": "../Users/m1", "value": "m1"})))])
    );
}

#[test]
fn entra_add_roles_with_json_text() {
    // §1.6, §1.8; corpus entra-27
    let sent = body(json!([{"op": "Add", "path": "roles", "value": [
        {"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}
    ]}]));
    assert_eq!(
        normalize_patch(&user(), sent).unwrap(),
        request(vec![op(
            Add,
            at("roles"),
            Some(json!([{"id": "06b07648-ecfe-589f-9d2f-6325724a46ee", "value": "25", "display": "Role1234"}]))
        )])
    );
}

#[test]
fn boolean_literals_in_path_filters_become_booleans() {
    // Entra's roles[primary eq "True"].value mapping (§1.7)
    let sent = body(json!([
        {"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Admin"},
        {"op": "Replace", "path": "emails[type eq \"True\"].value", "value": "a@x"}
    ]));
    assert_eq!(
        normalize_patch(&user(), sent).unwrap(),
        request(vec![
            op(Replace, where_eq("roles", "primary", CompValue::Bool(true), Some("value")), Some(json!("Admin"))),
            // `type` is a string: its literal stays a string
            op(Replace, where_eq("emails", "type", text("True"), Some("value")), Some(json!("a@x"))),
        ])
    );
}

#[test]
fn parser_errors_survive_normalisation() {
    let cases = [
        (json!([{"op": "remove"}]), ScimType::NoTarget),
        (json!([{"op": "jump", "path": "active"}]), ScimType::InvalidSyntax),
        (json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]), ScimType::InvalidPath),
        (json!([]), ScimType::InvalidSyntax),
    ];
    for (ops, scim_type) in cases {
        let e = normalize_patch(&user(), body(ops.clone())).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(scim_type)), "{ops}");
    }
}
