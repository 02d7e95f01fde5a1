//! `scimgate replay` against `scimgate demo --target memory`, both real processes: its output, its
//! JUnit report and its exit code.

mod support;

use std::process::Command;

use support::Gateway;

fn replay(gw: &Gateway, token: &str, extra: &[&str]) -> (bool, String, String) {
    let out = Command::new(support::binary())
        .args(["replay", "--url", &gw.base_url, "--token", token])
        .args(extra)
        .output()
        .expect("scimgate replay runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_builtin_corpus_passes_against_the_demo_and_reports_junit() {
    let gw = Gateway::demo();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("replay.xml");
    let (ok, stdout, stderr) = replay(&gw, &gw.token, &["--junit", junit.to_str().unwrap()]);
    assert!(ok, "replay failed:\n{stdout}\n{stderr}");
    let cases = scimgate::replay::Corpus::from_json(scimgate::cli::replay::BUILTIN_CORPUS).unwrap().cases.len();
    // One progress line per case (stdout is not a terminal here), the table, and the summary.
    assert_eq!(stdout.lines().filter(|l| l.starts_with('[') && l.contains(" pass ")).count(), cases, "{stdout}");
    assert!(stdout.contains("CASE") && stdout.contains("RESULT"), "{stdout}");
    assert!(stdout.contains(&format!("{cases} cases: {cases} pass, 0 fail")), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), cases);
    assert!(xml.contains("failures=\"0\""), "{xml}");
}

#[test]
fn failures_are_listed_and_the_exit_code_says_so() {
    let gw = Gateway::demo();
    let (ok, stdout, stderr) = replay(&gw, "not-the-token", &["--case", "entra-01-test-connection-user", "--strict"]);
    assert!(!ok, "a replay with a refused token must fail:\n{stdout}");
    assert!(stdout.contains("FAIL entra-01-test-connection-user"), "{stdout}");
    assert!(stdout.contains("1 cases: 0 pass, 1 fail"), "{stdout}");
    assert!(stderr.contains("1 of 1 cases failed"), "{stderr}");

    let (ok, _, stderr) = replay(&gw, &gw.token, &["--case", "no-such-case"]);
    assert!(!ok);
    assert!(stderr.contains("no case of the corpus is named no-such-case"), "{stderr}");
}
