//! Normalising is the identity on RFC-clean PatchOps, and normalising twice changes nothing more than
//! normalising once, for generated mixes of RFC and IdP shapes.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{group, user};
use crate::dialect::{normalize_patch, normalize_patch_json, normalize_resource};
use crate::scim::patch::PatchRequest;
use crate::scim::urn::{ENTERPRISE_USER, PATCH_OP};

/// RFC-clean user operations, built from a name and a flag so that values vary.
fn clean_user_op() -> impl Strategy<Value = Value> {
    let text = "[a-zA-Z0-9 @._-]{0,12}";
    let ext = ENTERPRISE_USER;
    prop_oneof![
        (text, prop::sample::select(vec!["displayName", "nickName", "userName", "name.givenName", "title"]))
            .prop_map(|(v, p)| json!({"op": "replace", "path": p, "value": v})),
        any::<bool>().prop_map(|b| json!({"op": "replace", "path": "active", "value": b})),
        (text, any::<bool>()).prop_map(|(v, b)| json!({"op": "add", "path": "emails",
            "value": [{"value": v, "type": "work", "primary": b}]})),
        text.prop_map(|v| json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": v})),
        text.prop_map(|v| json!({"op": "remove", "path": format!("emails[value eq {}]", json!(v))})),
        text.prop_map(move |v| json!({"op": "add", "path": format!("{ext}:manager"), "value": {"value": v}})),
        text.prop_map(move |v| json!({"op": "replace", "path": format!("{ext}:department"), "value": v})),
        (text, any::<bool>()).prop_map(move |(v, b)| json!({"op": "replace",
            "value": {"displayName": v, "active": b, ext: {"manager": {"value": v}}}})),
        (text, any::<bool>()).prop_map(|(v, b)| json!({"op": "add", "path": "roles",
            "value": [{"value": v, "display": v, "primary": b}]})),
        Just(json!({"op": "remove", "path": "nickName"})),
    ]
}

/// Operations in the shapes Entra and Okta send (§1.6, §2.2), with varying values.
fn idp_user_op() -> impl Strategy<Value = Value> {
    let text = "[a-zA-Z0-9 @._-]{0,12}";
    let ext = ENTERPRISE_USER;
    prop_oneof![
        clean_user_op(),
        (
            prop::sample::select(vec!["Replace", "REPLACE", "replace"]),
            prop::sample::select(vec!["True", "False", "true"])
        )
            .prop_map(|(op, v)| json!({"op": op, "path": "active", "value": v})),
        (text, text).prop_map(move |(a, b)| json!({"op": "replace", "value": {"displayName": a, "name.givenName": b,
            format!("{ext}:employeeNumber"): a, "id": b}})),
        text.prop_map(
            |v| json!({"op": "Add", "path": "manager", "value": [{"$ref": format!("../Users/{v}"), "value": v}]})
        ),
        text.prop_map(move |v| json!({"op": "add", "path": format!("{ext}:manager"), "value": v})),
        text.prop_map(|v| json!({"op": "Add", "path": "roles",
            "value": [{"value": json!({"id": "x", "value": v, "displayName": v}).to_string()}]})),
        text.prop_map(|v| json!({"op": "Replace", "path": "displayName", "value": [{"$ref": null, "value": v}]})),
        text.prop_map(|v| json!({"op": "Replace", "path": "roles[primary eq \"True\"].primary", "value": "True",
            "extra": v})),
    ]
}

fn idp_group_op() -> impl Strategy<Value = Value> {
    let text = "[a-zA-Z0-9\"\\\\ _-]{0,10}";
    prop_oneof![
        prop::collection::vec(text, 0..4).prop_map(|ids| json!({"op": "Remove", "path": "members",
            "value": ids.iter().map(|i| json!({"value": i})).collect::<Vec<_>>()})),
        text.prop_map(|id| json!({"op": "add", "path": "members", "value": [{"$ref": null, "value": id}]})),
        text.prop_map(|id| json!({"op": "remove", "path": format!("members[value eq {}]", json!(id))})),
        (text, text).prop_map(|(id, name)| json!({"op": "replace", "value": {"id": id, "displayName": name}})),
    ]
}

fn body(ops: Vec<Value>) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

proptest! {
    #[test]
    fn rfc_clean_user_patches_are_unchanged(ops in prop::collection::vec(clean_user_op(), 0..6)) {
        let b = body(ops);
        prop_assert_eq!(normalize_patch_json(&user(), b.clone()), b.clone());
        prop_assert_eq!(normalize_patch(&user(), b.clone()), PatchRequest::from_json(&b));
    }

    #[test]
    fn user_patch_normalisation_is_idempotent(ops in prop::collection::vec(idp_user_op(), 0..6)) {
        let sent = body(ops);
        let once = normalize_patch_json(&user(), sent.clone());
        prop_assert_eq!(normalize_patch_json(&user(), once.clone()), once.clone());
        prop_assert_eq!(normalize_patch(&user(), once), normalize_patch(&user(), sent));
    }

    #[test]
    fn group_patch_normalisation_is_idempotent(ops in prop::collection::vec(idp_group_op(), 0..6)) {
        let once = normalize_patch_json(&group(), body(ops));
        prop_assert_eq!(normalize_patch_json(&group(), once.clone()), once);
    }

    #[test]
    fn resource_normalisation_is_idempotent(
        active in prop::sample::select(vec![json!(true), json!("True"), json!("false"), json!([{"value": "False"}])]),
        manager in prop::sample::select(vec![json!("m1"), json!({"value": "m1"}), json!([{"value": "m1", "$ref": "../Users/m1"}])]),
        given in "[a-z]{0,6}",
    ) {
        let sent = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "http://schemas.microsoft.com/x"],
            "userName": "u", "active": active, "name.givenName": given,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": manager,
            "roles": [{"value": json!({"value": "25", "displayName": "R"}).to_string()}]
        });
        let once = normalize_resource(&user(), sent);
        prop_assert_eq!(normalize_resource(&user(), once.clone()), once);
    }
}
