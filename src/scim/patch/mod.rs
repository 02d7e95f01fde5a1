//! SCIM PATCH (RFC 7644 §3.5.2): operations, paths, and an applier over JSON resources.
//!
//! A request goes through three steps, each its own module:
//!
//! 1. [`PatchRequest::from_json`] checks the PatchOp message shape (`request`), parsing every
//!    `path` with [`PatchPath::parse`] (`path`);
//! 2. [`apply`] runs the operations in order on a working copy of the resource, so that a failing
//!    operation leaves the caller's resource untouched (RFC 7644 §3.5.2: a PATCH is atomic);
//! 3. the caller persists the new resource when [`PatchOutcome::changed`] is not empty.
//!
//! Input is expected in RFC shape: IdP quirks (string booleans, dotted keys in no-path values,
//! Entra's member removal by value) are rewritten by the dialect layer first. What stays here on
//! purpose is the one Entra behaviour that is about semantics rather than shape: `add`/`replace`
//! on `attr[type eq "X"].sub` creates the `X` element when there is none (see [`apply`]).

mod apply;
mod index;
mod path;
mod request;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde_json::Value;

use super::filter::{AttrPath, Filter};

pub use apply::apply;
pub(crate) use path::attr_path;
pub use request::DEFAULT_MAX_OPERATIONS;

/// `add`, `replace` or `remove` (matched case-insensitively on input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

/// A PATCH path (RFC 7644 §3.5.2 `PATH = attrPath / valuePath [subAttr]`).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// `name`, `name.sub`, `urn:…:name`, `urn:…:name.sub`
    Attr(AttrPath),
    /// `attr[filter]` or `attr[filter].sub`; `attr.sub` is always `None` here.
    Filtered { attr: AttrPath, filter: Filter, sub: Option<String> },
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A whole PatchOp request: operations applied in order, atomically.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatchRequest {
    pub operations: Vec<PatchOperation>,
}

/// What a successful PATCH changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchOutcome {
    /// Top-level attributes whose value differs after the PATCH, by canonical name; extension
    /// attributes are URN-qualified (`urn:…:enterprise:2.0:User:manager`).
    pub changed: BTreeSet<String>,
}

// === impl PatchOpKind ===

impl PatchOpKind {
    /// Parses `add`/`replace`/`remove` in any case: Entra sends `Add`, `Replace`, `Remove`.
    pub fn parse(s: &str) -> Option<Self> {
        [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Replace => "replace",
            PatchOpKind::Remove => "remove",
        }
    }
}

impl std::fmt::Display for PatchOpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
