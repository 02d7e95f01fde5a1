//! The search index behind the scroll endpoints' `query`: which fields each entity type indexes, and how a
//! query-string query matches them.
//!
//! The indexed fields follow the `@Searchable` annotations of DataHub's aspect models:
//! - corpuser: `urn`, `ldap` (`corpUserKey.username`), `displayName`, `fullName` (word-gram text), `email`,
//!   `title` (keywords), `managerLdap` (`corpUserInfo.managerUrn`), `customProperties` and `teams`
//!   (`corpUserEditableInfo.teams` and `skills`). `firstName` and `lastName` are not searchable.
//! - corpGroup: `urn`, `name` (`corpGroupKey.name`), `displayName` and `description` (partial text).
//!
//! A map such as `customProperties` is indexed as one `key=value` keyword per entry (entries whose value has 200
//! characters or more are left out), so `customProperties:"scimUserName=jdoe@example.com"` finds the entity whose
//! custom property `scimUserName` is that value.
//!
//! Matching, as far as identity lookups need it:
//! - keyword fields (and any `<field>.keyword`) match the whole value, ignoring case (DataHub's keyword normalizer
//!   lower-cases); a trailing `*` matches a prefix;
//! - text fields match when the query's words appear in the field's words, in order and adjacent (so
//!   `displayName:Data` matches "Data Stewards" and `displayName:"Data Stewards"` matches only that phrase);
//! - a bare word or phrase matches when any default-queried field contains it;
//! - clauses separated by white space must all match (`AND`, which may also be written out); `*` matches all;
//! - in an unquoted `field:some words` only `some` belongs to the field, `words` is a bare word, as in the
//!   query-string syntax, so values with spaces must be quoted.

use super::model::{Entity, Kind};

/// Values this long or longer are not indexed from maps (`FieldExtractor`'s limit).
const MAX_MAP_VALUE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldType {
    Keyword,
    Text,
}

/// One indexed value.
struct Indexed {
    field: &'static str,
    ty: FieldType,
    by_default: bool,
    value: String,
}

/// The search document of an entity.
fn document(urn: &str, entity: &Entity) -> Vec<Indexed> {
    let mut doc = vec![Indexed { field: "urn", ty: FieldType::Keyword, by_default: false, value: urn.to_owned() }];
    let mut put = |field: &'static str, ty: FieldType, by_default: bool, value: &str| {
        if !value.is_empty() {
            doc.push(Indexed { field, ty, by_default, value: value.to_owned() });
        }
    };
    let text = |aspect: &str, key: &str| -> Vec<String> {
        match entity.aspect(aspect).and_then(|a| a.get(key)) {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(serde_json::Value::as_str).map(str::to_owned).collect()
            }
            _ => Vec::new(),
        }
    };
    match entity.kind {
        Kind::CorpUser => {
            for v in text("corpUserKey", "username") {
                put("ldap", FieldType::Text, true, &v);
            }
            for v in text("corpUserInfo", "displayName") {
                put("displayName", FieldType::Text, true, &v);
            }
            for v in text("corpUserInfo", "fullName") {
                put("fullName", FieldType::Text, true, &v);
            }
            for v in text("corpUserInfo", "email") {
                put("email", FieldType::Keyword, true, &v);
            }
            for v in text("corpUserInfo", "title") {
                put("title", FieldType::Keyword, true, &v);
            }
            for v in text("corpUserInfo", "managerUrn") {
                put("managerLdap", FieldType::Keyword, false, &v);
            }
            for v in text("corpUserEditableInfo", "teams").into_iter().chain(text("corpUserEditableInfo", "skills")) {
                put("teams", FieldType::Text, true, &v);
            }
            let properties = entity.aspect("corpUserInfo").and_then(|a| a.get("customProperties"));
            for (key, value) in properties.and_then(serde_json::Value::as_object).into_iter().flatten() {
                if let Some(value) = value.as_str().filter(|v| v.chars().count() < MAX_MAP_VALUE) {
                    put("customProperties", FieldType::Keyword, true, &format!("{key}={value}"));
                }
            }
        }
        Kind::CorpGroup => {
            for v in text("corpGroupKey", "name") {
                put("name", FieldType::Text, true, &v);
            }
            for v in text("corpGroupInfo", "displayName") {
                put("displayName", FieldType::Text, true, &v);
            }
            for v in text("corpGroupInfo", "description") {
                put("description", FieldType::Text, true, &v);
            }
        }
    }
    doc
}

/// The words of a text value, lower-cased.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// One clause of a query.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    /// `*`.
    All,
    /// `field:value`; `exact` for `field.keyword:value`.
    Field { field: String, exact: bool, value: String },
    /// A bare word or phrase.
    Free(String),
}

/// A parsed `query` parameter: clauses that must all match.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Query(Vec<Clause>);

/// Splits the query at unquoted, unescaped white space, keeping quotes and escapes for the clause parser.
fn split_clauses(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in q.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                current.push(c);
                quoted = !quoted;
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Drops escapes and one pair of surrounding quotes.
fn literal(raw: &str) -> String {
    let raw = raw.strip_prefix('"').map(|r| r.strip_suffix('"').unwrap_or(r)).unwrap_or(raw);
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// The position of the first colon that is neither escaped nor quoted.
fn field_separator(clause: &str) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in clause.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        let mut clauses = Vec::new();
        for clause in split_clauses(raw.trim()) {
            if clause == "AND" || clause == "&&" {
                continue;
            }
            if clause == "*" {
                clauses.push(Clause::All);
                continue;
            }
            let field = field_separator(&clause).map(|at| (&clause[..at], &clause[at + 1..]));
            match field {
                Some((field, value))
                    if !field.is_empty() && field.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.') =>
                {
                    let (field, exact) = match field.strip_suffix(".keyword") {
                        Some(base) => (base, true),
                        None => (field, false),
                    };
                    clauses.push(Clause::Field { field: field.to_owned(), exact, value: literal(value) });
                }
                _ => clauses.push(Clause::Free(literal(&clause))),
            }
        }
        Query(clauses)
    }

    /// Whether the entity's search document satisfies every clause.
    pub fn matches(&self, urn: &str, entity: &Entity) -> bool {
        if self.0.iter().all(|c| *c == Clause::All) {
            return true;
        }
        let doc = document(urn, entity);
        self.0.iter().all(|clause| match clause {
            Clause::All => true,
            Clause::Field { field, exact, value } => doc
                .iter()
                .filter(|i| i.field == field.as_str())
                .any(|i| if *exact { keyword_matches(&i.value, value) } else { value_matches(i, value) }),
            Clause::Free(text) => {
                let text = text.to_lowercase();
                doc.iter().filter(|i| i.by_default).any(|i| i.value.to_lowercase().contains(&text))
            }
        })
    }
}

fn keyword_matches(indexed: &str, wanted: &str) -> bool {
    if wanted == "*" {
        return true;
    }
    let (indexed, wanted) = (indexed.to_lowercase(), wanted.to_lowercase());
    match wanted.strip_suffix('*') {
        Some(prefix) => indexed.starts_with(prefix),
        None => indexed == wanted,
    }
}

fn value_matches(indexed: &Indexed, wanted: &str) -> bool {
    match indexed.ty {
        FieldType::Keyword => keyword_matches(&indexed.value, wanted),
        FieldType::Text => {
            if wanted == "*" {
                return true;
            }
            let (have, want) = (words(&indexed.value), words(wanted));
            !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use serde_json::{Value, json};

    use super::super::model::Stored;
    use super::*;

    fn entity(kind: Kind, aspects: &[(&str, Value)]) -> Entity {
        let aspects: BTreeMap<String, Stored> = aspects
            .iter()
            .map(|(n, v)| ((*n).to_owned(), Stored { value: v.clone(), system_metadata: json!({}) }))
            .collect();
        Entity { kind, aspects, written: Instant::now() }
    }

    #[test]
    fn custom_properties_are_keyword_entries() {
        let user = entity(
            Kind::CorpUser,
            &[
                ("corpUserKey", json!({"username": "jdoe@x.com"})),
                ("corpUserInfo", json!({"active": true, "customProperties": {"scimUserName": "JDoe@X.com"}})),
            ],
        );
        let urn = "urn:li:corpuser:jdoe@x.com";
        assert!(Query::parse("customProperties:scimUserName=jdoe@x.com").matches(urn, &user));
        assert!(Query::parse("customProperties:\"scimUserName=JDoe@X.com\"").matches(urn, &user));
        assert!(!Query::parse("customProperties:scimUserName=jdoe").matches(urn, &user));
        assert!(!Query::parse("customProperties:other=jdoe@x.com").matches(urn, &user));
        let long = "a".repeat(MAX_MAP_VALUE);
        let big = entity(Kind::CorpUser, &[("corpUserInfo", json!({"active": true, "customProperties": {"k": long}}))]);
        assert!(!Query::parse(&format!("customProperties:\"k={long}\"")).matches("urn:li:corpuser:b", &big));
    }

    #[test]
    fn text_fields_match_words_and_phrases_keywords_match_whole_values() {
        let group = entity(
            Kind::CorpGroup,
            &[
                ("corpGroupKey", json!({"name": "stewards"})),
                ("corpGroupInfo", json!({"displayName": "Data Stewards", "admins": [], "members": [], "groups": []})),
            ],
        );
        let urn = "urn:li:corpGroup:stewards";
        assert!(Query::parse("displayName:Data").matches(urn, &group));
        assert!(Query::parse("displayName:\"data stewards\"").matches(urn, &group));
        assert!(!Query::parse("displayName:\"Stewards Data\"").matches(urn, &group));
        assert!(!Query::parse("displayName:Dat").matches(urn, &group));
        assert!(!Query::parse("displayName.keyword:Data").matches(urn, &group));
        assert!(Query::parse("displayName.keyword:\"data stewards\"").matches(urn, &group));
        // Unquoted, the second word is a bare word: it matches here, and would match other groups too.
        assert!(Query::parse("displayName:Data Stewards").matches(urn, &group));
        assert!(!Query::parse("displayName:Data Engineers").matches(urn, &group));
        let user = entity(
            Kind::CorpUser,
            &[(
                "corpUserInfo",
                json!({"active": true, "email": "JDoe@Example.com", "firstName": "Jane", "title": "Data Analyst"}),
            )],
        );
        let urn = "urn:li:corpuser:jdoe";
        assert!(Query::parse("email:\"jdoe@example.com\"").matches(urn, &user));
        assert!(Query::parse("email:jdoe@example.com AND title:\"data analyst\"").matches(urn, &user));
        assert!(!Query::parse("email:jdoe@example").matches(urn, &user));
        assert!(Query::parse("email:jdoe*").matches(urn, &user));
        assert!(!Query::parse("firstName:Jane").matches(urn, &user), "firstName is not searchable");
        assert!(!Query::parse("Email:jdoe@example.com").matches(urn, &user), "field names are case-sensitive");
        assert!(Query::parse("jdoe").matches(urn, &user));
        assert!(Query::parse("*").matches(urn, &user));
        assert!(Query::parse("").matches(urn, &user));
        assert!(Query::parse("urn:\"urn:li:corpuser:jdoe\"").matches(urn, &user));
        assert!(!Query::parse("urn:\"urn:li:corpuser:other\"").matches(urn, &user));
    }
}
