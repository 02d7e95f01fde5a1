//! The load harness in its smoke mode (a few seconds, no thresholds), so it cannot rot: it starts the
//! emulator and the gateway, runs every workload both ways and prints its table.

use std::process::Command;

#[test]
fn the_load_harness_runs_every_workload_both_ways() {
    let out = Command::new(env!("CARGO_BIN_EXE_scimgate-load")).arg("--smoke").output().expect("the harness runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for workload in
        ["GET user by id", "userName eq filter", "POST create user", "PATCH replace 2 attributes", "PATCH add 1 member"]
    {
        let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with(workload)).collect();
        assert_eq!(rows.len(), 2, "{workload} at two concurrencies:\n{stdout}");
        for row in rows {
            let ratio: f64 = row.rsplit('|').next().unwrap().trim().parse().unwrap_or_else(|_| panic!("{row}"));
            assert!(ratio > 0.0, "{row}");
        }
    }
    assert!(stdout.contains("gateway RSS: idle"), "{stdout}");
}
