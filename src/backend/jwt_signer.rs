//! The gateway's own signing keys.
//!
//! Tokens the gateway issues (to applications that accept `gateway_jwt` credentials, and at its
//! own OAuth2 token endpoint) are signed with the first key; all keys are published in the JWKS,
//! so a key can be rotated by prepending the new one and dropping the old one once tokens signed
//! with it have expired.

use std::fmt;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// Signs JWTs with the gateway's current key and publishes the public keys.
pub struct JwtSigner {
    /// The signing key; the others are only published.
    current: SigningKey,
    /// Key ids with their algorithms, current first, for `Debug`.
    kids: Vec<(String, Algorithm)>,
    jwks: JwkSet,
}

struct SigningKey {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
}

/// Why keys could not be loaded or a token not signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtSignerError {
    #[error("no signing keys given")]
    NoKeys,
    #[error("key id `{kid}` is used twice")]
    DuplicateKid { kid: String },
    #[error("a key id must be non-empty printable ASCII, got {kid:?}")]
    InvalidKid { kid: String },
    #[error(
        "key `{kid}` is not a usable private key: expected a PEM P-256 EC key (ES256) or an RSA key of at least 2048 bits (RS256) ({reason})"
    )]
    UnsupportedKey { kid: String, reason: String },
    #[error("cannot sign the token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

impl JwtSigner {
    /// Loads PEM private keys, each with its key id; the first signs. Each key must be a P-256
    /// EC key (signing with ES256) or an RSA key (RS256), PKCS#8 or PKCS#1.
    pub fn from_pem_keys<'a>(keys: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<Self, JwtSignerError> {
        install_crypto_provider();
        let mut current: Option<SigningKey> = None;
        let mut kids: Vec<(String, Algorithm)> = Vec::new();
        let mut jwks = JwkSet::default();
        for (kid, pem) in keys {
            if kid.is_empty() || !kid.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(JwtSignerError::InvalidKid { kid: kid.to_owned() });
            }
            if kids.iter().any(|(k, _)| k == kid) {
                return Err(JwtSignerError::DuplicateKid { kid: kid.to_owned() });
            }
            let unsupported = |e: jsonwebtoken::errors::Error| JwtSignerError::UnsupportedKey {
                kid: kid.to_owned(),
                reason: e.to_string(),
            };
            let (key, alg) = match EncodingKey::from_ec_pem(pem) {
                Ok(k) => (k, Algorithm::ES256),
                Err(_) => (EncodingKey::from_rsa_pem(pem).map_err(unsupported)?, Algorithm::RS256),
            };
            let mut jwk = Jwk::from_encoding_key(&key, alg).map_err(unsupported)?;
            jwk.common.key_id = Some(kid.to_owned());
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            let key = SigningKey { kid: kid.to_owned(), alg, key };
            // A key of the wrong curve or size parses but cannot sign: find out now, not at the
            // first request.
            key.sign(&serde_json::json!({}), None).map_err(|e| match e {
                JwtSignerError::Sign(e) => unsupported(e),
                other => other,
            })?;
            jwks.keys.push(jwk);
            kids.push((key.kid.clone(), alg));
            current.get_or_insert(key);
        }
        let current = current.ok_or(JwtSignerError::NoKeys)?;
        Ok(JwtSigner { current, kids, jwks })
    }

    /// Signs `claims` with the current key; the header carries `typ: JWT`, `alg` and `kid`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, JwtSignerError> {
        self.current.sign(claims, None)
    }

    /// Signs `claims` with the current key under another `typ` (e.g. `at+jwt` for access tokens,
    /// RFC 9068), so that a verifier can tell token kinds signed with the same key apart.
    pub fn sign_with_type<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, JwtSignerError> {
        self.current.sign(claims, Some(typ))
    }

    /// The algorithms of all keys, current first.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs: Vec<Algorithm> = Vec::new();
        for (_, alg) in &self.kids {
            if !algs.contains(alg) {
                algs.push(*alg);
            }
        }
        algs
    }

    /// The algorithm of the current key.
    pub fn algorithm(&self) -> Algorithm {
        self.current.alg
    }

    /// The key id of the current key.
    pub fn kid(&self) -> &str {
        &self.current.kid
    }

    /// All public keys, as served at `/.well-known/jwks.json`.
    pub fn jwk_set(&self) -> &JwkSet {
        &self.jwks
    }

    /// All public keys as a JSON document (`{"keys": [...]}`).
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::to_value(&self.jwks).unwrap_or_else(|_| serde_json::json!({ "keys": [] }))
    }
}

impl SigningKey {
    fn sign<T: Serialize>(&self, claims: &T, typ: Option<&str>) -> Result<String, JwtSignerError> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        if let Some(typ) = typ {
            header.typ = Some(typ.to_owned());
        }
        jsonwebtoken::encode(&header, claims, &self.key).map_err(JwtSignerError::Sign)
    }
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSigner").field("keys", &self.kids).finish()
    }
}

/// Makes aws-lc-rs jsonwebtoken's process-wide provider. With exactly one provider feature this
/// is also the default; installing it explicitly keeps signing working should another crate in
/// the build enable the second one (jsonwebtoken would otherwise panic at the first signature).
fn install_crypto_provider() {
    // An error only means a provider is installed already.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_ec() -> String {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap().serialize_pem()
    }

    fn pem_rsa() -> String {
        rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).unwrap().serialize_pem()
    }

    #[test]
    fn signs_with_the_first_key_and_publishes_all() {
        let (rsa, ec) = (pem_rsa(), pem_ec());
        let signer = JwtSigner::from_pem_keys([("new", rsa.as_bytes()), ("old", ec.as_bytes())]).unwrap();
        assert_eq!((signer.kid(), signer.algorithm()), ("new", Algorithm::RS256));
        assert_eq!(signer.algorithms(), [Algorithm::RS256, Algorithm::ES256]);
        let kids: Vec<_> = signer.jwk_set().keys.iter().filter_map(|k| k.common.key_id.as_deref()).collect();
        assert_eq!(kids, ["new", "old"]);

        let token = signer.sign_with_type(&serde_json::json!({"sub": "x"}), "at+jwt").unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.kid.as_deref(), header.typ.as_deref()), (Some("new"), Some("at+jwt")));
        let plain = jsonwebtoken::decode_header(signer.sign(&serde_json::json!({})).unwrap()).unwrap();
        assert_eq!(plain.typ.as_deref(), Some("JWT"));

        let key = jsonwebtoken::DecodingKey::from_jwk(signer.jwk_set().find("new").unwrap()).unwrap();
        let mut v = jsonwebtoken::Validation::new(Algorithm::RS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).unwrap().claims;
        assert_eq!(claims["sub"], "x");
    }

    #[test]
    fn refuses_bad_key_sets() {
        let ec = pem_ec();
        assert!(matches!(JwtSigner::from_pem_keys([]), Err(JwtSignerError::NoKeys)));
        let twice = JwtSigner::from_pem_keys([("a", ec.as_bytes()), ("a", ec.as_bytes())]);
        assert!(matches!(twice, Err(JwtSignerError::DuplicateKid { .. })));
        assert!(matches!(JwtSigner::from_pem_keys([("a b", ec.as_bytes())]), Err(JwtSignerError::InvalidKid { .. })));
        let junk = JwtSigner::from_pem_keys([("a", b"not a key".as_slice())]);
        assert!(matches!(junk, Err(JwtSignerError::UnsupportedKey { .. })));
    }
}
