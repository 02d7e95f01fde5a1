use std::time::{Duration, Instant};

use super::*;
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};

// --- single-valued attributes ---

#[test]
fn replace_sets_a_simple_attribute_and_reports_it() {
    let s = user_schema();
    let ops = json!([{ "op": "Replace", "path": "displayName", "value": "Babs" }]);
    let (r, outcome) = run(&s, user(), ops).unwrap();
    assert_eq!(r["displayName"], "Babs");
    assert_eq!(outcome.changed.into_iter().collect::<Vec<_>>(), ["displayName"]);
}

#[test]
fn replace_of_a_missing_attribute_acts_as_add_and_add_replaces() {
    let s = user_schema();
    let r = patched(&s, user(), json!([{ "op": "replace", "path": "nickName", "value": "Babs" }]));
    assert_eq!(r["nickName"], "Babs");
    let r = patched(&s, r, json!([{ "op": "add", "path": "nickName", "value": "B" }]));
    assert_eq!(r["nickName"], "B");
}

#[test]
fn an_unchanged_value_reports_nothing() {
    let s = user_schema();
    let ops = json!([
        { "op": "replace", "path": "userName", "value": "bjensen" },
        { "op": "add", "path": "emails", "value": [{ "value": "babs@home.example", "type": "home" }] },
        { "op": "remove", "path": "title" },
        { "op": "remove", "path": "emails[type eq \"other\"]" }
    ]);
    let (r, outcome) = run(&s, user(), ops).unwrap();
    assert!(outcome.changed.is_empty(), "{:?}", outcome.changed);
    assert_eq!(r, user());
}

#[test]
fn remove_unassigns_an_attribute() {
    let s = user_schema();
    let (r, outcome) = run(&s, user(), json!([{ "op": "remove", "path": "active" }])).unwrap();
    assert!(r.get("active").is_none());
    assert!(outcome.changed.contains("active"));
}

#[test]
fn sub_attribute_paths_on_a_complex_attribute() {
    let s = user_schema();
    let r = patched(&s, user(), json!([{ "op": "replace", "path": "name.givenName", "value": "Babs" }]));
    assert_eq!(r["name"], json!({ "givenName": "Babs", "familyName": "Jensen" }));

    let mut bare = user();
    bare.as_object_mut().unwrap().remove("name");
    let r = patched(&s, bare, json!([{ "op": "add", "path": "name.middleName", "value": "J" }]));
    assert_eq!(r["name"], json!({ "middleName": "J" }));

    let ops = json!([
        { "op": "remove", "path": "name.givenName" },
        { "op": "remove", "path": "NAME.FAMILYNAME" }
    ]);
    let (r, outcome) = run(&s, user(), ops).unwrap();
    assert!(r.get("name").is_none(), "an emptied complex attribute is removed: {r}");
    assert!(outcome.changed.contains("name"));
}

#[test]
fn replace_of_a_complex_attribute_merges_sub_attributes() {
    let s = user_schema();
    let r = patched(
        &s,
        user(),
        json!([{ "op": "replace", "path": "name", "value": { "GivenName": "Babs", "formatted": "Babs J" } }]),
    );
    assert_eq!(r["name"], json!({ "givenName": "Babs", "familyName": "Jensen", "formatted": "Babs J" }));
}

// --- URN-qualified paths ---

#[test]
fn extension_attributes_live_under_their_urn() {
    let s = user_schema();
    let dept = format!("{ENT}:department");
    let (r, outcome) = run(&s, user(), json!([{ "op": "add", "path": dept, "value": "Sales" }])).unwrap();
    assert_eq!(r[ENT], json!({ "department": "Sales" }));
    assert_eq!(outcome.changed.into_iter().collect::<Vec<_>>(), std::slice::from_ref(&dept));

    let r = patched(&s, r, json!([{ "op": "replace", "path": format!("{ENT}:manager.value"), "value": "m1" }]));
    assert_eq!(r[ENT]["manager"], json!({ "value": "m1" }));

    let ops = json!([
        { "op": "remove", "path": dept },
        { "op": "remove", "path": format!("{ENT}:manager") }
    ]);
    let r = patched(&s, r, ops);
    assert!(r.get(ENT).is_none(), "an emptied extension object is removed: {r}");
}

#[test]
fn extension_urn_keys_are_matched_case_insensitively() {
    let s = user_schema();
    let mut u = user();
    u[ENT.to_lowercase()] = json!({ "Department": "Ops" });
    let (r, outcome) =
        run(&s, u, json!([{ "op": "replace", "path": format!("{ENT}:department"), "value": "Sales" }])).unwrap();
    assert_eq!(r[ENT], json!({ "department": "Sales" }));
    assert!(r.get(ENT.to_lowercase()).is_none());
    assert!(outcome.changed.contains(&format!("{ENT}:department")));
}

#[test]
fn core_urn_qualified_paths_address_the_top_level() {
    let s = user_schema();
    let r =
        patched(&s, user(), json!([{ "op": "replace", "path": format!("{}:displayName", urn::USER), "value": "B" }]));
    assert_eq!(r["displayName"], "B");
    assert!(r.get(urn::USER).is_none());
}

// --- no-path operations ---

#[test]
fn no_path_replace_of_active_false() {
    let s = user_schema();
    let (r, outcome) = run(&s, user(), json!([{ "op": "Replace", "value": { "active": false } }])).unwrap();
    assert_eq!(r["active"], false);
    assert_eq!(outcome.changed.into_iter().collect::<Vec<_>>(), ["active"]);
}

#[test]
fn no_path_values_with_extension_objects_qualified_and_dotted_keys() {
    let s = user_schema();
    let ops = json!([{ "op": "replace", "value": {
        "displayName": "Babs",
        ENT: { "department": "Sales", "unknownThing": 1 },
        format!("{ENT}:employeeNumber"): "42",
        "name.givenName": "B",
        "notAnAttribute": "ignored"
    } }]);
    let (r, outcome) = run(&s, user(), ops).unwrap();
    assert_eq!(r["displayName"], "Babs");
    assert_eq!(r[ENT], json!({ "department": "Sales", "employeeNumber": "42" }));
    assert_eq!(r["name"]["givenName"], "B");
    assert!(r.get("notAnAttribute").is_none());
    let expected: Vec<String> =
        vec!["displayName".into(), "name".into(), format!("{ENT}:department"), format!("{ENT}:employeeNumber")];
    let mut got: Vec<String> = outcome.changed.into_iter().collect();
    got.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn names_in_values_are_stored_in_the_schemas_case() {
    let s = user_schema();
    let ops = json!([{ "op": "add", "value": {
        "DISPLAYNAME": "Babs",
        "Name": { "GIVENNAME": "B" },
        "Emails": [{ "VALUE": "x@example.com", "Type": "other" }]
    } }]);
    let r = patched(&s, user(), ops);
    assert_eq!(r["displayName"], "Babs");
    assert_eq!(r["name"]["givenName"], "B");
    assert_eq!(r["emails"][2], json!({ "value": "x@example.com", "type": "other" }));
    assert!(r.get("DISPLAYNAME").is_none() && r.get("Name").is_none());
}

#[test]
fn no_path_values_may_echo_read_only_attributes() {
    let s = user_schema();
    let ops = json!([{ "op": "replace", "value": {
        "schemas": [urn::USER, ENT],
        "id": "2819c223",
        "meta": { "resourceType": "User" },
        "title": "Boss"
    } }]);
    let (r, outcome) = run(&s, user(), ops).unwrap();
    assert_eq!(r["title"], "Boss");
    assert_eq!(r["id"], "2819c223");
    assert_eq!(outcome.changed.into_iter().collect::<Vec<_>>(), ["title"]);

    let e = error(&s, user(), json!([{ "op": "replace", "value": { "id": "other" } }]));
    assert_eq!(kind(&e), (400, Some(ScimType::Mutability)));
    let e = error(&s, user(), json!([{ "op": "add", "value": { "meta": { "created": "2020-01-01T00:00:00Z" } } }]));
    assert_eq!(kind(&e), (400, Some(ScimType::Mutability)));
}

#[test]
fn no_path_null_under_replace_removes() {
    let s = user_schema();
    let r = patched(&s, user(), json!([{ "op": "replace", "value": { "active": null, "nickName": null } }]));
    assert!(r.get("active").is_none());
    let r = patched(&s, user(), json!([{ "op": "add", "value": { "active": null } }]));
    assert_eq!(r["active"], true, "add with null adds nothing");
}

#[test]
fn no_path_value_must_be_an_object() {
    let s = user_schema();
    let e = error(&s, user(), json!([{ "op": "replace", "value": "x" }]));
    assert_eq!(kind(&e), (400, Some(ScimType::InvalidValue)));
}

// --- multi-valued attributes ---

#[test]
fn add_merges_elements_and_skips_existing_ones() {
    let s = user_schema();
    let ops = json!([{ "op": "add", "path": "emails", "value": [
        { "value": "babs@home.example", "type": "home" },
        { "value": "b@other.example", "type": "other" },
        { "value": "b@other.example", "type": "other" }
    ] }]);
    let r = patched(&s, user(), ops);
    let values: Vec<&str> = r["emails"].as_array().unwrap().iter().map(|e| e["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["bjensen@work.example", "babs@home.example", "b@other.example"]);
}

#[test]
fn a_single_value_added_to_a_multi_valued_attribute_is_wrapped() {
    let s = user_schema();
    let r =
        patched(&s, user(), json!([{ "op": "add", "path": "emails", "value": { "value": "o@x", "type": "other" } }]));
    assert_eq!(r["emails"][2], json!({ "value": "o@x", "type": "other" }));
    let mut bare = user();
    bare.as_object_mut().unwrap().remove("emails");
    let r = patched(&s, bare, json!([{ "op": "add", "path": "emails", "value": { "value": "o@x" } }]));
    assert_eq!(r["emails"], json!([{ "value": "o@x" }]));
}

#[test]
fn replace_of_a_multi_valued_attribute_replaces_the_set() {
    let s = user_schema();
    let r = patched(
        &s,
        user(),
        json!([{ "op": "replace", "path": "emails", "value": [{ "value": "n@x", "type": "work" }] }]),
    );
    assert_eq!(r["emails"], json!([{ "value": "n@x", "type": "work" }]));
    let r = patched(&s, user(), json!([{ "op": "replace", "path": "emails", "value": [] }]));
    assert!(r.get("emails").is_none(), "an empty set is unassigned");
}

#[test]
fn remove_of_a_whole_multi_valued_attribute() {
    let s = group_schema();
    let (r, outcome) = run(&s, group(&["a", "b"]), json!([{ "op": "remove", "path": "members" }])).unwrap();
    assert!(r.get("members").is_none());
    assert!(outcome.changed.contains("members"));
}

#[test]
fn entra_member_adds_with_several_values_and_ops() {
    let s = group_schema();
    let ops = json!([
        { "op": "Add", "path": "members", "value": [{ "$ref": null, "value": "u1" }, { "value": "u2", "display": "Two" }] },
        { "op": "Add", "path": "members", "value": [{ "value": "u3" }, { "value": "U1", "display": "again" }] }
    ]);
    let (r, outcome) = run(&s, group(&["u0"]), ops).unwrap();
    assert_eq!(member_values(&r), ["u0", "u1", "u2", "u3"], "same value = same member: {r}");
    assert_eq!(r["members"][2], json!({ "value": "u2" }), "read-only display is dropped");
    assert_eq!(outcome.changed.into_iter().collect::<Vec<_>>(), ["members"]);
}

#[test]
fn member_removal_by_value_filter() {
    let s = group_schema();
    let r = patched(&s, group(&["a", "b", "c"]), json!([{ "op": "remove", "path": "members[value eq \"b\"]" }]));
    assert_eq!(member_values(&r), ["a", "c"]);
    let (r, outcome) = run(&s, group(&["a"]), json!([{ "op": "remove", "path": "members[value eq \"zz\"]" }])).unwrap();
    assert_eq!(member_values(&r), ["a"], "a filter matching nothing removes nothing");
    assert!(outcome.changed.is_empty());
    let r = patched(&s, group(&["a"]), json!([{ "op": "remove", "path": "members[value eq \"a\"]" }]));
    assert!(r.get("members").is_none(), "an emptied member list is removed: {r}");
    let r = patched(&s, group(&[]), json!([{ "op": "remove", "path": "members[value eq \"a\"]" }]));
    assert_eq!(r, group(&[]));
}

#[test]
fn remove_with_a_value_list_removes_those_elements() {
    let s = group_schema();
    let ops = json!([{ "op": "remove", "path": "members", "value": [{ "value": "a" }, { "value": "c" }] }]);
    let r = patched(&s, group(&["a", "b", "c"]), ops);
    assert_eq!(member_values(&r), ["b"]);
}

#[test]
fn add_then_remove_in_one_request_and_index_consistency() {
    let s = group_schema();
    let ops = json!([
        { "op": "add", "path": "members", "value": [{ "value": "x" }, { "value": "y" }] },
        { "op": "remove", "path": "members[value eq \"a\"]" },
        { "op": "add", "path": "members", "value": [{ "value": "a" }] },
        { "op": "remove", "path": "members[value eq \"x\"]" },
        { "op": "add", "path": "members", "value": [{ "value": "x" }] },
        { "op": "replace", "path": "displayName", "value": "Ops" }
    ]);
    let r = patched(&s, group(&["a", "b"]), ops);
    assert_eq!(member_values(&r), ["b", "y", "a", "x"]);
    assert_eq!(r["displayName"], "Ops");
}

// --- value filters ---

#[test]
fn filtered_replace_touches_matched_elements_only() {
    let s = user_schema();
    let r = patched(
        &s,
        user(),
        json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work" }]),
    );
    assert_eq!(r["emails"][0], json!({ "value": "new@work", "type": "work", "primary": true }));
    assert_eq!(r["emails"][1], user()["emails"][1]);

    let r = patched(
        &s,
        user(),
        json!([{ "op": "replace", "path": "emails[type eq \"home\"]", "value": { "display": "Home" } }]),
    );
    assert_eq!(r["emails"][1], json!({ "value": "babs@home.example", "type": "home", "display": "Home" }));
}

#[test]
fn filtered_remove_of_elements_and_of_sub_attributes() {
    let s = user_schema();
    let r = patched(&s, user(), json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }]));
    assert_eq!(r["emails"].as_array().unwrap().len(), 1);
    let r = patched(&s, user(), json!([{ "op": "remove", "path": "emails[type eq \"work\"].primary" }]));
    assert_eq!(r["emails"][0], json!({ "value": "bjensen@work.example", "type": "work" }));
    let ops = json!([
        { "op": "remove", "path": "emails[type eq \"home\"].value" },
        { "op": "remove", "path": "emails[value pr].type" }
    ]);
    let r = patched(&s, user(), ops);
    assert_eq!(r["emails"], json!([{ "value": "bjensen@work.example", "primary": true }, { "type": "home" }]), "{r}");
    let ops = json!([
        { "op": "remove", "path": "emails[type eq \"home\"].value" },
        { "op": "remove", "path": "emails[type eq \"home\"].type" }
    ]);
    let r = patched(&s, user(), ops);
    assert_eq!(r["emails"], json!([user()["emails"][0]]), "an emptied element is dropped: {r}");
    let ops = json!([
        { "op": "remove", "path": "emails[type eq \"work\"]" },
        { "op": "remove", "path": "emails[type eq \"home\"]" }
    ]);
    assert!(patched(&s, user(), ops).get("emails").is_none());
}

#[test]
fn entra_replace_of_a_missing_typed_element_creates_it() {
    let s = user_schema();
    let mut u = user();
    u["emails"] = json!([{ "value": "babs@home.example", "type": "home" }]);
    for op in ["replace", "Add"] {
        let (r, outcome) =
            run(&s, u.clone(), json!([{ "op": op, "path": "emails[type eq \"work\"].value", "value": "b@work" }]))
                .unwrap();
        assert_eq!(r["emails"][1], json!({ "type": "work", "value": "b@work" }), "{op}");
        assert!(outcome.changed.contains("emails"));
    }
    let mut bare = user();
    bare.as_object_mut().unwrap().remove("emails");
    let r =
        patched(&s, bare, json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@work" }]));
    assert_eq!(r["emails"], json!([{ "type": "work", "value": "b@work" }]));
}

#[test]
fn entra_typed_addresses_and_roles_are_created_too() {
    let s = user_schema();
    let r = patched(
        &s,
        user(),
        json!([{ "op": "replace", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St" }]),
    );
    assert_eq!(r["addresses"], json!([{ "type": "work", "formatted": "1 Main St" }]));

    let mut u = user();
    u["roles"] = json!([{ "value": "reader", "primary": false }]);
    let r = patched(&s, u, json!([{ "op": "add", "path": "roles[primary eq true].value", "value": "admin" }]));
    assert_eq!(r["roles"][1], json!({ "primary": true, "value": "admin" }));
    assert_eq!(primaries(&r["roles"]), 1);
}

#[test]
fn hand_built_filters_are_applied() {
    let s = user_schema();
    let filter = Filter::And(
        Box::new(Filter::Compare {
            path: AttrPath::named("type"),
            op: CompareOp::Eq,
            value: CompValue::String("mobile".into()),
        }),
        Box::new(Filter::Compare { path: AttrPath::named("primary"), op: CompareOp::Eq, value: CompValue::Bool(true) }),
    );
    let path = PatchPath::Filtered { attr: AttrPath::named("phoneNumbers"), filter, sub: Some("value".into()) };
    let req = PatchRequest {
        operations: vec![PatchOperation { op: PatchOpKind::Replace, path: Some(path), value: Some(json!("+1 555")) }],
    };
    let mut r = obj(user());
    let outcome = apply(&s, &mut r, &req).unwrap();
    assert_eq!(r["phoneNumbers"], json!([{ "type": "mobile", "primary": true, "value": "+1 555" }]));
    assert!(outcome.changed.contains("phoneNumbers"));
}

#[test]
fn unmatched_filters_that_cannot_be_synthesised_are_no_target() {
    let s = user_schema();
    for path in [
        r#"emails[value co "nothing"].type"#,
        r#"emails[type eq "home" or type eq "other"].value"#,
        r#"emails[type eq "a" and type eq "b"].value"#,
        r#"emails[not (type eq "work")].display"#,
    ] {
        let mut u = user();
        u["emails"] = json!([{ "value": "x@y", "type": "work" }]);
        let e = error(&s, u.clone(), json!([{ "op": "replace", "path": path, "value": "x" }]));
        assert_eq!(kind(&e), (400, Some(ScimType::NoTarget)), "{path}: {e}");
        assert!(run(&s, u, json!([{ "op": "remove", "path": path }])).is_ok(), "remove is a no-op: {path}");
    }
    let e = error(&s, user(), json!([{ "op": "replace", "path": "phoneNumbers.value", "value": "1" }]));
    assert_eq!(kind(&e), (400, Some(ScimType::NoTarget)));
}

#[test]
fn sub_attribute_of_every_element_without_a_filter() {
    let s = user_schema();
    let r = patched(&s, user(), json!([{ "op": "replace", "path": "emails.primary", "value": false }]));
    assert_eq!(primaries(&r["emails"]), 0);
    assert_eq!(r["emails"][1]["primary"], false);
    let r = patched(&s, user(), json!([{ "op": "remove", "path": "emails.type" }]));
    assert!(r["emails"].as_array().unwrap().iter().all(|e| e.get("type").is_none()));
}

// --- primary ---

#[test]
fn a_new_primary_clears_the_others() {
    let s = user_schema();
    let r =
        patched(&s, user(), json!([{ "op": "add", "path": "emails", "value": [{ "value": "n@x", "primary": true }] }]));
    assert_eq!(primaries(&r["emails"]), 1);
    assert_eq!(r["emails"][0]["primary"], false);
    assert_eq!(r["emails"][2]["primary"], true);

    let r =
        patched(&s, user(), json!([{ "op": "replace", "path": "emails[type eq \"home\"].primary", "value": true }]));
    assert_eq!(primaries(&r["emails"]), 1);
    assert_eq!(r["emails"][1]["primary"], true);

    let r = patched(
        &s,
        user(),
        json!([{ "op": "replace", "path": "emails[type eq \"home\"]", "value": { "primary": true } }]),
    );
    assert_eq!(r["emails"][0]["primary"], false);
}

#[test]
fn two_primaries_that_cannot_be_resolved_are_rejected() {
    let s = user_schema();
    let both = json!([{ "value": "a@x", "primary": true }, { "value": "b@x", "primary": true }]);
    for ops in [
        json!([{ "op": "replace", "path": "emails", "value": both }]),
        json!([{ "op": "add", "path": "emails", "value": both }]),
        json!([{ "op": "replace", "path": "emails.primary", "value": true }]),
        json!([{ "op": "replace", "path": "emails[value ew \".example\"].primary", "value": true }]),
    ] {
        let e = error(&s, user(), ops.clone());
        assert_eq!(kind(&e), (400, Some(ScimType::InvalidValue)), "{ops}: {e}");
    }
}

#[test]
fn rewriting_an_element_that_already_is_primary_keeps_a_single_primary() {
    let s = user_schema();
    let r = patched(&s, user(), json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x" }]));
    assert_eq!(primaries(&r["emails"]), 1);
    assert_eq!(r["emails"][0]["primary"], true);
}

// --- mutability, required, types ---

#[test]
fn read_only_attributes_cannot_be_modified() {
    let s = user_schema();
    for ops in [
        json!([{ "op": "replace", "path": "id", "value": "x" }]),
        json!([{ "op": "remove", "path": "meta" }]),
        json!([{ "op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z" }]),
        json!([{ "op": "add", "path": "groups", "value": [{ "value": "g" }] }]),
        json!([{ "op": "remove", "path": "groups[value eq \"g\"]" }]),
    ] {
        let e = error(&s, user(), ops.clone());
        assert_eq!(kind(&e), (400, Some(ScimType::Mutability)), "{ops}: {e}");
    }
    let g = group_schema();
    let e =
        error(&g, group(&["a"]), json!([{ "op": "replace", "path": "members[value eq \"a\"].display", "value": "A" }]));
    assert_eq!(kind(&e), (400, Some(ScimType::Mutability)));
}

#[test]
fn immutable_values_can_be_set_once() {
    let s = schema_with_immutable_nickname();
    let r = patched(&s, user(), json!([{ "op": "add", "path": "nickName", "value": "Babs" }]));
    assert_eq!(r["nickName"], "Babs");
    assert_eq!(patched(&s, r.clone(), json!([{ "op": "replace", "path": "nickName", "value": "Babs" }])), r);
    for ops in [
        json!([{ "op": "replace", "path": "nickName", "value": "Other" }]),
        json!([{ "op": "remove", "path": "nickName" }]),
        json!([{ "op": "replace", "value": { "nickName": "Other" } }]),
    ] {
        assert_eq!(kind(&error(&s, r.clone(), ops)), (400, Some(ScimType::Mutability)));
    }
    // members.value is immutable in the RFC Group schema.
    let g = group_schema();
    let e =
        error(&g, group(&["a"]), json!([{ "op": "replace", "path": "members[value eq \"a\"].value", "value": "b" }]));
    assert_eq!(kind(&e), (400, Some(ScimType::Mutability)));
}

#[test]
fn required_attributes_cannot_be_removed() {
    let e = error(&user_schema(), user(), json!([{ "op": "remove", "path": "userName" }]));
    assert_eq!(kind(&e), (400, Some(ScimType::Mutability)));
    assert!(e.detail.contains("userName"), "{}", e.detail);
    let e = error(&user_schema(), user(), json!([{ "op": "replace", "value": { "userName": null } }]));
    assert_eq!(kind(&e), (400, Some(ScimType::Mutability)));
    let e = error(&group_schema(), group(&[]), json!([{ "op": "remove", "path": "displayName" }]));
    assert_eq!(kind(&e), (400, Some(ScimType::Mutability)));
}

#[test]
fn values_are_checked_against_the_attribute_type() {
    let s = user_schema();
    for (ops, named) in [
        (json!([{ "op": "replace", "path": "active", "value": "yes" }]), "active"),
        (json!([{ "op": "add", "path": "emails", "value": [{ "value": 5 }] }]), "emails.value"),
        (json!([{ "op": "replace", "path": "name", "value": "Barbara" }]), "name"),
        (json!([{ "op": "replace", "path": "userName", "value": ["a"] }]), "userName"),
        (json!([{ "op": "replace", "path": format!("{ENT}:manager.value"), "value": 7 }]), "manager.value"),
        (json!([{ "op": "replace", "path": "emails[type eq \"work\"].primary", "value": "true" }]), "emails.primary"),
        (json!([{ "op": "replace", "value": { "displayName": false } }]), "displayName"),
    ] {
        let e = error(&s, user(), ops.clone());
        assert_eq!(kind(&e), (400, Some(ScimType::InvalidValue)), "{ops}: {e}");
        assert!(e.detail.contains(named), "{ops}: {}", e.detail);
    }
}

#[test]
fn unknown_attributes_and_bad_filters_in_paths() {
    let s = user_schema();
    for (path, expected) in [
        ("nonsense", ScimType::InvalidPath),
        ("name.nonsense", ScimType::InvalidPath),
        ("urn:example:unknown:1.0:User:thing", ScimType::InvalidPath),
        (r#"name[givenName eq "x"]"#, ScimType::InvalidPath),
        (r#"emails[nonsense eq "x"]"#, ScimType::InvalidFilter),
        (r#"emails[type eq "w"].nonsense"#, ScimType::InvalidPath),
    ] {
        let e = error(&s, user(), json!([{ "op": "replace", "path": path, "value": "x" }]));
        assert_eq!(kind(&e), (400, Some(expected)), "{path}: {e}");
    }
}

// --- atomicity and bounded work ---

#[test]
fn a_failing_operation_undoes_the_earlier_ones() {
    let s = user_schema();
    let ops = json!([
        { "op": "replace", "path": "displayName", "value": "Changed" },
        { "op": "add", "path": "members", "value": "x" }
    ]);
    let e = error(&s, user(), ops);
    assert_eq!(kind(&e), (400, Some(ScimType::InvalidPath)));
    assert!(e.detail.starts_with("operation 2:"), "{}", e.detail);
}

#[test]
fn a_hundred_thousand_member_operations_stay_linear() {
    let s = group_schema();
    let n = 100_000;
    let add = |v: String| PatchOperation {
        op: PatchOpKind::Add,
        path: Some(PatchPath::Attr(AttrPath::named("members"))),
        value: Some(json!([{ "value": v }])),
    };
    let remove = |v: String| PatchOperation {
        op: PatchOpKind::Remove,
        path: Some(PatchPath::Filtered {
            attr: AttrPath::named("members"),
            filter: Filter::Compare { path: AttrPath::named("value"), op: CompareOp::Eq, value: CompValue::String(v) },
            sub: None,
        }),
        value: None,
    };
    let mut operations: Vec<PatchOperation> = (0..n).map(|i| add(format!("user-{i}"))).collect();
    operations.extend((0..n).filter(|i| i % 2 == 0).map(|i| remove(format!("user-{i}"))));
    let started = Instant::now();
    let mut g = obj(group(&[]));
    let outcome = apply(&s, &mut g, &PatchRequest { operations }).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(g["members"].as_array().unwrap().len(), n / 2);
    assert_eq!(g["members"][0]["value"], "user-1");
    assert!(outcome.changed.contains("members"));
    // A quadratic applier needs about 10^10 steps here: minutes, even optimised.
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
}
