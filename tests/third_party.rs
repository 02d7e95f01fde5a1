//! Third-party SCIM conformance testers (PyPI `scim2-tester` and `scim-sanity`) against the real
//! `scimgate serve` binary over HTTP.
//!
//! Each tester's per-check results are compared with `tests/third_party_expected.json`, which lists the
//! checks expected *not* to pass, each with its reason. The test fails when a check outside that list does
//! not pass (a regression or a new gap), and when a listed check passes or is no longer reported (the list
//! must stay true). The testers run from the virtualenv `scripts/test` prepares, named by
//! `SCIMGATE_TEST_PYTHON`.

mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use support::{Gateway, memory_route_yaml};

const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/third_party_expected.json");
const GLUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/run_tester.py");
/// A whole tester run; each of their requests has its own 30 s limit.
const TESTER_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Deserialize)]
struct Baseline {
    version: String,
    expected_failures: Vec<ExpectedFailure>,
}

#[derive(Debug, Deserialize)]
struct ExpectedFailure {
    check: String,
    reason: String,
}

#[derive(Debug, Deserialize)]
struct TesterReport {
    tool: String,
    version: String,
    checks: Vec<CheckResult>,
}

#[derive(Debug, Deserialize)]
struct CheckResult {
    id: String,
    status: String,
    #[serde(default)]
    detail: String,
}

fn python() -> PathBuf {
    let hint = "run the suite with `scripts/test`, which prepares a virtualenv with the pinned testers \
                (tests/python/requirements.txt) and sets SCIMGATE_TEST_PYTHON to its python";
    let Some(path) = std::env::var_os("SCIMGATE_TEST_PYTHON") else {
        panic!("SCIMGATE_TEST_PYTHON is not set: {hint}");
    };
    let path = PathBuf::from(path);
    assert!(path.is_file(), "SCIMGATE_TEST_PYTHON={} does not exist: {hint}", path.display());
    path
}

/// The baseline key: the tool alone for the memory target, `tool@target` for a shipped target.
fn baseline_key(tool: &str, target: &str) -> String {
    if target == "memory" { tool.to_owned() } else { format!("{tool}@{target}") }
}

fn baseline(tool: &str) -> Baseline {
    let text = std::fs::read_to_string(BASELINE).unwrap_or_else(|e| panic!("cannot read {BASELINE}: {e}"));
    let mut all: BTreeMap<String, Baseline> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{BASELINE} is not valid: {e}"));
    let baseline = all.remove(tool).unwrap_or_else(|| panic!("{BASELINE} has no entry for {tool}"));
    for entry in &baseline.expected_failures {
        assert!(!entry.reason.trim().is_empty(), "{BASELINE}: `{}` ({tool}) needs a reason", entry.check);
    }
    baseline
}

/// Runs the glue script for `tool` and returns its parsed report.
fn run_tester(tool: &str, gateway: &Gateway) -> TesterReport {
    let mut child = Command::new(python())
        .arg(GLUE)
        .arg(tool)
        .arg("--url")
        .arg(&gateway.base_url)
        .arg("--token")
        .arg(&gateway.token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {tool}: {e}"));
    // Read both pipes on their own threads so neither can fill up and stall the tester.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + TESTER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the tester") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{tool} did not finish within {TESTER_TIMEOUT:?}\n{}", gateway.output());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    assert!(status.success(), "{tool} glue exited with {status}\n--- stderr ---\n{stderr}\n{}", gateway.output());
    let report: TesterReport = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("{tool} printed no JSON report ({e})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}")
    });
    assert_eq!(report.tool, tool);
    report
}

/// Compares a report with the baseline; returns every disagreement.
fn disagreements(report: &TesterReport, baseline: &Baseline) -> Vec<String> {
    let results: BTreeMap<&str, &CheckResult> = report.checks.iter().map(|c| (c.id.as_str(), c)).collect();
    let expected: BTreeMap<&str, &str> =
        baseline.expected_failures.iter().map(|e| (e.check.as_str(), e.reason.as_str())).collect();
    let mut problems = Vec::new();
    if report.version != baseline.version {
        problems.push(format!(
            "installed {} is {}, the baseline was recorded with {}: re-run `scripts/test` or review the baseline",
            report.tool, report.version, baseline.version
        ));
    }
    for check in &report.checks {
        if check.status == "fail" && !expected.contains_key(check.id.as_str()) {
            problems.push(format!("FAILS (not in the baseline): {}\n      {}", check.id, check.detail));
        }
    }
    for (id, reason) in &expected {
        match results.get(id) {
            Some(check) if check.status == "fail" => {}
            Some(check) => problems.push(format!(
                "listed as failing but now {}: {id} (listed because: {reason}); remove it from the baseline",
                check.status
            )),
            None => problems.push(format!("listed as failing but no longer reported: {id}")),
        }
    }
    problems
}

/// Runs `tool` against `scimgate serve` on the memory target, or against `scimgate demo --target
/// TARGET` for a shipped mapping in front of its emulated application.
fn conformance(tool: &str, target: &str) {
    let key = baseline_key(tool, target);
    let baseline = baseline(&key);
    // Fail before starting anything when the testers are not installed.
    python();
    assert!(Path::new(GLUE).is_file(), "{GLUE} is missing");
    let gateway = if target == "memory" {
        let token = "third-party-tester-token";
        Gateway::serve(&memory_route_yaml("main", token), "main", token)
    } else {
        Gateway::demo_target(target)
    };
    let report = run_tester(tool, &gateway);
    let count = |status: &str| report.checks.iter().filter(|c| c.status == status).count();
    println!(
        "{tool} {}: {} checks, {} pass, {} fail, {} skip",
        report.version,
        report.checks.len(),
        count("pass"),
        count("fail"),
        count("skip")
    );
    for check in report.checks.iter().filter(|c| c.status != "pass") {
        println!("  {} {}: {}", check.status, check.id, check.detail);
    }
    assert!(count("pass") > 0, "{tool} reported no passing check at all:\n{}", gateway.output());
    let problems = disagreements(&report, &baseline);
    assert!(
        problems.is_empty(),
        "{key} disagrees with {BASELINE}:\n  {}\n(reasons for expected failures live in that file and in the README)",
        problems.join("\n  ")
    );
}

#[test]
fn scim2_tester_results_match_the_baseline() {
    conformance("scim2-tester", "memory");
}

#[test]
fn scim_sanity_results_match_the_baseline() {
    conformance("scim-sanity", "memory");
}

#[test]
fn scim2_tester_through_openmetadata() {
    conformance("scim2-tester", "openmetadata");
}

#[test]
fn scim_sanity_through_openmetadata() {
    conformance("scim-sanity", "openmetadata");
}

#[test]
fn scim2_tester_through_collibra() {
    conformance("scim2-tester", "collibra");
}

#[test]
fn scim_sanity_through_collibra() {
    conformance("scim-sanity", "collibra");
}

#[test]
fn scim2_tester_through_datahub() {
    conformance("scim2-tester", "datahub");
}

#[test]
fn scim_sanity_through_datahub() {
    conformance("scim-sanity", "datahub");
}

#[test]
fn scim2_tester_through_scim_to_scim() {
    conformance("scim2-tester", "scim");
}

#[test]
fn scim_sanity_through_scim_to_scim() {
    conformance("scim-sanity", "scim");
}

#[test]
fn baseline_comparison_flags_new_failures_and_stale_entries() {
    let check = |id: &str, status: &str| CheckResult { id: id.into(), status: status.into(), detail: "d".into() };
    let report = TesterReport {
        tool: "t".into(),
        version: "1.0".into(),
        checks: vec![
            check("passes", "pass"),
            check("known gap", "fail"),
            check("new gap", "fail"),
            check("fixed gap", "pass"),
            check("skipped", "skip"),
        ],
    };
    let entry = |id: &str| ExpectedFailure { check: id.into(), reason: "r".into() };
    let baseline = Baseline {
        version: "1.0".into(),
        expected_failures: vec![entry("known gap"), entry("fixed gap"), entry("skipped"), entry("gone")],
    };
    let problems = disagreements(&report, &baseline);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("FAILS (not in the baseline): new gap"), "{problems:#?}");
    assert!(problems.iter().any(|p| p.starts_with("listed as failing but now pass: fixed gap")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.starts_with("listed as failing but now skip: skipped")), "{problems:#?}");
    assert!(problems.iter().any(|p| p.starts_with("listed as failing but no longer reported: gone")), "{problems:#?}");

    let upgraded = TesterReport { version: "1.1".into(), ..report };
    let clean = Baseline { version: "1.0".into(), expected_failures: vec![entry("known gap"), entry("new gap")] };
    let problems = disagreements(&upgraded, &clean);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("installed t is 1.1"), "{problems:#?}");
}
