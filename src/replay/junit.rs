//! JUnit XML for a replay report, the format CI systems display as test results.
//!
//! One `<testsuite>` per report and one `<testcase>` per corpus case. A failed case carries a `<failure>`
//! whose message is the first difference; skipped expectations are listed in `<system-out>` so a reader
//! sees what was not checked.

use std::fmt::Write as _;

use super::report::Report;

/// Renders `report` as a JUnit XML document.
pub fn to_junit_xml(report: &Report) -> String {
    let suite = if report.name.is_empty() { "idp-replay" } else { report.name.as_str() };
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests = report.cases.len();
    let failures = report.failed();
    let time = report.duration().as_secs_f64();
    // `write!` into a String cannot fail.
    let _ = writeln!(
        xml,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{time:.3}\">",
        escape(suite)
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{time:.3}\">",
        escape(suite)
    );
    for case in &report.cases {
        let _ = write!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(suite),
            escape(&case.id),
            case.duration.as_secs_f64()
        );
        let mut out = Vec::new();
        if !case.title.is_empty() {
            out.push(case.title.clone());
        }
        out.extend(case.skipped.iter().map(|s| format!("skipped: {s}")));
        out.extend(case.cleanup_errors.iter().map(|e| format!("cleanup: {e}")));
        if case.failure.is_none() && out.is_empty() {
            xml.push_str("/>\n");
            continue;
        }
        xml.push_str(">\n");
        if let Some(failure) = &case.failure {
            let _ = writeln!(
                xml,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                escape(&format!("step {}: {}", failure.step, failure.what)),
                escape(&failure.what),
                escape(&failure.to_string())
            );
        }
        if !out.is_empty() {
            let _ = writeln!(xml, "      <system-out>{}</system-out>", escape(&out.join("\n")));
        }
        xml.push_str("    </testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Escapes text for XML content and attribute values. Characters XML 1.0 cannot carry at all (most C0
/// controls, U+FFFE, U+FFFF) become U+FFFD, since a server's answer may contain anything.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept literally in content, but attribute normalisation would turn them into spaces.
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
