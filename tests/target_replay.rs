//! The IdP corpus replayed through the gateway in front of each shipped target, then the native
//! records checked in the application itself (the emulator, or the SCIM service behind the
//! SCIM-to-SCIM mapping).
//!
//! Expectations on attributes a target does not advertise in `/Schemas` are skipped, and only those.

use std::net::SocketAddr;
use std::path::Path;

use scimgate::demo::{Demo, DemoTarget};
use scimgate::replay::{Corpus, Report, RunOptions, Runner, render_table};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/idp-corpus.json");
const TOKEN: &str = "replay-token";

async fn replay(target: DemoTarget) -> (Demo, Report) {
    let corpus = Corpus::load(Path::new(CORPUS)).unwrap_or_else(|e| panic!("{e}"));
    let demo = Demo::start(target, SocketAddr::from(([127, 0, 0, 1], 0)), TOKEN)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", target.name()));
    let mut runner = Runner::new(&demo.base_url(), TOKEN, RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let advertised = runner.fetch_advertised().await.unwrap_or_else(|e| panic!("{e}"));
    runner.set_advertised(Some(advertised));
    let report = runner.run_all(&corpus, |_| {}).await;
    let table = render_table(&report, 400);
    println!("{} — {table}", target.name());
    for case in &report.cases {
        for skipped in &case.skipped {
            println!("skipped in {}: {skipped}", case.id);
        }
    }
    assert_eq!(report.cases.len(), corpus.cases.len());
    assert_eq!(
        report.failed(),
        0,
        "{}: {} of {} corpus cases failed:\n{table}",
        target.name(),
        report.failed(),
        report.cases.len()
    );
    (demo, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_passes_through_openmetadata() {
    let (demo, _) = replay(DemoTarget::Openmetadata).await;
    demo.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_passes_through_collibra() {
    let (demo, _) = replay(DemoTarget::Collibra).await;
    demo.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_passes_through_datahub() {
    let (demo, _) = replay(DemoTarget::Datahub).await;
    demo.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_passes_through_scim_to_scim() {
    let (demo, _) = replay(DemoTarget::Scim).await;
    demo.shutdown().await.unwrap();
}
