//! Results of a replay: per case, the first difference found, and totals.

use std::time::Duration;

/// Why a case failed: the first expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Index of the failing step (0-based).
    pub step: usize,
    /// The request line as sent, e.g. `GET /Users?filter=…` (empty if the request could not be built).
    pub request: String,
    /// Which expectation failed: `status`, `header Content-Type`, `body_contains /emails`, `check present /id`,
    /// `capture user_id`, `request` (transport errors), `placeholder`…
    pub what: String,
    /// What the corpus expected.
    pub expected: String,
    /// What the server did.
    pub actual: String,
    /// The start of the response body, when there was one.
    pub body_excerpt: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {}", self.step)?;
        if !self.request.is_empty() {
            write!(f, " `{}`", self.request)?;
        }
        write!(f, ": {}: expected {}, got {}", self.what, self.expected, self.actual)?;
        if !self.body_excerpt.is_empty() {
            write!(f, "; body: {}", self.body_excerpt)?;
        }
        Ok(())
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseReport {
    /// Case id from the corpus.
    pub id: String,
    /// Case title from the corpus.
    pub title: String,
    /// `None` when every step met its expectations.
    pub failure: Option<Failure>,
    /// Steps sent (a failing step counts; steps after it are not sent).
    pub steps_run: usize,
    /// Expectations that held (status, each header, each body match, each check, each capture).
    pub checks_passed: usize,
    /// Expectations dropped because they concern attributes the server does not advertise.
    pub skipped: Vec<String>,
    /// Cleanup deletions that failed (they do not fail the case, but leave data behind).
    pub cleanup_errors: Vec<String>,
    /// Wall time of the case, cleanup included.
    pub duration: Duration,
}

impl CaseReport {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The results of a run over a corpus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Corpus name.
    pub name: String,
    /// One entry per case, in corpus order.
    pub cases: Vec<CaseReport>,
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// Expectations skipped over all cases.
    pub fn skipped_checks(&self) -> usize {
        self.cases.iter().map(|c| c.skipped.len()).sum()
    }

    /// Wall time over all cases.
    pub fn duration(&self) -> Duration {
        self.cases.iter().map(|c| c.duration).sum()
    }

    /// The failed cases.
    pub fn failures(&self) -> impl Iterator<Item = (&CaseReport, &Failure)> {
        self.cases.iter().filter_map(|c| c.failure.as_ref().map(|f| (c, f)))
    }
}
