//! Replays a corpus of IdP requests (the format of `idp-corpus.json`) against a live SCIM service and
//! reports, per case, the first expectation that did not hold.
//!
//! The corpus says what Microsoft Entra ID and Okta send and what a conforming service must answer. This
//! module knows the file format, not its cases: any corpus in that format runs. It backs the replay test
//! suite and the `replay` command.
//!
//! ```no_run
//! # async fn example() -> Result<(), scimgate::replay::ReplayError> {
//! use scimgate::replay::{Corpus, RunOptions, Runner, render_table};
//!
//! let corpus = Corpus::load(std::path::Path::new("idp-corpus.json"))?;
//! let mut runner = Runner::new("http://127.0.0.1:8080/main/scim/v2", "secret", RunOptions::default())?;
//! // Check only what the service advertises in /Schemas.
//! let advertised = runner.fetch_advertised().await?;
//! runner.set_advertised(Some(advertised));
//! let report = runner.run_all(&corpus, |case| eprintln!("{} {}", case.id, case.passed())).await;
//! print!("{}", render_table(&report, 160));
//! # Ok(())
//! # }
//! ```
//!
//! Semantics, in the corpus' own terms:
//! - placeholders and variables: [`vars`]; each case run gets fresh values;
//! - `body_contains` / `body_not_contains`: [`matching`];
//! - `checks`: [`checks`], with pointers per [`pointer`];
//! - skipping what a target does not advertise: [`advertised`];
//! - one step judged against its response: [`verify`].

pub mod advertised;
pub mod checks;
pub mod corpus;
pub mod junit;
pub mod matching;
pub mod pointer;
pub mod report;
pub mod runner;
pub mod table;
pub mod vars;
pub mod verify;

pub use advertised::Advertised;
pub use corpus::{Body, Case, Check, CheckOp, Corpus, Expect, Request, StatusExpectation, Step};
pub use junit::to_junit_xml;
pub use report::{CaseReport, Failure, Report};
pub use runner::{RunOptions, Runner};
pub use table::render_table;

/// Errors that stop a replay before any case runs. Failures *within* a case are [`Failure`]s in its report.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The corpus file cannot be read.
    #[error("cannot read corpus {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// The corpus is not valid JSON in the corpus format.
    #[error("invalid corpus: {0}")]
    Corpus(#[source] serde_json::Error),
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// A discovery endpoint needed to know what the service advertises cannot be read.
    #[error("cannot read {document}: {problem}")]
    Discovery { document: &'static str, problem: String },
}
