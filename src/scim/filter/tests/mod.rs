//! Unit tests of the filter parser, printer, validator and evaluator.

mod display;
mod eval;
mod limits;
mod parser;
mod props;
mod validate;

use serde_json::Number;

use super::{AttrPath, CompValue, CompareOp, Filter};

/// `name`, `name.sub` or a URN-qualified path.
fn path(s: &str) -> AttrPath {
    AttrPath::parse_simple(s)
}

fn cmp(p: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path: path(p), op, value }
}

fn eq_str(p: &str, s: &str) -> Filter {
    cmp(p, CompareOp::Eq, CompValue::String(s.to_owned()))
}

fn pr(p: &str) -> Filter {
    Filter::Present(path(p))
}

fn num(n: i64) -> CompValue {
    CompValue::Number(Number::from(n))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

fn vp(attr: &str, f: Filter) -> Filter {
    Filter::ValuePath { attr: path(attr), filter: Box::new(f) }
}
