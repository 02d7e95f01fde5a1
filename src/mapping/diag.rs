//! Diagnostics for mapping authors: every problem with file:line:col and a caret under the text.

use std::fmt;
use std::sync::Arc;

use serde_saphyr::Spanned;

pub mod outline;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// 1-based line and column; line 0 when the problem concerns the file as a whole (a file
    /// that cannot be read, a setting without a place in the text).
    pub line: usize,
    pub column: usize,
    /// Byte offset and length of the offending text, when known.
    pub offset: Option<usize>,
    pub len: usize,
    pub help: Option<String>,
}

/// All problems found in one file.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub file: String,
    pub source: Arc<str>,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(file: &str, source: Arc<str>) -> Self {
        Diagnostics { file: file.to_owned(), source, items: vec![] }
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    /// An error at a spanned value, `inner` characters into its text (for errors inside a
    /// template or path).
    pub fn at<T>(
        &mut self,
        s: &Spanned<T>,
        inner: usize,
        len: usize,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let (line, column, offset) = self.locate(s, inner);
        self.items.push(Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            line,
            column,
            offset,
            len: len.max(1),
            help,
        });
    }

    /// A warning at a spanned value.
    pub fn warn_at<T>(&mut self, s: &Spanned<T>, message: impl Into<String>, help: Option<String>) {
        self.at(s, 0, 1, message, help);
        if let Some(last) = self.items.last_mut() {
            last.severity = Severity::Warning;
        }
    }

    /// An error at a 1-based line and column (e.g. from the YAML parser).
    pub fn at_line(&mut self, line: usize, column: usize, message: impl Into<String>) {
        let offset = self.offset_of(line, column);
        self.items.push(Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            line,
            column,
            offset,
            len: 1,
            help: None,
        });
    }

    /// An error about the file as a whole, reported without a line.
    pub fn general(&mut self, message: impl Into<String>) {
        self.items.push(Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            line: 0,
            column: 0,
            offset: None,
            len: 0,
            help: None,
        });
    }

    /// Reports a YAML syntax or type error from the parser at its line and column, in words for
    /// a YAML author (keys rather than fields, "a whole number" rather than `usize`).
    pub fn yaml_error(&mut self, e: &serde_saphyr::Error) {
        use serde_saphyr::Error as E;
        let pos = e.location().filter(|l| l.line() > 0).map(|l| (l.line() as usize, l.column() as usize));
        let Some((line, column)) = pos else {
            let text = e.to_string();
            self.general(strip_location_prefix(text.lines().next().unwrap_or("invalid YAML")));
            return;
        };
        let mut e = e;
        while let E::WithSnippet { error, .. } | E::AliasError { error, .. } = e {
            e = error;
        }
        let (message, len, help) = match e {
            E::SerdeUnknownField { field, expected, .. } => {
                let help = match crate::mapping::expr::suggest(field, expected) {
                    Some(s) => format!("did you mean `{s}`? keys allowed here: {}", expected.join(", ")),
                    None if expected.is_empty() => "this mapping takes no keys".to_owned(),
                    None => format!("keys allowed here: {}", expected.join(", ")),
                };
                (format!("unknown key `{field}`"), field.chars().count(), Some(help))
            }
            E::SerdeUnknownVariant { variant, expected, .. } => {
                let help = match crate::mapping::expr::suggest(variant, expected) {
                    Some(s) => format!("did you mean `{s}`? allowed: {}", expected.join(", ")),
                    None => format!("allowed: {}", expected.join(", ")),
                };
                (format!("unknown value `{variant}`"), variant.chars().count(), Some(help))
            }
            E::DuplicateMappingKey { key, .. } => {
                let (message, len) = match key {
                    Some(k) => (format!("duplicate key `{k}`"), k.chars().count()),
                    None => ("duplicate key".to_owned(), 1),
                };
                (message, len, Some("a key may appear only once in a mapping; remove one of them".to_owned()))
            }
            E::SerdeMissingField { field, .. } => {
                let outline = outline::Outline::parse(&self.source);
                let place = outline.and_then(|o| o.map_with_key_at(outline::Pos { line, column }));
                if let Some(p) = place {
                    let within = match outline::path_text(&p.path) {
                        t if t.is_empty() => "at the top level".to_owned(),
                        t => format!("in `{t}`"),
                    };
                    let message = format!("missing required key `{field}` {within}");
                    self.at_line(p.at.line, p.at.column, message);
                    if let Some(last) = self.items.last_mut() {
                        last.len = p.len.max(1);
                    }
                    return;
                }
                (format!("missing required key `{field}`"), 1, None)
            }
            E::SerdeInvalidType { unexpected, expected, .. } | E::SerdeInvalidValue { unexpected, expected, .. } => {
                (format!("expected {}, found {unexpected}", plain_type(expected)), 1, None)
            }
            E::Unexpected { expected, .. } => match *expected {
                "sequence start" => (
                    "expected a list here".to_owned(),
                    1,
                    Some("write the items as `- item` lines, or as `[a, b]`".to_owned()),
                ),
                "mapping start" => (
                    "expected a mapping here".to_owned(),
                    1,
                    Some("write `key: value` lines, or `{ key: value }`".to_owned()),
                ),
                other => (format!("expected {other}"), 1, None),
            },
            E::InvalidScalar { ty, .. } => {
                let found = self.scalar_at(line, column);
                let len = found.chars().count();
                (format!("expected {}, found `{found}`", plain_type(ty)), len, None)
            }
            _ => {
                let text = e.to_string();
                let message = strip_location_prefix(text.lines().next().unwrap_or("invalid YAML"));
                let help = syntax_help(&message);
                (message, 1, help)
            }
        };
        self.at_line(line, column, message);
        if let Some(last) = self.items.last_mut() {
            last.len = len.max(1);
            last.help = help;
        }
    }

    /// The plain scalar written at a position (up to a flow delimiter, a comment or the line end).
    fn scalar_at(&self, line: usize, column: usize) -> String {
        let Some(start) = self.offset_of(line, column) else { return String::new() };
        let rest = &self.source[start..];
        let end = rest.find([',', '}', ']', '\n', '#']).unwrap_or(rest.len());
        rest[..end].trim_end().to_owned()
    }

    fn offset_of(&self, line: usize, column: usize) -> Option<usize> {
        if line == 0 {
            return None;
        }
        let mut off = 0;
        for (i, l) in self.source.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                return Some(off + l.char_indices().nth(column.saturating_sub(1)).map_or(l.len(), |c| c.0));
            }
            off += l.len();
        }
        None
    }

    /// Line, column and byte offset of `inner` characters into a spanned scalar. Quoted scalars
    /// start one character later than their span.
    fn locate<T>(&self, s: &Spanned<T>, inner: usize) -> (usize, usize, Option<usize>) {
        let line = s.referenced.line() as usize;
        let column = s.referenced.column() as usize;
        let Some(start) = self.offset_of(line, column) else { return (line, column, None) };
        let text = &self.source[start..];
        let skip = usize::from(text.starts_with(['"', '\'']));
        let body: String = text.chars().skip(skip).take_while(|c| *c != '\n').collect();
        let inner = inner.min(body.chars().count());
        let byte = start
            + text.chars().take(skip).map(char::len_utf8).sum::<usize>()
            + body.chars().take(inner).map(char::len_utf8).sum::<usize>();
        (line, column + skip + inner, Some(byte))
    }

    /// Renders every diagnostic with a source snippet and a caret.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.items {
            out.push_str(&self.render_one(d));
        }
        let n = self.errors().count();
        if n > 0 {
            out.push_str(&format!("{}: {n} error{}\n", self.file, if n == 1 { "" } else { "s" }));
        }
        out
    }

    fn render_one(&self, d: &Diagnostic) -> String {
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if d.line == 0 {
            let mut s = format!("{}: {sev}: {}\n", self.file, d.message);
            if let Some(h) = &d.help {
                s.push_str(&format!("  = help: {h}\n"));
            }
            return s;
        }
        let mut s = format!("{}:{}:{}: {sev}: {}\n", self.file, d.line, d.column, d.message);
        if let Some(text) = self.source.lines().nth(d.line - 1) {
            let gutter = d.line.to_string().len();
            s.push_str(&format!("{:gutter$} |\n{} | {}\n{:gutter$} | ", "", d.line, text, ""));
            let pad: String =
                text.chars().take(d.column.saturating_sub(1)).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            let avail = text.chars().count().saturating_sub(d.column.saturating_sub(1)).max(1);
            s.push_str(&format!("{pad}{}\n", "^".repeat(d.len.clamp(1, avail))));
        }
        if let Some(h) = &d.help {
            s.push_str(&format!("  = help: {h}\n"));
        }
        s
    }
}

/// Serde's names of Rust types, in a YAML author's words.
fn plain_type(expected: &str) -> String {
    match expected {
        "usize" | "u8" | "u16" | "u32" | "u64" | "u128" => "a whole number (0 or more)".to_owned(),
        "isize" | "i8" | "i16" | "i32" | "i64" | "i128" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" | "bool" => "`true` or `false`".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a mapping".to_owned(),
        other => other.to_owned(),
    }
}

/// serde-saphyr prefixes messages with "line N column M:"; the diagnostic carries that already.
fn strip_location_prefix(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("error: ").unwrap_or(s);
    if let Some(rest) = s.strip_prefix("line ")
        && let Some(idx) = rest.find(": ")
        && rest[..idx].contains("column")
    {
        return strip_location_suffix(&rest[idx + 2..]).to_owned();
    }
    strip_location_suffix(s).to_owned()
}

/// Drops a trailing " at line N, column M", which the diagnostic shows already.
fn strip_location_suffix(s: &str) -> &str {
    if let Some(idx) = s.rfind(" at line ")
        && let Some((line, column)) = s[idx + " at line ".len()..].split_once(", column ")
        && line.chars().all(|c| c.is_ascii_digit())
        && column.chars().all(|c| c.is_ascii_digit())
    {
        return &s[..idx];
    }
    s
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

/// Hints for the parser's own words on the two slips mapping authors make most: a template or
/// JSONPath left unquoted inside `{ … }` or `[ … ]`, and a list item indented differently.
fn syntax_help(message: &str) -> Option<String> {
    if message.contains("flow mapping") || message.contains("flow sequence") {
        return Some(
            "inside `{ … }` or `[ … ]`, quote a value that holds `{`, `}`, `[`, `]` or `,`: a template \
             such as `url: \"/users/{id}\"` or a JSONPath such as `records: \"$.items[*]\"`"
                .to_owned(),
        );
    }
    if message.contains("'-' indicator") || message.contains("block end") {
        return Some("check the indentation: the items of one list start in the same column".to_owned());
    }
    None
}
