//! Static bearer tokens, held only as SHA-256 digests and compared in constant time.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Principal;
use crate::settings::StaticTokenSettings;

#[derive(Clone)]
struct Entry {
    digest: [u8; 32],
    principal: Principal,
}

/// The static tokens of one route.
#[derive(Clone, Default)]
pub struct StaticTokens {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|e| &*e.principal.name).collect();
        f.debug_struct("StaticTokens").field("clients", &names).finish()
    }
}

/// A token setting that cannot be resolved; names the client, never the secret.
#[derive(Debug, thiserror::Error)]
pub enum StaticTokenError {
    #[error("token `{name}`: environment variable `{var}` is not set")]
    MissingEnv { name: String, var: String },
    #[error("token `{name}`: cannot read {path}: {source}")]
    File { name: String, path: String, source: std::io::Error },
    #[error("token `{name}`: the token is empty")]
    Empty { name: String },
    #[error("token `{name}`: sha256 must be 64 hex digits")]
    BadDigest { name: String },
}

/// SHA-256 of a presented token: what static tokens are compared by and verified JWTs are
/// remembered by.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub(crate) fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl StaticTokens {
    /// Resolves settings (reading environment variables and files) into digests.
    pub fn from_settings(
        settings: &[StaticTokenSettings],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, StaticTokenError> {
        let mut entries = Vec::with_capacity(settings.len());
        for s in settings {
            let name = s.name.clone();
            let digest = if let Some(hex) = &s.sha256 {
                parse_hex_digest(hex).ok_or(StaticTokenError::BadDigest { name: name.clone() })?
            } else {
                let secret = if let Some(v) = &s.value {
                    v.clone()
                } else if let Some(var) = &s.value_env {
                    env(var).ok_or_else(|| StaticTokenError::MissingEnv { name: name.clone(), var: var.clone() })?
                } else if let Some(path) = &s.value_file {
                    std::fs::read_to_string(path).map_err(|source| StaticTokenError::File {
                        name: name.clone(),
                        path: path.display().to_string(),
                        source,
                    })?
                } else {
                    String::new()
                };
                let secret = secret.trim();
                if secret.is_empty() {
                    return Err(StaticTokenError::Empty { name });
                }
                digest(secret)
            };
            entries.push(Entry { digest, principal: Principal { name: Arc::from(name), read_only: s.read_only } });
        }
        Ok(StaticTokens { entries })
    }

    /// One token, for the demo and tests.
    pub fn single(name: &str, token: &str) -> Self {
        StaticTokens {
            entries: vec![Entry {
                digest: digest(token),
                principal: Principal { name: Arc::from(name), read_only: false },
            }],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Finds the client whose token this is. Every entry is compared, in constant time, so timing
    /// reveals neither which entry matched nor how much of a digest did.
    pub fn verify(&self, token: &str) -> Option<Principal> {
        self.verify_digest(&digest(token))
    }

    /// [`StaticTokens::verify`] with the token's digest already computed.
    pub(crate) fn verify_digest(&self, d: &[u8; 32]) -> Option<Principal> {
        let mut found = None;
        for e in &self.entries {
            if bool::from(e.digest.ct_eq(d)) && found.is_none() {
                found = Some(e.principal.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(name: &str) -> StaticTokenSettings {
        StaticTokenSettings {
            name: name.into(),
            value: None,
            value_env: None,
            value_file: None,
            sha256: None,
            read_only: false,
        }
    }

    #[test]
    fn verifies_tokens_from_every_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "from-file\n").unwrap();
        let hex: String = digest("from-digest").iter().map(|b| format!("{b:02x}")).collect();
        let settings = vec![
            StaticTokenSettings { value: Some("inline".into()), ..setting("a") },
            StaticTokenSettings { value_env: Some("TOK".into()), read_only: true, ..setting("b") },
            StaticTokenSettings { value_file: Some(file), ..setting("c") },
            StaticTokenSettings { sha256: Some(hex), ..setting("d") },
        ];
        let env = |k: &str| (k == "TOK").then(|| "from-env".to_string());
        let t = StaticTokens::from_settings(&settings, &env).unwrap();
        assert_eq!(&*t.verify("inline").unwrap().name, "a");
        let b = t.verify("from-env").unwrap();
        assert!(b.read_only);
        assert_eq!(&*t.verify("from-file").unwrap().name, "c");
        assert_eq!(&*t.verify("from-digest").unwrap().name, "d");
        assert!(t.verify("inlinf").is_none(), "one byte off");
        assert!(t.verify("").is_none());
        assert!(!format!("{t:?}").contains("inline"), "Debug must not show secrets");
    }

    #[test]
    fn unresolvable_settings_are_errors_without_secrets() {
        let s = vec![StaticTokenSettings { value_env: Some("NOPE".into()), ..setting("x") }];
        let e = StaticTokens::from_settings(&s, &|_| None).unwrap_err().to_string();
        assert!(e.contains("NOPE"));
        let s = vec![StaticTokenSettings { sha256: Some("abc".into()), ..setting("x") }];
        assert!(StaticTokens::from_settings(&s, &|_| None).is_err());
        let s = vec![StaticTokenSettings { value: Some("  ".into()), ..setting("x") }];
        assert!(StaticTokens::from_settings(&s, &|_| None).is_err());
    }
}
