//! Property tests: generated ASTs survive Display → parse, and no input makes the parser panic.

use proptest::prelude::*;
use serde_json::Number;

use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter, Limits, parse, parse_with_limits};

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,10}",
        1 => Just("$ref".to_owned()),
        // Names that are also keywords, operators or literals.
        1 => prop::sample::select(vec!["not", "and", "or", "pr", "eq", "true", "null", "NOT", "Or"]).prop_map(str::to_owned),
    ]
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        "urn:[a-z0-9]{1,6}(:[A-Za-z0-9._-]{1,8}){0,4}",
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (prop::option::weighted(0.2, uri()), attr_name(), prop::option::weighted(0.3, attr_name()))
        .prop_map(|(uri, name, sub)| AttrPath { uri, name, sub })
}

/// A bare name, as inside `attr[...]`.
fn relative_path() -> impl Strategy<Value = AttrPath> {
    attr_name().prop_map(AttrPath::named)
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        (-1000i32..1000, -30i32..30).prop_filter_map("finite", |(m, e)| Number::from_f64(f64::from(m) * 10f64.powi(e))),
    ]
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        number().prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::String),
        // Quotes, backslashes, escapes-looking text, keywords and brackets inside strings.
        r#"[a-z"\\/ \[\]()\t\n\u{1}é😀]{0,12}"#.prop_map(CompValue::String),
        prop::sample::select(vec![r#"\""#, r#"\u0041"#, "a and b", "x) or (y", "]", "\\"])
            .prop_map(|s| CompValue::String(s.to_owned())),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

fn leaf(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        3 => (path.clone(), op(), comp_value()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        1 => path.prop_map(Filter::Present),
    ]
}

/// Logic over `leaves`: and, or, not.
fn logic(leaves: BoxedStrategy<Filter>, depth: u32) -> BoxedStrategy<Filter> {
    leaves
        .prop_recursive(depth, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|f| Filter::Not(Box::new(f))),
            ]
        })
        .boxed()
}

/// Any AST the parser can produce: value paths hold relative paths and do not nest.
fn filter() -> BoxedStrategy<Filter> {
    let value_path = (attr_path(), logic(leaf(relative_path().boxed()).boxed(), 3))
        .prop_map(|(attr, f)| Filter::ValuePath { attr, filter: Box::new(f) });
    let top_leaf = prop_oneof![3 => leaf(attr_path().boxed()), 1 => value_path].boxed();
    logic(top_leaf, 5)
}

/// Filter-like text: the alphabet of filters, so that most inputs get deep into the parser.
fn filterish() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "userName",
        "emails",
        "name.givenName",
        "urn:ietf:params:scim:schemas:core:2.0:User:",
        ".",
        "$ref",
        " ",
        "\t",
        "eq",
        "ne",
        "co",
        "gt",
        "pr",
        "and",
        "or",
        "not",
        "NOT",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "\\",
        "\\u",
        "d83d",
        "x",
        "-",
        "0",
        "1",
        "e",
        "+",
        ".5",
        "true",
        "null",
        "é",
        "😀",
        "\u{0}",
    ]);
    prop::collection::vec(tokens, 0..40).prop_map(|t| t.concat())
}

fn limits() -> Limits {
    Limits { max_len: usize::MAX, ..Limits::default() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn display_then_parse_round_trips(f in filter()) {
        let text = f.to_string();
        prop_assert_eq!(parse_with_limits(&text, limits()), Ok(f), "{}", text);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_filter_like_text_and_what_parses_prints_back(s in filterish()) {
        if let Ok(f) = parse(&s) {
            let text = f.to_string();
            prop_assert_eq!(parse_with_limits(&text, limits()), Ok(f), "{} printed as {}", s, text);
        }
    }

    #[test]
    fn error_columns_point_into_the_input(s in filterish()) {
        if let Err(e) = parse(&s) {
            prop_assert!(e.column >= 1 && e.column <= s.chars().count() + 1, "{} for {:?}", e, s);
        }
    }

    #[test]
    fn mangled_canonical_text_never_panics(f in filter(), cut in any::<prop::sample::Index>(), junk in filterish()) {
        let text = f.to_string();
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let _ = parse(&format!("{}{}", &text[..at], junk));
        let _ = parse(&format!("{}{}{}", &text[..at], junk, &text[at..]));
    }
}
