//! Display: canonical text with the fewest parentheses that keep the AST's shape.

use serde_json::Number;

use super::{and, cmp, eq_str, not, num, or, pr, vp};
use crate::scim::filter::{CompValue, CompareOp, Filter, parse};

fn round_trip(f: &Filter) -> String {
    let text = f.to_string();
    assert_eq!(parse(&text).as_ref(), Ok(f), "{text}");
    text
}

#[test]
fn leaves_print_as_rfc_text() {
    assert_eq!(round_trip(&eq_str("userName", "bjensen")), r#"userName eq "bjensen""#);
    assert_eq!(round_trip(&pr("title")), "title pr");
    assert_eq!(round_trip(&cmp("age", CompareOp::Ge, num(-3))), "age ge -3");
    assert_eq!(round_trip(&cmp("x", CompareOp::Lt, CompValue::Number(Number::from_f64(2.5).unwrap()))), "x lt 2.5");
    assert_eq!(round_trip(&cmp("x", CompareOp::Ne, CompValue::Null)), "x ne null");
    assert_eq!(round_trip(&cmp("x", CompareOp::Eq, CompValue::Bool(false))), "x eq false");
    assert_eq!(
        round_trip(&eq_str("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "1")),
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "1""#
    );
}

#[test]
fn strings_print_as_json() {
    let s = "q\"b\\s/\n\r\t\u{8}\u{c}\u{1}\u{1f}é😀";
    assert_eq!(round_trip(&eq_str("t", s)), r#"t eq "q\"b\\s/\n\r\t\b\f\u0001\u001fé😀""#);
    // The same text serde_json would produce.
    assert_eq!(eq_str("t", s).to_string(), format!("t eq {}", serde_json::to_string(s).unwrap()));
}

#[test]
fn minimal_parentheses_keep_structure() {
    let (a, b, c) = (pr("a"), pr("b"), pr("c"));
    let cases = [
        (and(and(a.clone(), b.clone()), c.clone()), "a pr and b pr and c pr"),
        (and(a.clone(), and(b.clone(), c.clone())), "a pr and (b pr and c pr)"),
        (or(or(a.clone(), b.clone()), c.clone()), "a pr or b pr or c pr"),
        (or(a.clone(), or(b.clone(), c.clone())), "a pr or (b pr or c pr)"),
        (or(a.clone(), and(b.clone(), c.clone())), "a pr or b pr and c pr"),
        (or(and(a.clone(), b.clone()), c.clone()), "a pr and b pr or c pr"),
        (and(or(a.clone(), b.clone()), c.clone()), "(a pr or b pr) and c pr"),
        (and(a.clone(), or(b.clone(), c.clone())), "a pr and (b pr or c pr)"),
        (not(or(a.clone(), b.clone())), "not (a pr or b pr)"),
        (and(not(a.clone()), b.clone()), "not (a pr) and b pr"),
        (vp("emails", or(a.clone(), and(b.clone(), c.clone()))), "emails[a pr or b pr and c pr]"),
        (and(vp("emails", a.clone()), vp("ims", not(b.clone()))), "emails[a pr] and ims[not (b pr)]"),
    ];
    for (f, text) in cases {
        assert_eq!(round_trip(&f), text);
    }
}

#[test]
fn entra_form_prints_as_rfc_value_path() {
    let f = parse(r#"emails[type eq "work"].value eq "x""#).unwrap();
    assert_eq!(round_trip(&f), r#"emails[type eq "work" and value eq "x"]"#);
}

#[test]
fn operators_and_values_display() {
    for op in CompareOp::ALL {
        assert_eq!(op.to_string(), op.as_str());
        assert_eq!(CompareOp::parse(&op.as_str().to_uppercase()), Some(op));
    }
    assert_eq!(CompValue::String("a\"b".into()).to_string(), r#""a\"b""#);
    assert_eq!(CompValue::Number(Number::from(u64::MAX)).to_string(), "18446744073709551615");
}
