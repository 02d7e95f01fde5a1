//! The README's new-user walkthrough, run as written: the shell commands of that section, in order,
//! in a copy of `examples/sample-app`, with the binary under test for `cargo run --release --` and
//! free ports for the sample app's 8099 and the gateway's 8080. The `explain` output the README
//! shows must be what the binary prints, and the replay must pass every corpus case, as it says.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A background process of the walkthrough; killed on drop.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fenced blocks of the README's walkthrough section: `(language, text)`, indentation removed.
fn walkthrough_blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let start = readme.find("## New user walkthrough").expect("the README has the walkthrough");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |end| end + 3)];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        let Some(lang) = line.trim_start().strip_prefix("```").filter(|l| !l.is_empty()) else { continue };
        let indent = line.len() - line.trim_start().len();
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim_start() != "```").collect();
        let text: Vec<&str> = body.iter().map(|l| l.get(indent..).unwrap_or(l.trim_start())).collect();
        blocks.push((lang.to_owned(), text.join("\n")));
    }
    blocks
}

/// A free port whose digits cannot be mistaken for the README's 8080 or 8099 when those are
/// replaced in turn.
fn free_port() -> String {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
        if !port.contains("8080") && !port.contains("8099") {
            return port;
        }
    }
}

fn python() -> String {
    std::env::var("SCIMGATE_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

struct Walkthrough {
    dir: tempfile::TempDir,
    app_port: String,
    gateway_port: String,
}

impl Walkthrough {
    /// A copy of the sample app's directory with the free ports in its files.
    fn new() -> Walkthrough {
        let app_port = free_port();
        let gateway_port = std::iter::repeat_with(free_port).find(|p| *p != app_port).unwrap_or_default();
        let w = Walkthrough { dir: tempfile::tempdir().unwrap(), app_port, gateway_port };
        let copy = w.dir.path().join("examples/sample-app");
        std::fs::create_dir_all(&copy).unwrap();
        for file in ["app.py", "mapping.yaml", "scimgate.yaml"] {
            let text = std::fs::read_to_string(Path::new(ROOT).join("examples/sample-app").join(file)).unwrap();
            std::fs::write(copy.join(file), w.ports(&text)).unwrap();
        }
        w
    }

    fn ports(&self, text: &str) -> String {
        text.replace("8099", &self.app_port).replace("8080", &self.gateway_port)
    }

    /// The README's command as this test runs it.
    fn command(&self, text: &str) -> String {
        let binary = format!("'{}'", env!("CARGO_BIN_EXE_scimgate"));
        let text = self.ports(text).replace("cargo run --release --", &binary);
        match text.strip_prefix("python3 ") {
            Some(rest) => format!("'{}' {rest}", python()),
            None => text,
        }
    }

    fn sh(&self, command: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command).current_dir(self.dir.path());
        c
    }

    /// Runs a command to its end: success and everything it printed.
    fn run(&self, text: &str) -> (bool, String) {
        let out = self.sh(&self.command(text)).stdin(Stdio::null()).output().unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    /// Starts a long-running command and waits for the stdout line starting with `ready`.
    fn start(&self, text: &str, ready: &str, log: &str) -> Background {
        let log = File::create(self.dir.path().join(log)).unwrap();
        let mut child = self
            .sh(&format!("exec {}", self.command(text)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let guard = Background(child);
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        assert!(first.starts_with(ready), "`{text}` printed {first:?}; stderr: {}", self.log_text());
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        guard
    }

    fn log_text(&self) -> String {
        ["app.log", "gateway.log"]
            .iter()
            .filter_map(|f| std::fs::read_to_string(self.dir.path().join(f)).ok())
            .collect()
    }
}

fn cases() -> usize {
    scimgate::replay::Corpus::from_json(scimgate::cli::replay::BUILTIN_CORPUS).unwrap().cases.len()
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let blocks = walkthrough_blocks();
    let commands: Vec<&str> = blocks.iter().filter(|(lang, _)| lang == "sh").map(|(_, t)| t.as_str()).collect();
    let [app, check, explain, serve, replay] = commands[..] else {
        panic!("the walkthrough has five commands (app, check, explain, serve, replay): {commands:#?}")
    };
    let shown_explain =
        blocks.iter().find(|(lang, _)| lang == "text").map(|(_, t)| t.clone()).expect("the explain output");
    let w = Walkthrough::new();

    let _app = w.start(app, "sample app on", "app.log");

    let (ok, out) = w.run(check);
    assert!(ok && out.contains("checked 2 files: all ok"), "{check}\n{out}");

    let (ok, out) = w.run(explain);
    assert!(ok, "{explain}\n{out}");
    let printed: Vec<&str> = out.lines().take(shown_explain.lines().count()).collect();
    assert_eq!(printed.join("\n"), w.ports(&shown_explain), "the README shows what explain prints");

    let _gateway = w.start(serve, "listening on", "gateway.log");

    let (ok, out) = w.run(replay);
    let n = cases();
    assert!(ok && out.contains(&format!("{n} cases: {n} pass, 0 fail")), "{replay}\n{out}\n{}", w.log_text());

    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    assert!(readme.contains(&format!("All {n} cases pass")), "the README gives the corpus size");
}

#[test]
fn the_walkthrough_mapping_holds_three_user_fields_and_compiles() {
    let path = PathBuf::from(ROOT).join("examples/sample-app/mapping.yaml");
    let (mapping, warnings) = scimgate::mapping::builtin::load(&path).unwrap_or_else(|d| panic!("{}", d.render()));
    assert!(warnings.items.is_empty(), "{}", warnings.render());
    let fields: Vec<String> =
        mapping.users.attrs.iter().filter_map(|a| a.scim.as_ref().map(|s| s.text.clone())).collect();
    assert_eq!(fields, ["userName", "externalId", "active"]);
    assert!(mapping.groups.members.is_some(), "groups carry their members");
}
