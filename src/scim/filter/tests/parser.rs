//! Parser: every operator, precedence, grouping, value paths, URN names, literals and errors.

use serde_json::Number;

use super::{and, cmp, eq_str, not, num, or, path, pr, vp};
use crate::scim::filter::{AttrPath, CompValue, CompareOp, FilterError, FilterErrorKind, parse};

fn err(input: &str) -> FilterError {
    match parse(input) {
        Ok(f) => panic!("{input:?} parsed as {f:?}"),
        Err(e) => e,
    }
}

#[test]
fn every_comparison_operator_in_any_case() {
    for op in CompareOp::ALL {
        for spelling in [op.as_str().to_owned(), op.as_str().to_uppercase(), capitalise(op.as_str())] {
            let text = format!("title {spelling} \"x\"");
            assert_eq!(parse(&text), Ok(cmp("title", op, CompValue::String("x".into()))), "{text}");
        }
    }
    assert_eq!(parse("title pr"), Ok(pr("title")));
    assert_eq!(parse("title PR"), Ok(pr("title")));
    assert_eq!(parse("title Pr"), Ok(pr("title")));
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

#[test]
fn literals_are_case_insensitive() {
    for (text, value) in [
        ("true", CompValue::Bool(true)),
        ("TRUE", CompValue::Bool(true)),
        ("False", CompValue::Bool(false)),
        ("null", CompValue::Null),
        ("NULL", CompValue::Null),
    ] {
        assert_eq!(parse(&format!("active eq {text}")), Ok(cmp("active", CompareOp::Eq, value)), "{text}");
    }
    assert_eq!(err("active eq truth").kind, FilterErrorKind::InvalidValue("truth".into()));
    assert_eq!(err("active eq yes").column, 11);
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let (a, b, c) = (pr("a"), pr("b"), pr("c"));
    assert_eq!(parse("a pr or b pr and c pr"), Ok(or(a.clone(), and(b.clone(), c.clone()))));
    assert_eq!(parse("a pr and b pr or c pr"), Ok(or(and(a.clone(), b.clone()), c.clone())));
    assert_eq!(parse("a pr AND b pr OR c pr"), Ok(or(and(a.clone(), b.clone()), c.clone())));
    assert_eq!(parse("not (a pr) and b pr"), Ok(and(not(a.clone()), b.clone())));
    assert_eq!(parse("not (a pr or b pr)"), Ok(not(or(a.clone(), b.clone()))));
    // Chains associate to the left.
    assert_eq!(parse("a pr and b pr and c pr"), Ok(and(and(a.clone(), b.clone()), c.clone())));
    assert_eq!(parse("a pr or b pr or c pr"), Ok(or(or(a.clone(), b.clone()), c.clone())));
}

#[test]
fn grouping_overrides_precedence() {
    let (a, b, c) = (pr("a"), pr("b"), pr("c"));
    assert_eq!(parse("(a pr or b pr) and c pr"), Ok(and(or(a.clone(), b.clone()), c.clone())));
    assert_eq!(parse("a pr and (b pr and c pr)"), Ok(and(a.clone(), and(b.clone(), c.clone()))));
    assert_eq!(parse("((a pr))"), Ok(a.clone()));
    assert_eq!(parse("( a pr )"), Ok(a.clone()));
    assert_eq!(parse("a pr and(b pr)"), Ok(and(a.clone(), b.clone())));
}

#[test]
fn not_needs_parentheses_with_optional_whitespace() {
    assert_eq!(parse("not(a pr)"), Ok(not(pr("a"))));
    assert_eq!(parse("NOT   (a pr)"), Ok(not(pr("a"))));
    assert_eq!(parse("not \t(a pr)"), Ok(not(pr("a"))));
    let e = err("not a pr");
    assert_eq!(e.column, 5);
    assert!(matches!(e.kind, FilterErrorKind::UnexpectedChar { found: 'a', .. }), "{e}");
    assert!(e.to_string().contains("'(' after 'not'"), "{e}");
    // An attribute may be called `not`.
    assert_eq!(parse("not pr"), Ok(pr("not")));
    assert_eq!(parse("not eq \"x\""), Ok(eq_str("not", "x")));
}

#[test]
fn whitespace_runs_are_one_separator() {
    assert_eq!(
        parse("  userName \t eq   \"x\"   and\t\tactive  eq true  "),
        Ok(and(eq_str("userName", "x"), cmp("active", CompareOp::Eq, CompValue::Bool(true))))
    );
    assert_eq!(parse("a pr\r\nor b pr"), Ok(or(pr("a"), pr("b"))));
}

#[test]
fn value_paths() {
    assert_eq!(
        parse(r#"emails[type eq "work" and primary eq true]"#),
        Ok(vp("emails", and(eq_str("type", "work"), cmp("primary", CompareOp::Eq, CompValue::Bool(true)))))
    );
    assert_eq!(
        parse(r#"userType eq "Employee" and emails[type eq "work" or value co "@example.com"]"#),
        Ok(and(
            eq_str("userType", "Employee"),
            vp(
                "emails",
                or(eq_str("type", "work"), cmp("value", CompareOp::Co, CompValue::String("@example.com".into())))
            )
        ))
    );
    assert_eq!(parse("emails[ not (type pr) ]"), Ok(vp("emails", not(pr("type")))));
    assert_eq!(parse("members[$ref pr]"), Ok(vp("members", pr("$ref"))));
    let e = err(r#"emails[type[value eq "x"] pr]"#);
    assert_eq!((e.column, e.kind), (12, FilterErrorKind::NestedValuePath));
    let e = err(r#"emails[type eq "work""#);
    assert_eq!(e.kind, FilterErrorKind::UnexpectedEnd { expected: "']'" });
    assert_eq!(e.column, 22);
}

#[test]
fn entra_value_path_with_sub_attribute_comparison() {
    // Entra's non-RFC form: one element must satisfy both conditions.
    assert_eq!(
        parse(r#"emails[type eq "work"].value eq "user@contoso.com""#),
        Ok(vp("emails", and(eq_str("type", "work"), eq_str("value", "user@contoso.com"))))
    );
    assert_eq!(parse(r#"emails[type eq "work"].value pr"#), Ok(vp("emails", and(eq_str("type", "work"), pr("value")))));
    assert_eq!(
        parse(r#"emails[type eq "work"].value eq "a" and active eq true"#),
        Ok(and(
            vp("emails", and(eq_str("type", "work"), eq_str("value", "a"))),
            cmp("active", CompareOp::Eq, CompValue::Bool(true))
        ))
    );
    let e = err(r#"emails[type eq "work"]. value eq "x""#);
    assert_eq!(e.column, 24);
}

#[test]
fn sub_attributes_and_ref() {
    assert_eq!(
        parse(r#"name.givenName sw "B""#),
        Ok(cmp("name.givenName", CompareOp::Sw, CompValue::String("B".into())))
    );
    assert_eq!(parse("groups.$ref pr"), Ok(pr("groups.$ref")));
    assert_eq!(parse("groups.$REF pr").map(|f| f.to_string()), Ok("groups.$REF pr".to_owned()));
    assert_eq!(err("name.givenName.x pr").column, 15);
    assert_eq!(err("name. pr").column, 6);
    assert_eq!(err("groups.$refs pr").column, 12);
}

#[test]
fn urn_qualified_names() {
    let manager = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value";
    let f = parse(&format!("{manager} eq \"123\"")).unwrap();
    let expected = AttrPath {
        uri: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
        name: "manager".into(),
        sub: Some("value".into()),
    };
    assert_eq!(
        f,
        crate::scim::filter::Filter::Compare {
            path: expected,
            op: CompareOp::Eq,
            value: CompValue::String("123".into())
        }
    );

    let f = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#).unwrap();
    assert_eq!(f, eq_str("urn:ietf:params:scim:schemas:core:2.0:User:userName", "bjensen"));
    assert_eq!(
        path("urn:ietf:params:scim:schemas:core:2.0:User:userName").uri.as_deref(),
        Some("urn:ietf:params:scim:schemas:core:2.0:User")
    );

    let f = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"]"#).unwrap();
    assert_eq!(f, vp("urn:ietf:params:scim:schemas:core:2.0:User:emails", eq_str("type", "work")));
    assert_eq!(parse("URN:X:Y:title pr"), Ok(pr("URN:X:Y:title")));

    let e = err("urn:x:y: pr");
    assert_eq!(e.column, 9);
    let e = err("urn:x@y:title pr");
    assert_eq!(
        (e.column, e.kind.clone()),
        (6, FilterErrorKind::UnexpectedChar { found: '@', expected: e_expected(&e) })
    );
}

fn e_expected(e: &FilterError) -> &'static str {
    match e.kind {
        FilterErrorKind::UnexpectedChar { expected, .. } | FilterErrorKind::UnexpectedEnd { expected } => expected,
        _ => "",
    }
}

#[test]
fn strings_with_every_json_escape() {
    let cases = [
        (r#""a\"b""#, "a\"b"),
        (r#""a\\b""#, "a\\b"),
        (r#""a\/b""#, "a/b"),
        (r#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
        (r#""\u00e9\u00C9""#, "éÉ"),
        (r#""\ud83d\ude00""#, "😀"),
        (r#""😀 ünïcødé""#, "😀 ünïcødé"),
        (r#""""#, ""),
        (r#""a and b or not (c)""#, "a and b or not (c)"),
    ];
    for (lit, want) in cases {
        assert_eq!(parse(&format!("title eq {lit}")), Ok(eq_str("title", want)), "{lit}");
    }
}

#[test]
fn string_errors_have_columns() {
    let e = err(r#"title eq "abc"#);
    assert_eq!((e.column, e.kind), (10, FilterErrorKind::UnterminatedString));
    let e = err(r#"title eq "a\qb""#);
    assert_eq!((e.column, e.kind), (12, FilterErrorKind::InvalidEscape("\\q".into())));
    let e = err(r#"title eq "\ud83d""#);
    assert_eq!((e.column, e.kind), (11, FilterErrorKind::InvalidEscape("\\ud83d".into())));
    let e = err(r#"title eq "\ude00x""#);
    assert!(matches!(e.kind, FilterErrorKind::InvalidEscape(_)), "{e}");
    let e = err(r#"title eq "\u12G4""#);
    assert_eq!((e.column, e.kind), (11, FilterErrorKind::InvalidEscape("\\u12G".into())));
    let e = err("title eq \"a\tb\"");
    assert_eq!((e.column, e.kind), (12, FilterErrorKind::ControlCharacter(9)));
    // Columns count characters, not bytes.
    let e = err(r#"title eq "ééé\x""#);
    assert_eq!(e.column, 14);
    let e = err(r#"title eq "a\"#);
    assert_eq!(e.kind, FilterErrorKind::UnterminatedString);
}

#[test]
fn json_numbers() {
    let ok = [
        ("0", Number::from(0)),
        ("-7", Number::from(-7)),
        ("42", Number::from(42)),
        ("18446744073709551615", Number::from(u64::MAX)),
        ("1.5", n_f64(1.5)),
        ("-0.25", n_f64(-0.25)),
        ("1e3", n_f64(1000.0)),
        ("2.5E-2", n_f64(0.025)),
        ("1e+2", n_f64(100.0)),
    ];
    for (text, n) in ok {
        assert_eq!(parse(&format!("age gt {text}")), Ok(cmp("age", CompareOp::Gt, CompValue::Number(n))), "{text}");
    }
    assert_eq!(parse("(age lt 5)"), Ok(cmp("age", CompareOp::Lt, num(5))));
    assert_eq!(parse("x[age lt 5]"), Ok(vp("x", cmp("age", CompareOp::Lt, num(5)))));
    for bad in ["01", "-", "1.", ".5", "1e", "1e+", "-01", "+1", "0x10", "1.5.2", "1e400", "1a"] {
        let e = err(&format!("age gt {bad}"));
        let column = match bad {
            "1.5.2" => 11,
            "1a" | "0x10" => 9,
            _ => 8,
        };
        assert_eq!(e.column, column, "{bad}: {e}");
        assert!(
            matches!(e.kind, FilterErrorKind::InvalidNumber(_) | FilterErrorKind::UnexpectedChar { .. }),
            "{bad}: {e}"
        );
    }
}

fn n_f64(f: f64) -> Number {
    Number::from_f64(f).unwrap()
}

#[test]
fn error_kinds_and_columns() {
    let cases: [(&str, usize, FilterErrorKind); 12] = [
        ("", 1, FilterErrorKind::UnexpectedEnd { expected: "an attribute path, '(' or 'not ('" }),
        (
            "userName",
            9,
            FilterErrorKind::UnexpectedEnd {
                expected: "'.', '[' or whitespace and an operator after the attribute path",
            },
        ),
        ("userName ", 10, FilterErrorKind::UnexpectedEnd { expected: "an operator" }),
        ("userName eq", 12, FilterErrorKind::UnexpectedEnd { expected: "whitespace after the operator" }),
        (
            "userName eq ",
            13,
            FilterErrorKind::UnexpectedEnd {
                expected: "a comparison value (a JSON string, a number, true, false or null)",
            },
        ),
        ("userName equals \"x\"", 10, FilterErrorKind::UnknownOperator("equals".into())),
        ("userName \"x\"", 10, FilterErrorKind::ExpectedOperator),
        (
            "userName eq\"x\"",
            12,
            FilterErrorKind::UnexpectedChar { found: '"', expected: "whitespace after the operator" },
        ),
        ("a pr and", 9, FilterErrorKind::UnexpectedEnd { expected: "an attribute path, '(' or 'not ('" }),
        (
            "a pr b pr",
            6,
            FilterErrorKind::UnexpectedChar { found: 'b', expected: "'and', 'or' or the end of the filter" },
        ),
        ("(a pr", 6, FilterErrorKind::UnexpectedEnd { expected: "')'" }),
        ("a pr)", 5, FilterErrorKind::UnexpectedChar { found: ')', expected: "'and', 'or' or the end of the filter" }),
    ];
    for (input, column, kind) in cases {
        assert_eq!(parse(input), Err(FilterError { column, kind }), "{input:?}");
    }
    let e = err("1abc pr");
    assert_eq!((e.column, e_expected(&e)), (1, "an attribute path, '(' or 'not ('"));
    let e = err("user_name@x pr");
    assert_eq!(e.column, 10);
    assert!(matches!(e.kind, FilterErrorKind::UnexpectedChar { found: '@', .. }));
}

#[test]
fn display_of_errors_names_expectation_and_column() {
    let e = err(r#"userName eq "x" and"#);
    assert_eq!(
        e.to_string(),
        "invalid filter at column 20: unexpected end of filter, expected an attribute path, '(' or 'not ('"
    );
    let e = err("userName equals 1");
    assert_eq!(
        e.to_string(),
        "invalid filter at column 10: unknown operator \"equals\", expected eq, ne, co, sw, ew, gt, ge, lt, le or pr"
    );
    let scim: crate::scim::ScimError = e.into();
    assert_eq!((scim.status, scim.scim_type), (400, Some(crate::scim::ScimType::InvalidFilter)));
    assert!(scim.detail.contains("column 10"), "{}", scim.detail);
}

#[test]
fn date_times_are_strings() {
    assert_eq!(
        parse(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
        Ok(cmp("meta.lastModified", CompareOp::Gt, CompValue::String("2011-05-13T04:42:34Z".into())))
    );
}

#[test]
fn rfc_7644_examples_parse() {
    let examples = [
        r#"userName Eq "john""#,
        r#"Username eq "john""#,
        r#"name.familyName co "O'Malley""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"title pr"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ];
    for text in examples {
        let f = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parse(&f.to_string()).as_ref(), Ok(&f), "{text}");
    }
}

#[test]
fn and_or_need_no_space_next_to_quotes_and_parentheses() {
    assert_eq!(parse(r#"title eq "x"and b pr"#), Ok(and(eq_str("title", "x"), pr("b"))));
    assert_eq!(parse("(a pr)or(b pr)"), Ok(or(pr("a"), pr("b"))));
    // ...but a keyword cannot run into a name.
    assert_eq!(err("a pr andb pr").column, 6);
    assert!(matches!(err("a eq 1and b pr").kind, FilterErrorKind::UnexpectedChar { found: 'a', .. }));
}
