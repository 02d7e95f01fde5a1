//! The corpus file format: cases of IdP requests with the answers a conforming SCIM service must give.
//!
//! The format is the one of `idp-corpus.json` (see its `conventions` block). Only what a runner needs is
//! modelled; provenance fields are kept so reports can name where a case comes from. Unknown check
//! operations are rejected at load time, so a corpus using an operation this runner cannot evaluate fails
//! loudly instead of passing vacuously.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::ReplayError;

/// A whole corpus file.
#[derive(Debug, Clone, Deserialize)]
pub struct Corpus {
    /// Corpus name, used as the JUnit suite name.
    #[serde(default)]
    pub name: String,
    /// Format version of the file.
    #[serde(default)]
    pub version: Option<u32>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The cases, run in file order.
    pub cases: Vec<Case>,
}

/// One scenario: steps run in order against a fresh set of variables.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Stable identifier such as `entra-03-user-create-get-query`.
    pub id: String,
    /// The IdP whose behaviour the case models (`entra`, `okta`).
    #[serde(default)]
    pub idp: Option<String>,
    /// Entra's `aadOptscim062020` mode: `Some(true)` flag on, `Some(false)` off, `None` either or n/a.
    #[serde(default, rename = "flag_aadOptscim062020")]
    pub flag_aad_opt_scim_062020: Option<bool>,
    /// One-line description.
    #[serde(default)]
    pub title: String,
    /// `doc`, `trace`, `suite`, `rfc` or `inferred`.
    #[serde(default)]
    pub provenance: Option<String>,
    /// Source keys from the corpus `sources` table.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
    /// The requests, in order.
    pub steps: Vec<Step>,
}

/// One request and what its answer must look like.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// What to send.
    pub request: Request,
    /// What the answer must satisfy.
    pub expect: Expect,
    /// Variable name → RFC 6901 pointer into the response body.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}

/// An HTTP request relative to the SCIM base URL.
#[derive(Debug, Clone, Deserialize)]
pub struct Request {
    /// HTTP method, upper case.
    pub method: String,
    /// Path and query, appended verbatim to the base URL (placeholders substituted).
    pub path: String,
    /// Request headers (placeholders substituted in values).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body, if any.
    #[serde(default, deserialize_with = "deserialize_body")]
    pub body: Body,
    /// Decoded form of `path`, for people only.
    #[serde(default)]
    pub path_readable: Option<String>,
}

/// A request body.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Body {
    /// `null` or absent: send no body.
    #[default]
    None,
    /// A JSON value, serialised before sending.
    Json(Value),
    /// A JSON string in the corpus: its bytes are sent verbatim (used for malformed JSON).
    Raw(String),
}

fn deserialize_body<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Body, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Body::None,
        Some(Value::String(raw)) => Body::Raw(raw),
        Some(json) => Body::Json(json),
    })
}

/// Expectations on one response.
#[derive(Debug, Clone, Deserialize)]
pub struct Expect {
    /// Acceptable status codes.
    pub status: StatusExpectation,
    /// Recursive subset the body must contain.
    #[serde(default)]
    pub body_contains: Option<Value>,
    /// Structures the body must not contain.
    #[serde(default)]
    pub body_not_contains: Option<Value>,
    /// Point checks on the body.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Header name (case-insensitive) → substring its value must contain.
    #[serde(default)]
    pub headers_contain: BTreeMap<String, String>,
    /// Free text explaining the expectation.
    #[serde(default)]
    pub notes: Option<String>,
}

/// `status`: one code or a list of acceptable codes.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum StatusExpectation {
    /// Exactly this code.
    One(u16),
    /// Any of these codes.
    AnyOf(Vec<u16>),
}

impl StatusExpectation {
    /// Whether `status` is acceptable.
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusExpectation::One(code) => *code == status,
            StatusExpectation::AnyOf(codes) => codes.contains(&status),
        }
    }
}

impl std::fmt::Display for StatusExpectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusExpectation::One(code) => write!(f, "{code}"),
            StatusExpectation::AnyOf(codes) => {
                let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
                write!(f, "one of {}", codes.join(", "))
            }
        }
    }
}

/// A point check: an operation on the value at a JSON pointer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Check {
    /// The operation.
    pub op: CheckOp,
    /// RFC 6901 pointer into the response body. `/name.givenName` is a literal key with a dot.
    pub pointer: String,
    /// Operand, for the operations that take one.
    #[serde(default)]
    pub value: Option<Value>,
}

/// Check operations of the corpus format.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckOp {
    /// The pointer resolves to a non-null value.
    Present,
    /// The pointer does not resolve, or resolves to `null` (unassigned, RFC 7643 §2.5).
    Absent,
    /// A JSON number.
    IsNumber,
    /// A JSON boolean.
    IsBoolean,
    /// A number greater than or equal to `value`.
    Gte,
    /// An array of exactly `value` elements.
    LenEq,
    /// An array of at most `value` elements.
    LenLte,
    /// An array whose length equals the number at the pointer in `value`.
    LenEqPointer,
    /// Absent, null, or an empty array, object or string.
    EmptyOrAbsent,
    /// Equal to `value` when both are written as strings (`404` equals `"404"`).
    EqualLoose,
}

impl CheckOp {
    /// The name used in the corpus file.
    pub fn name(self) -> &'static str {
        match self {
            CheckOp::Present => "present",
            CheckOp::Absent => "absent",
            CheckOp::IsNumber => "is_number",
            CheckOp::IsBoolean => "is_boolean",
            CheckOp::Gte => "gte",
            CheckOp::LenEq => "len_eq",
            CheckOp::LenLte => "len_lte",
            CheckOp::LenEqPointer => "len_eq_pointer",
            CheckOp::EmptyOrAbsent => "empty_or_absent",
            CheckOp::EqualLoose => "equal_loose",
        }
    }

    /// Whether the check asserts that something is *not* there. Such checks keep their meaning for
    /// attributes a target does not hold, so they are never skipped.
    pub fn is_negative(self) -> bool {
        matches!(self, CheckOp::Absent | CheckOp::EmptyOrAbsent)
    }
}

impl Corpus {
    /// Parses a corpus from JSON text.
    pub fn from_json(text: &str) -> Result<Self, ReplayError> {
        serde_json::from_str(text).map_err(ReplayError::Corpus)
    }

    /// Reads and parses a corpus file.
    pub fn load(path: &Path) -> Result<Self, ReplayError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ReplayError::Read { path: path.display().to_string(), source })?;
        Self::from_json(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bodies_statuses_and_checks() {
        let corpus = Corpus::from_json(
            r#"{"name": "c", "cases": [{"id": "a", "steps": [
                {"request": {"method": "POST", "path": "/Users", "body": "{oops"},
                 "expect": {"status": [200, 204], "checks": [{"op": "len_eq", "pointer": "/Resources", "value": 1}]}},
                {"request": {"method": "GET", "path": "/Users", "body": null}, "expect": {"status": 200}},
                {"request": {"method": "POST", "path": "/Users", "body": {"a": 1}}, "expect": {"status": 201},
                 "capture": {"user_id": "/id"}}
            ]}]}"#,
        )
        .expect("valid corpus");
        let steps = &corpus.cases[0].steps;
        assert_eq!(steps[0].request.body, Body::Raw("{oops".into()));
        assert_eq!(steps[1].request.body, Body::None);
        assert_eq!(steps[2].request.body, Body::Json(serde_json::json!({"a": 1})));
        assert!(steps[0].expect.status.accepts(204));
        assert!(!steps[0].expect.status.accepts(201));
        assert!(steps[1].expect.status.accepts(200));
        assert_eq!(steps[0].expect.checks[0].op, CheckOp::LenEq);
        assert_eq!(steps[2].capture.get("user_id").map(String::as_str), Some("/id"));
    }

    #[test]
    fn rejects_unknown_check_operations() {
        let err = Corpus::from_json(
            r#"{"cases": [{"id": "a", "steps": [{"request": {"method": "GET", "path": "/"},
                "expect": {"status": 200, "checks": [{"op": "matches_regex", "pointer": "/a"}]}}]}]}"#,
        )
        .expect_err("unknown op");
        assert!(err.to_string().contains("matches_regex"), "{err}");
    }
}
