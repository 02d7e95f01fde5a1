//! The load harness in its smoke mode (a few seconds, tiny sizes, no thresholds), so it cannot rot:
//! every section starts what it measures, runs every workload and prints its table.

use std::process::Command;

const WORKLOADS: [&str; 5] =
    ["GET user by id", "userName eq filter", "PATCH replace 2 attributes", "PATCH add 1 member", "POST create user"];

/// The ratio column of a side-by-side row (`… | ratio +p99`).
fn ratio(row: &str) -> f64 {
    let last = row.rsplit('|').next().unwrap_or_default();
    last.split_whitespace().next().and_then(|r| r.parse().ok()).unwrap_or_else(|| panic!("no ratio in {row}"))
}

#[test]
fn the_load_harness_runs_every_section_in_smoke_mode() {
    // One request thread (`http.worker_threads`), as a gateway beside its application runs.
    let out = Command::new(env!("CARGO_BIN_EXE_scimgate-load"))
        .args(["--smoke", "--gateway-threads", "1"])
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    // Side by side, through the OpenMetadata mapping, through the SCIM-to-SCIM mapping, and
    // through the pass-through proxy in front of each application: two concurrency levels each,
    // with a positive ratio and no failed request.
    for workload in WORKLOADS {
        let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with(workload)).collect();
        assert_eq!(rows.len(), 8, "{workload}: 4 tables x 2 concurrency levels:\n{stdout}");
        for row in rows {
            assert!(ratio(row) > 0.0, "{row}");
            // Cells: workload and conns | req/s p50 p99 errors cpu | the same, direct | ratio +p99.
            let gateway = row.split('|').nth(1).unwrap_or_default();
            assert_eq!(gateway.split_whitespace().nth(3), Some("0"), "gateway errors in {row}");
        }
    }
    assert!(stdout.contains("JWT (RS256, JWKS cached), 1 worker thread)"), "{stdout}");
    for app in ["the emulated OpenMetadata", "scimgate on the memory target"] {
        let title = format!("pass-through proxy (HTTP/1 forwarding only, 1 worker thread) in front of {app}");
        assert!(stdout.contains(&title), "{title}:\n{stdout}");
    }
    // The native calls are shown, for the OpenMetadata section.
    assert!(stdout.contains("PATCH /v1/teams/"), "{stdout}");

    // The memory target alone: reads and creates at both store sizes.
    for size in ["10", "300"] {
        for workload in ["GET user by id", "userName eq filter", "POST create user"] {
            let rows = stdout.lines().filter(|l| l.trim_start().starts_with(&format!("{size} {workload}"))).count();
            assert_eq!(rows, 2, "memory target, {size} users, {workload}:\n{stdout}");
        }
    }

    assert!(stdout.contains("gateway RSS: idle"), "{stdout}");
    assert!(stdout.contains("process start to /readyz 200: median"), "{stdout}");
    assert!(stdout.contains("50 idle connections open"), "{stdout}");
    // Bulk: the listing and the member PATCH, each against its native calls replayed.
    for work in ["list 500 users", "PATCH add 200 members"] {
        let row = stdout.lines().find(|l| l.starts_with(work)).unwrap_or_else(|| panic!("no {work} row:\n{stdout}"));
        assert!(ratio(row) > 0.0, "{row}");
    }
    assert!(stdout.contains("gateway RSS: ") && stdout.contains(" peak, growth "), "{stdout}");
    // Smoke mode stays short by its settings, not by a clock: every side-by-side table says so.
    let titles: Vec<&str> = stdout.lines().filter(|l| l.starts_with("== ") && l.contains(" s per run")).collect();
    assert!(titles.len() >= 5, "{stdout}");
    assert!(titles.iter().all(|t| t.contains("0.2 s per run, median of 1")), "{titles:#?}");
}
