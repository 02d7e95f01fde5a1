//! Credentials in backend settings.
//!
//! A credential may be written inline, or named as an environment variable or a file (a mounted
//! Kubernetes secret) and read when the backend is built, so that mapping files and settings can
//! be committed without the credential itself. Neither form ever shows up in `Debug` output.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use schemars::{JsonSchema, SchemaGenerator, json_schema};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Upper bound on a secret file, so a wrong path (a log, a device) cannot exhaust memory.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// A credential: a plain string, `{env: NAME}` or `{file: PATH}`.
///
/// Serialising writes back the form it was given (the inline value only when it was inline),
/// which lets settings layers be merged before the backend is built.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Secret {
    /// The credential itself.
    Value(String),
    /// The name of an environment variable holding the credential.
    Env {
        /// Variable name.
        env: String,
    },
    /// A file holding the credential; one trailing line break is ignored.
    File {
        /// Path of the file.
        file: PathBuf,
    },
}

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    #[error("environment variable `{name}` is not set or not valid UTF-8")]
    EnvMissing { name: String },
    #[error("cannot read secret file `{}`: {source}", path.display())]
    File { path: PathBuf, source: std::io::Error },
    #[error("secret file `{}` is larger than {MAX_SECRET_FILE_BYTES} bytes", path.display())]
    FileTooLarge { path: PathBuf },
    #[error("secret file `{}` is not valid UTF-8", path.display())]
    FileNotUtf8 { path: PathBuf },
    #[error("the secret is empty")]
    Empty,
}

/// A resolved credential. Only the backend sees it; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretValue(String);

impl SecretValue {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl Secret {
    /// Reads the credential. `env` looks up environment variables (injected so tests need not
    /// touch the process environment).
    pub(crate) fn resolve_with(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<SecretValue, SecretError> {
        let value = match self {
            Secret::Value(v) => v.clone(),
            Secret::Env { env: name } => env(name).ok_or_else(|| SecretError::EnvMissing { name: name.clone() })?,
            Secret::File { file } => read_secret_file(file)?,
        };
        if value.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(SecretValue(value))
    }

    /// Reads the credential from the process environment or the file system.
    pub(crate) fn resolve(&self) -> Result<SecretValue, SecretError> {
        self.resolve_with(&|name| std::env::var(name).ok())
    }
}

fn read_secret_file(path: &Path) -> Result<String, SecretError> {
    let file = std::fs::File::open(path).map_err(|source| SecretError::File { path: path.to_owned(), source })?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| SecretError::File { path: path.to_owned(), source })?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(SecretError::FileTooLarge { path: path.to_owned() });
    }
    let mut text = String::from_utf8(bytes).map_err(|_| SecretError::FileNotUtf8 { path: path.to_owned() })?;
    // Files written by editors and `kubectl create secret --from-file` often end with a newline
    // that is not part of the credential.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Value(_) => f.write_str("Secret(<redacted>)"),
            Secret::Env { env } => f.debug_struct("Secret").field("env", env).finish(),
            Secret::File { file } => f.debug_struct("Secret").field("file", file).finish(),
        }
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::Value(value.to_owned())
    }
}

/// Hand-written so that a wrong shape gets one clear message instead of serde's
/// "did not match any variant".
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret: a string, `{env: NAME}` or `{file: PATH}`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret::Value(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret::Value(v))
    }

    // YAML reads `password: 12345` as a number; it is still meant as the credential's text.
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Secret, E> {
        Ok(Secret::Value(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Secret, E> {
        Ok(Secret::Value(v.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let mut found: Option<Secret> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let secret = match key.as_ref() {
                "env" => Secret::Env { env: map.next_value()? },
                "file" => Secret::File { file: map.next_value()? },
                other => return Err(de::Error::unknown_field(other, &["env", "file"])),
            };
            if found.is_some() {
                return Err(de::Error::custom("a secret takes exactly one of `env` or `file`"));
            }
            found = Some(secret);
        }
        found.ok_or_else(|| de::Error::custom("a secret needs `env` or `file`"))
    }
}

impl JsonSchema for Secret {
    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> schemars::Schema {
        json_schema!({
            "description": "A credential: the value itself, `{env: NAME}` to read an environment variable, or `{file: PATH}` to read a file (one trailing line break is ignored). Read when the gateway starts.",
            "oneOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": { "env": { "type": "string", "description": "Environment variable name." } },
                    "required": ["env"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": { "file": { "type": "string", "description": "Path of the file." } },
                    "required": ["file"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Secret, String> {
        serde_json::from_str::<Secret>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_the_three_forms() {
        assert_eq!(parse(r#""s3cret""#).unwrap(), Secret::Value("s3cret".into()));
        assert_eq!(parse(r#"{"env":"TOKEN"}"#).unwrap(), Secret::Env { env: "TOKEN".into() });
        assert_eq!(parse(r#"{"file":"/run/s"}"#).unwrap(), Secret::File { file: "/run/s".into() });
        assert_eq!(parse("12345").unwrap(), Secret::Value("12345".into()));
    }

    #[test]
    fn rejects_other_shapes_with_a_clear_message() {
        assert!(parse(r#"{"env":"A","file":"b"}"#).unwrap_err().contains("exactly one"));
        assert!(parse(r#"{"vault":"x"}"#).unwrap_err().contains("unknown field `vault`"));
        assert!(parse("{}").unwrap_err().contains("needs `env` or `file`"));
        assert!(parse("true").unwrap_err().contains("a secret"));
    }

    #[test]
    fn debug_never_shows_an_inline_value() {
        let s = Secret::Value("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
        let v = s.resolve().unwrap();
        assert!(!format!("{v:?}").contains("hunter2"));
        assert_eq!(format!("{:?}", Secret::Env { env: "TOK".into() }), r#"Secret { env: "TOK" }"#);
    }

    #[test]
    fn resolves_env_and_files() {
        let env = |k: &str| (k == "TOK").then(|| "from-env".to_owned());
        let s = Secret::Env { env: "TOK".into() };
        assert_eq!(s.resolve_with(&env).unwrap().expose(), "from-env");
        let missing = Secret::Env { env: "NOPE".into() };
        assert!(matches!(missing.resolve_with(&env), Err(SecretError::EnvMissing { .. })));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "line-secret\r\n").unwrap();
        let s = Secret::File { file: path.clone() };
        assert_eq!(s.resolve().unwrap().expose(), "line-secret");
        std::fs::write(&path, "").unwrap();
        assert!(matches!(s.resolve(), Err(SecretError::Empty)));
        std::fs::write(&path, vec![b'a'; 70_000]).unwrap();
        assert!(matches!(s.resolve(), Err(SecretError::FileTooLarge { .. })));
    }

    #[test]
    fn serialises_back_to_the_given_form() {
        for text in [r#""v""#, r#"{"env":"E"}"#, r#"{"file":"/f"}"#] {
            let s: Secret = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&s).unwrap(), text);
        }
    }
}
