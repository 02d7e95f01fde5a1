use serde_json::{Value, json};

use super::*;

fn check(op: CheckOp, pointer: &str, value: Option<Value>) -> Check {
    Check { op, pointer: pointer.to_owned(), value }
}

fn body() -> Value {
    json!({
        "totalResults": 3,
        "itemsPerPage": 2,
        "startIndex": "1",
        "active": true,
        "status": 404,
        "detail": "",
        "password": null,
        "Resources": [{"id": "a", "name": {"givenName": "Ann"}}, {"id": "b"}],
        "name.givenName": "literal",
        "emptyList": [],
        "emptyObject": {},
    })
}

#[test]
fn present_and_absent_treat_null_as_unassigned() {
    let b = body();
    assert_eq!(evaluate(&check(CheckOp::Present, "/Resources/0/name/givenName", None), &b), Ok(()));
    assert_eq!(evaluate(&check(CheckOp::Present, "/name.givenName", None), &b), Ok(()));
    let err = evaluate(&check(CheckOp::Present, "/Resources/1/name", None), &b).expect_err("missing");
    assert_eq!(err.actual, "absent");
    let err = evaluate(&check(CheckOp::Present, "/password", None), &b).expect_err("null");
    assert_eq!(err.actual, "null");
    assert_eq!(evaluate(&check(CheckOp::Absent, "/password", None), &b), Ok(()));
    assert_eq!(evaluate(&check(CheckOp::Absent, "/name/givenName", None), &b), Ok(()));
    let err = evaluate(&check(CheckOp::Absent, "/name.givenName", None), &b).expect_err("literal dotted key");
    assert_eq!(err.actual, "\"literal\"");
}

#[test]
fn type_checks_distinguish_json_types() {
    let b = body();
    assert_eq!(evaluate(&check(CheckOp::IsNumber, "/totalResults", None), &b), Ok(()));
    let err = evaluate(&check(CheckOp::IsNumber, "/startIndex", None), &b).expect_err("string");
    assert_eq!(err.actual, "a string \"1\"");
    assert!(evaluate(&check(CheckOp::IsNumber, "/nothing", None), &b).is_err());
    assert_eq!(evaluate(&check(CheckOp::IsBoolean, "/active", None), &b), Ok(()));
    assert!(evaluate(&check(CheckOp::IsBoolean, "/status", None), &b).is_err());
}

#[test]
fn gte_compares_numbers() {
    let b = body();
    assert_eq!(evaluate(&check(CheckOp::Gte, "/totalResults", Some(json!(3))), &b), Ok(()));
    assert_eq!(evaluate(&check(CheckOp::Gte, "/totalResults", Some(json!(2.5))), &b), Ok(()));
    assert!(evaluate(&check(CheckOp::Gte, "/totalResults", Some(json!(4))), &b).is_err());
    assert!(evaluate(&check(CheckOp::Gte, "/startIndex", Some(json!(1))), &b).is_err());
    let err = evaluate(&check(CheckOp::Gte, "/totalResults", None), &b).expect_err("no operand");
    assert!(err.actual.starts_with("corpus error"), "{err}");
}

#[test]
fn length_checks() {
    let b = body();
    assert_eq!(evaluate(&check(CheckOp::LenEq, "/Resources", Some(json!(2))), &b), Ok(()));
    let err = evaluate(&check(CheckOp::LenEq, "/Resources", Some(json!(1))), &b).expect_err("two elements");
    assert_eq!((err.expected.as_str(), err.actual.as_str()), ("exactly 1 elements", "2 elements"));
    assert_eq!(evaluate(&check(CheckOp::LenLte, "/Resources", Some(json!(2))), &b), Ok(()));
    assert!(evaluate(&check(CheckOp::LenLte, "/Resources", Some(json!(1))), &b).is_err());
    assert_eq!(evaluate(&check(CheckOp::LenLte, "/missing", Some(json!(0))), &b), Ok(()));
    assert!(evaluate(&check(CheckOp::LenEq, "/missing", Some(json!(1))), &b).is_err());
    assert!(evaluate(&check(CheckOp::LenEq, "/active", Some(json!(1))), &b).is_err());
    assert!(evaluate(&check(CheckOp::LenEq, "/Resources", Some(json!(-1))), &b).is_err());
}

#[test]
fn len_eq_pointer_reads_the_length_from_the_body() {
    let b = body();
    assert_eq!(evaluate(&check(CheckOp::LenEqPointer, "/Resources", Some(json!("/itemsPerPage"))), &b), Ok(()));
    let err =
        evaluate(&check(CheckOp::LenEqPointer, "/Resources", Some(json!("/totalResults"))), &b).expect_err("3 != 2");
    assert_eq!(err.actual, "2 elements");
    assert!(evaluate(&check(CheckOp::LenEqPointer, "/Resources", Some(json!("/startIndex"))), &b).is_err());
    assert!(evaluate(&check(CheckOp::LenEqPointer, "/Resources", Some(json!("/nothing"))), &b).is_err());
}

#[test]
fn empty_or_absent() {
    let b = body();
    for pointer in ["/missing", "/password", "/emptyList", "/emptyObject", "/detail"] {
        assert_eq!(evaluate(&check(CheckOp::EmptyOrAbsent, pointer, None), &b), Ok(()), "{pointer}");
    }
    for pointer in ["/Resources", "/active", "/totalResults"] {
        assert!(evaluate(&check(CheckOp::EmptyOrAbsent, pointer, None), &b).is_err(), "{pointer}");
    }
}

#[test]
fn equal_loose_compares_strings_and_numbers_as_text() {
    let b = body();
    assert_eq!(evaluate(&check(CheckOp::EqualLoose, "/status", Some(json!("404"))), &b), Ok(()));
    assert_eq!(evaluate(&check(CheckOp::EqualLoose, "/status", Some(json!(404))), &b), Ok(()));
    assert_eq!(evaluate(&check(CheckOp::EqualLoose, "/startIndex", Some(json!(1))), &b), Ok(()));
    assert!(evaluate(&check(CheckOp::EqualLoose, "/status", Some(json!("401"))), &b).is_err());
    assert!(evaluate(&check(CheckOp::EqualLoose, "/active", Some(json!("true"))), &b).is_err());
    assert!(evaluate(&check(CheckOp::EqualLoose, "/missing", Some(json!("404"))), &b).is_err());
}

#[test]
fn malformed_pointers_are_reported_as_corpus_errors() {
    let err = evaluate(&check(CheckOp::Present, "id", None), &body()).expect_err("bad pointer");
    assert!(err.actual.starts_with("corpus error"), "{err}");
}
