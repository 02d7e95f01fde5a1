//! Filter literals typed by the schema: Entra writes boolean literals as strings.

use super::shape::parse_bool;
use crate::scim::filter::{AttrPath, CompValue, Filter};
use crate::scim::schema::{AttrType, AttributeDef, ResourceSchema};

/// Normalises a query filter (`GET /Users?filter=…`): string literals compared with boolean
/// attributes become booleans (`active eq "True"` → `active eq true`).
pub fn normalize_filter(schema: &ResourceSchema, filter: Filter) -> Filter {
    coerce_filter_literals(filter, None, schema)
}

/// Turns `"true"`/`"false"` string literals (any case) compared with boolean attributes into booleans.
///
/// `context` is the attribute whose elements the filter applies to: `None` for a filter over resources
/// (a query), or the multi-valued attribute of a value path (`roles` for the `primary eq "True"` of
/// `roles[primary eq "True"].value`). Paths inside value-path brackets are resolved against that
/// attribute's sub-attributes. Literals compared with anything that is not boolean, and paths the
/// schema does not know, are left unchanged.
pub fn coerce_filter_literals(filter: Filter, context: Option<&AttributeDef>, schema: &ResourceSchema) -> Filter {
    match filter {
        Filter::Compare { path, op, value } => {
            let value = match value {
                CompValue::String(s) if is_boolean(&path, context, schema) => match parse_bool(&s) {
                    Some(b) => CompValue::Bool(b),
                    None => CompValue::String(s),
                },
                other => other,
            };
            Filter::Compare { path, op, value }
        }
        Filter::Present(path) => Filter::Present(path),
        Filter::Not(inner) => Filter::Not(Box::new(coerce_filter_literals(*inner, context, schema))),
        Filter::And(a, b) => Filter::And(
            Box::new(coerce_filter_literals(*a, context, schema)),
            Box::new(coerce_filter_literals(*b, context, schema)),
        ),
        Filter::Or(a, b) => Filter::Or(
            Box::new(coerce_filter_literals(*a, context, schema)),
            Box::new(coerce_filter_literals(*b, context, schema)),
        ),
        Filter::ValuePath { attr, filter } => {
            let inner = resolve(&attr, context, schema);
            Filter::ValuePath { filter: Box::new(coerce_filter_literals(*filter, inner, schema)), attr }
        }
    }
}

fn is_boolean(path: &AttrPath, context: Option<&AttributeDef>, schema: &ResourceSchema) -> bool {
    resolve(path, context, schema).is_some_and(|d| d.ty == AttrType::Boolean)
}

/// The definition `path` names: a sub-attribute of `context` inside a value path, else an attribute
/// (or sub-attribute) of the resource.
fn resolve<'s>(
    path: &AttrPath,
    context: Option<&'s AttributeDef>,
    schema: &'s ResourceSchema,
) -> Option<&'s AttributeDef> {
    match context {
        Some(parent) if path.uri.is_none() && path.sub.is_none() => parent.sub_attribute(&path.name),
        Some(_) => None,
        None => schema.resolve(path).map(|r| r.sub.unwrap_or(r.def)),
    }
}
