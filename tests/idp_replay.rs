//! Replays every case of the IdP corpus (what Entra ID and Okta send, and what they need back) against the
//! real `scimgate demo` binary over HTTP.
//!
//! The demo's target advertises in `/Schemas` what it holds; expectations on anything else are skipped and
//! listed (see `scimgate::replay::advertised`). Every case must pass.

mod support;

use std::path::Path;

use scimgate::replay::{Corpus, RunOptions, Runner, render_table};
use support::Gateway;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/idp-corpus.json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_case_passes_against_the_demo_gateway() {
    let corpus = Corpus::load(Path::new(CORPUS)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!corpus.cases.is_empty(), "the corpus at {CORPUS} has no cases");

    let mut gateway = Gateway::demo();
    let mut runner =
        Runner::new(&gateway.base_url, &gateway.token, RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let advertised = runner.fetch_advertised().await.unwrap_or_else(|e| panic!("{e}\n{}", gateway.output()));
    runner.set_advertised(Some(advertised));

    let report = runner.run_all(&corpus, |_| {}).await;
    let table = render_table(&report, 400);
    println!("{table}");
    for case in &report.cases {
        for skipped in &case.skipped {
            println!("skipped in {}: {skipped}", case.id);
        }
    }
    let cleanup: Vec<String> =
        report.cases.iter().flat_map(|c| c.cleanup_errors.iter().map(move |e| format!("{}: {e}", c.id))).collect();

    assert_eq!(report.cases.len(), corpus.cases.len());
    assert!(gateway.is_running(), "the gateway stopped during the replay\n{}", gateway.output());
    assert_eq!(report.failed(), 0, "{} of {} corpus cases failed:\n{table}", report.failed(), report.cases.len());
    assert!(cleanup.is_empty(), "cleanup deletions failed:\n{}", cleanup.join("\n"));
}
