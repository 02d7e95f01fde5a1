//! Judging one response against one step's expectations, without any I/O.
//!
//! Expectations are checked in a fixed order (status, headers, `body_contains`, `body_not_contains`,
//! `checks`, then captures) and the first one that does not hold is the step's failure: later ones would
//! mostly restate it.

use std::collections::BTreeMap;

use http::HeaderMap;
use serde_json::Value;

use super::checks;
use super::corpus::Expect;
use super::matching::{self, Difference, truncate};
use super::pointer::{self, Resolved};
use super::report::Failure;

/// Longest body excerpt in a failure.
const BODY_EXCERPT_CHARS: usize = 400;

/// A request as sent and the response as received.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `METHOD path` as sent.
    pub request_line: String,
    /// Response status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body bytes.
    pub body: Vec<u8>,
}

/// What a step that met its expectations yields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verified {
    /// Number of expectations that held.
    pub passed: usize,
    /// Variables captured from the body, in the corpus order.
    pub captured: Vec<(String, String)>,
}

impl Exchange {
    fn body_excerpt(&self) -> String {
        truncate(String::from_utf8_lossy(&self.body).trim(), BODY_EXCERPT_CHARS)
    }

    fn failure(&self, step: usize, what: String, expected: String, actual: String) -> Box<Failure> {
        Box::new(Failure {
            step,
            request: self.request_line.clone(),
            what,
            expected,
            actual,
            body_excerpt: self.body_excerpt(),
        })
    }

    fn difference(&self, step: usize, what: &str, diff: Difference) -> Box<Failure> {
        self.failure(step, format!("{what} {}", diff.path), diff.expected, diff.actual)
    }

    /// The body as JSON: `Ok(None)` for an empty body.
    fn json(&self, step: usize) -> Result<Option<Value>, Box<Failure>> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if let Some(encoding) = self.headers.get(http::header::CONTENT_ENCODING) {
            let encoding = String::from_utf8_lossy(encoding.as_bytes()).to_string();
            if !encoding.eq_ignore_ascii_case("identity") {
                return Err(self.failure(
                    step,
                    "body".into(),
                    "a body this runner can read".into(),
                    format!("Content-Encoding `{encoding}`, which the replay runner does not decode"),
                ));
            }
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|err| self.failure(step, "body".into(), "a JSON body".into(), format!("not JSON ({err})")))
    }
}

/// Judges `exchange` against `expect` (placeholders already substituted), then captures variables.
pub fn verify(
    step: usize,
    expect: &Expect,
    capture: &BTreeMap<String, String>,
    exchange: &Exchange,
) -> Result<Verified, Box<Failure>> {
    let mut passed = 0;
    if !expect.status.accepts(exchange.status) {
        return Err(exchange.failure(step, "status".into(), expect.status.to_string(), exchange.status.to_string()));
    }
    passed += 1;

    for (name, wanted) in &expect.headers_contain {
        let values: Vec<String> = exchange
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        // Media types and most header values compare case-insensitively (RFC 9110 §8.3.1).
        if !values.iter().any(|v| v.to_lowercase().contains(&wanted.to_lowercase())) {
            let actual = if values.is_empty() { "no such header".to_owned() } else { values.join(", ") };
            return Err(exchange.failure(
                step,
                format!("header {name}"),
                format!("a value containing {wanted:?}"),
                actual,
            ));
        }
        passed += 1;
    }

    let needs_body = expect.body_contains.is_some()
        || expect.body_not_contains.is_some()
        || !expect.checks.is_empty()
        || !capture.is_empty();
    if !needs_body {
        return Ok(Verified { passed, captured: Vec::new() });
    }
    let body = exchange.json(step)?;

    if let Some(wanted) = &expect.body_contains {
        let Some(body) = &body else {
            return Err(exchange.failure(step, "body_contains".into(), "a JSON body".into(), "an empty body".into()));
        };
        matching::contains(wanted, body).map_err(|diff| exchange.difference(step, "body_contains", diff))?;
        passed += 1;
    }
    let body = body.unwrap_or(Value::Null);
    if let Some(unwanted) = &expect.body_not_contains {
        matching::not_contains(unwanted, &body).map_err(|diff| exchange.difference(step, "body_not_contains", diff))?;
        passed += 1;
    }
    for check in &expect.checks {
        checks::evaluate(check, &body)
            .map_err(|diff| exchange.difference(step, &format!("check {}", check.op.name()), diff))?;
        passed += 1;
    }

    let mut captured = Vec::with_capacity(capture.len());
    for (name, at) in capture {
        let value = match pointer::resolve(&body, at) {
            Ok(Resolved::Found(Value::String(s))) => Some(s.clone()),
            Ok(Resolved::Found(Value::Null)) | Ok(Resolved::Missing { .. }) | Err(_) => None,
            Ok(Resolved::Found(other)) => Some(other.to_string()),
        };
        let Some(value) = value else {
            return Err(exchange.failure(step, format!("capture {name}"), format!("a value at {at}"), "none".into()));
        };
        captured.push((name.clone(), value));
        passed += 1;
    }
    Ok(Verified { passed, captured })
}

#[cfg(test)]
mod tests;
