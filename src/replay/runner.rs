//! Sending a corpus to a live SCIM server over HTTP.

use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;

use super::ReplayError;
use super::advertised::Advertised;
use super::corpus::{Body, Case, Corpus, Expect, Step};
use super::report::{CaseReport, Failure, Report};
use super::vars::{UnboundVariable, Variables};
use super::verify::{Exchange, verify};

/// Characters escaped when a captured id becomes a path segment of a cleanup request.
const SEGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'/').add(b'<').add(b'>').add(b'?');

/// How a [`Runner`] behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Limit for each request, connection included.
    pub timeout: Duration,
    /// Attributes the server advertises; when set, expectations on other attributes are skipped (see
    /// [`Advertised`]). `None` checks everything.
    pub advertised: Option<Advertised>,
    /// Whether to DELETE the resources a case captured as `user_*` / `group_*` once it ends.
    pub cleanup: bool,
    /// Largest response body read; a bigger one fails the step instead of filling memory.
    pub max_body_bytes: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { timeout: Duration::from_secs(10), advertised: None, cleanup: true, max_body_bytes: 4 << 20 }
    }
}

/// Runs corpus cases against one SCIM base URL with one bearer token.
#[derive(Debug, Clone)]
pub struct Runner {
    client: reqwest::Client,
    base_url: String,
    token: String,
    options: RunOptions,
}

impl Runner {
    /// A runner for the SCIM service at `base_url` (e.g. `http://127.0.0.1:8080/main/scim/v2`).
    pub fn new(base_url: &str, token: &str, options: RunOptions) -> Result<Self, ReplayError> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(ReplayError::Client)?;
        Ok(Runner { client, base_url: base_url.trim_end_matches('/').to_owned(), token: token.to_owned(), options })
    }

    /// The options in force.
    pub fn options(&self) -> &RunOptions {
        &self.options
    }

    /// Sets the advertised attributes (typically from [`Runner::fetch_advertised`]).
    pub fn set_advertised(&mut self, advertised: Option<Advertised>) {
        self.options.advertised = advertised;
    }

    /// Reads `/Schemas` (required) and `/ResourceTypes` (used when it answers 200) from the server.
    pub async fn fetch_advertised(&self) -> Result<Advertised, ReplayError> {
        let schemas = self.get_json("/Schemas").await?.ok_or_else(|| ReplayError::Discovery {
            document: "/Schemas",
            problem: "the server does not serve it".into(),
        })?;
        let resource_types = self.get_json("/ResourceTypes").await?;
        Advertised::from_discovery(&schemas, resource_types.as_ref())
            .map_err(|err| ReplayError::Discovery { document: "discovery", problem: err.to_string() })
    }

    /// `Ok(None)` when the server answers with a non-2xx status.
    async fn get_json(&self, path: &'static str) -> Result<Option<Value>, ReplayError> {
        let discovery = |problem: String| ReplayError::Discovery { document: path, problem };
        let response = self
            .client
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|err| discovery(error_chain(&err)))?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let bytes = response.bytes().await.map_err(|err| discovery(error_chain(&err)))?;
        serde_json::from_slice(&bytes).map(Some).map_err(|err| discovery(format!("not JSON: {err}")))
    }

    /// Runs every case in order (cases share the server, so they are not run concurrently), calling
    /// `progress` after each.
    pub async fn run_all(&self, corpus: &Corpus, mut progress: impl FnMut(&CaseReport)) -> Report {
        let mut cases = Vec::with_capacity(corpus.cases.len());
        for case in &corpus.cases {
            let report = self.run_case(case).await;
            progress(&report);
            cases.push(report);
        }
        Report { name: corpus.name.clone(), cases }
    }

    /// Runs one case: its steps in order until one fails, then the cleanup.
    pub async fn run_case(&self, case: &Case) -> CaseReport {
        let started = Instant::now();
        let mut vars = Variables::fresh(&self.token);
        let mut report = CaseReport {
            id: case.id.clone(),
            title: case.title.clone(),
            failure: None,
            steps_run: 0,
            checks_passed: 0,
            skipped: Vec::new(),
            cleanup_errors: Vec::new(),
            duration: Duration::ZERO,
        };
        for (index, step) in case.steps.iter().enumerate() {
            report.steps_run += 1;
            if let Err(failure) = self.run_step(index, step, &mut vars, &mut report).await {
                report.failure = Some(*failure);
                break;
            }
        }
        if self.options.cleanup {
            report.cleanup_errors = self.cleanup(&vars).await;
        }
        report.duration = started.elapsed();
        report
    }

    async fn run_step(
        &self,
        index: usize,
        step: &Step,
        vars: &mut Variables,
        report: &mut CaseReport,
    ) -> Result<(), Box<Failure>> {
        let unbound = |request: &str, err: UnboundVariable| {
            Box::new(Failure {
                step: index,
                request: request.to_owned(),
                what: "placeholder".into(),
                expected: "every placeholder bound".into(),
                actual: err.to_string(),
                body_excerpt: String::new(),
            })
        };
        let path = vars.substitute(&step.request.path).map_err(|err| unbound("", err))?;
        let request_line = format!("{} {path}", step.request.method);
        let expect = substitute_expect(&step.expect, vars).map_err(|err| unbound(&request_line, err))?;
        let expect = match self.options.advertised.as_ref().and_then(|a| a.for_path(&path)) {
            Some(attributes) => {
                let (pruned, skipped) = attributes.prune(&expect);
                report.skipped.extend(skipped.into_iter().map(|s| format!("step {index}: {s}")));
                match attributes.unadvertised_in_filter(&path) {
                    Some(attribute) => {
                        let (pruned, skipped) = attributes.prune_for_filter(&pruned, &attribute);
                        report.skipped.extend(skipped.into_iter().map(|s| format!("step {index}: {s}")));
                        pruned
                    }
                    None => pruned,
                }
            }
            None => expect,
        };
        let exchange = self.send(step, &path, &request_line, vars).await.map_err(|(what, actual)| {
            Box::new(Failure {
                step: index,
                request: request_line.clone(),
                what,
                expected: "a response".into(),
                actual,
                body_excerpt: String::new(),
            })
        })?;
        let verified = verify(index, &expect, &step.capture, &exchange)?;
        report.checks_passed += verified.passed;
        for (name, value) in verified.captured {
            vars.capture(&name, value);
        }
        Ok(())
    }

    /// Sends one request; on error, says which part failed and why.
    async fn send(
        &self,
        step: &Step,
        path: &str,
        request_line: &str,
        vars: &mut Variables,
    ) -> Result<Exchange, (String, String)> {
        let method = reqwest::Method::from_bytes(step.request.method.as_bytes())
            .map_err(|_| ("request".to_owned(), format!("invalid method {:?}", step.request.method)))?;
        let mut request = self.client.request(method, format!("{}{path}", self.base_url));
        for (name, value) in &step.request.headers {
            let value = vars.substitute(value).map_err(|err| ("placeholder".to_owned(), err.to_string()))?;
            request = request.header(name.as_str(), value);
        }
        let body = match &step.request.body {
            Body::None => None,
            Body::Json(json) => {
                let json = vars.substitute_json(json).map_err(|err| ("placeholder".to_owned(), err.to_string()))?;
                Some(json.to_string().into_bytes())
            }
            Body::Raw(raw) => {
                Some(vars.substitute(raw).map_err(|err| ("placeholder".to_owned(), err.to_string()))?.into_bytes())
            }
        };
        if let Some(body) = body {
            request = request.body(body);
        }
        let mut response = request.send().await.map_err(|err| ("request".to_owned(), error_chain(&err)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| ("response body".to_owned(), error_chain(&err)))? {
            if body.len() + chunk.len() > self.options.max_body_bytes {
                return Err((
                    "response body".to_owned(),
                    format!("more than {} bytes, the runner's limit", self.options.max_body_bytes),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Exchange { request_line: request_line.to_owned(), status, headers, body })
    }

    /// Deletes what the case captured as `user_*` / `group_*`, most recent first. A 404 is fine (the case
    /// may have deleted it itself).
    async fn cleanup(&self, vars: &Variables) -> Vec<String> {
        let mut errors = Vec::new();
        for (name, id) in vars.captured().iter().rev() {
            let endpoint = if name.starts_with("user_") {
                "Users"
            } else if name.starts_with("group_") {
                "Groups"
            } else {
                continue;
            };
            let url = format!("{}/{endpoint}/{}", self.base_url, utf8_percent_encode(id, SEGMENT));
            match self.client.delete(&url).bearer_auth(&self.token).send().await {
                Ok(response) if response.status().is_success() || response.status().as_u16() == 404 => {}
                Ok(response) => errors.push(format!("DELETE /{endpoint}/{id} ({name}): {}", response.status())),
                Err(err) => errors.push(format!("DELETE /{endpoint}/{id} ({name}): {}", error_chain(&err))),
            }
        }
        errors
    }
}

/// Substitutes placeholders in every expectation that can carry one.
fn substitute_expect(expect: &Expect, vars: &mut Variables) -> Result<Expect, UnboundVariable> {
    let mut out = expect.clone();
    if let Some(body) = &expect.body_contains {
        out.body_contains = Some(vars.substitute_json(body)?);
    }
    if let Some(body) = &expect.body_not_contains {
        out.body_not_contains = Some(vars.substitute_json(body)?);
    }
    for check in &mut out.checks {
        if let Some(value) = &check.value {
            check.value = Some(vars.substitute_json(value)?);
        }
        check.pointer = vars.substitute(&check.pointer)?;
    }
    for value in out.headers_contain.values_mut() {
        *value = vars.substitute(value)?;
    }
    Ok(out)
}

/// An error with its sources, since reqwest's top-level message rarely says what went wrong.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
