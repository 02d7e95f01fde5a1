//! Filter evaluation over JSON resources, following the schema's `caseExact` and types.
