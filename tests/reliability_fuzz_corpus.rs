//! Replays the committed fuzz seeds (`fuzz/seeds/<target>/`) and any saved crash reproducers
//! (`fuzz/regressions/<target>/`) through the same checks the libFuzzer targets run, so every
//! `cargo test` covers them without cargo-fuzz or a nightly compiler.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} fails its checks", path.display());
            inputs += 1;
        }
    }
    assert!(inputs >= 5, "{target}: only {inputs} committed inputs");
}

#[test]
fn filter_seeds() {
    replay("filter", harness::filter);
}

#[test]
fn patch_seeds() {
    replay("patch", harness::patch);
}

#[test]
fn mapping_seeds() {
    replay("mapping", harness::mapping);
}

#[test]
fn service_seeds() {
    replay("service", harness::service);
}
