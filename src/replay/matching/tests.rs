use serde_json::json;

use super::*;

#[test]
fn objects_match_as_recursive_subsets() {
    let actual = json!({"id": "1", "name": {"givenName": "Ann", "familyName": "Lee"}, "active": true});
    assert_eq!(contains(&json!({"name": {"givenName": "Ann"}}), &actual), Ok(()));
    assert_eq!(contains(&json!({}), &actual), Ok(()));
    assert_eq!(
        contains(&json!({"name": {"givenName": "Bob"}}), &actual),
        Err(Difference { path: "/name/givenName".into(), expected: "\"Bob\"".into(), actual: "\"Ann\"".into() })
    );
    assert_eq!(
        contains(&json!({"title": "x"}), &actual),
        Err(Difference { path: "/title".into(), expected: "\"x\"".into(), actual: "no such key".into() })
    );
}

#[test]
fn keys_are_case_sensitive() {
    let err = contains(&json!({"userName": "a"}), &json!({"username": "a"})).expect_err("case differs");
    assert_eq!(err.path, "/userName");
}

#[test]
fn arrays_match_order_insensitively_with_extra_elements() {
    let actual = json!({"emails": [
        {"type": "home", "value": "h@x"},
        {"type": "work", "value": "w@x", "primary": true},
    ]});
    assert_eq!(contains(&json!({"emails": [{"type": "work", "value": "w@x"}]}), &actual), Ok(()));
    assert_eq!(contains(&json!({"emails": [{"value": "w@x"}, {"value": "h@x"}]}), &actual), Ok(()));
    assert_eq!(contains(&json!([3, 1]), &json!([1, 2, 3])), Ok(()));
    let err = contains(&json!({"emails": [{"type": "work", "value": "h@x"}]}), &actual).expect_err("no such element");
    assert_eq!(err.path, "/emails");
    assert!(err.expected.starts_with("an element matching"), "{err}");
    assert!(err.actual.contains("w@x"), "{err}");
}

#[test]
fn shapes_and_scalars_must_agree() {
    assert!(contains(&json!({"a": [1]}), &json!({"a": 1})).is_err());
    assert!(contains(&json!({"a": {"b": 1}}), &json!({"a": [{"b": 1}]})).is_err());
    assert!(contains(&json!({"a": 1}), &json!({"a": "1"})).is_err());
    assert!(contains(&json!({"a": true}), &json!({"a": "true"})).is_err());
    assert!(contains(&json!({"a": null}), &json!({"a": null})).is_ok());
    assert!(contains(&json!(1), &json!(1.0)).is_ok());
    assert!(contains(&json!(-2), &json!(-2.0)).is_ok());
    assert!(contains(&json!(2), &json!(3)).is_err());
    assert!(contains(&json!(u64::MAX), &json!(u64::MAX)).is_ok());
}

#[test]
fn first_difference_points_into_nested_arrays() {
    let expected = json!({"Resources": [{"id": "u1", "members": [{"value": "m"}]}]});
    let actual = json!({"Resources": [{"id": "u1", "members": [{"value": "other"}]}]});
    let err = contains(&expected, &actual).expect_err("member missing");
    assert_eq!(err.path, "/Resources");
}

#[test]
fn not_contains_rejects_matching_elements_and_equal_scalars() {
    let actual = json!({"members": [{"value": "b"}, {"value": "c"}], "active": false});
    assert_eq!(not_contains(&json!({"members": [{"value": "a"}]}), &actual), Ok(()));
    let err = not_contains(&json!({"members": [{"value": "b"}]}), &actual).expect_err("b is a member");
    assert_eq!(err.path, "/members");
    assert!(err.actual.contains("\"b\""), "{err}");
    assert_eq!(not_contains(&json!({"active": true}), &actual), Ok(()));
    let err = not_contains(&json!({"active": false}), &actual).expect_err("equal scalar");
    assert_eq!(err.path, "/active");
}

#[test]
fn not_contains_treats_absent_keys_and_other_shapes_as_not_containing() {
    let actual = json!({"emails": "not-an-array"});
    assert_eq!(not_contains(&json!({"members": [{"value": "a"}]}), &actual), Ok(()));
    assert_eq!(not_contains(&json!({"emails": [{"value": "a"}]}), &actual), Ok(()));
    assert_eq!(not_contains(&json!({"members": [{"value": "a"}]}), &json!({"members": []})), Ok(()));
}

#[test]
fn excerpts_are_cut_on_character_boundaries() {
    let long = json!("é".repeat(400));
    let text = excerpt(&long);
    assert!(text.ends_with('…'));
    assert_eq!(text.chars().count(), EXCERPT_CHARS + 1);
    assert_eq!(truncate("short", 10), "short");
}
