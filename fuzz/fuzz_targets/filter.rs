//! libFuzzer entry point; the checks live in `harness.rs`, shared with the corpus replay test.
#![no_main]

// Each target uses one of the harness functions.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::filter(data));
