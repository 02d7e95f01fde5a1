//! What `scimgate explain` prints of a call's headers and URL: everything the application would
//! receive, with every secret masked.
//!
//! The engine renders a call's own headers; the backend client adds its static headers and the
//! credential when it sends. Both are shown here from the backend settings, so that the printed
//! call is the sent one, without resolving a secret (an explain run needs no credential).

use crate::backend::{AuthSettings, BackendSettings};

/// What a masked secret prints as.
pub const MASK: &str = "••••";

/// Header names that carry credentials: their values are never printed.
const SENSITIVE_NAMES: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

/// Parts of header or query parameter names that suggest a credential.
const SENSITIVE_PARTS: [&str; 8] = ["token", "secret", "password", "passwd", "key", "session", "signature", "auth"];

/// Whether a header or query parameter named `name` may carry a secret.
pub fn is_sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE_NAMES.contains(&name.as_str()) || SENSITIVE_PARTS.iter().any(|p| name.contains(p))
}

/// A masked value: an authorization scheme stays visible (`Bearer ••••`), the rest does not.
pub fn mask(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) if ["basic", "bearer", "token"].contains(&scheme.to_ascii_lowercase().as_str()) => {
            format!("{scheme} {MASK}")
        }
        _ => MASK.to_owned(),
    }
}

/// The credential header the backend adds, masked, with where its value comes from.
pub fn credential(auth: &AuthSettings) -> Option<(String, String)> {
    let authorization = "authorization".to_owned();
    match auth {
        AuthSettings::None => None,
        AuthSettings::Bearer { .. } => Some((authorization, format!("Bearer {MASK}"))),
        AuthSettings::Basic { username, .. } => Some((authorization, format!("Basic {MASK} (user `{username}`)"))),
        AuthSettings::Header { name, .. } => Some((name.to_ascii_lowercase(), MASK.to_owned())),
        AuthSettings::Oauth2ClientCredentials { token_url, .. } => {
            Some((authorization, format!("Bearer {MASK} (an access token from {token_url})")))
        }
        AuthSettings::GatewayJwt { audience, .. } => {
            Some((authorization, format!("Bearer {MASK} (a JWT the gateway signs for `{audience}`)")))
        }
    }
}

/// The headers a call is sent with, sorted by name: the backend's static headers, then the
/// call's own (which replace them), then the credential; secrets masked.
pub fn sent(call_headers: &[(String, String)], backend: &BackendSettings) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut set = |name: &str, value: String| {
        let name = name.to_ascii_lowercase();
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value));
    };
    for (name, value) in backend.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())) {
        set(name, if is_sensitive(name) { mask(value) } else { value.to_owned() });
    }
    for (name, value) in call_headers {
        set(name, if is_sensitive(name) { mask(value) } else { value.clone() });
    }
    if let Some((name, value)) = credential(&backend.auth) {
        set(&name, value);
    }
    headers.sort();
    headers
}

/// The URL with the values of query parameters that look like credentials masked.
pub fn masked_url(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_sensitive(k) => format!("{k}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Secret;

    fn backend(auth: AuthSettings, headers: &[(&str, &str)]) -> BackendSettings {
        BackendSettings {
            auth,
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
            ..BackendSettings::default()
        }
    }

    #[test]
    fn static_headers_show_and_credentials_do_not() {
        let b = backend(
            AuthSettings::Header { name: "X-API-Key".into(), value: Secret::Value("k-123".into()) },
            &[("Accept", "application/json"), ("X-Session-Id", "s-1"), ("Cookie", "sid=abc")],
        );
        let call = [("content-type".to_owned(), "application/json".to_owned())];
        let h = sent(&call, &b);
        let text = format!("{h:?}");
        assert!(!text.contains("k-123") && !text.contains("s-1") && !text.contains("abc"), "{text}");
        assert_eq!(
            h,
            [
                ("accept".to_owned(), "application/json".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
                ("cookie".to_owned(), MASK.to_owned()),
                ("x-api-key".to_owned(), MASK.to_owned()),
                ("x-session-id".to_owned(), MASK.to_owned()),
            ]
        );
    }

    #[test]
    fn a_call_header_replaces_a_static_one_and_the_credential_comes_last() {
        let b = backend(AuthSettings::Bearer { token: Secret::Value("t-1".into()) }, &[("Content-Type", "a/b")]);
        let call = [("Content-Type".to_owned(), "application/json-patch+json".to_owned())];
        assert_eq!(
            sent(&call, &b),
            [
                ("authorization".to_owned(), format!("Bearer {MASK}")),
                ("content-type".to_owned(), "application/json-patch+json".to_owned()),
            ]
        );
        // A call cannot print a credential by setting Authorization itself.
        let call = [("Authorization".to_owned(), "Bearer t-2".to_owned())];
        assert_eq!(
            sent(&call, &backend(AuthSettings::None, &[])),
            [("authorization".to_owned(), format!("Bearer {MASK}"))]
        );
    }

    #[test]
    fn every_kind_of_credential_is_masked() {
        let kinds = [
            AuthSettings::Basic { username: "svc".into(), password: Secret::Value("pw-1".into()) },
            AuthSettings::Oauth2ClientCredentials {
                token_url: "https://idp.example/token".into(),
                client_id: "c".into(),
                client_secret: Secret::Value("cs-1".into()),
                scope: None,
                audience: None,
                auth_method: Default::default(),
            },
        ];
        for auth in kinds {
            let (name, value) = credential(&auth).unwrap();
            assert_eq!(name, "authorization");
            assert!(value.contains(MASK) && !value.contains("pw-1") && !value.contains("cs-1"), "{value}");
        }
        assert_eq!(credential(&AuthSettings::None), None);
    }

    #[test]
    fn query_credentials_are_masked() {
        assert_eq!(
            masked_url("https://a.example/u?api_key=k1&name=x&access_token=t"),
            format!("https://a.example/u?api_key={MASK}&name=x&access_token={MASK}")
        );
        assert_eq!(masked_url("https://a.example/u"), "https://a.example/u");
    }
}
