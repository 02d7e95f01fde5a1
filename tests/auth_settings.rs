//! Authentication settings: the README's example loads, and mistakes stop start-up with a
//! message naming the key at fault.

mod auth_support;

use auth_support::TestKey;
use scimgate::settings::Settings;

fn readme_auth_example() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("## Authentication").expect("an Authentication section")..];
    let start = section.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_owned()
}

fn load(yaml: &str, env: &[(&str, &str)]) -> Result<Settings, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scimgate.yaml");
    std::fs::write(&path, yaml).unwrap();
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    Settings::load_with_env(&path, env).map_err(|e| e.to_string())
}

#[test]
fn the_readme_example_loads_and_oauth_takes_env_overrides() {
    let s = load(&readme_auth_example(), &[("SCIMGATE_OAUTH__TOKEN_LIFETIME_SECS", "600")]).unwrap();
    let auth = &s.routes["hr"].auth;
    assert_eq!(auth.jwt.len(), 1);
    assert_eq!(auth.jwt[0].required_scopes, ["SCIM.Provision"]);
    assert_eq!(auth.entra.as_ref().unwrap().tenant_id, "72f988bf-86f1-41af-91ab-2d7cd011db47");
    let oauth = s.oauth.as_ref().unwrap();
    assert_eq!(oauth.token_lifetime_secs, 600);
    assert_eq!(oauth.clients[0].routes, ["hr"]);
}

/// Starts a gateway from `auth` (the route's `auth:` block) and `oauth`, answering the error.
async fn start_error(auth: &str, oauth: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("gw.pem"), TestKey::ec("gw").pem).unwrap();
    let yaml = format!(
        "listen: 127.0.0.1:0\n{}routes:\n  main:\n    target: {{ kind: memory }}\n    auth:\n{auth}",
        oauth.replace("{dir}", &dir.path().display().to_string())
    );
    let settings = load(&yaml, &[]).map_err(|e| e.to_string());
    let settings = match settings {
        Ok(s) => s,
        Err(e) => return e,
    };
    match scimgate::app::start(&settings).await {
        Ok(running) => {
            running.shutdown().await.unwrap();
            "started".to_owned()
        }
        Err(e) => e.to_string(),
    }
}

const JWT: &str = "      jwt:\n        - issuer: https://idp.test/\n          jwks_url: http://127.0.0.1:9/keys\n          audiences: [a]\n";

#[tokio::test]
async fn mistakes_name_their_key() {
    assert_eq!(start_error(JWT, "").await, "started");
    let cases = [
        (format!("{JWT}          algorithms: [RS256, HS256]\n"), "", "routes.main.auth.jwt[0].algorithms"),
        (format!("{JWT}          algorithms: [none]\n"), "", "routes.main.auth.jwt[0].algorithms"),
        (JWT.replace("audiences: [a]", "audiences: []"), "", "routes.main.auth.jwt[0].audiences"),
        (
            JWT.replace("issuer: https://idp.test/", "issuer_prefix: https://sts.windows.net"),
            "",
            "routes.main.auth.jwt[0].issuer_prefix",
        ),
        (
            JWT.replace("issuer: https://idp.test/", "issuer: https://idp.test/\n          issuer_prefix: https://x/"),
            "",
            "routes.main.auth.jwt[0]",
        ),
        (JWT.replace("http://127.0.0.1:9/keys", "ftp://x/keys"), "", "routes.main.auth.jwt[0].jwks_url"),
        (format!("{JWT}          subjects: []\n"), "", "routes.main.auth.jwt[0].subjects"),
        (format!("{JWT}          cache: {{ min_refetch_interval_secs: 0 }}\n"), "", "routes.main.auth.jwt[0].cache"),
        ("      entra: { tenant_id: \"x/../y\", audience: a }\n".to_owned(), "", "routes.main.auth.entra.tenant_id"),
        (
            JWT.to_owned(),
            "oauth:\n  signing_keys: [{ kid: k, key_file: \"{dir}/gw.pem\" }]\n  clients: [{ client_id: c, secret_sha256: abc, routes: [main] }]\n",
            "oauth.clients[0].secret_sha256",
        ),
        (
            JWT.to_owned(),
            "oauth:\n  signing_keys: [{ kid: k, key_file: \"{dir}/gw.pem\" }]\n  clients: [{ client_id: c, secret_env: SCIMGATE_TEST_UNSET_SECRET, routes: [main] }]\n",
            "oauth.clients[0].secret_env",
        ),
        (
            JWT.to_owned(),
            "oauth:\n  signing_keys: [{ kid: k, key_file: \"{dir}/gw.pem\" }]\n  clients: [{ client_id: c, secret_file: \"{dir}/gw.pem\", routes: [elsewhere] }]\n",
            "oauth.clients[0].routes",
        ),
        (
            JWT.to_owned(),
            "oauth:\n  signing_keys: [{ kid: k, key_file: \"{dir}/gw.pem\" }]\n  clients: [{ client_id: c, secret_file: \"{dir}/gw.pem\", routes: [main], read_only: true, scopes: [scim.write] }]\n",
            "oauth.clients[0].scopes",
        ),
        (
            JWT.to_owned(),
            "oauth:\n  signing_keys: [{ kid: k, key_file: \"{dir}/missing.pem\" }]\n",
            "oauth.signing_keys[0].key_file",
        ),
        (JWT.to_owned(), "oauth:\n  signing_keys: []\n", "oauth.signing_keys"),
    ];
    for (auth, oauth, key) in cases {
        let e = start_error(&auth, oauth).await;
        assert!(e.contains(key), "expected an error naming `{key}`, got: {e}\n{auth}{oauth}");
    }
}
