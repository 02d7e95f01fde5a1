//! Diagnostics for mapping authors: every problem with file:line:col and a caret under the text.

use std::fmt;
use std::sync::Arc;

use serde_saphyr::Spanned;

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
    /// 1-based line and column.
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

    /// An error without a precise location (reported at the top of the file).
    pub fn general(&mut self, message: impl Into<String>) {
        self.at_line(1, 1, message);
    }

    fn offset_of(&self, line: usize, column: usize) -> Option<usize> {
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
        let mut s = format!("{}:{}:{}: {sev}: {}\n", self.file, d.line, d.column, d.message);
        if let Some(text) = self.source.lines().nth(d.line.saturating_sub(1)) {
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

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}
