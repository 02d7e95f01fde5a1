//! `scimgate replay`: runs a corpus of IdP cases against any SCIM base URL, as a conformance kit
//! for a mapping before the IdP is pointed at it.
//!
//! The output is, in order: what runs against what, progress (one line per case on a terminal, a
//! counter otherwise, so CI logs stay short), then the per-case table with the first difference
//! of each failure and the totals. The JUnit XML report is written on request; the caller turns a
//! failed case into a non-zero exit.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::replay::{CaseReport, Corpus, Report, RunOptions, Runner, render_table, to_junit_xml};

/// The built-in corpus: what Entra ID (default mode and `aadOptscim062020`) and Okta send, with the
/// answers they expect.
pub const BUILTIN_CORPUS: &str = include_str!("../../corpus/idp.json");

/// The first difference of a failed case is cut at this many characters in the table.
const MAX_DIFFERENCE_CHARS: usize = 300;

/// Without a terminal, a progress line every this many cases.
const COUNTER_EVERY: usize = 10;

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

/// Progress as cases finish: one line per case for a person watching a terminal; a counter every
/// [`COUNTER_EVERY`] cases (and at the end) for logs, where the table that follows lists them all.
pub struct Progress<'a> {
    out: &'a mut dyn Write,
    per_case: bool,
    total: usize,
    done: usize,
    failed: usize,
}

impl<'a> Progress<'a> {
    pub fn new(out: &'a mut dyn Write, per_case: bool, total: usize) -> Progress<'a> {
        Progress { out, per_case, total, done: 0, failed: 0 }
    }

    /// Reports one finished case. Output errors are ignored: progress is a courtesy, and the
    /// report still reaches the table and the JUnit file.
    pub fn case_done(&mut self, case: &CaseReport) {
        self.done += 1;
        if !case.passed() {
            self.failed += 1;
        }
        let width = self.total.to_string().len();
        let line = if self.per_case {
            let verdict = if case.passed() { "pass" } else { "FAIL" };
            let ms = case.duration.as_millis();
            Some(format!("[{:>width$}/{}] {verdict} {} ({ms} ms)", self.done, self.total, case.id))
        } else if self.done.is_multiple_of(COUNTER_EVERY) || self.done == self.total {
            Some(format!("replayed {}/{} cases, {} failed", self.done, self.total, self.failed))
        } else {
            None
        };
        if let Some(line) = line {
            let _ = writeln!(self.out, "{line}");
            let _ = self.out.flush();
        }
    }
}

fn load_corpus(args: &ReplayArgs) -> Result<Corpus, ReplayCliError> {
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
    Ok(corpus)
}

/// Runs the replay, writing progress and the table to `out`; `per_case` chooses the progress
/// style (see [`Progress`]). Returns the report.
pub async fn run_with(args: &ReplayArgs, out: &mut dyn Write, per_case: bool) -> Result<Report, ReplayCliError> {
    let corpus = load_corpus(args)?;
    let mut runner = Runner::new(&args.url, &args.token, RunOptions::default())
        .map_err(|e| ReplayCliError::Runner(e.to_string()))?;
    let name = if corpus.name.is_empty() { "corpus" } else { corpus.name.as_str() };
    let n = corpus.cases.len();
    let _ = writeln!(out, "Replaying {n} case{} of {name} against {}", if n == 1 { "" } else { "s" }, args.url);
    if args.skip_unadvertised {
        match runner.fetch_advertised().await {
            Ok(advertised) => {
                runner.set_advertised(Some(advertised));
                let _ = writeln!(
                    out,
                    "Expectations on attributes /Schemas does not advertise are skipped (--strict checks all)."
                );
            }
            // A server without /Schemas (Okta never reads it) is still worth replaying against.
            Err(e) => {
                let _ = writeln!(out, "warning: {e}; every expectation is checked.");
            }
        }
    }
    let report = {
        let mut progress = Progress::new(out, per_case, corpus.cases.len());
        runner.run_all(&corpus, |case| progress.case_done(case)).await
    };
    let _ = writeln!(out);
    let _ = write!(out, "{}", render_table(&report, MAX_DIFFERENCE_CHARS));
    if let Some(path) = &args.junit {
        std::fs::write(path, to_junit_xml(&report))
            .map_err(|source| ReplayCliError::Write { path: path.display().to_string(), source })?;
        let _ = writeln!(out, "JUnit report: {}", path.display());
    }
    Ok(report)
}

/// [`run_with`] on standard output, with one progress line per case when it is a terminal.
pub async fn run(args: &ReplayArgs) -> Result<Report, ReplayCliError> {
    let per_case = std::io::stdout().is_terminal();
    run_with(args, &mut std::io::stdout(), per_case).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::replay::Failure;

    #[test]
    fn the_builtin_corpus_parses_and_covers_entra_and_okta() {
        let corpus = Corpus::from_json(BUILTIN_CORPUS).expect("valid corpus");
        assert!(corpus.cases.iter().any(|c| c.id.starts_with("entra-")));
        assert!(corpus.cases.iter().any(|c| c.id.starts_with("okta-")));
    }

    fn case(id: &str, passed: bool) -> CaseReport {
        let failure = (!passed).then(|| Failure {
            step: 0,
            request: "GET /Users".into(),
            what: "status".into(),
            expected: "200".into(),
            actual: "401".into(),
            body_excerpt: String::new(),
        });
        CaseReport {
            id: id.into(),
            title: String::new(),
            failure,
            steps_run: 1,
            checks_passed: 0,
            skipped: vec![],
            cleanup_errors: vec![],
            duration: Duration::from_millis(7),
        }
    }

    fn progress(per_case: bool, total: usize, failing: &[usize]) -> String {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, per_case, total);
        for i in 1..=total {
            p.case_done(&case(&format!("c{i}"), !failing.contains(&i)));
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_terminal_gets_one_line_per_case() {
        assert_eq!(
            progress(true, 10, &[3]).lines().collect::<Vec<_>>()[..4],
            ["[ 1/10] pass c1 (7 ms)", "[ 2/10] pass c2 (7 ms)", "[ 3/10] FAIL c3 (7 ms)", "[ 4/10] pass c4 (7 ms)"]
        );
    }

    #[test]
    fn logs_get_a_counter() {
        assert_eq!(
            progress(false, 23, &[3, 15]).lines().collect::<Vec<_>>(),
            ["replayed 10/23 cases, 1 failed", "replayed 20/23 cases, 2 failed", "replayed 23/23 cases, 2 failed"]
        );
        assert_eq!(progress(false, 1, &[]), "replayed 1/1 cases, 0 failed\n");
    }
}
