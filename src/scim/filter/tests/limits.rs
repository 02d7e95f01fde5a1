//! Length and nesting limits: hostile input fails fast, without deep recursion.

use std::time::{Duration, Instant};

use crate::scim::filter::{FilterErrorKind, Limits, MAX_DEPTH_CAP, parse, parse_with_limits};

fn quick<T>(f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    out
}

#[test]
fn ten_thousand_nested_parentheses_fail_fast() {
    let text = format!("{}a pr{}", "(".repeat(10_000), ")".repeat(10_000));
    let limits = Limits { max_len: usize::MAX, max_depth: 64 };
    let e = quick(|| parse_with_limits(&text, limits)).unwrap_err();
    assert_eq!(e.kind, FilterErrorKind::TooDeep { max: 64 });
    assert_eq!(e.column, 65, "the 65th parenthesis is one too many");
}

#[test]
fn ten_thousand_nested_nots_fail_fast() {
    let text = format!("{}a pr{}", "not (".repeat(10_000), ")".repeat(10_000));
    let limits = Limits { max_len: usize::MAX, max_depth: 64 };
    let e = quick(|| parse_with_limits(&text, limits)).unwrap_err();
    assert_eq!(e.kind, FilterErrorKind::TooDeep { max: 64 });
    assert_eq!(e.column, 64 * 5 + 1);
}

#[test]
fn nesting_is_capped_even_when_limits_ask_for_more() {
    let text = format!("{}a pr{}", "(".repeat(10_000), ")".repeat(10_000));
    let limits = Limits { max_len: usize::MAX, max_depth: usize::MAX };
    let e = quick(|| parse_with_limits(&text, limits)).unwrap_err();
    assert_eq!(e.kind, FilterErrorKind::TooDeep { max: MAX_DEPTH_CAP });
    // Up to the cap parses, on an ordinary test thread's stack.
    let depth = MAX_DEPTH_CAP;
    let text = format!("{}a pr{}", "not (".repeat(depth), ")".repeat(depth));
    assert!(parse_with_limits(&text, limits).is_ok());
}

#[test]
fn long_and_or_chains_count_as_nesting() {
    let chain = |n: usize| vec!["a pr"; n].join(" and ");
    assert!(parse(&chain(65)).is_ok(), "64 ands are 64 levels");
    let e = parse(&chain(66)).unwrap_err();
    assert_eq!(e.kind, FilterErrorKind::TooDeep { max: 64 });
    assert_eq!(e.column, 65 * 9 - 3, "at the 65th 'and'");
    let text = vec!["a pr"; 10_000].join(" or ");
    let limits = Limits { max_len: usize::MAX, ..Limits::default() };
    assert_eq!(quick(|| parse_with_limits(&text, limits)).unwrap_err().kind, FilterErrorKind::TooDeep { max: 64 });
}

#[test]
fn value_paths_count_as_nesting() {
    let limits = Limits { max_depth: 2, ..Limits::default() };
    assert!(parse_with_limits("emails[(type pr)]", limits).is_ok());
    let e = parse_with_limits("emails[((type pr))]", limits).unwrap_err();
    assert_eq!((e.column, e.kind), (9, FilterErrorKind::TooDeep { max: 2 }));
}

#[test]
fn one_mebibyte_filter_fails_fast() {
    let text = format!("userName eq \"{}\"", "x".repeat(1 << 20));
    let e = quick(|| parse(&text)).unwrap_err();
    assert_eq!(e.kind, FilterErrorKind::TooLong { max: 16 * 1024 });
    assert_eq!(e.column, 16 * 1024 + 1);
    // Within a larger limit the same text is fine.
    let limits = Limits { max_len: 2 << 20, ..Limits::default() };
    assert!(quick(|| parse_with_limits(&text, limits)).is_ok());
}

#[test]
fn length_limit_counts_bytes_and_reports_a_character_column() {
    let limits = Limits { max_len: 16, ..Limits::default() };
    assert!(parse_with_limits("ti eq \"éééé\"", limits).is_ok(), "16 bytes");
    let e = parse_with_limits("ti eq \"ééééé\"", limits).unwrap_err();
    assert_eq!(e.kind, FilterErrorKind::TooLong { max: 16 });
    assert_eq!(e.column, 12, "byte 16 falls inside the 12th character");
}
