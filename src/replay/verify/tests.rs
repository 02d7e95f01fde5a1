use std::collections::BTreeMap;

use http::{HeaderMap, HeaderValue};
use serde_json::json;

use super::*;
use crate::replay::corpus::{Check, CheckOp, StatusExpectation};

fn exchange(status: u16, content_type: Option<&str>, body: &str) -> Exchange {
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_str(ct).expect("header value"));
    }
    Exchange { request_line: "GET /Users/1".into(), status, headers, body: body.as_bytes().to_vec() }
}

fn expect(status: StatusExpectation) -> Expect {
    Expect {
        status,
        body_contains: None,
        body_not_contains: None,
        checks: Vec::new(),
        headers_contain: BTreeMap::new(),
        notes: None,
    }
}

const USER: &str = r#"{"id": "1", "userName": "a", "active": true, "emails": [{"value": "a@x"}]}"#;

#[test]
fn status_is_checked_first_with_a_body_excerpt() {
    let err = verify(
        3,
        &expect(StatusExpectation::AnyOf(vec![200, 204])),
        &BTreeMap::new(),
        &exchange(404, None, "{\"detail\":\"nope\"}"),
    )
    .expect_err("404");
    assert_eq!(err.step, 3);
    assert_eq!(err.request, "GET /Users/1");
    assert_eq!((err.what.as_str(), err.expected.as_str(), err.actual.as_str()), ("status", "one of 200, 204", "404"));
    assert_eq!(err.body_excerpt, "{\"detail\":\"nope\"}");
    let ok = verify(0, &expect(StatusExpectation::One(204)), &BTreeMap::new(), &exchange(204, None, "")).expect("204");
    assert_eq!(ok, Verified { passed: 1, captured: Vec::new() });
}

#[test]
fn headers_match_by_case_insensitive_name_and_value_substring() {
    let mut e = expect(StatusExpectation::One(200));
    e.headers_contain.insert("content-TYPE".into(), "application/scim+json".into());
    let ok = verify(0, &e, &BTreeMap::new(), &exchange(200, Some("Application/SCIM+json; charset=utf-8"), USER));
    assert_eq!(ok.map(|v| v.passed), Ok(2));
    let err = verify(0, &e, &BTreeMap::new(), &exchange(200, Some("application/json"), USER)).expect_err("json");
    assert_eq!(err.what, "header content-TYPE");
    assert_eq!(err.actual, "application/json");
    let err = verify(0, &e, &BTreeMap::new(), &exchange(200, None, USER)).expect_err("missing");
    assert_eq!(err.actual, "no such header");
}

#[test]
fn body_expectations_checks_and_captures() {
    let mut e = expect(StatusExpectation::One(200));
    e.body_contains = Some(json!({"userName": "a", "emails": [{"value": "a@x"}]}));
    e.body_not_contains = Some(json!({"emails": [{"value": "old@x"}]}));
    e.checks = vec![
        Check { op: CheckOp::IsBoolean, pointer: "/active".into(), value: None },
        Check { op: CheckOp::Absent, pointer: "/password".into(), value: None },
    ];
    let capture = BTreeMap::from([("user_id".to_owned(), "/id".to_owned()), ("n".to_owned(), "/emails".to_owned())]);
    let ok = verify(0, &e, &capture, &exchange(200, None, USER)).expect("all hold");
    assert_eq!(ok.passed, 7);
    assert_eq!(
        ok.captured,
        vec![("n".to_owned(), "[{\"value\":\"a@x\"}]".to_owned()), ("user_id".to_owned(), "1".to_owned())]
    );

    e.checks.push(Check { op: CheckOp::Present, pointer: "/title".into(), value: None });
    let err = verify(0, &e, &capture, &exchange(200, None, USER)).expect_err("no title");
    assert_eq!(err.what, "check present /title");
    assert_eq!(err.actual, "absent");
}

#[test]
fn first_body_difference_is_reported_with_its_path() {
    let mut e = expect(StatusExpectation::One(200));
    e.body_contains = Some(json!({"userName": "b"}));
    let err = verify(1, &e, &BTreeMap::new(), &exchange(200, None, USER)).expect_err("different");
    assert_eq!(
        (err.what.as_str(), err.expected.as_str(), err.actual.as_str()),
        ("body_contains /userName", "\"b\"", "\"a\"")
    );
    e.body_contains = None;
    e.body_not_contains = Some(json!({"active": true}));
    let err = verify(1, &e, &BTreeMap::new(), &exchange(200, None, USER)).expect_err("contained");
    assert_eq!(err.what, "body_not_contains /active");
}

#[test]
fn empty_and_non_json_bodies() {
    let mut e = expect(StatusExpectation::One(200));
    e.body_contains = Some(json!({}));
    let err = verify(0, &e, &BTreeMap::new(), &exchange(200, None, "")).expect_err("empty");
    assert_eq!(err.actual, "an empty body");
    let err = verify(0, &e, &BTreeMap::new(), &exchange(200, None, "<html>")).expect_err("html");
    assert_eq!(err.what, "body");
    assert!(err.actual.starts_with("not JSON"), "{err}");
    // Negative checks hold on an empty body; captures do not.
    let mut e = expect(StatusExpectation::One(204));
    e.checks = vec![Check { op: CheckOp::Absent, pointer: "/password".into(), value: None }];
    assert!(verify(0, &e, &BTreeMap::new(), &exchange(204, None, "")).is_ok());
    let capture = BTreeMap::from([("user_id".to_owned(), "/id".to_owned())]);
    let err = verify(0, &e, &capture, &exchange(204, None, "")).expect_err("nothing to capture");
    assert_eq!(err.what, "capture user_id");
}

#[test]
fn encoded_bodies_are_reported_not_misread() {
    let mut e = expect(StatusExpectation::One(200));
    e.body_contains = Some(json!({}));
    let mut ex = exchange(200, None, "\u{1f}\u{8b}binary");
    ex.headers.insert(http::header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    let err = verify(0, &e, &BTreeMap::new(), &ex).expect_err("gzip");
    assert!(err.actual.contains("gzip"), "{err}");
}
