//! Filter parser: hand-written recursive descent with length and nesting limits.
//!
//! Precedence is `not` > `and` > `or`; `and`/`or` chains are left-associative. Keywords, operators and
//! the literals `true`/`false`/`null` are case-insensitive (RFC 7644 §3.4.2.2). Runs of spaces, tabs
//! and line breaks count as one separator. One is required between an attribute path, its operator and
//! its value, as RFC 7644's `SP`; around `and`/`or` one is only needed where a word would otherwise run
//! on (`"x"and b pr` and `(a pr)or(b pr)` are accepted), and space inside parentheses and brackets is
//! optional.
//!
//! Beyond the RFC grammar, Microsoft Entra's `emails[type eq "work"].value eq "x"` (a value path
//! followed by `.sub` and a comparison or `pr`) is accepted and parsed as
//! `emails[type eq "work" and value eq "x"]`: both conditions must hold for the same element, which is
//! what Entra means by it.

use serde_json::Number;

use super::ast::{AttrPath, CompValue, CompareOp, Filter};
use super::error::{FilterError, FilterErrorKind};

/// Bounds on the work a filter may ask of the parser (and, through the AST's depth, of the evaluator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted filter, in bytes of UTF-8.
    pub max_len: usize,
    /// Deepest accepted nesting. Each parenthesis, `not`, value path and each `and`/`or` of a chain adds a
    /// level, so with the default of 64 a flat chain may hold 65 terms. Values above
    /// [`MAX_DEPTH_CAP`] are treated as that cap, which keeps recursion well within a thread's stack.
    pub max_depth: usize,
}

/// The deepest nesting any [`Limits`] can allow: parsing, printing and evaluating a filter this deep
/// stays within 1 MiB of stack even in unoptimised builds.
pub const MAX_DEPTH_CAP: usize = 128;

impl Default for Limits {
    fn default() -> Self {
        Limits { max_len: 16 * 1024, max_depth: 64 }
    }
}

/// Parses a filter with the default [`Limits`].
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    parse_with_limits(input, Limits::default())
}

/// Parses a filter, rejecting input longer than `limits.max_len` bytes or nested deeper than
/// `limits.max_depth` before doing any work proportional to it.
pub fn parse_with_limits(input: &str, limits: Limits) -> Result<Filter, FilterError> {
    if input.len() > limits.max_len {
        let mut cut = limits.max_len;
        while !input.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(FilterError {
            column: column_at(input, cut),
            kind: FilterErrorKind::TooLong { max: limits.max_len },
        });
    }
    let mut p = Parser { src: input, pos: 0, max_depth: limits.max_depth.min(MAX_DEPTH_CAP) };
    p.skip_ws();
    let parsed = p.or_chain(0, false)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(parsed.filter),
        Some(found) => {
            Err(p.error(FilterErrorKind::UnexpectedChar { found, expected: "'and', 'or' or the end of the filter" }))
        }
    }
}

/// The 1-based character column of byte offset `pos`.
fn column_at(src: &str, pos: usize) -> usize {
    src.get(..pos).map_or(1, |s| s.chars().count() + 1)
}

/// A parsed sub-filter and the height of its AST (a leaf is 0).
struct Parsed {
    filter: Filter,
    height: usize,
}

struct Parser<'a> {
    src: &'a str,
    /// Byte offset; always on a character boundary.
    pos: usize,
    max_depth: usize,
}

const PATH_START: &str = "an attribute path, '(' or 'not ('";

impl<'a> Parser<'a> {
    // === building blocks ===

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_byte(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn error(&self, kind: FilterErrorKind) -> FilterError {
        self.error_at(self.pos, kind)
    }

    fn error_at(&self, pos: usize, kind: FilterErrorKind) -> FilterError {
        FilterError { column: column_at(self.src, pos), kind }
    }

    /// The error for "expected X here", whether the text ended or held something else.
    fn unexpected(&self, expected: &'static str) -> FilterError {
        match self.peek() {
            None => self.error(FilterErrorKind::UnexpectedEnd { expected }),
            Some(found) => self.error(FilterErrorKind::UnexpectedChar { found, expected }),
        }
    }

    /// Skips spaces, tabs and line breaks; returns whether there were any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek_byte().is_some_and(is_ws) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn expect(&mut self, c: u8, expected: &'static str) -> Result<(), FilterError> {
        if self.peek_byte() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// Whether the text at the cursor is the word `kw` (any case), not followed by a name character.
    fn at_keyword(&self, kw: &str) -> bool {
        let rest = self.rest().as_bytes();
        rest.get(..kw.len()).is_some_and(|w| w.eq_ignore_ascii_case(kw.as_bytes()))
            && !rest.get(kw.len()).is_some_and(|&b| is_name_byte(b) || b == b'.' || b == b':' || b == b'$')
    }

    /// Opens one more level of nesting at `at`, or fails if that is too deep.
    fn enter(&self, nest: usize, at: usize) -> Result<usize, FilterError> {
        if nest >= self.max_depth {
            return Err(self.error_at(at, FilterErrorKind::TooDeep { max: self.max_depth }));
        }
        Ok(nest + 1)
    }

    /// Wraps `filter` built over children of height `children`, or fails if it is too deep.
    fn node(&self, filter: Filter, children: usize, at: usize) -> Result<Parsed, FilterError> {
        if children >= self.max_depth {
            return Err(self.error_at(at, FilterErrorKind::TooDeep { max: self.max_depth }));
        }
        Ok(Parsed { filter, height: children + 1 })
    }

    // === logical structure ===

    /// `term *(or term)`, left-associative.
    fn or_chain(&mut self, nest: usize, in_value_path: bool) -> Result<Parsed, FilterError> {
        let mut left = self.and_chain(nest, in_value_path)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if !self.at_keyword("or") {
                self.pos = save;
                return Ok(left);
            }
            let at = self.pos;
            self.pos += 2;
            self.skip_ws();
            let right = self.and_chain(nest, in_value_path)?;
            let children = left.height.max(right.height);
            left = self.node(Filter::Or(Box::new(left.filter), Box::new(right.filter)), children, at)?;
        }
    }

    /// `unary *(and unary)`, left-associative.
    fn and_chain(&mut self, nest: usize, in_value_path: bool) -> Result<Parsed, FilterError> {
        let mut left = self.unary(nest, in_value_path)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if !self.at_keyword("and") {
                self.pos = save;
                return Ok(left);
            }
            let at = self.pos;
            self.pos += 3;
            self.skip_ws();
            let right = self.unary(nest, in_value_path)?;
            let children = left.height.max(right.height);
            left = self.node(Filter::And(Box::new(left.filter), Box::new(right.filter)), children, at)?;
        }
    }

    /// `"(" filter ")"`, `not "(" filter ")"` or an attribute expression.
    fn unary(&mut self, nest: usize, in_value_path: bool) -> Result<Parsed, FilterError> {
        let start = self.pos;
        match self.peek_byte() {
            None => Err(self.unexpected(PATH_START)),
            Some(b'(') => {
                let nest = self.enter(nest, start)?;
                self.pos += 1;
                let inner = self.parenthesised(nest, in_value_path)?;
                Ok(inner)
            }
            Some(_) if self.at_not_operator() => {
                let nest = self.enter(nest, start)?;
                self.pos += 3;
                self.skip_ws();
                self.expect(b'(', "'(' after 'not'")?;
                let inner = self.parenthesised(nest, in_value_path)?;
                self.node(Filter::Not(Box::new(inner.filter)), inner.height, start)
            }
            Some(_) => self.attr_exp(nest, in_value_path),
        }
    }

    /// The rest of a group after its `(`: a filter and the closing `)`.
    fn parenthesised(&mut self, nest: usize, in_value_path: bool) -> Result<Parsed, FilterError> {
        self.skip_ws();
        let inner = self.or_chain(nest, in_value_path)?;
        self.skip_ws();
        self.expect(b')', "')'")?;
        Ok(inner)
    }

    /// Whether `not` at the cursor is the operator rather than an attribute named `not` (as in
    /// `not pr` or `not[value pr]`): it is the operator when `(` or a word other than an operator
    /// follows it.
    fn at_not_operator(&self) -> bool {
        if !self.at_keyword("not") {
            return false;
        }
        let after = self.rest().get(3..).unwrap_or("");
        let trimmed = after.trim_start_matches(|c: char| c.is_ascii() && is_ws(c as u8));
        if trimmed.starts_with('(') {
            return true;
        }
        if trimmed.len() == after.len() {
            return after.is_empty(); // `not[`, `not"` continue as a path; a lone `not` wants `(`
        }
        let word: &str = trimmed.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
        let next = trimmed.as_bytes().get(word.len());
        let is_op_word = (word.eq_ignore_ascii_case("pr") || CompareOp::parse(word).is_some())
            && !next.is_some_and(|&b| is_name_byte(b));
        !is_op_word
    }

    // === attribute expressions ===

    /// `attrPath SP "pr"`, `attrPath SP op SP value`, `attrPath "[" valFilter "]"`, or Entra's
    /// `attrPath "[" valFilter "]" "." sub (SP "pr" / SP op SP value)`.
    fn attr_exp(&mut self, nest: usize, in_value_path: bool) -> Result<Parsed, FilterError> {
        let path = self.attr_path()?;
        if self.peek_byte() != Some(b'[') {
            return self.operator_tail(path);
        }
        let open = self.pos;
        if in_value_path {
            return Err(self.error(FilterErrorKind::NestedValuePath));
        }
        let nest = self.enter(nest, open)?;
        self.pos += 1;
        self.skip_ws();
        let mut inner = self.or_chain(nest, true)?;
        self.skip_ws();
        self.expect(b']', "']'")?;
        if self.peek_byte() == Some(b'.') {
            // Entra: `emails[type eq "work"].value eq "x"` means one element satisfying both.
            let dot = self.pos;
            self.pos += 1;
            let sub = self.attr_name("a sub-attribute name after '].'")?;
            let tail = self.operator_tail(AttrPath::named(sub))?;
            let children = inner.height.max(tail.height);
            inner = self.node(Filter::And(Box::new(inner.filter), Box::new(tail.filter)), children, dot)?;
        }
        self.node(Filter::ValuePath { attr: path, filter: Box::new(inner.filter) }, inner.height, open)
    }

    /// After an attribute path: `SP "pr"` or `SP op SP value`.
    fn operator_tail(&mut self, path: AttrPath) -> Result<Parsed, FilterError> {
        if !self.skip_ws() {
            return Err(self.unexpected("'.', '[' or whitespace and an operator after the attribute path"));
        }
        let start = self.pos;
        let word_len = self.rest().bytes().take_while(|&b| is_name_byte(b)).count();
        let word = self.rest().get(..word_len).unwrap_or("");
        if word.is_empty() {
            return Err(match self.peek() {
                None => self.error(FilterErrorKind::UnexpectedEnd { expected: "an operator" }),
                Some(_) => self.error(FilterErrorKind::ExpectedOperator),
            });
        }
        self.pos += word_len;
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Parsed { filter: Filter::Present(path), height: 0 });
        }
        let Some(op) = CompareOp::parse(word) else {
            return Err(self.error_at(start, FilterErrorKind::UnknownOperator(word.to_owned())));
        };
        if !self.skip_ws() {
            return Err(self.unexpected("whitespace after the operator"));
        }
        let value = self.value()?;
        Ok(Parsed { filter: Filter::Compare { path, op, value }, height: 0 })
    }

    /// `[URI ":"] ATTRNAME ["." subAttr]`. The URN is everything up to the last `:` before the first
    /// space, bracket, parenthesis or quote: attribute names cannot contain `:`.
    fn attr_path(&mut self) -> Result<AttrPath, FilterError> {
        let start = self.pos;
        let rest = self.rest();
        let mut uri = None;
        if rest.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            let token_len = rest.find(|c: char| c.is_ascii() && is_path_end(c as u8)).unwrap_or(rest.len());
            let token = rest.get(..token_len).unwrap_or("");
            let colon = token.rfind(':').unwrap_or(3);
            let urn = token.get(..colon).unwrap_or("");
            if let Some((i, found)) = urn.char_indices().find(|&(_, c)| !is_urn_char(c)) {
                return Err(self.error_at(
                    start + i,
                    FilterErrorKind::UnexpectedChar {
                        found,
                        expected: "a URN character (letters, digits, ':', '.', '-', '_')",
                    },
                ));
            }
            uri = Some(urn.to_owned());
            self.pos = start + colon + 1;
        }
        let name = self.attr_name(if uri.is_some() { "an attribute name after the schema URN" } else { PATH_START })?;
        let sub = if self.peek_byte() == Some(b'.') {
            self.pos += 1;
            Some(self.attr_name("a sub-attribute name after '.'")?)
        } else {
            None
        };
        Ok(AttrPath { uri, name, sub })
    }

    /// `ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_")`, or `$ref` (RFC 7643 §2.3.7 names the reference
    /// sub-attribute so).
    fn attr_name(&mut self, expected: &'static str) -> Result<String, FilterError> {
        let rest = self.rest();
        let len = match rest.as_bytes().first() {
            Some(b) if b.is_ascii_alphabetic() => rest.bytes().take_while(|&b| is_name_byte(b)).count(),
            Some(b'$') if rest.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("$ref")) => {
                if let Some(&b) = rest.as_bytes().get(4).filter(|&&b| is_name_byte(b)) {
                    return Err(self.error_at(
                        self.pos + 4,
                        FilterErrorKind::UnexpectedChar {
                            found: char::from(b),
                            expected: "'.', '[' or whitespace after '$ref'",
                        },
                    ));
                }
                4
            }
            _ => return Err(self.unexpected(expected)),
        };
        let name = rest.get(..len).unwrap_or("").to_owned();
        self.pos += len;
        Ok(name)
    }

    // === values ===

    /// `false / null / true / number / string` (RFC 7159 forms; literals in any case).
    fn value(&mut self) -> Result<CompValue, FilterError> {
        let value = match self.peek_byte() {
            Some(b'"') => return self.string().map(CompValue::String),
            Some(b'-' | b'0'..=b'9') => CompValue::Number(self.number()?),
            Some(b) if b.is_ascii_alphabetic() => {
                let start = self.pos;
                let len = self.rest().bytes().take_while(|&b| is_name_byte(b)).count();
                let word = self.rest().get(..len).unwrap_or("");
                let value = if word.eq_ignore_ascii_case("true") {
                    CompValue::Bool(true)
                } else if word.eq_ignore_ascii_case("false") {
                    CompValue::Bool(false)
                } else if word.eq_ignore_ascii_case("null") {
                    CompValue::Null
                } else {
                    return Err(self.error_at(start, FilterErrorKind::InvalidValue(word.to_owned())));
                };
                self.pos += len;
                value
            }
            _ => return Err(self.unexpected("a comparison value (a JSON string, a number, true, false or null)")),
        };
        match self.peek_byte() {
            None | Some(b')' | b']') => Ok(value),
            Some(b) if is_ws(b) => Ok(value),
            Some(_) => Err(self.unexpected("whitespace, ')' or ']' after the value")),
        }
    }

    /// A JSON number: `-? (0 / [1-9] DIGIT*) ("." DIGIT+)? ([eE] [+-]? DIGIT+)?`.
    fn number(&mut self) -> Result<Number, FilterError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let digits = |from: usize| bytes.get(from..).map_or(0, |s| s.iter().take_while(|b| b.is_ascii_digit()).count());
        let mut end = start;
        if bytes.get(end) == Some(&b'-') {
            end += 1;
        }
        let int_digits = digits(end);
        let invalid = |end: usize| {
            let shown_end = (end + 1).min(bytes.len());
            let mut shown_end = shown_end;
            while !self.src.is_char_boundary(shown_end) {
                shown_end += 1;
            }
            let text = self.src.get(start..shown_end).unwrap_or("").to_owned();
            self.error_at(start, FilterErrorKind::InvalidNumber(text))
        };
        if int_digits == 0 || (int_digits > 1 && bytes.get(end) == Some(&b'0')) {
            return Err(invalid(end + int_digits));
        }
        end += int_digits;
        if bytes.get(end) == Some(&b'.') {
            let frac = digits(end + 1);
            if frac == 0 {
                return Err(invalid(end + 1));
            }
            end += 1 + frac;
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            end += 1;
            if matches!(bytes.get(end), Some(b'+' | b'-')) {
                end += 1;
            }
            let exp = digits(end);
            if exp == 0 {
                return Err(invalid(end));
            }
            end += exp;
        }
        let text = self.src.get(start..end).unwrap_or("");
        // Integers stay exact; anything else (or too large for 64 bits) is the nearest f64, as Rust's
        // correctly rounded parser gives it, so that printing and re-parsing round-trips.
        let integer = if text.contains(['.', 'e', 'E']) {
            None
        } else {
            text.parse::<i64>().ok().map(Number::from).or_else(|| text.parse::<u64>().ok().map(Number::from))
        };
        let number = integer
            .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
            .ok_or_else(|| self.error_at(start, FilterErrorKind::InvalidNumber(text.to_owned())))?;
        self.pos = end;
        Ok(number)
    }

    /// A JSON string with every escape of RFC 8259 §7, surrogate pairs included.
    fn string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let seg = self.pos;
            while self.peek_byte().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            out.push_str(self.src.get(seg..self.pos).unwrap_or(""));
            match self.peek_byte() {
                None => return Err(self.error_at(open, FilterErrorKind::UnterminatedString)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => out.push(self.escape(open)?),
                Some(b) => return Err(self.error(FilterErrorKind::ControlCharacter(u32::from(b)))),
            }
        }
    }

    /// One escape sequence at the cursor (on its backslash).
    fn escape(&mut self, open: usize) -> Result<char, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let c = match self.peek_byte() {
            None => return Err(self.error_at(open, FilterErrorKind::UnterminatedString)),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let high = self.hex4(start)?;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if !self.rest().starts_with("\\u") {
                        return Err(self.invalid_escape(start));
                    }
                    self.pos += 2;
                    let low = self.hex4(start)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.invalid_escape(start));
                    }
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                return char::from_u32(code).ok_or_else(|| self.invalid_escape(start));
            }
            Some(_) => {
                let len = self.peek().map_or(1, char::len_utf8);
                self.pos += len;
                return Err(self.invalid_escape(start));
            }
        };
        self.pos += 1;
        Ok(c)
    }

    /// Four hex digits at the cursor.
    fn hex4(&mut self, escape_start: usize) -> Result<u32, FilterError> {
        let digits = self.rest().as_bytes().get(..4).filter(|d| d.iter().all(u8::is_ascii_hexdigit));
        let Some(digits) = digits else {
            let len = self.rest().chars().take(4).take_while(char::is_ascii_hexdigit).count();
            self.pos += len;
            if let Some(c) = self.peek() {
                self.pos += c.len_utf8();
            }
            return Err(self.invalid_escape(escape_start));
        };
        let value = digits.iter().fold(0u32, |acc, &d| acc * 16 + char::from(d).to_digit(16).unwrap_or(0));
        self.pos += 4;
        Ok(value)
    }

    /// An `InvalidEscape` error showing the escape text from `start` to the cursor.
    fn invalid_escape(&self, start: usize) -> FilterError {
        let text = self.src.get(start..self.pos).unwrap_or("\\").to_owned();
        self.error_at(start, FilterErrorKind::InvalidEscape(text))
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `ALPHA / DIGIT / "-" / "_"`: characters that continue an attribute name or a keyword.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Characters that end a URN-qualified path token.
fn is_path_end(b: u8) -> bool {
    is_ws(b) || matches!(b, b'[' | b']' | b'(' | b')' | b'"')
}

/// Characters accepted in the schema URN of a qualified path (RFC 8141 NSS characters, less the
/// percent-encoding and the punctuation that never appears in SCIM schema URNs).
fn is_urn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_')
}
