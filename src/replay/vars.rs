//! Placeholders (`{{name}}`) and the variables that fill them during one run of one case.
//!
//! Built-in variables are fresh per case run so that cases never collide on unique attributes
//! (`userName`, `displayName`, `externalId`): `{{token}}`, `{{rand}}`, `{{RAND}}`, any `{{guid<suffix>}}`
//! (made on first use), and the Okta Runscope variables. Every other name must have been captured by an
//! earlier step; using it before is an error rather than an empty string, so a case cannot pass by
//! sending a request it did not mean to send.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A placeholder that names no variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("placeholder {{{{{name}}}}} has no value (not built in, and not captured by an earlier step)")]
pub struct UnboundVariable {
    /// The variable name, without braces.
    pub name: String,
}

/// The variables of one case run.
#[derive(Debug, Clone)]
pub struct Variables {
    values: BTreeMap<String, String>,
    /// Captured variables in capture order (cleanup deletes in reverse order).
    captured: Vec<(String, String)>,
    random: fn() -> [u8; 16],
}

fn os_random() -> [u8; 16] {
    uuid::Uuid::new_v4().into_bytes()
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

impl Variables {
    /// Fresh variables for one case run against a server that accepts `token`.
    pub fn fresh(token: &str) -> Self {
        Self::with_random(token, os_random)
    }

    /// Like [`Variables::fresh`] with a chosen randomness source (tests use a fixed one).
    pub fn with_random(token: &str, random: fn() -> [u8; 16]) -> Self {
        let mut vars = Variables { values: BTreeMap::new(), captured: Vec::new(), random };
        let rand = vars.pick(ALNUM, 12);
        let given = format!("Runscope{}", vars.digits(3));
        let family = format!("{}{}{}", vars.pick(LOWER, 1).to_uppercase(), vars.pick(LOWER, 8), vars.digits(3));
        let username = format!("{given}{family}@atko.com");
        for (name, value) in [
            ("token", token.to_owned()),
            ("RAND", rand.to_uppercase()),
            ("rand", rand),
            ("randomGivenName", given),
            ("randomFamilyName", family),
            ("randomUsernameCaps", username.to_uppercase()),
            ("randomEmail", username.clone()),
            ("randomUsername", username),
        ] {
            vars.values.insert(name.to_owned(), value);
        }
        vars
    }

    fn pick(&self, alphabet: &[u8], len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            for byte in (self.random)() {
                if out.len() == len {
                    break;
                }
                // The slight modulo bias does not matter: these values need to be unique, not uniform.
                out.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
            }
        }
        out
    }

    fn digits(&self, len: usize) -> String {
        self.pick(b"0123456789", len)
    }

    /// The value of a variable, if bound.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Binds a value captured from a response.
    pub fn capture(&mut self, name: &str, value: String) {
        self.captured.retain(|(n, _)| n != name);
        self.captured.push((name.to_owned(), value.clone()));
        self.values.insert(name.to_owned(), value);
    }

    /// Captured variables, in capture order.
    pub fn captured(&self) -> &[(String, String)] {
        &self.captured
    }

    fn lookup(&mut self, name: &str) -> Result<String, UnboundVariable> {
        if let Some(value) = self.values.get(name) {
            return Ok(value.clone());
        }
        let is_guid = name.strip_prefix("guid").is_some_and(|suffix| suffix.chars().all(|c| c.is_ascii_alphanumeric()));
        if is_guid {
            let guid = uuid::Builder::from_random_bytes((self.random)()).into_uuid().to_string();
            self.values.insert(name.to_owned(), guid.clone());
            return Ok(guid);
        }
        Err(UnboundVariable { name: name.to_owned() })
    }

    /// Replaces every `{{name}}` in `text`. Text between braces that is not a variable name
    /// (letters, digits, `_`) is left as it is.
    pub fn substitute(&mut self, text: &str) -> Result<String, UnboundVariable> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            if name_len > 0 && after[name_len..].starts_with("}}") {
                out.push_str(&self.lookup(&after[..name_len])?);
                rest = &after[name_len + 2..];
            } else {
                // Not a placeholder: keep one brace and look again from the next one (`{{{x}}`).
                out.push('{');
                rest = &rest[start + 1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Replaces placeholders in every string and object key of a JSON value.
    pub fn substitute_json(&mut self, value: &Value) -> Result<Value, UnboundVariable> {
        Ok(match value {
            Value::String(s) => Value::String(self.substitute(s)?),
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.substitute_json(item)).collect::<Result<_, _>>()?)
            }
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (key, item) in map {
                    out.insert(self.substitute(key)?, self.substitute_json(item)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
