//! A plain-text table of a replay report for terminals and test logs: one line per case with its result
//! and, for a failure, the first difference.

use std::fmt::Write as _;

use super::matching::truncate;
use super::report::Report;

/// Renders `report` as a table. Differences longer than `max_difference_chars` are cut; all text is kept on
/// one line per case.
pub fn render_table(report: &Report, max_difference_chars: usize) -> String {
    let id_width = report.cases.iter().map(|c| c.id.chars().count()).chain([4]).max().unwrap_or(4);
    let mut out = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(out, "{:<id_width$}  {:<6}  FIRST DIFFERENCE", "CASE", "RESULT");
    for case in &report.cases {
        let (result, difference) = match &case.failure {
            Some(failure) => ("FAIL", one_line(&failure.to_string())),
            None if case.skipped.is_empty() => ("pass", String::new()),
            None => ("pass", format!("({} expectations skipped)", case.skipped.len())),
        };
        let difference = truncate(&difference, max_difference_chars);
        let line = format!("{:<id_width$}  {result:<6}  {difference}", case.id);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "{} cases: {} pass, {} fail, {} expectations skipped",
        report.cases.len(),
        report.passed(),
        report.failed(),
        report.skipped_checks()
    );
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::replay::report::{CaseReport, Failure};

    fn case(id: &str, failure: Option<Failure>, skipped: usize) -> CaseReport {
        CaseReport {
            id: id.into(),
            title: "t".into(),
            failure,
            steps_run: 1,
            checks_passed: 0,
            skipped: vec!["s".into(); skipped],
            cleanup_errors: Vec::new(),
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn one_aligned_line_per_case_and_a_summary() {
        let failure = Failure {
            step: 1,
            request: "GET /Users/42".into(),
            what: "status".into(),
            expected: "200".into(),
            actual: "404".into(),
            body_excerpt: "{\"detail\":\n  \"not found\"}".into(),
        };
        let report = Report {
            name: "c".into(),
            cases: vec![case("a", None, 0), case("long-case-id", Some(failure), 0), case("b", None, 2)],
        };
        let table = render_table(&report, 200);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines,
            vec![
                "CASE          RESULT  FIRST DIFFERENCE",
                "a             pass",
                "long-case-id  FAIL    step 1 `GET /Users/42`: status: expected 200, got 404; body: {\"detail\": \"not found\"}",
                "b             pass    (2 expectations skipped)",
                "3 cases: 2 pass, 1 fail, 2 expectations skipped",
            ]
        );
        let narrow = render_table(&report, 10);
        assert!(narrow.contains("FAIL    step 1 `GE…\n"), "{narrow}");
    }
}
