//! `scimgate check FILE...`: validates mapping files and settings files before a deployment.
//!
//! A file with `apiVersion` is a mapping and is compiled; a file with `routes` is a settings file
//! and is loaded as `scimgate serve` would load it (with the `SCIMGATE_*` overrides of the given
//! environment), after which every mapping its routes use is compiled with the route's backend
//! overrides applied. Every problem of every file is reported, each at file:line:col where the
//! text has a place for it; a problem in one file never hides those of the next.
//!
//! Credentials named by a backend (`env:` and `file:` secrets) are not resolved: they belong to
//! the machine the gateway runs on, not to the one the files are checked on.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::mapping::diag::Severity;
use crate::mapping::diag::outline::Outline;
use crate::mapping::{self, CompiledMapping, Diagnostics, builtin};
use crate::settings::{Settings, SettingsError, TargetSettings};

/// What a checked file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A mapping file (`apiVersion: scimgate/v1`).
    Mapping,
    /// A gateway settings file (`routes:`).
    Settings,
}

/// The outcome for one file.
#[derive(Debug)]
pub struct FileCheck {
    /// The file as named on the command line (or found in a named directory).
    pub path: String,
    /// `None` when the file could not be read or is neither kind.
    pub kind: Option<FileKind>,
    /// Problems: the file's own first, then those of each mapping a settings file uses. Only
    /// non-empty sets are kept.
    pub diagnostics: Vec<Diagnostics>,
    /// What was checked, for the line printed when the file has no errors.
    pub summary: String,
}

impl FileCheck {
    fn new(path: &str) -> Self {
        FileCheck { path: path.to_owned(), kind: None, diagnostics: vec![], summary: String::new() }
    }

    /// Number of errors, in the file and in the mappings it uses.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().map(|d| d.errors().count()).sum()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.diagnostics.iter().flat_map(|d| &d.items).filter(|i| i.severity == Severity::Warning).count()
    }

    pub fn is_ok(&self) -> bool {
        self.errors() == 0
    }

    /// Every diagnostic with its snippet, then an `ok` line when there is no error.
    pub fn render(&self) -> String {
        let mut out: String = self.diagnostics.iter().map(Diagnostics::render).collect();
        if self.is_ok() {
            let warnings = match self.warnings() {
                0 => String::new(),
                1 => ", 1 warning".to_owned(),
                n => format!(", {n} warnings"),
            };
            out.push_str(&format!("{}: ok ({}{warnings})\n", self.path, self.summary));
        }
        out
    }

    fn push(&mut self, d: Diagnostics) {
        if !d.items.is_empty() {
            self.diagnostics.push(d);
        }
    }
}

/// The outcome for every file of one `scimgate check` run.
#[derive(Debug)]
pub struct CheckReport {
    pub files: Vec<FileCheck>,
}

impl CheckReport {
    pub fn errors(&self) -> usize {
        self.files.iter().map(FileCheck::errors).sum()
    }

    /// Whether every file passed (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.files.iter().all(FileCheck::is_ok)
    }

    /// Each file's report, then one summary line.
    pub fn render(&self) -> String {
        let mut out: String = self.files.iter().map(FileCheck::render).collect();
        let failed = self.files.iter().filter(|f| !f.is_ok()).count();
        let n = self.files.len();
        let files = if n == 1 { "file" } else { "files" };
        if failed == 0 {
            out.push_str(&format!("checked {n} {files}: all ok\n"));
        } else {
            let errors = self.errors();
            let plural = if errors == 1 { "" } else { "s" };
            out.push_str(&format!("checked {n} {files}: {failed} with errors ({errors} error{plural})\n"));
        }
        out
    }
}

/// Checks every named file; a directory stands for the `.yaml` and `.yml` files directly in it.
/// `env` is the environment whose `SCIMGATE_*` variables override settings keys.
pub fn check_paths(paths: &[PathBuf], env: &[(String, String)]) -> CheckReport {
    let mut files = vec![];
    for path in paths {
        if !path.is_dir() {
            files.push(check_file(path, env));
            continue;
        }
        match yaml_files_in(path) {
            Ok(found) if found.is_empty() => {
                let mut c = FileCheck::new(&path.display().to_string());
                let mut d = Diagnostics::new(&c.path, Arc::from(""));
                d.general("the directory holds no `.yaml` or `.yml` file");
                c.push(d);
                files.push(c);
            }
            Ok(found) => files.extend(found.iter().map(|f| check_file(f, env))),
            Err(e) => {
                let mut c = FileCheck::new(&path.display().to_string());
                let mut d = Diagnostics::new(&c.path, Arc::from(""));
                d.general(format!("cannot list the directory: {e}"));
                c.push(d);
                files.push(c);
            }
        }
    }
    CheckReport { files }
}

fn yaml_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = vec![];
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let yaml = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e == "yaml" || e == "yml");
        if yaml && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// Checks one file, deciding from its top-level keys whether it is a mapping or settings.
pub fn check_file(path: &Path, env: &[(String, String)]) -> FileCheck {
    let mut c = FileCheck::new(&path.display().to_string());
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let mut d = Diagnostics::new(&c.path, Arc::from(""));
            d.general(format!("cannot read the file: {e}"));
            c.push(d);
            return c;
        }
    };
    let mut d = Diagnostics::new(&c.path, Arc::from(text.as_str()));
    match serde_saphyr::from_str::<Value>(&text) {
        Err(e) => d.yaml_error(&e),
        Ok(Value::Object(top)) if top.contains_key("apiVersion") => {
            c.kind = Some(FileKind::Mapping);
            match mapping::compile_str(&c.path, &text) {
                Ok((m, warnings)) => {
                    c.summary = format!("mapping `{}`", m.name);
                    d = warnings;
                }
                Err(errors) => d = errors,
            }
        }
        Ok(Value::Object(top)) if top.contains_key("routes") => {
            c.kind = Some(FileKind::Settings);
            check_settings(&mut c, &mut d, path, &text, env);
        }
        Ok(_) => {
            d.general("neither a mapping file (no `apiVersion` key) nor a settings file (no `routes` key)");
        }
    }
    // The file's own problems come before those of the mappings it uses.
    c.diagnostics.insert(0, d);
    c.diagnostics.retain(|d| !d.items.is_empty());
    c
}

/// Where the routes of a settings file name their mapping and overrides, for diagnostics; read
/// leniently, since the settings themselves are checked by [`Settings::load_with_env`].
#[derive(Debug, Default, Deserialize)]
struct SettingsPlaces {
    #[serde(default)]
    routes: BTreeMap<String, RoutePlaces>,
}

#[derive(Debug, Default, Deserialize)]
struct RoutePlaces {
    #[serde(default)]
    target: Option<TargetPlaces>,
}

#[derive(Debug, Default, Deserialize)]
struct TargetPlaces {
    #[serde(default)]
    file: Option<Spanned<String>>,
    #[serde(default)]
    backend: Option<Spanned<Value>>,
}

/// Loads a settings file as `serve` does, then compiles each mapping its routes use.
fn check_settings(c: &mut FileCheck, d: &mut Diagnostics, path: &Path, text: &str, env: &[(String, String)]) {
    let settings = match Settings::load_with_env(path, env.iter().cloned()) {
        Ok(s) => s,
        Err(SettingsError::Invalid { message, .. }) => {
            // The settings loader reports no positions; the YAML parser finds most of the same
            // problems (unknown keys, wrong types) at their line and column.
            match serde_saphyr::from_str::<Settings>(text) {
                Err(e) => d.yaml_error(&e),
                Ok(_) => report_at_named_key(d, &message),
            }
            return;
        }
    };
    let places: SettingsPlaces = serde_saphyr::from_str(text).unwrap_or_default();
    let mut compiled: BTreeMap<PathBuf, Option<CompiledMapping>> = BTreeMap::new();
    let mut routes = vec![];
    for (name, route) in &settings.routes {
        let TargetSettings::Mapping { file, backend } = &route.target else {
            routes.push(format!("{name} → memory"));
            continue;
        };
        routes.push(format!("{name} → {}", file.display()));
        let place = places.routes.get(name).and_then(|r| r.target.as_ref());
        let mapping = match compiled.entry(file.clone()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let loaded = match mapping_source(file) {
                    Ok(src) => match mapping::compile_str(&file.display().to_string(), &src) {
                        Ok((m, warnings)) => {
                            c.push(warnings);
                            Some(m)
                        }
                        Err(errors) => {
                            c.push(errors);
                            None
                        }
                    },
                    Err(message) => {
                        let message = format!("route `{name}`: {message}");
                        match place.and_then(|p| p.file.as_ref()) {
                            Some(at) => d.at(at, 0, at.value.len(), message, None),
                            None => d.general(message),
                        }
                        None
                    }
                };
                e.insert(loaded)
            }
        };
        if let (Some(m), Some(overrides)) = (mapping.as_ref(), backend)
            && let Err(e) = m.backend.overlay(overrides)
        {
            let e = e.to_string();
            let reason = e.strip_prefix("backend overrides: ").unwrap_or(&e);
            let message = format!("route `{name}`: the backend overrides do not fit mapping `{}`: {reason}", m.name);
            match place.and_then(|p| p.backend.as_ref()) {
                Some(at) => d.at(at, 0, 1, message, None),
                None => d.general(message),
            }
        }
    }
    let n = routes.len();
    c.summary = format!("settings, {n} route{}: {}", if n == 1 { "" } else { "s" }, routes.join(", "));
}

/// Reports a settings message that names its key (`key \`routes.main.auth\`: …`) at that key
/// when the text has it, otherwise about the whole file.
fn report_at_named_key(d: &mut Diagnostics, message: &str) {
    let place = message
        .strip_prefix("key `")
        .and_then(|rest| rest.split_once("`: "))
        .and_then(|(path, rest)| Some((Outline::parse(&d.source)?.find(&Outline::parse_path(path))?, rest)));
    match place {
        Some(((pos, len), rest)) => {
            d.at_line(pos.line, pos.column, rest);
            if let Some(last) = d.items.last_mut() {
                last.len = len;
            }
        }
        None => d.general(message),
    }
}

/// The text of a mapping a route names: a shipped one (`builtin:NAME`) or a file.
fn mapping_source(file: &Path) -> Result<String, String> {
    let text = file.to_string_lossy();
    match text.strip_prefix(builtin::PREFIX) {
        Some(name) => builtin::source(name).map(str::to_owned).ok_or_else(|| {
            let known: Vec<&str> = builtin::BUILTIN.iter().map(|(n, _)| *n).collect();
            format!("no shipped mapping is named `{name}` (shipped: {})", known.join(", "))
        }),
        None => std::fs::read_to_string(file).map_err(|e| format!("cannot read mapping file `{text}`: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = "builtin:openmetadata";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn broken_mapping() -> String {
        let src = builtin::source("scim").expect("shipped scim mapping");
        src.replacen("    read: $.id", "    read: id", 1).replacen("url: /Users/{id}", "url: /Users/{uid}", 1)
    }

    #[test]
    fn a_settings_file_checks_its_mappings_with_each_routes_overrides() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "broken.yaml", &broken_mapping());
        let settings = write(
            dir.path(),
            "gateway.yaml",
            &format!(
                "routes:\n  om:\n    target:\n      kind: mapping\n      file: {SHIPPED}\n      backend: {{ concurrency: lots }}\n  \
                 other:\n    target:\n      kind: mapping\n      file: broken.yaml\n  mem:\n    target: {{ kind: memory }}\n"
            ),
        );
        let c = check_file(&settings, &[]);
        assert_eq!(c.kind, Some(FileKind::Settings));
        let out = c.render();
        // The override that does not fit, at the `backend` key of the route.
        let at = format!(
            "{}:6:16: error: route `om`: the backend overrides do not fit mapping `openmetadata`",
            settings.display()
        );
        assert!(out.contains(&at), "{out}");
        // Both problems of the referenced mapping, under its own name.
        let mapping = dir.path().join("broken.yaml").display().to_string();
        assert!(out.contains(&format!("{mapping}:")) && out.contains("invalid JSONPath"), "{out}");
        assert!(out.contains("`uid` is not defined at this step"), "{out}");
        assert_eq!(c.errors(), 3, "{out}");
        assert!(!out.contains(": ok ("), "{out}");
    }

    #[test]
    fn a_good_settings_file_gets_an_ok_line_naming_its_routes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = write(
            dir.path(),
            "gateway.yaml",
            &format!(
                "routes:\n  om:\n    target: {{ kind: mapping, file: \"{SHIPPED}\", backend: {{ base_url: \"https://om.example/api\" }} }}\n"
            ),
        );
        let c = check_file(&settings, &[]);
        assert!(c.is_ok(), "{}", c.render());
        assert_eq!(c.render(), format!("{}: ok (settings, 1 route: om → {SHIPPED})\n", settings.display()));
    }

    #[test]
    fn environment_overrides_are_applied_as_serve_would() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = write(
            dir.path(),
            "gateway.yaml",
            &format!("routes:\n  om:\n    target: {{ kind: mapping, file: \"{SHIPPED}\" }}\n"),
        );
        assert!(check_file(&settings, &[]).is_ok());
        let env = [("SCIMGATE_ROUTES__OM__TARGET__FILE".to_owned(), "builtin:nope".to_owned())];
        let c = check_file(&settings, &env);
        let out = c.render();
        assert!(out.contains("route `om`: no shipped mapping is named `nope`"), "{out}");
        assert_eq!(c.errors(), 1);
    }

    #[test]
    fn settings_errors_are_located_when_the_text_shows_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings =
            write(dir.path(), "gateway.yaml", "routes:\n  om:\n    target: { kind: memory }\n    colour: blue\n");
        let out = check_file(&settings, &[]).render();
        assert!(out.contains(&format!("{}:4:5: error: unknown key `colour`", settings.display())), "{out}");

        let missing =
            write(dir.path(), "missing.yaml", "routes:\n  om:\n    target: { kind: mapping, file: nowhere.yaml }\n");
        let out = check_file(&missing, &[]).render();
        assert!(
            out.contains(&format!("{}:3:36: error: route `om`: cannot read mapping file", missing.display())),
            "{out}"
        );
        assert!(out.contains("^^^^^^^^^^^^"), "the caret underlines the file name: {out}");
    }

    #[test]
    fn files_of_neither_kind_and_unreadable_files_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let other = write(dir.path(), "other.yaml", "listen: 0.0.0.0:8080\n");
        let c = check_file(&other, &[]);
        assert_eq!(c.kind, None);
        assert!(c.render().contains("neither a mapping file"), "{}", c.render());
        let gone = check_file(&dir.path().join("gone.yaml"), &[]);
        assert!(gone.render().contains("cannot read the file"), "{}", gone.render());
        let bad_yaml = write(dir.path(), "bad.yaml", "routes: [\n");
        assert_eq!(check_file(&bad_yaml, &[]).errors(), 1);
    }

    #[test]
    fn a_directory_stands_for_its_yaml_files_and_every_file_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.yaml", builtin::source("datahub").expect("shipped"));
        write(dir.path(), "b.yml", &broken_mapping());
        write(dir.path(), "notes.txt", "not checked");
        let report = check_paths(&[dir.path().to_path_buf()], &[]);
        assert_eq!(report.files.len(), 2);
        assert!(report.files[0].is_ok() && !report.files[1].is_ok());
        assert!(!report.is_ok());
        let out = report.render();
        assert!(out.ends_with("checked 2 files: 1 with errors (2 errors)\n"), "{out}");

        let empty = tempfile::tempdir().expect("tempdir");
        let report = check_paths(&[empty.path().to_path_buf()], &[]);
        assert!(!report.is_ok(), "an empty directory is a mistake, not a pass");
    }
}
