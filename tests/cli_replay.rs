//! `scimgate replay` against `scimgate demo --target memory`, both real processes: its output
//! (what runs, progress, the table, the totals), its JUnit report read by an XML parser, and its
//! exit code, for a passing run, a refused token and a case the server answers differently.

mod support;

use std::process::Command;

use scimgate::replay::Corpus;
use support::Gateway;

struct Replayed {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn replay(gw: &Gateway, token: &str, extra: &[&str]) -> Replayed {
    let out = Command::new(support::binary())
        .args(["replay", "--url", &gw.base_url, "--token", token])
        .args(extra)
        .output()
        .expect("scimgate replay runs");
    Replayed {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn builtin() -> Corpus {
    Corpus::from_json(scimgate::cli::replay::BUILTIN_CORPUS).unwrap()
}

/// The table's row of a case: `(result, first difference)`.
fn row<'a>(stdout: &'a str, id: &str) -> (&'a str, &'a str) {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .unwrap_or_else(|| panic!("no table row for {id}:\n{stdout}"));
    let rest = line[id.len()..].trim_start();
    let (result, difference) = rest.split_once(' ').unwrap_or((rest, ""));
    (result, difference.trim())
}

/// What a JUnit report says: its suite's counts, and each case's name and failure message.
struct JUnit {
    tests: usize,
    failures: usize,
    cases: Vec<(String, Option<String>)>,
}

fn junit(path: &std::path::Path) -> JUnit {
    let xml = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("the JUnit report is not XML: {e}\n{xml}"));
    let suite = doc.descendants().find(|n| n.has_tag_name("testsuite")).expect("a testsuite");
    let count = |name: &str| suite.attribute(name).and_then(|v| v.parse().ok()).unwrap();
    let cases = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| {
            let failure = c.children().find(|n| n.has_tag_name("failure")).and_then(|f| f.attribute("message"));
            (c.attribute("name").unwrap_or_default().to_owned(), failure.map(str::to_owned))
        })
        .collect();
    JUnit { tests: count("tests"), failures: count("failures"), cases }
}

#[test]
fn the_builtin_corpus_passes_against_the_demo_and_reports_junit() {
    let gw = Gateway::demo();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("replay.xml");
    let r = replay(&gw, &gw.token, &["--junit", report.to_str().unwrap()]);
    assert!(r.ok, "replay failed:\n{}\n{}", r.stdout, r.stderr);
    let ids: Vec<String> = builtin().cases.into_iter().map(|c| c.id).collect();
    let n = ids.len();

    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], format!("Replaying {n} cases of idp-scim-corpus against {}", gw.base_url));
    assert!(r.stdout.contains("Expectations on attributes /Schemas does not advertise are skipped"), "{}", r.stdout);
    // Not a terminal: a counter every ten cases and at the end, not a line per case.
    let counters: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("replayed ")).collect();
    assert_eq!(counters.len(), n.div_ceil(10), "{}", r.stdout);
    assert_eq!(counters.last().copied(), Some(format!("replayed {n}/{n} cases, 0 failed").as_str()));
    assert!(!r.stdout.contains("] pass "), "no per-case progress in a log: {}", r.stdout);

    let header = lines.iter().position(|l| l.starts_with("CASE ")).expect("the table header");
    assert!(lines[header].split_whitespace().eq(["CASE", "RESULT", "FIRST", "DIFFERENCE"]), "{}", lines[header]);
    for id in &ids {
        assert_eq!(row(&r.stdout, id).0, "pass", "{id}:\n{}", r.stdout);
    }
    let summary = lines[header + 1 + n];
    assert!(summary.starts_with(&format!("{n} cases: {n} pass, 0 fail, ")), "{summary}");
    assert!(r.stdout.contains(&format!("JUnit report: {}", report.display())), "{}", r.stdout);

    let report = junit(&report);
    assert_eq!((report.tests, report.failures), (n, 0));
    assert_eq!(report.cases.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(), ids);
    assert!(report.cases.iter().all(|(_, failure)| failure.is_none()));
}

#[test]
fn a_refused_token_fails_every_case_and_the_exit_code_says_so() {
    let gw = Gateway::demo();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("replay.xml");
    let cases = ["entra-01-test-connection-user", "okta-05-runscope-groups-endpoint"];
    let mut args = vec!["--junit", report.to_str().unwrap()];
    for id in cases {
        args.extend(["--case", id]);
    }
    let r = replay(&gw, "not-the-token", &args);
    assert!(!r.ok, "a replay with a refused token must fail:\n{}", r.stdout);
    // /Schemas is refused too: the run goes on, checking everything.
    assert!(r.stdout.contains("warning: ") && r.stdout.contains("every expectation is checked"), "{}", r.stdout);
    for id in cases {
        let (result, difference) = row(&r.stdout, id);
        assert_eq!(result, "FAIL", "{}", r.stdout);
        assert!(difference.contains("status: expected") && difference.contains("got 401"), "{difference}");
    }
    assert!(r.stdout.contains("2 cases: 0 pass, 2 fail"), "{}", r.stdout);
    assert!(r.stderr.contains("2 of 2 cases failed"), "{}", r.stderr);
    let report = junit(&report);
    assert_eq!((report.tests, report.failures), (2, 2));
    assert!(report.cases.iter().all(|(_, f)| f.as_deref().is_some_and(|m| m.contains("status"))), "{:?}", report.cases);
}

#[test]
fn a_case_the_server_answers_differently_is_listed_with_its_first_difference() {
    // The corpus, with one expectation the demo does not meet: a create answered 418.
    let mut corpus: serde_json::Value = serde_json::from_str(scimgate::cli::replay::BUILTIN_CORPUS).unwrap();
    let cases = corpus["cases"].as_array_mut().unwrap();
    let create = cases.iter_mut().find(|c| c["id"] == "okta-07-update-put").expect("the Okta update case");
    assert_eq!(create["steps"][0]["request"]["method"], "POST");
    create["steps"][0]["expect"]["status"] = serde_json::json!(418);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corpus.json");
    std::fs::write(&file, corpus.to_string()).unwrap();

    let gw = Gateway::demo();
    let args =
        ["--corpus", file.to_str().unwrap(), "--case", "okta-07-update-put", "--case", "entra-01-test-connection-user"];
    let r = replay(&gw, &gw.token, &args);
    assert!(!r.ok, "{}", r.stdout);
    assert_eq!(row(&r.stdout, "entra-01-test-connection-user").0, "pass", "{}", r.stdout);
    let (result, difference) = row(&r.stdout, "okta-07-update-put");
    assert_eq!(result, "FAIL");
    assert!(difference.starts_with("step 0 `POST /Users`: status: expected 418, got 201"), "{difference}");
    assert!(r.stdout.contains("2 cases: 1 pass, 1 fail"), "{}", r.stdout);
    assert!(r.stderr.contains("1 of 2 cases failed"), "{}", r.stderr);
}

#[test]
fn an_unknown_case_or_corpus_is_an_error_before_anything_runs() {
    let gw = Gateway::demo();
    let r = replay(&gw, &gw.token, &["--case", "no-such-case"]);
    assert!(!r.ok && r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("no case of the corpus is named no-such-case"), "{}", r.stderr);
    let r = replay(&gw, &gw.token, &["--corpus", "/nonexistent/corpus.json"]);
    assert!(!r.ok && r.stderr.contains("/nonexistent/corpus.json"), "{}", r.stderr);
}
