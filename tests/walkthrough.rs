//! The README's new-user walkthrough, step by step with the real binary: the sample REST app, a
//! mapping for it, `scimgate check`, `scimgate explain`, `scimgate serve` and `scimgate replay`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sample-app");

struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> PathBuf {
    std::env::var_os("SCIMGATE_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("python3"))
}

fn start_app() -> (App, u16) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(python())
        .arg(Path::new(EXAMPLE).join("app.py"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sample app starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("sample app on"), "{line}");
    (App(child), port)
}

fn scimgate(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new(support::binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_walkthrough_works_as_written() {
    let (_app, port) = start_app();
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("mapping.yaml");
    let text = std::fs::read_to_string(Path::new(EXAMPLE).join("mapping.yaml")).unwrap();
    std::fs::write(&mapping, text.replace("127.0.0.1:8099", &format!("127.0.0.1:{port}"))).unwrap();
    let m = mapping.to_str().unwrap();

    let (ok, out) = scimgate(&["check", m, &format!("{EXAMPLE}/scimgate.yaml")], None);
    assert!(ok && out.contains("all ok"), "{out}");

    let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","displayName":"Ada Lovelace","active":true}"#;
    let (ok, out) = scimgate(&["explain", m, "-X", "POST", "--path", "/Users", "--body", "-"], Some(user));
    assert!(ok, "{out}");
    assert!(out.contains(&format!("1. POST http://127.0.0.1:{port}/api/users")), "{out}");
    assert!(out.contains(r#""login": "ada@example.com""#) && out.contains("SCIM answer: 201"), "{out}");

    let settings = format!(
        "listen: 127.0.0.1:0\nroutes:\n  sample:\n    target: {{ kind: mapping, file: {m} }}\n    auth:\n      tokens: [{{ name: idp, value: walkthrough-token }}]\n"
    );
    let gw = support::Gateway::serve(&settings, "sample", "walkthrough-token");
    let (ok, out) = scimgate(&["replay", "--url", &gw.base_url, "--token", &gw.token], None);
    assert!(ok, "{out}\n{}", gw.output());
    let cases = scimgate::replay::Corpus::from_json(scimgate::cli::replay::BUILTIN_CORPUS).unwrap().cases.len();
    assert!(out.contains(&format!("{cases} cases: {cases} pass, 0 fail")), "{out}");
}
