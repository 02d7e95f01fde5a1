//! The SCIM-to-SCIM mapping in front of a real SCIM server nobody here wrote: PyPI `scim2-server`,
//! started by the test from the virtualenv `scripts/test` prepares (`SCIMGATE_TEST_PYTHON`).
//!
//! The IdP corpus is replayed twice: straight at the server, where Entra's and Okta's quirks make
//! cases fail, and through the gateway, which turns them into plain RFC 7644 first.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scimgate::replay::{Corpus, Report, RunOptions, Runner, render_table};
use scimgate::settings::{AuthSettings, RouteSettings, Settings, StaticTokenSettings, TargetSettings};
use serde_json::json;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/idp-corpus.json");
const SERVER_TOKEN: &str = "scim2-server-token";
const GATEWAY_TOKEN: &str = "gateway-token";

/// The `scim2-server` child; killed on drop.
struct Server {
    child: Child,
    base_url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_binary() -> PathBuf {
    let python = std::env::var_os("SCIMGATE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("SCIMGATE_TEST_PYTHON is not set: run the suite with `scripts/test`"));
    let bin = python.parent().expect("the virtualenv's bin directory").join("scim2-server");
    assert!(bin.is_file(), "{} is missing: tests/python/requirements.txt installs scim2-server", bin.display());
    bin
}

async fn start_server() -> Server {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let child = Command::new(server_binary())
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--bearer-token", SERVER_TOKEN])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("scim2-server starts");
    let server = Server { child, base_url: format!("http://127.0.0.1:{port}/v2") };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = http
            .get(format!("{}/ServiceProviderConfig", server.base_url))
            .bearer_auth(SERVER_TOKEN)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return server;
        }
        assert!(Instant::now() < deadline, "scim2-server did not answer within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn replay(base_url: &str, token: &str) -> Report {
    let corpus = Corpus::load(Path::new(CORPUS)).unwrap_or_else(|e| panic!("{e}"));
    let mut runner = Runner::new(base_url, token, RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let advertised = runner.fetch_advertised().await.unwrap_or_else(|e| panic!("{e}"));
    runner.set_advertised(Some(advertised));
    runner.run_all(&corpus, |_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_and_okta_reach_scim2_server_through_the_gateway() {
    let server = start_server().await;

    let direct = replay(&server.base_url, SERVER_TOKEN).await;
    println!("straight at scim2-server — {}", render_table(&direct, 200));
    assert!(direct.failed() > 0, "scim2-server alone was expected to trip over some IdP quirks");

    let settings = Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        routes: [(
            "app".to_owned(),
            RouteSettings {
                target: TargetSettings::Mapping {
                    file: PathBuf::from("builtin:scim"),
                    backend: Some(json!({
                        "base_url": server.base_url,
                        "auth": {"type": "bearer", "token": SERVER_TOKEN},
                    })),
                },
                auth: AuthSettings {
                    tokens: vec![StaticTokenSettings {
                        name: "idp".into(),
                        value: Some(GATEWAY_TOKEN.into()),
                        value_env: None,
                        value_file: None,
                        sha256: None,
                        read_only: false,
                    }],
                    ..Default::default()
                },
            },
        )]
        .into(),
        ..Settings::default()
    };
    let gateway = scimgate::app::start(&settings).await.expect("gateway starts");
    let through = replay(&gateway.scim_base_url("app", false), GATEWAY_TOKEN).await;
    let table = render_table(&through, 400);
    println!("through the gateway — {table}");
    assert_eq!(through.failed(), 0, "cases failed through the gateway:\n{table}");
    assert!(through.passed() > direct.passed());
    gateway.shutdown().await.unwrap();
}
