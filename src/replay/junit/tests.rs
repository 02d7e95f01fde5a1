use std::time::Duration;

use super::*;
use crate::replay::report::{CaseReport, Failure};

fn case(id: &str, failure: Option<Failure>, skipped: Vec<String>) -> CaseReport {
    CaseReport {
        id: id.into(),
        title: String::new(),
        failure,
        steps_run: 1,
        checks_passed: 1,
        skipped,
        cleanup_errors: Vec::new(),
        duration: Duration::from_millis(1500),
    }
}

fn failure() -> Failure {
    Failure {
        step: 2,
        request: "GET /Users?filter=userName+eq+%22a&b%22".into(),
        what: "body_contains /emails".into(),
        expected: "an element matching {\"value\":\"<x>\"}".into(),
        actual: "[]".into(),
        body_excerpt: "{\"detail\":\"it's \u{1}bad\"}".into(),
    }
}

#[test]
fn escapes_markup_quotes_and_invalid_characters() {
    assert_eq!(escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    assert_eq!(escape("line1\nline2\ttab\r"), "line1&#10;line2&#9;tab&#13;");
    assert_eq!(escape("bell\u{7}nul\u{0}\u{FFFF}"), "bell\u{FFFD}nul\u{FFFD}\u{FFFD}");
    assert_eq!(escape("é ✓"), "é ✓");
}

#[test]
fn renders_passes_failures_and_skips() {
    let report = Report {
        name: "idp-scim-corpus".into(),
        cases: vec![
            case("ok-1", None, Vec::new()),
            case("bad-<2>", Some(failure()), Vec::new()),
            case("skips-3", None, vec!["step 0: body_contains /title: `title` is not advertised".into()]),
        ],
    };
    let xml = to_junit_xml(&report);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"idp-scim-corpus\""));
    assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
    assert!(xml.contains("time=\"4.500\""), "{xml}");
    assert!(xml.contains("<testcase classname=\"idp-scim-corpus\" name=\"ok-1\" time=\"1.500\"/>"), "{xml}");
    assert!(xml.contains("name=\"bad-&lt;2&gt;\""), "{xml}");
    assert!(
        xml.contains("<failure message=\"step 2: body_contains /emails\" type=\"body_contains /emails\">"),
        "{xml}"
    );
    assert!(xml.contains("%22a&amp;b%22"), "{xml}");
    assert!(xml.contains("it&apos;s \u{FFFD}bad"), "{xml}");
    assert!(xml.contains("<system-out>skipped: step 0: body_contains /title: `title` is not advertised</system-out>"));
    assert!(!xml.contains('\u{1}'));
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert_eq!(xml.matches("</testcase>").count(), 2);
    assert!(xml.ends_with("  </testsuite>\n</testsuites>\n"));
}
