//! PATCH bodies at the JSON level: the exact PatchOp each IdP shape becomes.

use serde_json::{Value, json};

use super::{group, user};
use crate::dialect::normalize_patch_json;
use crate::scim::urn::{ENTERPRISE_USER, PATCH_OP};

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

fn user_ops(ops: Value) -> Value {
    normalize_patch_json(&user(), patch(ops))
}

fn group_ops(ops: Value) -> Value {
    normalize_patch_json(&group(), patch(ops))
}

#[test]
fn entra_default_disable_with_string_false() {
    // §1.6 "Disable user", default mode; corpus entra-08
    assert_eq!(
        user_ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        patch(json!([{"op": "replace", "path": "active", "value": false}]))
    );
    // and re-enable, corpus entra-11
    assert_eq!(
        user_ops(json!([{"op": "Replace", "path": "active", "value": "True"}])),
        patch(json!([{"op": "replace", "path": "active", "value": true}]))
    );
}

#[test]
fn entra_flag_disable_is_already_rfc() {
    // corpus entra-09
    let ops = json!([{"op": "replace", "path": "active", "value": false}]);
    assert_eq!(user_ops(ops.clone()), patch(ops));
}

#[test]
fn entra_tutorial_disable_with_operations_first() {
    // corpus entra-10: capitalised op, Operations before schemas (key order is not significant in JSON).
    let body = json!({"Operations": [{"op": "Replace", "path": "active", "value": false}], "schemas": [PATCH_OP]});
    assert_eq!(
        normalize_patch_json(&user(), body),
        patch(json!([{"op": "replace", "path": "active", "value": false}]))
    );
}

#[test]
fn structural_keys_and_op_values_are_case_insensitive() {
    // §1.6 "op casing"
    let body = json!({"SCHEMAS": [PATCH_OP], "operations": [{"OP": "ADD", "Path": "nickName", "VALUE": "Babs"}]});
    assert_eq!(normalize_patch_json(&user(), body), patch(json!([{"op": "add", "path": "nickName", "value": "Babs"}])));
}

#[test]
fn entra_default_single_valued_add_and_multi_valued_replace() {
    // corpus entra-13 and entra-06
    assert_eq!(
        user_ops(json!([{"op": "Add", "path": "nickName", "value": "Babs"}])),
        patch(json!([{"op": "add", "path": "nickName", "value": "Babs"}]))
    );
    assert_eq!(
        user_ops(json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated_ab12@testuser.example"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ])),
        patch(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "updated_ab12@testuser.example"},
            {"op": "replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ]))
    );
}

#[test]
fn entra_default_replace_of_several_attributes_keeps_one_op_each() {
    // §1.6 "Replace several attributes", default mode; corpus entra-15
    let sent = json!([
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm_ab12@test.microsoft.example"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj-ab12"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Eqpj"}
    ]);
    let mut want = sent.clone();
    for op in want.as_array_mut().unwrap() {
        op["op"] = json!("replace");
    }
    assert_eq!(user_ops(sent), patch(want));
}

#[test]
fn entra_flag_no_path_value_with_dotted_and_urn_keys_is_split() {
    // §1.6 "Replace several attributes" with aadOptscim062020; corpus entra-16
    let sent = json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes_ab12@test.microsoft.example"},
        {"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
        }}
    ]);
    assert_eq!(
        user_ops(sent),
        patch(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes_ab12@test.microsoft.example"},
            {"op": "replace", "path": "displayName", "value": "Bjfe"},
            {"op": "replace", "path": "name.familyName", "value": "Unua"},
            {"op": "replace", "path": "name.givenName", "value": "Kkom"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Aklq"}
        ]))
    );
}

#[test]
fn split_values_are_shaped_and_extension_objects_split_per_attribute() {
    let sent = json!([{"op": "Add", "value": {
        "active": "False",
        "name.givenName": "G",
        "manager": "m0",
        ENTERPRISE_USER: {"manager": "m1", "department": "D"}
    }}]);
    assert_eq!(
        user_ops(sent),
        patch(json!([
            {"op": "add", "path": "active", "value": false},
            {"op": "add", "path": format!("{ENTERPRISE_USER}:manager"), "value": {"value": "m0"}},
            {"op": "add", "path": "name.givenName", "value": "G"},
            {"op": "add", "path": format!("{ENTERPRISE_USER}:department"), "value": "D"},
            {"op": "add", "path": format!("{ENTERPRISE_USER}:manager"), "value": {"value": "m1"}}
        ]))
    );
}

#[test]
fn okta_no_path_deactivate_and_reactivate_are_already_rfc() {
    // §2.2; corpus okta-08, okta-09
    for active in [false, true] {
        let ops = json!([{"op": "replace", "value": {"active": active}}]);
        assert_eq!(user_ops(ops.clone()), patch(ops));
    }
}

#[test]
fn okta_password_sync_is_already_rfc() {
    // §2.2, §4; corpus okta-11
    let ops = json!([{"op": "replace", "value": {"password": "N3wPassw0rd-ab12"}}]);
    assert_eq!(user_ops(ops.clone()), patch(ops));
}

#[test]
fn no_path_values_are_shaped_as_partial_resources() {
    let sent = json!([{"op": "replace", "value": {"active": "False", ENTERPRISE_USER: {"manager": "m1"}}}]);
    assert_eq!(
        user_ops(sent),
        patch(json!([{"op": "replace", "value": {"active": false, ENTERPRISE_USER: {"manager": {"value": "m1"}}}}]))
    );
}

#[test]
fn okta_group_rename_drops_the_group_id() {
    // §2.2 Group Push step 4; corpus okta-15
    assert_eq!(
        group_ops(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Okta_Group_ab12_v2"}}])),
        patch(json!([{"op": "replace", "value": {"displayName": "Okta_Group_ab12_v2"}}]))
    );
}

#[test]
fn read_only_keys_are_dropped_from_no_path_values() {
    let sent = json!([{"op": "replace", "value": {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "meta": {"resourceType": "User"},
        "groups": [], "nickName": "n", "name.givenName": "G"
    }}]);
    assert_eq!(
        user_ops(sent),
        patch(json!([
            {"op": "replace", "path": "name.givenName", "value": "G"},
            {"op": "replace", "path": "nickName", "value": "n"}
        ]))
    );
}

#[test]
fn okta_group_membership_operations_are_already_rfc() {
    // §2.2 Group Push step 5
    let ops = json!([
        {"op": "remove", "path": "members[value eq \"00u1\"]"},
        {"op": "add", "path": "members", "value": [{"value": "00u2", "display": "test.user@okta.local"}]}
    ]);
    assert_eq!(group_ops(ops.clone()), patch(ops));
    let full = json!([{"op": "replace", "path": "members", "value": [{"value": "00u1"}, {"value": "00u2"}]}]);
    assert_eq!(group_ops(full.clone()), patch(full));
}

#[test]
fn entra_member_add_keeps_its_null_ref() {
    // §1.6 "Group member adds"; corpus entra-32
    assert_eq!(
        group_ops(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}]}])),
        patch(json!([{"op": "add", "path": "members", "value": [{"$ref": null, "value": "u1"}]}]))
    );
}

#[test]
fn entra_default_member_removal_becomes_one_filtered_remove_per_member() {
    // §1.6 "Remove group member", default mode; corpus entra-34
    assert_eq!(
        group_ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}])),
        patch(json!([{"op": "remove", "path": "members[value eq \"u1091\"]"}]))
    );
    assert_eq!(
        group_ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}])),
        patch(json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "remove", "path": "members[value eq \"u2\"]"}
        ]))
    );
}

#[test]
fn member_removal_quotes_values_as_filter_literals() {
    assert_eq!(
        group_ops(json!([{"op": "Remove", "path": "members", "value": [{"value": "a\"b\\c"}]}])),
        patch(json!([{"op": "remove", "path": "members[value eq \"a\\\"b\\\\c\"]"}]))
    );
}

#[test]
fn member_removal_of_an_empty_list_removes_nothing() {
    // Without the value, RFC 7644 would read it as "remove every member".
    assert_eq!(group_ops(json!([{"op": "Remove", "path": "members", "value": []}])), patch(json!([])));
}

#[test]
fn member_removal_without_values_to_match_is_passed_on() {
    let ops = json!([{"op": "remove", "path": "members", "value": [{"display": "x"}]}]);
    assert_eq!(group_ops(ops.clone()), patch(ops));
}

#[test]
fn entra_flag_member_removal_is_already_rfc() {
    // corpus entra-35
    let ops = json!([{"op": "remove", "path": "members[value eq \"7f4bc5a2-6b43-4c1b-9c5e-d2d8e0a3b6f1\"]"}]);
    assert_eq!(group_ops(ops.clone()), patch(ops));
}

#[test]
fn entra_manager_patch_with_a_bare_string() {
    // §1.6 "Value as string vs array", trace T2; corpus entra-21
    assert_eq!(
        user_ops(json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                         "value": "m1"}])),
        patch(json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                      "value": {"value": "m1"}}]))
    );
}

#[test]
fn entra_tutorial_example_5_manager_is_qualified_and_unwrapped() {
    // §1.6, tutorial Example 5; corpus entra-22
    assert_eq!(
        user_ops(json!([{"op": "Add", "path": "manager", "value": [{"$ref": "../Users/m1", "value": "m1"}]}])),
        patch(json!([{"op": "add", "path": format!("{ENTERPRISE_USER}:manager"),
                      "value": {"$ref": "../Users/m1", "value": "m1"}}]))
    );
}

#[test]
fn manager_sub_attribute_paths_are_qualified_too() {
    assert_eq!(
        user_ops(json!([{"op": "replace", "path": "manager.value", "value": "m2"}])),
        patch(json!([{"op": "replace", "path": format!("{ENTERPRISE_USER}:manager.value"), "value": "m2"}]))
    );
}

#[test]
fn manager_object_value_is_kept() {
    let ops = json!([{"op": "replace", "path": format!("{ENTERPRISE_USER}:manager"), "value": {"value": "m1"}}]);
    assert_eq!(user_ops(ops.clone()), patch(ops));
}

#[test]
fn unknown_paths_are_not_qualified() {
    let ops = json!([{"op": "replace", "path": "nonsense", "value": "x"}]);
    assert_eq!(user_ops(ops.clone()), patch(ops));
}

#[test]
fn entra_default_add_roles_with_json_text() {
    // §1.6 roles row, §1.8 SingleAppRoleAssignment; corpus entra-27
    assert_eq!(
        user_ops(json!([{"op": "Add", "path": "roles", "value": [
            {"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}
        ]}])),
        patch(json!([{"op": "add", "path": "roles", "value": [
            {"id": "06b07648-ecfe-589f-9d2f-6325724a46ee", "value": "25", "display": "Role1234"}
        ]}]))
    );
}

#[test]
fn filtered_paths_shape_values_by_the_sub_attribute_or_element() {
    // Entra's roles mapping targets roles[primary eq "True"].… (§1.7).
    assert_eq!(
        user_ops(json!([
            {"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Admin"},
            {"op": "Replace", "path": "emails[type eq \"work\"].primary", "value": "True"},
            {"op": "Add", "path": "roles[primary eq \"True\"]", "value": {"value": "Admin", "primary": "True", "displayName": "A"}}
        ])),
        patch(json!([
            {"op": "replace", "path": "roles[primary eq \"True\"].value", "value": "Admin"},
            {"op": "replace", "path": "emails[type eq \"work\"].primary", "value": true},
            {"op": "add", "path": "roles[primary eq \"True\"]", "value": {"value": "Admin", "primary": true, "display": "A"}}
        ]))
    );
}

#[test]
fn single_valued_simple_values_given_as_value_lists_are_unwrapped() {
    // The old Microsoft library shape (§1.6 "Value as string vs array", trace T1).
    assert_eq!(
        user_ops(json!([{"op": "Replace", "path": "displayName", "value": [{"$ref": null, "value": " User X"}]}])),
        patch(json!([{"op": "replace", "path": "displayName", "value": " User X"}]))
    );
}

#[test]
fn remove_without_path_is_passed_on_for_the_core_to_reject() {
    // corpus rfc-09
    let ops = json!([{"op": "remove"}]);
    assert_eq!(user_ops(ops.clone()), patch(ops));
}

#[test]
fn malformed_bodies_are_passed_on() {
    for body in [
        json!([]),
        json!({"Operations": "x"}),
        json!({"Operations": [1, {"op": 3}, {"path": "[" }]}),
        json!({"Operations": [{"op": "replace", "value": "x"}, {"op": "add", "value": [1]}, {"op": "add"}]}),
    ] {
        assert_eq!(normalize_patch_json(&user(), body.clone()), body);
    }
}

#[test]
fn a_path_naming_an_extension_addresses_its_attributes() {
    assert_eq!(
        user_ops(
            json!([{"op": "add", "path": ENTERPRISE_USER, "value": {"employeeNumber": "7", "department": "R&D"}}])
        ),
        patch(json!([
            {"op": "add", "path": format!("{ENTERPRISE_USER}:department"), "value": "R&D"},
            {"op": "add", "path": format!("{ENTERPRISE_USER}:employeeNumber"), "value": "7"}
        ]))
    );
    let removed = user_ops(json!([{"op": "Remove", "path": ENTERPRISE_USER.to_ascii_lowercase()}]));
    let paths: Vec<&str> =
        removed["Operations"].as_array().unwrap().iter().map(|o| o["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&format!("{ENTERPRISE_USER}:manager").as_str()), "{paths:?}");
    assert!(paths.contains(&format!("{ENTERPRISE_USER}:costCenter").as_str()), "{paths:?}");
    assert!(removed["Operations"].as_array().unwrap().iter().all(|o| o["op"] == "remove" && o.get("value").is_none()));
}
