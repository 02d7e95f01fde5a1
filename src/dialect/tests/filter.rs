//! Filter literal coercion. Filters are built as ASTs so that these tests exercise only this layer.

use super::{group, user};
use crate::dialect::{coerce_filter_literals, normalize_filter};
use crate::scim::filter::{self, AttrPath, CompValue, CompareOp, Filter};
use crate::scim::urn::ENTERPRISE_USER;

fn path(name: &str) -> AttrPath {
    AttrPath { uri: None, name: name.into(), sub: None }
}

fn eq(p: AttrPath, v: CompValue) -> Filter {
    Filter::Compare { path: p, op: CompareOp::Eq, value: v }
}

fn s(v: &str) -> CompValue {
    CompValue::String(v.into())
}

#[test]
fn boolean_attributes_compared_with_strings_get_booleans() {
    assert_eq!(normalize_filter(&user(), eq(path("active"), s("True"))), eq(path("active"), CompValue::Bool(true)));
    assert_eq!(normalize_filter(&user(), eq(path("ACTIVE"), s("fAlSe"))), eq(path("ACTIVE"), CompValue::Bool(false)));
    let ne = Filter::Compare { path: path("active"), op: CompareOp::Ne, value: s("false") };
    assert_eq!(
        normalize_filter(&user(), ne),
        Filter::Compare { path: path("active"), op: CompareOp::Ne, value: CompValue::Bool(false) }
    );
}

#[test]
fn other_literals_are_left_alone() {
    for f in [
        eq(path("userName"), s("True")),
        eq(path("active"), s("yes")),
        eq(path("active"), CompValue::Bool(true)),
        eq(path("nonsense"), s("true")),
        Filter::Present(path("active")),
    ] {
        assert_eq!(normalize_filter(&user(), f.clone()), f);
    }
}

#[test]
fn sub_attribute_paths_resolve_through_the_schema() {
    let primary = AttrPath { uri: None, name: "emails".into(), sub: Some("primary".into()) };
    assert_eq!(normalize_filter(&user(), eq(primary.clone(), s("TRUE"))), eq(primary, CompValue::Bool(true)));
    let manager = AttrPath { uri: Some(ENTERPRISE_USER.into()), name: "manager".into(), sub: Some("value".into()) };
    assert_eq!(normalize_filter(&user(), eq(manager.clone(), s("true"))), eq(manager, s("true")));
}

#[test]
fn value_path_filters_resolve_against_the_attribute_elements() {
    // Entra's roles[primary eq "True"] (§1.7)
    let sent = Filter::ValuePath { attr: path("roles"), filter: Box::new(eq(path("primary"), s("True"))) };
    let want = Filter::ValuePath { attr: path("roles"), filter: Box::new(eq(path("primary"), CompValue::Bool(true))) };
    assert_eq!(normalize_filter(&user(), sent), want);
    // `type` is a string sub-attribute: untouched
    let typed = Filter::ValuePath { attr: path("emails"), filter: Box::new(eq(path("type"), s("true"))) };
    assert_eq!(normalize_filter(&user(), typed.clone()), typed);
}

#[test]
fn a_context_attribute_resolves_bare_names_as_its_sub_attributes() {
    // As for the filter of a PATCH path `roles[primary eq "True"].value`.
    let roles = user().core.attribute("roles").cloned().unwrap();
    assert_eq!(
        coerce_filter_literals(eq(path("primary"), s("True")), Some(&roles), &user()),
        eq(path("primary"), CompValue::Bool(true))
    );
    // `active` is no sub-attribute of roles
    assert_eq!(
        coerce_filter_literals(eq(path("active"), s("True")), Some(&roles), &user()),
        eq(path("active"), s("True"))
    );
}

#[test]
fn logical_combinations_are_walked() {
    let sent = Filter::Or(
        Box::new(Filter::Not(Box::new(eq(path("active"), s("false"))))),
        Box::new(Filter::And(
            Box::new(eq(path("userName"), s("true"))),
            Box::new(Filter::ValuePath {
                attr: path("emails"),
                filter: Box::new(Filter::And(
                    Box::new(eq(path("primary"), s("TRUE"))),
                    Box::new(eq(path("type"), s("work"))),
                )),
            }),
        )),
    );
    let want = Filter::Or(
        Box::new(Filter::Not(Box::new(eq(path("active"), CompValue::Bool(false))))),
        Box::new(Filter::And(
            Box::new(eq(path("userName"), s("true"))),
            Box::new(Filter::ValuePath {
                attr: path("emails"),
                filter: Box::new(Filter::And(
                    Box::new(eq(path("primary"), CompValue::Bool(true))),
                    Box::new(eq(path("type"), s("work"))),
                )),
            }),
        )),
    );
    assert_eq!(normalize_filter(&user(), sent), want);
}

#[test]
fn group_filters_have_no_boolean_attributes_to_coerce() {
    let f = eq(path("displayName"), s("True"));
    assert_eq!(normalize_filter(&group(), f.clone()), f);
}

#[test]
fn parsed_query_filters_are_coerced() {
    // Entra's query form with a string boolean (§3.10)
    let parsed = filter::parse(r#"active eq "True" and emails[primary eq "false"]"#).unwrap();
    let want = filter::parse(r#"active eq true and emails[primary eq false]"#).unwrap();
    assert_ne!(parsed, want);
    assert_eq!(normalize_filter(&user(), parsed), want);
}

#[test]
fn entra_value_path_with_sub_attribute_comparison_round_trips() {
    // §1.7: the filter parser accepts Entra's non-RFC form; this layer leaves it as parsed.
    for text in [r#"emails[type eq "work"].value eq "user@contoso.com""#, r#"id eq "u1" and manager eq "m1""#] {
        let parsed = filter::parse(text).unwrap();
        assert_eq!(normalize_filter(&user(), parsed.clone()), parsed, "{text}");
    }
}
