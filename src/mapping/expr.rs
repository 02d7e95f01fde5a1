//! The expression and template language of mapping files.
//!
//! ```text
//! expr      = head *( "|" transform )
//! head      = path / literal            ; path: name *( "." name / "." digits )
//! transform = name [ "(" arg *( "," arg ) ")" ]
//! arg       = literal / path            ; literal: JSON (string, number, true, false, null, [..], {..})
//! template  = *( text / "{" expr "}" )  ; "{{" and "}}" are literal braces
//! ```
//!
//! Examples: `scim.userName | lower`, `value | map({"Admin": "urn:li:dataHubRole:Admin"})`,
//! `groups | default([]) | append(id) | unique`, `/v1/users/{id}`.
//!
//! Expressions are parsed once when a mapping is loaded; evaluation never re-parses.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value, json};

/// A parse error with a 0-based character offset into the source text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError { offset, message: message.into() })
}

/// One step of a variable path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A variable path such as `scim.name.givenName` or `item.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarPath(pub Vec<Seg>);

impl VarPath {
    pub fn root(&self) -> &str {
        match self.0.first() {
            Some(Seg::Key(k)) => k,
            _ => "",
        }
    }

    /// Resolves the path in `scope`; missing steps yield null.
    pub fn resolve<'a>(&self, scope: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut segs = self.0.iter();
        let mut cur = match segs.next()? {
            Seg::Key(k) => scope.get(k)?,
            Seg::Index(_) => return None,
        };
        for s in segs {
            cur = match (s, cur) {
                (Seg::Key(k), Value::Object(o)) => o.get(k)?,
                (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
                (Seg::Key(k), Value::Array(a)) => a.get(k.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

impl fmt::Display for VarPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match s {
                Seg::Key(k) => f.write_str(k)?,
                Seg::Index(n) => write!(f, "{n}")?,
            }
        }
        Ok(())
    }
}

/// A transform argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Lit(Value),
    Var(VarPath),
}

impl Arg {
    fn eval(&self, scope: &Map<String, Value>) -> Value {
        match self {
            Arg::Lit(v) => v.clone(),
            Arg::Var(p) => p.resolve(scope).cloned().unwrap_or(Value::Null),
        }
    }
}

/// Value kinds for static checks of transform chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Any,
    String,
    Bool,
    Number,
    Array,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Any => "any value",
            Kind::String => "a string",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::Array => "an array",
        })
    }
}

/// The transforms. Each takes the piped value and returns a new one.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Lower-case a string.
    Lower,
    /// Upper-case a string.
    Upper,
    /// Trim surrounding whitespace.
    Trim,
    /// Keep only letters, digits, `_`, `-` and `.`; other characters become `_`; optional maximum length.
    Slug(Option<usize>),
    /// The part of an email address before `@`.
    LocalPart,
    /// The part of an email address after `@`.
    Domain,
    /// Split a string into an array on a separator.
    Split(String),
    /// Join an array of strings with a separator.
    Join(String),
    /// Replace null (or an absent value) with the argument.
    Default(Arg),
    /// The first non-null among the value and the arguments.
    Coalesce(Vec<Arg>),
    /// Look the value up in a table; unknown values fail with 400 naming the allowed values,
    /// unless a default is given.
    Map { table: BTreeMap<String, Value>, default: Option<Value> },
    /// `format("urn:li:corpuser:{}")`: the value replaces `{}`.
    Format(String),
    /// Coerce `"true"`/`"True"`/`1`/`true` → true and `"false"`/`0`/`false` → false.
    Bool,
    /// Boolean negation.
    Not,
    /// The current time as epoch milliseconds (the piped value is ignored).
    EpochMs,
    /// The current time as RFC 3339 text (the piped value is ignored).
    NowIso,
    /// A constant (the piped value is ignored).
    Constant(Value),
    /// A named lookup declared under `lookups:` (a native call, cached).
    Lookup(String),
    /// An instant as RFC 3339 UTC text with milliseconds (SCIM's `dateTime`), from epoch
    /// milliseconds (a number) or from date-time text in any offset.
    Datetime,
    /// Unpadded base64url encoding of a string.
    Base64url,
    /// Decoding of unpadded base64url text.
    Base64urlDecode,
    /// Prefix a string.
    Prefix(String),
    /// Remove a prefix when present.
    StripPrefix(String),
    /// Append an element to an array (null counts as empty).
    Append(Arg),
    /// Remove every element equal to the argument from an array.
    Remove(Arg),
    /// Remove duplicate elements of an array, keeping the first.
    Unique,
    /// The first element of an array (null when empty).
    First,
    /// The length of a string, array or object.
    Len,
    /// Whether the value is null, "", [] or {}.
    Empty,
    /// Whether the value equals the argument.
    Eq(Arg),
    /// Whether the value differs from the argument.
    Ne(Arg),
    /// Parse JSON text.
    Json,
    /// Render as a string (JSON text for non-strings).
    String,
    /// Replace every occurrence of a substring.
    Replace(String, String),
    /// Add a number (e.g. a 0-based offset to a 1-based start index).
    Plus(i64),
    /// From an array of objects, the values of one field.
    Pluck(String),
    /// From an array of values, objects `{field: value}` (plus fixed fields).
    Objects(String, Map<String, Value>),
}

impl Transform {
    /// Variables the transform's arguments read. Every variant is listed, so that a new transform
    /// taking a variable cannot be missed by the checks and analyses built on [`Expr::vars`].
    pub fn vars(&self) -> impl Iterator<Item = &VarPath> {
        use Transform as T;
        let args: &[Arg] = match self {
            T::Default(a) | T::Append(a) | T::Remove(a) | T::Eq(a) | T::Ne(a) => std::slice::from_ref(a),
            T::Coalesce(v) => v,
            T::Lower
            | T::Upper
            | T::Trim
            | T::Slug(_)
            | T::LocalPart
            | T::Domain
            | T::Split(_)
            | T::Join(_)
            | T::Map { .. }
            | T::Format(_)
            | T::Bool
            | T::Not
            | T::EpochMs
            | T::NowIso
            | T::Constant(_)
            | T::Lookup(_)
            | T::Datetime
            | T::Base64url
            | T::Base64urlDecode
            | T::Prefix(_)
            | T::StripPrefix(_)
            | T::Unique
            | T::First
            | T::Len
            | T::Empty
            | T::Json
            | T::String
            | T::Replace(..)
            | T::Plus(_)
            | T::Pluck(_)
            | T::Objects(..) => &[],
        };
        args.iter().filter_map(|a| match a {
            Arg::Var(p) => Some(p),
            Arg::Lit(_) => None,
        })
    }

    /// What the transform accepts and yields, for static checks.
    pub fn signature(&self) -> (Kind, Kind) {
        use Transform as T;
        let (s, a, b) = (Kind::String, Kind::Array, Kind::Bool);
        match self {
            T::Lower
            | T::Upper
            | T::Trim
            | T::Slug(_)
            | T::LocalPart
            | T::Domain
            | T::Prefix(_)
            | T::StripPrefix(_) => (s, s),
            T::Replace(..) | T::Base64url | T::Base64urlDecode => (s, s),
            T::Split(_) => (s, a),
            T::Join(_) => (a, s),
            T::Default(_) | T::Coalesce(_) | T::Map { .. } | T::Constant(_) | T::Lookup(_) | T::Json => {
                (Kind::Any, Kind::Any)
            }
            T::Format(_) | T::String | T::NowIso | T::Datetime => (Kind::Any, s),
            T::Bool => (Kind::Any, b),
            T::Not => (b, b),
            T::EpochMs | T::Len => (Kind::Any, Kind::Number),
            T::Plus(_) => (Kind::Number, Kind::Number),
            T::Append(_) | T::Remove(_) | T::Unique | T::Pluck(_) | T::Objects(..) => (a, a),
            T::First => (a, Kind::Any),
            T::Empty | T::Eq(_) | T::Ne(_) => (Kind::Any, b),
        }
    }

    pub fn name(&self) -> &'static str {
        use Transform::*;
        match self {
            Lower => "lower",
            Upper => "upper",
            Trim => "trim",
            Slug(_) => "slug",
            LocalPart => "local_part",
            Domain => "domain",
            Split(_) => "split",
            Join(_) => "join",
            Default(_) => "default",
            Coalesce(_) => "coalesce",
            Map { .. } => "map",
            Format(_) => "format",
            Bool => "bool",
            Not => "not",
            EpochMs => "epoch_ms",
            NowIso => "now_iso",
            Datetime => "datetime",
            Constant(_) => "constant",
            Lookup(_) => "lookup",
            Base64url => "base64url",
            Base64urlDecode => "base64url_decode",
            Prefix(_) => "prefix",
            StripPrefix(_) => "strip_prefix",
            Append(_) => "append",
            Remove(_) => "remove",
            Unique => "unique",
            First => "first",
            Len => "len",
            Empty => "empty",
            Eq(_) => "eq",
            Ne(_) => "ne",
            Json => "json",
            String => "string",
            Replace(..) => "replace",
            Plus(_) => "plus",
            Pluck(_) => "pluck",
            Objects(..) => "objects",
        }
    }

    /// Every transform name, for "did you mean" help.
    pub const NAMES: &'static [&'static str] = &[
        "lower",
        "upper",
        "trim",
        "slug",
        "local_part",
        "domain",
        "split",
        "join",
        "default",
        "coalesce",
        "map",
        "format",
        "bool",
        "not",
        "epoch_ms",
        "now_iso",
        "datetime",
        "constant",
        "lookup",
        "base64url",
        "base64url_decode",
        "prefix",
        "strip_prefix",
        "append",
        "remove",
        "unique",
        "first",
        "len",
        "empty",
        "eq",
        "ne",
        "json",
        "string",
        "replace",
        "plus",
        "pluck",
        "objects",
    ];
}

/// A transform with its offset in the source, for error messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub transform: Transform,
    pub offset: usize,
}

/// An expression: a head value piped through transforms.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub head: Arg,
    pub steps: Vec<Step>,
}

impl Expr {
    /// Variables the expression reads (for checks such as "capture used before it is made").
    pub fn vars(&self) -> Vec<&VarPath> {
        let head = match &self.head {
            Arg::Var(p) => Some(p),
            Arg::Lit(_) => None,
        };
        head.into_iter().chain(self.steps.iter().flat_map(|s| s.transform.vars())).collect()
    }
}

// === parsing ===

struct Cursor<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
    /// Offset of `src` within the text reported to the author.
    base: usize,
}

impl<'a> Cursor<'a> {
    fn new(src: &'a str, base: usize) -> Self {
        Cursor { src, chars: src.char_indices().collect(), pos: 0, base }
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|c| c.1)
    }
    fn off(&self) -> usize {
        self.base + self.pos
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }
    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Option<String> {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-') {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().map(|c| c.1).collect())
    }
    fn byte(&self) -> usize {
        self.chars.get(self.pos).map_or(self.src.len(), |c| c.0)
    }

    /// A JSON literal: read with serde_json's streaming deserializer from here.
    fn literal(&mut self) -> Result<Option<Value>, ExprError> {
        self.skip_ws();
        let Some(c) = self.peek() else { return Ok(None) };
        let starts_json = matches!(c, '"' | '[' | '{' | '-' | '0'..='9');
        let rest = &self.src[self.byte()..];
        let keyword = ["true", "false", "null"].into_iter().find(|k| {
            rest.starts_with(k) && !rest[k.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        });
        if !starts_json && keyword.is_none() {
            return Ok(None);
        }
        if let Some(k) = keyword {
            self.pos += k.len();
            return Ok(Some(match k {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::Null,
            }));
        }
        if matches!(c, '-' | '0'..='9') {
            // The streaming reader insists on a delimiter after a number; `4)` is fine here.
            let len =
                rest.find(|ch: char| !matches!(ch, '-' | '+' | '.' | 'e' | 'E' | '0'..='9')).unwrap_or(rest.len());
            let v: Value = serde_json::from_str(&rest[..len])
                .map_err(|e| ExprError { offset: self.off(), message: format!("invalid number: {e}") })?;
            self.pos += rest[..len].chars().count();
            return Ok(Some(v));
        }
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                let consumed = stream.byte_offset();
                let target = self.byte() + consumed;
                while self.byte() < target {
                    self.pos += 1;
                }
                Ok(Some(v))
            }
            Some(Err(e)) => err(self.off(), format!("invalid literal: {e}")),
            None => Ok(None),
        }
    }

    fn var_path(&mut self) -> Result<Option<VarPath>, ExprError> {
        let Some(first) = self.ident() else { return Ok(None) };
        let mut segs = vec![Seg::Key(first)];
        while self.peek() == Some('.') {
            self.pos += 1;
            match self.ident() {
                Some(k) => segs.push(k.parse::<usize>().map(Seg::Index).unwrap_or(Seg::Key(k))),
                None => return err(self.off(), "expected a name after `.`"),
            }
        }
        Ok(Some(VarPath(segs)))
    }

    fn arg(&mut self) -> Result<Arg, ExprError> {
        if let Some(v) = self.literal()? {
            return Ok(Arg::Lit(v));
        }
        match self.var_path()? {
            Some(p) => Ok(Arg::Var(p)),
            None => err(self.off(), "expected a value or a variable"),
        }
    }

    fn args(&mut self) -> Result<Vec<Arg>, ExprError> {
        let mut args = vec![];
        if !self.eat('(') {
            return Ok(args);
        }
        if self.eat(')') {
            return Ok(args);
        }
        loop {
            args.push(self.arg()?);
            if self.eat(')') {
                return Ok(args);
            }
            if !self.eat(',') {
                return err(self.off(), "expected `,` or `)`");
            }
        }
    }

    fn step(&mut self) -> Result<Step, ExprError> {
        self.skip_ws();
        let offset = self.off();
        let name = self.ident().ok_or(ExprError { offset, message: "expected a transform name".into() })?;
        let args = self.args()?;
        let transform = build_transform(&name, args, offset)?;
        Ok(Step { transform, offset })
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        let head = self.arg()?;
        let mut steps = vec![];
        while self.eat('|') {
            steps.push(self.step()?);
        }
        Ok(Expr { head, steps })
    }

    fn done(&mut self) -> Result<(), ExprError> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(c) => err(self.off(), format!("unexpected `{c}`")),
        }
    }
}

fn lit_string(args: &[Arg], i: usize, name: &str, offset: usize) -> Result<String, ExprError> {
    match args.get(i) {
        Some(Arg::Lit(Value::String(s))) => Ok(s.clone()),
        _ => err(offset, format!("`{name}` needs a string literal as argument {}", i + 1)),
    }
}

fn build_transform(name: &str, args: Vec<Arg>, offset: usize) -> Result<Transform, ExprError> {
    use Transform as T;
    let arity = |n: usize| -> Result<(), ExprError> {
        if args.len() == n {
            Ok(())
        } else {
            err(offset, format!("`{name}` takes {n} argument(s), got {}", args.len()))
        }
    };
    let one = |args: &[Arg]| args.first().cloned().unwrap_or(Arg::Lit(Value::Null));
    Ok(match name {
        "lower" => arity(0).map(|_| T::Lower)?,
        "upper" => arity(0).map(|_| T::Upper)?,
        "trim" => arity(0).map(|_| T::Trim)?,
        "slug" => match args.as_slice() {
            [] => T::Slug(None),
            [Arg::Lit(Value::Number(n))] if n.as_u64().is_some() => T::Slug(n.as_u64().map(|n| n as usize)),
            _ => return err(offset, "`slug` takes an optional maximum length"),
        },
        "local_part" => arity(0).map(|_| T::LocalPart)?,
        "domain" => arity(0).map(|_| T::Domain)?,
        "split" => T::Split(lit_string(&args, 0, name, offset)?),
        "join" => T::Join(lit_string(&args, 0, name, offset)?),
        "default" => arity(1).map(|_| T::Default(one(&args)))?,
        "coalesce" => T::Coalesce(args),
        "map" => {
            let table = match args.first() {
                Some(Arg::Lit(Value::Object(o))) => o.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                _ => return err(offset, "`map` needs a table literal such as map({\"a\": 1})"),
            };
            let default = match args.get(1) {
                None => None,
                Some(Arg::Lit(v)) => Some(v.clone()),
                Some(Arg::Var(_)) => return err(offset, "`map`'s default must be a literal"),
            };
            T::Map { table, default }
        }
        "format" => {
            let f = lit_string(&args, 0, name, offset)?;
            if !f.contains("{}") {
                return err(offset, "`format` needs `{}` where the value goes");
            }
            T::Format(f)
        }
        "bool" => arity(0).map(|_| T::Bool)?,
        "not" => arity(0).map(|_| T::Not)?,
        "epoch_ms" => arity(0).map(|_| T::EpochMs)?,
        "now_iso" => arity(0).map(|_| T::NowIso)?,
        "datetime" => arity(0).map(|_| T::Datetime)?,
        "constant" => match args.as_slice() {
            [Arg::Lit(v)] => T::Constant(v.clone()),
            _ => return err(offset, "`constant` takes one literal"),
        },
        "lookup" => T::Lookup(lit_string(&args, 0, name, offset)?),
        "base64url" => arity(0).map(|_| T::Base64url)?,
        "base64url_decode" => arity(0).map(|_| T::Base64urlDecode)?,
        "prefix" => T::Prefix(lit_string(&args, 0, name, offset)?),
        "strip_prefix" => T::StripPrefix(lit_string(&args, 0, name, offset)?),
        "append" => arity(1).map(|_| T::Append(one(&args)))?,
        "remove" => arity(1).map(|_| T::Remove(one(&args)))?,
        "unique" => arity(0).map(|_| T::Unique)?,
        "first" => arity(0).map(|_| T::First)?,
        "len" => arity(0).map(|_| T::Len)?,
        "empty" => arity(0).map(|_| T::Empty)?,
        "eq" => arity(1).map(|_| T::Eq(one(&args)))?,
        "ne" => arity(1).map(|_| T::Ne(one(&args)))?,
        "json" => arity(0).map(|_| T::Json)?,
        "string" => arity(0).map(|_| T::String)?,
        "replace" => T::Replace(lit_string(&args, 0, name, offset)?, lit_string(&args, 1, name, offset)?),
        "pluck" => T::Pluck(lit_string(&args, 0, name, offset)?),
        "plus" => match args.as_slice() {
            [Arg::Lit(Value::Number(n))] if n.as_i64().is_some() => T::Plus(n.as_i64().unwrap_or_default()),
            _ => return err(offset, "`plus` takes one integer"),
        },
        "objects" => {
            let field = lit_string(&args, 0, name, offset)?;
            let extra = match args.get(1) {
                None => Map::new(),
                Some(Arg::Lit(Value::Object(o))) => o.clone(),
                _ => return err(offset, "`objects`' second argument must be an object literal"),
            };
            T::Objects(field, extra)
        }
        other => {
            let hint = suggest(other, Transform::NAMES).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
            return err(offset, format!("unknown transform `{other}`{hint}"));
        }
    })
}

/// The closest candidate by edit distance, if reasonably close.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    fn dist(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    }
    candidates.iter().map(|c| (dist(word, c), *c)).filter(|(d, _)| *d <= 2).min_by_key(|(d, _)| *d).map(|(_, c)| c)
}

/// Parses an expression.
pub fn parse_expr(src: &str) -> Result<Expr, ExprError> {
    let mut c = Cursor::new(src, 0);
    let e = c.expr()?;
    c.done()?;
    Ok(e)
}

/// Parses a transform call such as `slug(64)` (the elements of `to_native`/`to_scim`).
pub fn parse_transform(src: &str) -> Result<Step, ExprError> {
    let mut c = Cursor::new(src, 0);
    let s = c.step()?;
    c.done()?;
    Ok(s)
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Expr(Expr),
}

/// A string template with `{expr}` insertions.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub pieces: Vec<Piece>,
}

impl Template {
    /// Whether the template is a single insertion (then a body keeps the JSON value's type).
    pub fn single_expr(&self) -> Option<&Expr> {
        match self.pieces.as_slice() {
            [Piece::Expr(e)] => Some(e),
            _ => None,
        }
    }

    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Expr(e) => Some(e),
            Piece::Text(_) => None,
        })
    }

    pub fn is_constant(&self) -> bool {
        self.exprs().next().is_none()
    }
}

/// Parses a template; `{{` and `}}` stand for literal braces.
pub fn parse_template(src: &str) -> Result<Template, ExprError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut pieces = vec![];
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        let next = chars.get(i + 1).map(|c| c.1);
        match (c, next) {
            ('{', Some('{')) | ('}', Some('}')) => {
                text.push(c);
                i += 2;
            }
            ('{', _) => {
                let start = i + 1;
                let mut j = start;
                let mut in_str = false;
                let mut depth = 0usize;
                while j < chars.len() {
                    let cj = chars[j].1;
                    match (in_str, cj) {
                        (true, '\\') => j += 1,
                        (true, '"') => in_str = false,
                        (false, '"') => in_str = true,
                        (false, '{') | (false, '[') | (false, '(') => depth += 1,
                        (false, ']') | (false, ')') => depth = depth.saturating_sub(1),
                        (false, '}') if depth == 0 => break,
                        (false, '}') => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return err(i, "unclosed `{` (write `{{` for a literal brace)");
                }
                let inner = &src[chars[start].0.min(src.len())..chars[j].0];
                let mut cur = Cursor::new(inner, start);
                let e = cur.expr()?;
                cur.done()?;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Expr(e));
                i = j + 1;
            }
            ('}', _) => return err(i, "unmatched `}` (write `}}` for a literal brace)"),
            _ => {
                text.push(c);
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(Template { pieces })
}

// === evaluation ===

/// Why evaluating an expression failed at request time.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The value has the wrong type for a transform; a mapping or input problem.
    #[error("`{transform}` expects {expected}, got {got}")]
    Type { transform: &'static str, expected: Kind, got: String },
    /// A value outside a lookup table or an invalid value for a transform.
    #[error("{0}")]
    InvalidValue(String),
    /// A lookup failed (the lookup resolver explains).
    #[error("{0}")]
    Lookup(String),
    /// A lookup's native call failed; carries the SCIM error to answer.
    #[error("{0}")]
    Scim(crate::scim::ScimError),
}

/// Answers the `lookup` transform (native calls with caching).
#[async_trait::async_trait]
pub trait LookupResolver: Send + Sync {
    async fn lookup(&self, name: &str, value: &Value) -> Result<Value, EvalError>;
}

/// A resolver for contexts without lookups.
pub struct NoLookups;

#[async_trait::async_trait]
impl LookupResolver for NoLookups {
    async fn lookup(&self, name: &str, _value: &Value) -> Result<Value, EvalError> {
        Err(EvalError::Lookup(format!("lookup `{name}` is not available here")))
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{}\"", s.chars().take(40).collect::<String>()),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn as_str<'a>(t: &Transform, v: &'a Value) -> Result<&'a str, EvalError> {
    v.as_str().ok_or_else(|| EvalError::Type { transform: t.name(), expected: Kind::String, got: describe(v) })
}

fn as_array(t: &Transform, v: Value) -> Result<Vec<Value>, EvalError> {
    match v {
        Value::Null => Ok(vec![]),
        Value::Array(a) => Ok(a),
        other => Err(EvalError::Type { transform: t.name(), expected: Kind::Array, got: describe(&other) }),
    }
}

/// Renders a scalar for insertion into text.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
    }
}

fn slug(s: &str, max: Option<usize>) -> String {
    let out: String =
        s.chars().map(|c| if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect();
    match max {
        Some(m) => out.chars().take(m).collect(),
        None => out,
    }
}

/// Applies one transform to `v`. Null passes through value transforms unchanged, so optional
/// attributes need no `default`.
pub async fn apply(
    t: &Transform,
    v: Value,
    scope: &Map<String, Value>,
    lookups: &dyn LookupResolver,
) -> Result<Value, EvalError> {
    use Transform as T;
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let null_passes = matches!(
        t,
        T::Datetime
            | T::Lower
            | T::Upper
            | T::Trim
            | T::Slug(_)
            | T::LocalPart
            | T::Domain
            | T::Split(_)
            | T::Join(_)
            | T::Format(_)
            | T::Bool
            | T::Not
            | T::Lookup(_)
            | T::Base64url
            | T::Base64urlDecode
            | T::Prefix(_)
            | T::StripPrefix(_)
            | T::Json
            | T::Replace(..)
            | T::Pluck(_)
            | T::Objects(..)
            | T::First
            | T::Unique
    );
    if v.is_null() && null_passes {
        return Ok(Value::Null);
    }
    Ok(match t {
        T::Lower => json!(as_str(t, &v)?.to_lowercase()),
        T::Upper => json!(as_str(t, &v)?.to_uppercase()),
        T::Trim => json!(as_str(t, &v)?.trim()),
        T::Slug(max) => json!(slug(as_str(t, &v)?, *max)),
        T::LocalPart => json!(as_str(t, &v)?.split('@').next().unwrap_or_default()),
        T::Domain => json!(as_str(t, &v)?.split_once('@').map(|x| x.1).unwrap_or_default()),
        T::Split(sep) => {
            let s = as_str(t, &v)?;
            if s.is_empty() { json!([]) } else { Value::Array(s.split(sep.as_str()).map(|p| json!(p)).collect()) }
        }
        T::Join(sep) => {
            let parts: Vec<String> = as_array(t, v)?.iter().map(to_text).collect();
            json!(parts.join(sep))
        }
        T::Default(a) => {
            if v.is_null() {
                a.eval(scope)
            } else {
                v
            }
        }
        T::Coalesce(args) => {
            if v.is_null() {
                args.iter().map(|a| a.eval(scope)).find(|x| !x.is_null()).unwrap_or(Value::Null)
            } else {
                v
            }
        }
        T::Map { table, default } => {
            let key = to_text(&v);
            match table.get(&key) {
                Some(x) => x.clone(),
                None => match default {
                    Some(d) => d.clone(),
                    None if v.is_null() => Value::Null,
                    None => {
                        let allowed: Vec<&str> = table.keys().map(String::as_str).collect();
                        return Err(EvalError::InvalidValue(format!(
                            "\"{key}\" is not allowed; allowed values: {}",
                            allowed.join(", ")
                        )));
                    }
                },
            }
        }
        T::Format(f) => match v {
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| json!(f.replacen("{}", &to_text(i), 1))).collect())
            }
            other => json!(f.replacen("{}", &to_text(&other), 1)),
        },
        T::Plus(n) => match v.as_i64() {
            Some(x) => json!(x + n),
            None if v.is_null() => json!(n),
            None => return Err(EvalError::Type { transform: "plus", expected: Kind::Number, got: describe(&v) }),
        },
        T::Bool => match &v {
            Value::Bool(b) => json!(b),
            Value::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => json!(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") || s == "0" || s.is_empty() => json!(false),
            Value::Number(n) => json!(n.as_f64().is_some_and(|f| f != 0.0)),
            other => return Err(EvalError::Type { transform: "bool", expected: Kind::Bool, got: describe(other) }),
        },
        T::Not => match &v {
            Value::Bool(b) => json!(!b),
            other => return Err(EvalError::Type { transform: "not", expected: Kind::Bool, got: describe(other) }),
        },
        T::EpochMs => json!(chrono::Utc::now().timestamp_millis()),
        T::NowIso => json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        T::Datetime => {
            let instant = match &v {
                Value::Number(n) => n.as_i64().and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis),
                Value::String(text) => {
                    chrono::DateTime::parse_from_rfc3339(text).ok().map(|d| d.with_timezone(&chrono::Utc))
                }
                _ => None,
            };
            match instant {
                Some(i) => json!(i.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                None => {
                    return Err(EvalError::InvalidValue(format!(
                        "`datetime` expects epoch milliseconds or RFC 3339 text, got {}",
                        describe(&v)
                    )));
                }
            }
        }
        T::Constant(c) => c.clone(),
        T::Lookup(name) => lookups.lookup(name, &v).await?,
        T::Base64url => json!(b64.encode(as_str(t, &v)?)),
        T::Base64urlDecode => {
            let bytes = b64
                .decode(as_str(t, &v)?.trim_end_matches('='))
                .map_err(|_| EvalError::InvalidValue("not base64url text".into()))?;
            json!(String::from_utf8(bytes).map_err(|_| EvalError::InvalidValue("not UTF-8 text".into()))?)
        }
        T::Prefix(p) => json!(format!("{p}{}", as_str(t, &v)?)),
        T::StripPrefix(p) => {
            let s = as_str(t, &v)?;
            json!(s.strip_prefix(p.as_str()).unwrap_or(s))
        }
        T::Append(a) => {
            let mut arr = as_array(t, v)?;
            arr.push(a.eval(scope));
            Value::Array(arr)
        }
        T::Remove(a) => {
            let x = a.eval(scope);
            Value::Array(as_array(t, v)?.into_iter().filter(|e| *e != x).collect())
        }
        T::Unique => {
            let mut out: Vec<Value> = vec![];
            for e in as_array(t, v)? {
                if !out.contains(&e) {
                    out.push(e);
                }
            }
            Value::Array(out)
        }
        T::First => as_array(t, v)?.into_iter().next().unwrap_or(Value::Null),
        T::Len => match &v {
            Value::String(s) => json!(s.chars().count()),
            Value::Array(a) => json!(a.len()),
            Value::Object(o) => json!(o.len()),
            Value::Null => json!(0),
            other => return Err(EvalError::Type { transform: "len", expected: Kind::Any, got: describe(other) }),
        },
        T::Empty => json!(!truthy(&v) && !matches!(v, Value::Bool(_) | Value::Number(_))),
        T::Eq(a) => json!(v == a.eval(scope)),
        T::Ne(a) => json!(v != a.eval(scope)),
        T::Json => {
            serde_json::from_str(as_str(t, &v)?).map_err(|e| EvalError::InvalidValue(format!("not JSON: {e}")))?
        }
        T::String => json!(to_text(&v)),
        T::Replace(from, to) => json!(as_str(t, &v)?.replace(from.as_str(), to)),
        T::Pluck(field) => Value::Array(
            as_array(t, v)?
                .into_iter()
                .map(|e| e.get(field).cloned().unwrap_or(Value::Null))
                .filter(|x| !x.is_null())
                .collect(),
        ),
        T::Objects(field, extra) => Value::Array(
            as_array(t, v)?
                .into_iter()
                .map(|e| {
                    let mut o = extra.clone();
                    o.insert(field.clone(), e);
                    Value::Object(o)
                })
                .collect(),
        ),
    })
}

/// Evaluates an expression in `scope`.
pub async fn eval(e: &Expr, scope: &Map<String, Value>, lookups: &dyn LookupResolver) -> Result<Value, EvalError> {
    let mut v = e.head.eval(scope);
    for s in &e.steps {
        v = apply(&s.transform, v, scope, lookups).await?;
    }
    Ok(v)
}

/// Applies a list of transform steps to a value.
pub async fn apply_all(
    steps: &[Step],
    mut v: Value,
    scope: &Map<String, Value>,
    lookups: &dyn LookupResolver,
) -> Result<Value, EvalError> {
    for s in steps {
        v = apply(&s.transform, v, scope, lookups).await?;
    }
    Ok(v)
}

/// Renders a template to text; each insertion passes through `encode` (percent-encoding for
/// URLs, identity elsewhere).
pub async fn render(
    t: &Template,
    scope: &Map<String, Value>,
    lookups: &dyn LookupResolver,
    encode: &(dyn Fn(&str) -> String + Sync),
) -> Result<String, EvalError> {
    let mut out = String::new();
    for p in &t.pieces {
        match p {
            Piece::Text(s) => out.push_str(s),
            Piece::Expr(e) => out.push_str(&encode(&to_text(&eval(e, scope, lookups).await?))),
        }
    }
    Ok(out)
}

/// Evaluates a template as a JSON value: a single insertion keeps its type, anything else is text.
pub async fn render_value(
    t: &Template,
    scope: &Map<String, Value>,
    lookups: &dyn LookupResolver,
) -> Result<Value, EvalError> {
    match t.single_expr() {
        Some(e) => eval(e, scope, lookups).await,
        None => Ok(Value::String(render(t, scope, lookups, &|s| s.to_owned()).await?)),
    }
}

#[cfg(test)]
mod tests;
