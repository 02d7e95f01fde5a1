//! `/api/v1/search/query`: the Elasticsearch-backed search OpenMetadata clients use to find a user by email.
//!
//! Only what identity lookups need is modelled: `user_search_index` and `team_search_index`, a `*` query, a
//! `field:value` term query (`.keyword` fields match exactly and case-sensitively, plain fields ignore case)
//! and free text. The index lags behind writes by the configured `search_lag`: an entity written more recently
//! than that is not found yet, which is why mappings must read back by id or name, never through search.

use http::StatusCode;
use serde_json::{Value, json};

use super::error::OmError;
use super::model::{Fields, Include, Meta, Store, TEAM_FIELDS, Team, USER_FIELDS, User};
use crate::emulator::wire::{NativeRequest, Reply};

/// A parsed `q` parameter.
enum Query {
    All,
    Term { field: String, exact: bool, value: String },
    Text(String),
}

fn parse(q: &str) -> Query {
    let q = q.trim();
    if q.is_empty() || q == "*" {
        return Query::All;
    }
    let Some((field, value)) = split_field(q) else {
        return Query::Text(unescape(q).to_lowercase());
    };
    let value = unescape(value.trim());
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).map(str::to_owned).unwrap_or(value);
    match field.strip_suffix(".keyword") {
        Some(base) => Query::Term { field: base.to_owned(), exact: true, value },
        None => Query::Term { field: field.to_owned(), exact: false, value },
    }
}

/// Splits `field:value` at the first unescaped colon, when the part before it looks like a field name.
fn split_field(q: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in q.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            ':' if !escaped => {
                let field = &q[..i];
                let is_field = !field.is_empty() && field.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '_');
                return is_field.then(|| (field, &q[i + 1..]));
            }
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

fn matches(query: &Query, doc: &Value) -> bool {
    match query {
        Query::All => true,
        Query::Term { field, exact, value } => match doc.get(field).and_then(Value::as_str) {
            Some(actual) if *exact => actual == value,
            Some(actual) => actual.eq_ignore_ascii_case(value),
            None => false,
        },
        Query::Text(text) => ["name", "displayName", "email", "description"]
            .iter()
            .filter_map(|f| doc.get(*f).and_then(Value::as_str))
            .any(|v| v.to_lowercase().contains(text.as_str())),
    }
}

fn indexed(store: &Store, meta: &Meta) -> bool {
    meta.written.elapsed() >= store.search_lag
}

/// An indexed entity.
#[derive(Clone, Copy)]
enum Hit<'a> {
    User(&'a User),
    Team(&'a Team),
}

impl Hit<'_> {
    /// The few fields queries look at, cheap to build for every candidate.
    fn terms(self) -> Value {
        match self {
            Hit::User(u) => json!({
                "name": u.name, "displayName": u.data.display_name, "email": u.data.email,
                "description": u.data.description, "externalId": u.data.external_id,
                "scimUserName": u.data.scim_user_name,
            }),
            Hit::Team(t) => json!({
                "name": t.name, "displayName": t.data.display_name, "email": t.data.email,
                "description": t.data.description, "externalId": t.data.external_id,
            }),
        }
    }

    fn sort_key(self) -> String {
        match self {
            Hit::User(u) => u.name.to_lowercase(),
            Hit::Team(t) => t.name.clone(),
        }
    }

    fn id(self) -> String {
        match self {
            Hit::User(u) => u.id.to_string(),
            Hit::Team(t) => t.id.to_string(),
        }
    }

    /// The document the index returns as `_source`.
    fn source(self, store: &Store) -> Value {
        match self {
            Hit::User(u) => store.render_user(u, &Fields::parse(Some("teams,roles"), USER_FIELDS).unwrap_or_default()),
            Hit::Team(t) => {
                store.render_team(t, &Fields::parse(Some("parents"), TEAM_FIELDS).unwrap_or_default(), Include::All)
            }
        }
    }
}

/// `GET /v1/search/query?q=&index=&from=&size=&deleted=`.
pub(super) fn query(store: &Store, req: &NativeRequest) -> Result<Reply, OmError> {
    let index = req.param("index").unwrap_or("table_search_index").to_owned();
    let from = req.int("from", 0).map_err(OmError::bad_request)?;
    let size = req.int("size", 10).map_err(OmError::bad_request)?;
    if from < 0 || !(0..=10_000).contains(&size) {
        return Err(OmError::bad_request("from must be >= 0 and size between 0 and 10000"));
    }
    let deleted = req.flag("deleted", false).map_err(OmError::bad_request)?;
    let query = parse(req.param("q").unwrap_or("*"));
    let candidates: Vec<Hit<'_>> = match index.as_str() {
        "user_search_index" | "user" => store
            .users
            .values()
            .filter(|u| u.meta.deleted == deleted && indexed(store, &u.meta))
            .map(Hit::User)
            .collect(),
        "team_search_index" | "team" => store
            .teams
            .values()
            .filter(|t| t.meta.deleted == deleted && indexed(store, &t.meta))
            .map(Hit::Team)
            .collect(),
        _ => Vec::new(),
    };
    let mut hits: Vec<Hit<'_>> = candidates.into_iter().filter(|h| matches(&query, &h.terms())).collect();
    hits.sort_by_cached_key(|h| h.sort_key());
    let total = hits.len();
    let page: Vec<Value> = hits
        .into_iter()
        .skip(usize::try_from(from).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(0))
        .map(|h| json!({"_index": index, "_id": h.id(), "_score": 1.0, "_source": h.source(store)}))
        .collect();
    let body = json!({
        "took": 1,
        "timed_out": false,
        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": 1.0, "hits": page},
    });
    Ok(Reply::json(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_terms_are_exact_and_plain_terms_ignore_case() {
        let doc = json!({"email": "Jane.Doe@example.com", "name": "jane"});
        assert!(matches(&parse("email.keyword:Jane.Doe@example.com"), &doc));
        assert!(!matches(&parse("email.keyword:jane.doe@example.com"), &doc));
        assert!(matches(&parse("email:\"jane.doe@example.com\""), &doc));
        assert!(matches(&parse("email.keyword:Jane.Doe\\@example.com"), &doc));
        assert!(matches(&parse("*"), &doc));
        assert!(matches(&parse("jan"), &doc));
        assert!(!matches(&parse("name.keyword:jan"), &doc));
    }
}
