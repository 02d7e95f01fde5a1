//! SCIM PATCH (RFC 7644 §3.5.2): operations, paths, and an applier over JSON resources.

use std::collections::BTreeSet;

use serde_json::Value;

use super::filter::{AttrPath, Filter};

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
