use serde_json::{Value, json};

use super::{group, user};
use crate::dialect::normalize_resource;
use crate::scim::urn::{ENTERPRISE_USER, GROUP, USER};

/// The POST /Users body Entra sends (§1.5; corpus entra-03).
fn entra_post() -> Value {
    json!({
        "schemas": [USER, ENTERPRISE_USER],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab12@contoso.example",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_ab12@testuser.example"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

/// The POST /Users body Okta sends (§2.3; corpus okta-06).
fn okta_post() -> Value {
    json!({
        "schemas": [USER],
        "userName": "okta.userab12@okta.example",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "okta.userab12@okta.example", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00uab12",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

#[test]
fn rfc_clean_idp_bodies_pass_unchanged() {
    // Client-sent meta, "roles": [], Okta's groups: [] and password are the core's to judge (§1.5, §2.3).
    assert_eq!(normalize_resource(&user(), entra_post()), entra_post());
    assert_eq!(normalize_resource(&user(), okta_post()), okta_post());
    // Okta's profile-update PUT (§2.2; corpus okta-07).
    let put = json!({
        "schemas": [USER], "id": "u1", "userName": "okta.userab12@okta.example",
        "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
        "emails": [{"primary": true, "value": "okta.userab12@okta.example", "type": "work",
                    "display": "okta.userab12@okta.example"}],
        "active": true, "groups": [], "meta": {"resourceType": "User"}
    });
    assert_eq!(normalize_resource(&user(), put.clone()), put);
}

#[test]
fn string_booleans_become_booleans_where_the_schema_says_boolean() {
    // Microsoft's reference suite POSTs "active": "True" (§1.6; corpus entra-42).
    let mut body = entra_post();
    body["active"] = json!("True");
    body["emails"][0]["primary"] = json!("FALSE");
    body["nickName"] = json!("true");
    let mut want = entra_post();
    want["active"] = json!(true);
    want["emails"][0]["primary"] = json!(false);
    want["nickName"] = json!("true");
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn strings_that_are_not_booleans_are_left_for_the_core() {
    let body = json!({"schemas": [USER], "userName": "u", "active": "yes"});
    assert_eq!(normalize_resource(&user(), body.clone()), body);
}

#[test]
fn manager_as_a_bare_string_becomes_a_complex_value() {
    // Entra's enterprise extension in a POST (§1.5 "Manager in POST"; corpus entra-23).
    let mut body = entra_post();
    body[ENTERPRISE_USER] = json!({"employeeNumber": "701984", "department": "Tour Operations", "manager": "26118915-6090-4610-87e4-49d8ca9f808d"});
    let mut want = entra_post();
    want[ENTERPRISE_USER] = json!({
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
    });
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn manager_as_a_one_element_array_becomes_that_element() {
    // The shape of tutorial Example 5 (§1.6), in a body.
    let body = json!({
        "schemas": [USER, ENTERPRISE_USER], "userName": "u",
        ENTERPRISE_USER: {"manager": [{"$ref": "../Users/m1", "value": "m1"}]}
    });
    let want = json!({
        "schemas": [USER, ENTERPRISE_USER], "userName": "u",
        ENTERPRISE_USER: {"manager": {"$ref": "../Users/m1", "value": "m1"}}
    });
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn roles_given_as_json_text_are_parsed_and_display_name_is_read_as_display() {
    // SingleAppRoleAssignment (§1.6 roles row, §1.8).
    let body = json!({
        "schemas": [USER], "userName": "u",
        "roles": [{"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}",
                   "primary": "True"}]
    });
    let want = json!({
        "schemas": [USER], "userName": "u",
        "roles": [{"id": "06b07648-ecfe-589f-9d2f-6325724a46ee", "value": "25", "display": "Role1234", "primary": true}]
    });
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn complex_roles_with_display_name_use_display() {
    // AppRoleAssignmentsComplex POST (§1.8; corpus entra-28).
    let roles = |key: &str| {
        json!([
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", key: "Admin", "value": "Admin"},
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", key: "User", "value": "User"}
        ])
    };
    let mut body = entra_post();
    body["roles"] = roles("displayName");
    let mut want = entra_post();
    want["roles"] = roles("display");
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn display_name_stays_where_the_attribute_defines_it() {
    // manager has a displayName sub-attribute of its own.
    let body = json!({ENTERPRISE_USER: {"manager": {"value": "m1", "displayName": "Boss"}}, "schemas": [USER, ENTERPRISE_USER]});
    assert_eq!(normalize_resource(&user(), body.clone()), body);
}

#[test]
fn unknown_schema_uris_are_dropped() {
    // Entra's group POST (§1.5; corpus entra-30).
    let body = json!({
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Group_ab12",
        "meta": {"resourceType": "Group"}
    });
    let want = json!({
        "schemas": [GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Group_ab12",
        "meta": {"resourceType": "Group"}
    });
    assert_eq!(normalize_resource(&group(), body), want);
}

#[test]
fn schema_uris_are_spelled_canonically() {
    let body = json!({"schemas": ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"], "userName": "u"});
    assert_eq!(normalize_resource(&user(), body), json!({"schemas": [USER], "userName": "u"}));
}

#[test]
fn urn_qualified_keys_move_into_their_extension() {
    let body = json!({
        "schemas": [USER],
        "userName": "u",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "x",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m1",
        "urn:ietf:params:scim:schemas:core:2.0:User:nickName": "Babs"
    });
    let want = json!({
        "schemas": [USER, ENTERPRISE_USER],
        "userName": "u",
        "nickName": "Babs",
        ENTERPRISE_USER: {"department": "x", "manager": {"value": "m1"}}
    });
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn urn_qualified_keys_join_an_existing_extension_object() {
    let body = json!({
        "schemas": [USER, ENTERPRISE_USER],
        ENTERPRISE_USER: {"employeeNumber": "1"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "m1"
    });
    let want = json!({
        "schemas": [USER, ENTERPRISE_USER],
        ENTERPRISE_USER: {"employeeNumber": "1", "manager": {"value": "m1"}}
    });
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn dotted_keys_move_into_their_complex_attribute() {
    let body =
        json!({"userName": "u", "name": {"familyName": "F"}, "name.givenName": "G", "meta.resourceType": "User"});
    let want =
        json!({"userName": "u", "name": {"familyName": "F", "givenName": "G"}, "meta": {"resourceType": "User"}});
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn dotted_keys_that_name_no_single_complex_attribute_are_left_alone() {
    let body = json!({"userName": "u", "emails.value": "a@x", "nonsense.x": 1, "userName.x": 2});
    assert_eq!(normalize_resource(&user(), body.clone()), body);
}

#[test]
fn single_valued_simple_attributes_given_as_value_lists_are_unwrapped() {
    // Microsoft's old SCIM library shape (§1.6 "Value as string vs array").
    let body = json!({"userName": "u", "displayName": [{"$ref": null, "value": "User X"}], "active": [{"value": "False"}],
                      "title": ["Boss"]});
    let want = json!({"userName": "u", "displayName": "User X", "active": false, "title": "Boss"});
    assert_eq!(normalize_resource(&user(), body), want);
}

#[test]
fn nulls_and_empty_lists_are_left_for_the_core() {
    // An older Entra example sent nulls (§1.5).
    let body = json!({
        "schemas": [USER, ENTERPRISE_USER], "userName": "u", "addresses": null, "roles": [], "active": null,
        ENTERPRISE_USER: {"manager": null}
    });
    assert_eq!(normalize_resource(&user(), body.clone()), body);
}

#[test]
fn a_body_that_is_not_an_object_is_returned_unchanged() {
    for body in [json!([1, 2]), json!("text"), Value::Null] {
        assert_eq!(normalize_resource(&user(), body.clone()), body);
    }
}

#[test]
fn many_path_keys_are_merged_in_one_pass() {
    // A hostile body: tens of thousands of keys to hoist must not cost quadratic time.
    const N: usize = 20_000;
    let mut body = serde_json::Map::new();
    for i in 0..N {
        body.insert(format!("name.x{i}"), json!(i));
        body.insert(format!("{ENTERPRISE_USER}:y{i}"), json!(i));
    }
    let out = normalize_resource(&user(), Value::Object(body));
    assert_eq!(out["name"].as_object().map(|m| m.len()), Some(N));
    assert_eq!(out[ENTERPRISE_USER].as_object().map(|m| m.len()), Some(N));
    assert_eq!(out.as_object().map(|m| m.len()), Some(2));
}

#[test]
fn keys_differing_only_in_case_are_replaced_by_the_placed_one() {
    let body = json!({
        "Name": {"GivenName": "old", "familyName": "F"},
        "name.givenName": "new",
        ENTERPRISE_USER: {"Department": "old"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "new"
    });
    let want = json!({
        "Name": {"givenName": "new", "familyName": "F"},
        ENTERPRISE_USER: {"department": "new"}
    });
    assert_eq!(normalize_resource(&user(), body), want);
}
