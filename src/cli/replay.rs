//! `scimgate replay`: runs a corpus of IdP cases against any SCIM base URL, as a conformance kit
//! for a mapping before the IdP is pointed at it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::replay::{CaseReport, Corpus, Report, RunOptions, Runner, render_table, to_junit_xml};

/// The built-in corpus: what Entra ID (default mode and `aadOptscim062020`) and Okta send, with the
/// answers they expect.
pub const BUILTIN_CORPUS: &str = include_str!("../../corpus/idp.json");

/// What `scimgate replay` was asked to do.
#[derive(Debug, Clone)]
pub struct ReplayArgs {
    pub url: String,
    pub token: String,
    /// A corpus file in the same format; the built-in corpus otherwise.
    pub corpus: Option<PathBuf>,
    /// Only these case ids (all when empty).
    pub cases: Vec<String>,
    /// Write a JUnit XML report here.
    pub junit: Option<PathBuf>,
    /// Skip expectations on attributes the server does not advertise in /Schemas.
    pub skip_unadvertised: bool,
}

/// Why a replay could not run at all (a failing case is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum ReplayCliError {
    #[error("{0}")]
    Corpus(String),
    #[error("{0}")]
    Runner(String),
    #[error("no case of the corpus is named {0}")]
    UnknownCase(String),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// Runs the replay, printing progress and the table to `out`; returns the report.
pub async fn run(args: &ReplayArgs, out: &mut dyn Write) -> Result<Report, ReplayCliError> {
    let mut corpus = match &args.corpus {
        Some(path) => Corpus::load(path).map_err(|e| ReplayCliError::Corpus(e.to_string()))?,
        None => Corpus::from_json(BUILTIN_CORPUS).map_err(|e| ReplayCliError::Corpus(e.to_string()))?,
    };
    if !args.cases.is_empty() {
        if let Some(missing) = args.cases.iter().find(|id| !corpus.cases.iter().any(|c| &c.id == *id)) {
            return Err(ReplayCliError::UnknownCase(missing.clone()));
        }
        corpus.cases.retain(|c| args.cases.contains(&c.id));
    }
    let mut runner = Runner::new(&args.url, &args.token, RunOptions::default())
        .map_err(|e| ReplayCliError::Runner(e.to_string()))?;
    if args.skip_unadvertised {
        let advertised = runner.fetch_advertised().await.map_err(|e| ReplayCliError::Runner(e.to_string()))?;
        runner.set_advertised(Some(advertised));
    }
    let total = corpus.cases.len();
    let tty = std::io::stdout().is_terminal();
    let mut done = 0usize;
    let report = runner
        .run_all(&corpus, |case: &CaseReport| {
            done += 1;
            let verdict = if case.passed() { "pass" } else { "FAIL" };
            let _ = if tty {
                write!(out, "\r[{done}/{total}] {verdict} {:<60}", case.id)
            } else {
                writeln!(out, "[{done}/{total}] {verdict} {}", case.id)
            };
            let _ = out.flush();
        })
        .await;
    if tty {
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "{}", render_table(&report, 300));
    if let Some(path) = &args.junit {
        std::fs::write(path, to_junit_xml(&report))
            .map_err(|source| ReplayCliError::Write { path: path.display().to_string(), source })?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_corpus_parses_and_covers_entra_and_okta() {
        let corpus = Corpus::from_json(BUILTIN_CORPUS).expect("valid corpus");
        assert!(corpus.cases.iter().any(|c| c.id.starts_with("entra-")));
        assert!(corpus.cases.iter().any(|c| c.id.starts_with("okta-")));
    }
}
