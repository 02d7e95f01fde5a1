use super::*;
use crate::scim::filter::{self, AttrPath, CompValue, CompareOp, Filter};

fn attr(uri: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath { uri: uri.map(str::to_owned), name: name.to_owned(), sub: sub.map(str::to_owned) }
}

fn eq(name: &str, value: &str) -> Filter {
    Filter::Compare { path: attr(None, name, None), op: CompareOp::Eq, value: CompValue::String(value.to_owned()) }
}

#[test]
fn plain_sub_and_qualified_paths() {
    assert_eq!(PatchPath::parse("userName").unwrap(), PatchPath::Attr(attr(None, "userName", None)));
    assert_eq!(PatchPath::parse(" name.givenName ").unwrap(), PatchPath::Attr(attr(None, "name", Some("givenName"))));
    assert_eq!(PatchPath::parse(&format!("{ENT}:manager")).unwrap(), PatchPath::Attr(attr(Some(ENT), "manager", None)));
    assert_eq!(
        PatchPath::parse(&format!("{ENT}:manager.value")).unwrap(),
        PatchPath::Attr(attr(Some(ENT), "manager", Some("value")))
    );
    assert_eq!(PatchPath::parse("members.$ref").unwrap(), PatchPath::Attr(attr(None, "members", Some("$ref"))));
}

#[test]
fn filtered_paths_hand_the_filter_to_the_filter_parser() {
    assert_eq!(
        PatchPath::parse(r#"emails[type eq "work"]"#).unwrap(),
        PatchPath::Filtered { attr: attr(None, "emails", None), filter: eq("type", "work"), sub: None }
    );
    assert_eq!(
        PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap(),
        PatchPath::Filtered { attr: attr(None, "emails", None), filter: eq("type", "work"), sub: Some("value".into()) }
    );
    let qualified = format!(r#"{}:emails[type eq "work" and primary eq true].display"#, urn::USER);
    let PatchPath::Filtered { attr: a, filter: f, sub } = PatchPath::parse(&qualified).unwrap() else {
        panic!("not filtered")
    };
    assert_eq!(a, attr(Some(urn::USER), "emails", None));
    assert_eq!(f, filter::parse(r#"type eq "work" and primary eq true"#).unwrap());
    assert_eq!(sub.as_deref(), Some("display"));
}

#[test]
fn brackets_colons_and_dots_inside_string_literals_do_not_end_the_filter() {
    let p = PatchPath::parse(r#"emails[value eq "a]b:c.d[e"].display"#).unwrap();
    assert_eq!(
        p,
        PatchPath::Filtered {
            attr: attr(None, "emails", None),
            filter: eq("value", "a]b:c.d[e"),
            sub: Some("display".into())
        }
    );
    let p = PatchPath::parse(r#"members[value eq "x\"]"]"#).unwrap();
    assert_eq!(p, PatchPath::Filtered { attr: attr(None, "members", None), filter: eq("value", "x\"]"), sub: None });
}

#[test]
fn malformed_paths_are_invalid_path() {
    for bad in [
        "",
        "   ",
        r#"emails[type eq "work""#,
        "name.givenName.extra",
        r#"emails[type eq "w"]value"#,
        r#"emails[type eq "w"]."#,
        r#"emails[type eq "w"].value.x"#,
        "1abc",
        "na me",
        r#"name.givenName[type eq "x"]"#,
        r#"em"ails"#,
        "urn::x:name",
    ] {
        let e = PatchPath::parse(bad).unwrap_err();
        assert_eq!(kind(&e), (400, Some(ScimType::InvalidPath)), "{bad:?}: {e}");
    }
    let long = "a".repeat(path::MAX_PATH_LEN + 1);
    assert_eq!(kind(&PatchPath::parse(&long).unwrap_err()), (400, Some(ScimType::InvalidPath)));
}

#[test]
fn malformed_value_filters_are_invalid_filter() {
    for bad in ["emails[]", "emails[ ]", "emails[type eq]", r#"emails[type zz "work"]"#, r#"emails[(type eq "w"]"#] {
        let e = PatchPath::parse(bad).unwrap_err();
        assert_eq!(kind(&e), (400, Some(ScimType::InvalidFilter)), "{bad:?}: {e}");
    }
}

#[test]
fn display_round_trips() {
    for text in [
        "userName",
        "name.givenName",
        "members.$ref",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        r#"emails[type eq "work"]"#,
        r#"emails[type eq "work"].value"#,
        r#"emails[value eq "a]b\"c"].display"#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work" and (primary eq true or value co "x")].value"#,
        r#"roles[not (primary eq false)]"#,
    ] {
        let p = PatchPath::parse(text).unwrap();
        let shown = p.to_string();
        assert_eq!(PatchPath::parse(&shown).unwrap(), p, "{text} → {shown}");
    }
    assert_eq!(PatchPath::parse("name.givenName").unwrap().to_string(), "name.givenName");
    assert_eq!(PatchPath::parse(&format!("{ENT}:manager")).unwrap().to_string(), format!("{ENT}:manager"));
}
