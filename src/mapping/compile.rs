//! The mapping compiler: a parsed [`MappingFile`] becomes a [`CompiledMapping`] in which every
//! path, JSONPath, template and expression is parsed once. All problems are collected, each with
//! its file:line:col, rather than stopping at the first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, Method};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::diag::outline::Outline;
use super::diag::{Diagnostics, Severity};
use super::expr::{self, Expr, Kind, Step, Template};
use super::jsonpath::JsonPath;
use super::model::*;
use super::native_path::NativePath;
use crate::scim::filter::{AttrPath, CompareOp};
use crate::scim::patch::PatchPath;
use crate::scim::schema::{AttrType, AttributeDef, Mutability, ResourceSchema};
use crate::scim::{ResourceKind, SchemaModel, ScimType};

/// The supported format version.
pub const API_VERSION: &str = "scimgate/v1";

/// The `scimType` values of RFC 7644 §3.12, for help text.
const SCIM_TYPES: [&str; 10] = [
    "invalidFilter",
    "tooMany",
    "uniqueness",
    "mutability",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
    "sensitive",
];

/// A mapping ready to run.
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    pub name: String,
    pub description: String,
    pub file: String,
    pub backend: crate::backend::BackendSettings,
    pub vars: Map<String, Value>,
    pub lookups: HashMap<String, Lookup>,
    pub errors: Vec<ErrorRuleC>,
    pub users: Resource,
    pub groups: Resource,
    /// What the target can hold, advertised in `/Schemas`.
    pub schemas: SchemaModel,
}

impl CompiledMapping {
    pub fn resource(&self, kind: ResourceKind) -> &Resource {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Lookup {
    pub call: Call,
    pub result: JsonPath,
    pub on_missing: OnMissing,
    pub ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct ErrorRuleC {
    pub status: Vec<u16>,
    pub body_contains: Option<String>,
    pub operation: Option<String>,
    pub scim_status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: Option<Template>,
}

/// One SCIM resource type's compiled mapping.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: ResourceKind,
    pub id: Id,
    pub attrs: Vec<Attr>,
    pub get: Vec<Call>,
    pub create: Vec<Call>,
    pub update: Update,
    pub delete: Vec<Call>,
    pub list: List,
    pub filters: Vec<FilterRuleC>,
    pub other_filters: OtherFilters,
    pub triggers: Vec<Trigger>,
    pub members: Option<Members>,
}

#[derive(Debug, Clone)]
pub struct Id {
    pub read: JsonPath,
    pub template: Option<Template>,
    pub encoding: IdEncoding,
}

/// Where an attribute's SCIM value comes from or goes to.
#[derive(Debug, Clone)]
pub struct ScimSource {
    pub path: PatchPath,
    pub text: String,
    /// The addressed SCIM attribute is multi-valued and the path does not pick one element.
    pub multi: bool,
    /// The SCIM type of the addressed value (for static checks).
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum ReadC {
    None,
    Native(NativePath),
    JsonPath(JsonPath),
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub scim: Option<ScimSource>,
    pub create: Option<NativePath>,
    pub update: Option<NativePath>,
    pub read: ReadC,
    pub value: Option<Value>,
    pub from: Option<Expr>,
    pub to_native: Vec<Step>,
    pub to_scim: Vec<Step>,
    pub select: Option<Select>,
    pub element: Map<String, Value>,
    pub immutable: bool,
    pub case_exact: Option<bool>,
}

/// One native call.
#[derive(Debug, Clone)]
pub struct Call {
    pub name: String,
    pub method: Method,
    pub url: Template,
    pub query: Vec<(String, Template)>,
    pub headers: Vec<(HeaderName, Template)>,
    pub body: Option<Body>,
    pub when: Option<Expr>,
    pub for_each: Option<Expr>,
    pub capture: Vec<Capture>,
    pub accept: Vec<u16>,
    pub expect: Vec<u16>,
    pub record: Option<JsonPath>,
    /// This create step's record is complete: no read-back is needed (`read_back: false`).
    pub complete: bool,
    /// A step of `update.forward_patch`: a 405 or 501 answer before any write means the
    /// application does not take PATCH, and the change falls back to read-modify-write.
    pub falls_back: bool,
}

impl Call {
    /// Every expression the call evaluates: in its URL, query, headers, body, `when` and
    /// `for_each`.
    pub fn exprs(&self) -> Vec<&Expr> {
        fn body<'a>(b: &'a Body, out: &mut Vec<&'a Expr>) {
            match b {
                Body::Const(_) => {}
                Body::Template(t) => out.extend(t.exprs()),
                Body::Array(a) => a.iter().for_each(|x| body(x, out)),
                Body::Object(o) => o.iter().for_each(|(_, x)| body(x, out)),
            }
        }
        let mut out: Vec<&Expr> = self.url.exprs().collect();
        out.extend(self.query.iter().flat_map(|(_, t)| t.exprs()));
        out.extend(self.headers.iter().flat_map(|(_, t)| t.exprs()));
        if let Some(b) = &self.body {
            body(b, &mut out);
        }
        out.extend(self.when.iter().chain(&self.for_each));
        out
    }

    /// Whether `status`, answered after `writes` successful writes, says that the application
    /// does not take this call at all (see [`Call::falls_back`]): nothing has been changed yet,
    /// and the step did not ask for that status itself.
    pub fn refused_as_unsupported(&self, status: u16, writes: usize) -> bool {
        self.falls_back
            && writes == 0
            && matches!(status, 405 | 501)
            && !self.expect.contains(&status)
            && !self.accept.contains(&status)
    }
}

#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub path: JsonPath,
    pub all: bool,
}

/// A compiled body template.
#[derive(Debug, Clone)]
pub enum Body {
    Const(Value),
    Template(Template),
    Array(Vec<Body>),
    Object(Vec<(String, Body)>),
}

#[derive(Debug, Clone)]
pub struct Update {
    pub style: UpdateStyle,
    pub clear_with: Option<Value>,
    pub steps: Vec<Call>,
    /// `forward_patch`, when given.
    pub forward: Option<ForwardPatch>,
}

/// Steps that receive a SCIM PATCH's own operations, and the attributes they may name.
#[derive(Debug, Clone)]
pub struct ForwardPatch {
    pub steps: Vec<Call>,
    /// The attributes mapped one to one: SCIM top-level name as [`top_name`] spells it (core
    /// attributes without their URN) → the native name, spelt as a SCIM attribute path
    /// (`jobTitle`, `urn:…:enterprise:2.0:User:manager`).
    pub attrs: HashMap<String, String>,
    /// What the steps send: the PatchOp `operations` with native names, the RFC 6902 `json_patch`,
    /// or both. A PATCH is forwarded only when each form named can express it.
    pub forms: ForwardForms,
}

/// The descriptions of a forwarded PATCH that `update.forward_patch` steps name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardForms {
    pub operations: bool,
    pub json_patch: bool,
}

impl ForwardForms {
    /// What `steps` name. Steps that name neither are given `operations`, the fuller form.
    fn of(steps: &[Call]) -> ForwardForms {
        let names = |var: &str| steps.iter().flat_map(Call::exprs).flat_map(Expr::vars).any(|v| v.root() == var);
        let json_patch = names("json_patch");
        ForwardForms { operations: names("operations") || !json_patch, json_patch }
    }
}

#[derive(Debug, Clone)]
pub enum PagingC {
    Offset { max_limit: usize },
    Page { max_limit: usize, first_page: u64 },
    Cursor { max_limit: usize, next: JsonPath },
}

impl PagingC {
    pub fn max_limit(&self) -> usize {
        match self {
            PagingC::Offset { max_limit } | PagingC::Page { max_limit, .. } | PagingC::Cursor { max_limit, .. } => {
                (*max_limit).max(1)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct List {
    pub call: Call,
    pub records: JsonPath,
    pub total: Option<JsonPath>,
    pub paging: PagingC,
    pub max_scan: usize,
}

#[derive(Debug, Clone)]
pub enum FilterResultC {
    Single,
    Records(JsonPath),
}

#[derive(Debug, Clone)]
pub struct FilterRuleC {
    /// `None` for the catch-all rule (`attribute: "*"`).
    pub attr: Option<AttrPath>,
    pub op: CompareOp,
    pub steps: Vec<Call>,
    pub result: FilterResultC,
}

#[derive(Debug, Clone)]
pub struct Trigger {
    pub attr: PatchPath,
    pub attr_text: String,
    pub equals: Option<Value>,
    pub on_create: bool,
    pub on_update: bool,
    pub before_update: bool,
    pub steps: Vec<Call>,
}

#[derive(Debug, Clone)]
pub struct Members {
    pub call: Option<Call>,
    pub records: JsonPath,
    pub value: JsonPath,
    pub display: Option<JsonPath>,
    pub paging: Option<PagingC>,
    pub add: MemberWriteC,
    pub remove: MemberWriteC,
    /// Whether a write needs the complete new member list (`members_after`), so the current
    /// members must be read first.
    pub needs_after: bool,
    pub clear_on_delete: bool,
}

#[derive(Debug, Clone)]
pub struct MemberWriteC {
    pub mode: MemberMode,
    pub steps: Vec<Call>,
}

/// Loads and compiles a mapping file; on failure, every problem found.
pub fn load(path: &Path) -> Result<(CompiledMapping, Diagnostics), Diagnostics> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(src) => compile_str(&file, &src),
        Err(e) => {
            let mut d = Diagnostics::new(&file, Arc::from(""));
            d.general(format!("cannot read the mapping file: {e}"));
            Err(d)
        }
    }
}

/// Parses and compiles mapping source text. Warnings come back with the mapping.
pub fn compile_str(file: &str, src: &str) -> Result<(CompiledMapping, Diagnostics), Diagnostics> {
    let mut d = Diagnostics::new(file, Arc::from(src));
    let parsed: MappingFile = match serde_saphyr::from_str(src) {
        Ok(m) => m,
        Err(e) => {
            d.yaml_error(&e);
            return Err(d);
        }
    };
    let mut c = Compiler {
        d: &mut d,
        lookups: parsed.lookups.keys().cloned().collect(),
        vars: parsed.vars.keys().cloned().collect(),
    };
    let compiled = c.mapping(file, parsed);
    // Report in file order, whatever order the checks ran in.
    d.items.sort_by_key(|i| (i.line, i.column));
    match compiled {
        Some(m) if !d.has_errors() => Ok((m, d)),
        _ => Err(d),
    }
}

/// Variables available in each kind of step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Get,
    Create,
    /// The update style decides which description of the change the steps receive.
    Update(UpdateStyle),
    /// `update.forward_patch`: the PATCH operations, no record.
    ForwardPatch,
    Delete,
    List,
    Filter,
    Trigger,
    MembersRead,
    /// `batch` writes receive `members`, `each` writes one `member`.
    MembersWrite(MemberMode),
    Lookup,
}

impl Ctx {
    fn builtins(self) -> &'static [&'static str] {
        match self {
            Ctx::Get => &["vars", "id", "with_members"],
            Ctx::Delete => &["vars", "id"],
            Ctx::Create => &["vars", "scim", "doc", "id"],
            Ctx::Update(UpdateStyle::JsonPatch) => &["vars", "id", "scim", "old", "doc", "record", "patch"],
            Ctx::Update(UpdateStyle::MergePatch) => &["vars", "id", "scim", "old", "doc", "record", "changes"],
            Ctx::Update(UpdateStyle::Put) => &["vars", "id", "scim", "old", "doc", "record"],
            Ctx::Update(UpdateStyle::PerKey) => &["vars", "id", "scim", "old", "doc", "record", "key", "value"],
            Ctx::ForwardPatch => &["vars", "id", "operations", "json_patch"],
            Ctx::List => &["vars", "limit", "offset", "page", "cursor"],
            Ctx::Filter => &["vars", "value", "filter", "with_members", "limit"],
            Ctx::Trigger => &["vars", "id", "scim", "record", "value"],
            Ctx::MembersRead => &["vars", "id", "limit", "offset", "page", "cursor"],
            Ctx::MembersWrite(MemberMode::Batch) => &["vars", "id", "scim", "members", "members_after"],
            Ctx::MembersWrite(MemberMode::Each) => &["vars", "id", "scim", "member", "members_after"],
            Ctx::Lookup => &["vars", "value"],
        }
    }

    /// Why a variable other kinds of step have is missing here, when that is the likely mistake.
    fn missing_hint(self, name: &str) -> Option<&'static str> {
        Some(match (self, name) {
            (Ctx::Update(_), "patch") => "`patch` is given to update steps of `style: json_patch` only",
            (Ctx::Update(_), "changes") => "`changes` is given to update steps of `style: merge_patch` only",
            (Ctx::Update(_), "key" | "value") => "`key` and `value` are given to update steps of `style: per_key` only",
            (Ctx::Update(_), "operations" | "json_patch") => {
                "`operations` and `json_patch` are given to `update.forward_patch` steps only"
            }
            (Ctx::ForwardPatch, "scim" | "old" | "doc" | "record" | "patch" | "changes" | "key" | "value") => {
                "`forward_patch` steps send the PATCH's `operations` or `json_patch` without reading the record first"
            }
            (Ctx::MembersWrite(MemberMode::Batch), "member") => {
                "`member` is given to `mode: each` writes; use `members`"
            }
            (Ctx::MembersWrite(MemberMode::Each), "members") => {
                "`members` is given to `mode: batch` writes; use `member`"
            }
            (_, "item" | "index") => "`item` and `index` are defined in a step with `for_each`",
            _ => return None,
        })
    }
}

/// What the templates and expressions of one step may read, besides the built-in variables.
struct Scope<'a> {
    ctx: Option<Ctx>,
    builtins: &'a [&'a str],
    /// Names captured by earlier steps of the same operation.
    captures: &'a BTreeSet<String>,
    /// Names captured by this step or later ones only: name → number of the first step capturing it.
    later: &'a BTreeMap<String, usize>,
    /// The number of this step in its operation (1-based; 0 outside operations).
    step: usize,
    /// The step has `for_each`, which defines `item` and `index`.
    each: bool,
}

const NO_CAPTURES: &BTreeSet<String> = &BTreeSet::new();
const NO_LATER: &BTreeMap<String, usize> = &BTreeMap::new();

impl<'a> Scope<'a> {
    /// A scope of built-in variables only (outside steps: error details, id templates, `from`).
    fn fixed(builtins: &'a [&'a str]) -> Self {
        Scope { ctx: None, builtins, captures: NO_CAPTURES, later: NO_LATER, step: 0, each: false }
    }

    fn has(&self, name: &str) -> bool {
        self.builtins.contains(&name) || self.captures.contains(name) || (self.each && matches!(name, "item" | "index"))
    }

    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.builtins.to_vec();
        names.extend(self.captures.iter().map(String::as_str));
        if self.each {
            names.extend(["item", "index"]);
        }
        names
    }
}

struct Compiler<'d> {
    d: &'d mut Diagnostics,
    lookups: BTreeSet<String>,
    /// Names declared under `vars`.
    vars: BTreeSet<String>,
}

fn scim_kind(ty: AttrType, multi: bool) -> Kind {
    if multi {
        return Kind::Array;
    }
    match ty {
        AttrType::String | AttrType::Reference | AttrType::DateTime | AttrType::Binary => Kind::String,
        AttrType::Boolean => Kind::Bool,
        AttrType::Integer | AttrType::Decimal => Kind::Number,
        AttrType::Complex => Kind::Any,
    }
}

fn kinds_compatible(expected: Kind, got: Kind) -> bool {
    expected == Kind::Any || got == Kind::Any || expected == got
}

impl Compiler<'_> {
    fn mapping(&mut self, file: &str, m: MappingFile) -> Option<CompiledMapping> {
        if m.api_version.value != API_VERSION {
            let msg = format!("unsupported apiVersion `{}`", m.api_version.value);
            self.d.at(
                &m.api_version,
                0,
                m.api_version.value.len(),
                msg,
                Some(format!("use `apiVersion: {API_VERSION}`")),
            );
        }
        let mut lookups = HashMap::new();
        for (name, l) in &m.lookups {
            let call = self.single_call(&l.call, Ctx::Lookup);
            let result = self.jsonpath(&l.result);
            if let (Some(call), Some(result)) = (call, result) {
                let ttl = Duration::from_secs(l.cache_ttl_secs);
                lookups.insert(name.clone(), Lookup { call, result, on_missing: l.on_missing, ttl });
            }
        }
        let errors = m.errors.iter().filter_map(|r| self.error_rule(r)).collect();
        let users = self.resource(ResourceKind::User, &m.users);
        let groups = self.resource(ResourceKind::Group, &m.groups);
        let (users, groups) = (users?, groups?);
        let schemas = SchemaModel { user: advertised(&users), group: advertised(&groups) };
        Some(CompiledMapping {
            name: m.name,
            description: m.description,
            file: file.to_owned(),
            backend: m.backend,
            vars: m.vars.into_iter().collect(),
            lookups,
            errors,
            users,
            groups,
            schemas,
        })
    }

    fn error_rule(&mut self, r: &ErrorRule) -> Option<ErrorRuleC> {
        let scim_type = match &r.scim.scim_type {
            None => None,
            Some(t) => match ScimType::parse(&t.value) {
                Some(st) => Some(st),
                None => {
                    let help = format!("RFC 7644 scimType values: {}", SCIM_TYPES.join(", "));
                    self.d.at(t, 0, t.value.len(), format!("unknown scim_type `{}`", t.value), Some(help));
                    return None;
                }
            },
        };
        let detail =
            r.scim.detail.as_ref().and_then(|t| self.template(t, &Scope::fixed(&["vars", "message", "status"])));
        Some(ErrorRuleC {
            status: r.when.status.clone(),
            body_contains: r.when.body_contains.as_ref().map(|s| s.to_lowercase()),
            operation: r.when.operation.clone(),
            scim_status: r.scim.status,
            scim_type,
            detail,
        })
    }

    fn jsonpath(&mut self, t: &Text) -> Option<JsonPath> {
        match JsonPath::parse(&t.value) {
            Ok(p) => Some(p),
            Err(e) => {
                let (offset, help) = jsonpath_problem(&t.value, &e.0);
                self.d.at(t, offset, 1, "invalid JSONPath", Some(help));
                None
            }
        }
    }

    fn native_path(&mut self, t: &Text) -> Option<NativePath> {
        match NativePath::parse(&t.value) {
            Ok(p) => Some(p),
            Err(e) => {
                self.d.at(t, e.offset, 1, format!("invalid native path: {}", e.message), None);
                None
            }
        }
    }

    /// Parses a template and checks its variables against `scope`.
    fn template(&mut self, t: &Text, scope: &Scope) -> Option<Template> {
        match expr::parse_template(&t.value) {
            Ok(tpl) => {
                for e in tpl.exprs() {
                    self.check_vars(t, e, scope, true);
                }
                self.check_lookups_in(t, tpl.exprs());
                Some(tpl)
            }
            Err(e) => {
                let len = quoted_name(&e.message).map_or(1, |n| n.chars().count());
                let (message, help) = with_help(&e.message);
                self.d.at(t, e.offset, len, format!("invalid template: {message}"), help);
                None
            }
        }
    }

    /// Parses an expression and checks its variables against `scope`.
    fn expr(&mut self, t: &Text, scope: &Scope) -> Option<Expr> {
        match expr::parse_expr(&t.value) {
            Ok(e) => {
                self.check_vars(t, &e, scope, false);
                self.check_lookups_in(t, std::iter::once(&e));
                Some(e)
            }
            Err(e) => {
                let len = quoted_name(&e.message).map_or(1, |n| n.chars().count());
                let (message, help) = with_help(&e.message);
                self.d.at(t, e.offset, len, format!("invalid expression: {message}"), help);
                None
            }
        }
    }

    fn check_lookups_in<'a>(&mut self, t: &Text, exprs: impl Iterator<Item = &'a Expr>) {
        for e in exprs {
            for s in &e.steps {
                if let expr::Transform::Lookup(name) = &s.transform {
                    self.check_lookup(t, s.offset, name);
                }
            }
        }
    }

    /// Reports a `lookup("NAME")` naming no declared lookup; `offset` is where the call starts.
    fn check_lookup(&mut self, t: &Text, offset: usize, name: &str) {
        if self.lookups.contains(name) {
            return;
        }
        let known: Vec<&str> = self.lookups.iter().map(String::as_str).collect();
        let help = match (expr::suggest(name, &known), known.is_empty()) {
            (Some(s), _) => format!("did you mean `{s}`? declared lookups: {}", known.join(", ")),
            (None, true) => "declare it under the top-level `lookups` key".to_owned(),
            (None, false) => format!("declared lookups: {}", known.join(", ")),
        };
        let len = "lookup(\"\")".len() + name.chars().count();
        self.d.at(t, offset, len, format!("no lookup named `{name}` is declared"), Some(help));
    }

    /// Reports variables an expression reads that are not defined where it runs, and `vars.NAME`
    /// for names not declared under `vars`.
    fn check_vars(&mut self, t: &Text, e: &Expr, scope: &Scope, in_braces: bool) {
        for v in e.vars() {
            let root = v.root();
            if root == "vars" {
                if let Some(expr::Seg::Key(name)) = v.0.get(1)
                    && !self.vars.contains(name)
                {
                    let declared: Vec<&str> = self.vars.iter().map(String::as_str).collect();
                    let help = match expr::suggest(name, &declared) {
                        Some(s) => format!("did you mean `vars.{s}`? declared: {}", declared.join(", ")),
                        None if declared.is_empty() => "declare it under the top-level `vars` key".to_owned(),
                        None => format!("declared: {}", declared.join(", ")),
                    };
                    let text = format!("vars.{name}");
                    let off = find_var(&t.value, &text, in_braces);
                    self.d.at(t, off, text.len(), format!("`vars.{name}` is not declared"), Some(help));
                }
                continue;
            }
            if scope.has(root) {
                continue;
            }
            let off = find_var(&t.value, root, in_braces);
            if let Some(step) = scope.later.get(root) {
                let (msg, help) = if *step == scope.step {
                    (
                        format!("`{root}` is captured from this step's own answer, which does not exist yet"),
                        "a step sees only what earlier steps of the same operation captured".to_owned(),
                    )
                } else {
                    (
                        format!("`{root}` is used before it is captured (by step {step} of this operation)"),
                        "a step sees only what earlier steps of the same operation captured; move the capturing \
                         step first"
                            .to_owned(),
                    )
                };
                self.d.at(t, off, root.len(), msg, Some(help));
                continue;
            }
            let names = scope.names();
            let help = match (scope.ctx.and_then(|c| c.missing_hint(root)), expr::suggest(root, &names)) {
                (Some(hint), _) => format!("{hint}; available here: {}", names.join(", ")),
                (None, Some(s)) => format!("did you mean `{s}`? available here: {}", names.join(", ")),
                (None, None) => format!("available here: {}", names.join(", ")),
            };
            self.d.at(t, off, root.len(), format!("`{root}` is not defined at this step"), Some(help));
        }
    }

    fn transforms(&mut self, list: &[Text]) -> Vec<Step> {
        let mut out = vec![];
        for t in list {
            match expr::parse_transform(&t.value) {
                Ok(s) => {
                    if let expr::Transform::Lookup(name) = &s.transform {
                        self.check_lookup(t, s.offset, name);
                    }
                    out.push(s);
                }
                Err(e) => {
                    let len = quoted_name(&e.message).map_or(1, |n| n.chars().count());
                    let (message, help) = with_help(&e.message);
                    self.d.at(t, e.offset, len, message, help);
                }
            }
        }
        out
    }

    /// Compiles a sequence of steps; later steps see earlier captures.
    fn steps(&mut self, steps: &[CallSpec], ctx: Ctx) -> Vec<Call> {
        let mut later: BTreeMap<String, usize> = BTreeMap::new();
        for (i, s) in steps.iter().enumerate().rev() {
            for name in s.capture.keys().chain(s.capture_all.keys()) {
                later.insert(name.clone(), i + 1);
            }
        }
        let mut captures = BTreeSet::new();
        let mut out = vec![];
        for (i, s) in steps.iter().enumerate() {
            later.retain(|_, step| *step > i);
            if let Some((c, caps)) = self.call(s, ctx, i + 1, &captures, &later) {
                captures.extend(caps);
                out.push(c);
            } else {
                // Keep checking the steps after a broken one as if its captures were made.
                captures.extend(s.capture.keys().chain(s.capture_all.keys()).cloned());
            }
        }
        out
    }

    /// Compiles a call that runs on its own (a lookup, a list or members read).
    fn single_call(&mut self, s: &CallSpec, ctx: Ctx) -> Option<Call> {
        self.call(s, ctx, 0, NO_CAPTURES, NO_LATER).map(|(c, _)| c)
    }

    /// Compiles one call; returns the names it captures.
    fn call(
        &mut self,
        s: &CallSpec,
        ctx: Ctx,
        step: usize,
        captures: &BTreeSet<String>,
        later: &BTreeMap<String, usize>,
    ) -> Option<(Call, Vec<String>)> {
        let allowed = ctx.builtins();
        let scope = Scope { ctx: Some(ctx), builtins: allowed, captures, later, step, each: s.for_each.is_some() };
        let mut ok = true;
        let url = self.template(&s.url, &scope);
        if !s.url.value.starts_with('/') && !s.url.value.starts_with('{') {
            self.d.at(
                &s.url,
                0,
                1,
                "a URL template is relative to the backend base URL and starts with `/`",
                Some(format!("e.g. `/{}`", s.url.value.trim_start_matches("./"))),
            );
            ok = false;
        }
        let mut query = vec![];
        for (k, v) in &s.query {
            match self.template(v, &scope) {
                Some(t) => query.push((k.clone(), t)),
                None => ok = false,
            }
        }
        let mut headers = vec![];
        for (k, v) in &s.headers {
            let name = HeaderName::from_bytes(k.as_bytes());
            match (name, self.template(v, &scope)) {
                (Ok(n), Some(t)) => headers.push((n, t)),
                (Err(_), _) => {
                    let help = "a header name is letters, digits and `-` (no spaces or `:`)".to_owned();
                    self.d.at(v, 0, 1, format!("`{k}` is not a valid header name"), Some(help));
                    ok = false;
                }
                _ => ok = false,
            }
        }
        let body = match &s.body {
            Some(b) => {
                let compiled = self.body(b, &scope);
                if compiled.is_none() {
                    ok = false;
                }
                compiled
            }
            None => None,
        };
        // `when` and `for_each` are evaluated once, before there is an `item`.
        let outer = Scope { each: false, ..scope };
        let cond = |this: &mut Self, t: &Option<Text>| -> Option<Option<Expr>> {
            match t {
                None => Some(None),
                Some(t) => Some(Some(this.expr(t, &outer)?)),
            }
        };
        let when = cond(self, &s.when);
        let for_each = cond(self, &s.for_each);
        let mut capture = vec![];
        let mut names = vec![];
        for (all, map) in [(false, &s.capture), (true, &s.capture_all)] {
            for (name, path) in map {
                if allowed.contains(&name.as_str()) {
                    self.d.at(
                        path,
                        0,
                        1,
                        format!("capture `{name}` would hide the built-in variable of that name"),
                        Some("choose another name for the capture".to_owned()),
                    );
                    ok = false;
                }
                match self.jsonpath(path) {
                    Some(p) => {
                        capture.push(Capture { name: name.clone(), path: p, all });
                        names.push(name.clone());
                    }
                    None => ok = false,
                }
            }
        }
        let complete = s.read_back.as_ref().is_some_and(|r| !r.value);
        if let Some(r) = &s.read_back {
            let misplaced = if ctx != Ctx::Create {
                Some("`read_back` is a key of create steps: only a create reads its new record back")
            } else if complete && s.for_each.is_some() {
                Some("`read_back: false` cannot be on a `for_each` step: its answers are not a record")
            } else {
                None
            };
            if let Some(message) = misplaced {
                self.d.at(r, 0, if r.value { 4 } else { 5 }, message, None);
                ok = false;
            }
        }
        let record = match &s.record {
            Some(r) => Some(self.jsonpath(r)?),
            // A complete answer is the record itself.
            None if complete => JsonPath::parse("$").ok(),
            None => None,
        };
        let method = match s.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Head => Method::HEAD,
            HttpMethod::Post => Method::POST,
            HttpMethod::Put => Method::PUT,
            HttpMethod::Patch => Method::PATCH,
            HttpMethod::Delete => Method::DELETE,
        };
        let name = s.name.clone().unwrap_or_else(|| format!("{method} {}", s.url.value));
        let (url, when, for_each) = (url?, when?, for_each?);
        let falls_back = ctx == Ctx::ForwardPatch && for_each.is_none();
        ok.then_some((
            Call {
                name,
                method,
                url,
                query,
                headers,
                body,
                when,
                for_each,
                capture,
                accept: s.accept.clone(),
                expect: s.expect.clone(),
                record,
                complete,
                falls_back,
            },
            names,
        ))
    }

    /// Compiles a body template; every string in it is checked where it is written.
    fn body(&mut self, node: &Spanned<BodyNode>, scope: &Scope) -> Option<Body> {
        Some(match &node.value {
            BodyNode::String(s) => {
                let text = Spanned::new(s.clone(), node.referenced, node.defined);
                let t = self.template(&text, scope)?;
                if t.is_constant() {
                    Body::Const(Value::String(s.replace("{{", "{").replace("}}", "}")))
                } else {
                    Body::Template(t)
                }
            }
            BodyNode::Scalar(v) => Body::Const(v.clone()),
            BodyNode::Array(items) => {
                let compiled: Vec<Option<Body>> = items.iter().map(|x| self.body(x, scope)).collect();
                Body::Array(compiled.into_iter().collect::<Option<_>>()?)
            }
            BodyNode::Object(entries) => {
                let compiled: Vec<Option<(String, Body)>> =
                    entries.iter().map(|(k, x)| Some((k.clone(), self.body(x, scope)?))).collect();
                Body::Object(compiled.into_iter().collect::<Option<_>>()?)
            }
        })
    }

    fn scim_source(&mut self, kind: ResourceKind, t: &Text) -> Option<ScimSource> {
        let schema = ResourceSchema::rfc(kind);
        let path = match PatchPath::parse(&t.value) {
            Ok(p) => p,
            Err(e) => {
                self.d.at(t, 0, t.value.len(), format!("invalid SCIM path: {}", e.detail), None);
                return None;
            }
        };
        let (attr, sub) = match &path {
            PatchPath::Attr(a) => (a.clone(), None),
            PatchPath::Filtered { attr, sub, .. } => (attr.clone(), sub.clone()),
        };
        let probe = AttrPath { sub: sub.clone().or(attr.sub.clone()), ..attr.clone() };
        let Some(resolved) = schema.resolve(&probe) else {
            let help = attribute_suggestion(kind, &probe);
            self.d.at(t, 0, t.value.len(), format!("`{}` is not a {} attribute", t.value, kind.name()), help);
            return None;
        };
        let filtered = matches!(path, PatchPath::Filtered { .. });
        let target = resolved.sub.unwrap_or(resolved.def);
        let multi = resolved.def.multi_valued && !filtered;
        let kind = if resolved.sub.is_some() {
            if multi { Kind::Array } else { scim_kind(target.ty, false) }
        } else {
            scim_kind(target.ty, resolved.def.multi_valued && !filtered)
        };
        Some(ScimSource { path, text: t.value.clone(), multi, kind })
    }

    fn attr(&mut self, kind: ResourceKind, a: &AttributeSpec) -> Option<Attr> {
        let scim = match &a.scim {
            Some(t) => Some(self.scim_source(kind, t)?),
            None => None,
        };
        if scim.is_none() && a.value.is_none() && a.from.is_none() {
            let at = a.native.as_ref();
            match at {
                Some(n) => self.d.at(n, 0, 1, "an attribute mapping needs `scim`, `value` or `from`", None),
                None => self.d.general("an attribute mapping has neither `scim` nor `native`"),
            }
            return None;
        }
        let native = match &a.native {
            Some(n) => Some(self.native_path(n)?),
            None => None,
        };
        let target = |this: &mut Self, t: &Option<FieldTarget>| -> Option<Option<NativePath>> {
            match t {
                None => Some(native.clone()),
                Some(FieldTarget::Off(false)) => Some(None),
                Some(FieldTarget::Off(true)) => Some(native.clone()),
                Some(FieldTarget::Path(p)) => Some(Some(this.native_path(p)?)),
            }
        };
        let on_create = a.on.is_empty() || a.on.contains(&WriteOp::Create);
        let on_update = a.on.is_empty() || a.on.contains(&WriteOp::Update);
        let create = target(self, &a.create)?.filter(|_| on_create);
        let update = target(self, &a.update)?.filter(|_| on_update);
        let read = match &a.read {
            Some(FieldTarget::Off(false)) => ReadC::None,
            Some(FieldTarget::Path(p)) => ReadC::JsonPath(self.jsonpath(p)?),
            _ => match (&native, &scim) {
                (Some(n), Some(_)) => ReadC::Native(n.clone()),
                _ => ReadC::None,
            },
        };
        let from = match &a.from {
            Some(t) => {
                let e = self.expr(t, &Scope::fixed(&["vars", "scim", "id"]))?;
                Some(e)
            }
            None => None,
        };
        let to_native = self.transforms(&a.to_native);
        let to_scim = self.transforms(&a.to_scim);
        if let (Some(src), Some(first)) = (&scim, a.to_native.first()) {
            self.check_chain(first, &src.text, src.kind, &to_native);
        }
        if a.select.is_some()
            && !scim.as_ref().is_some_and(|s| s.multi)
            && let Some(t) = &a.scim
        {
            self.d.at(
                t,
                0,
                t.value.len(),
                "`select` applies to a multi-valued SCIM attribute such as `emails.value`",
                None,
            );
        }
        Some(Attr {
            scim,
            create,
            update,
            read,
            value: a.value.clone(),
            from,
            to_native,
            to_scim,
            select: a.select.clone(),
            element: a.element.clone().into_iter().collect(),
            immutable: a.immutable,
            case_exact: a.case_exact,
        })
    }

    /// Reports a transform applied to a value of the wrong type.
    fn check_chain(&mut self, at: &Text, source: &str, start: Kind, steps: &[Step]) {
        let mut cur = start;
        for s in steps {
            let (input, output) = s.transform.signature();
            if !kinds_compatible(input, cur) {
                let msg = format!("`{}` expects {input}, but the value here is {cur}", s.transform.name());
                self.d.at(at, 0, at.value.len(), msg, Some(format!("the value comes from `{source}`")));
                return;
            }
            cur = if output == Kind::Any { cur } else { output };
        }
    }

    fn paging(&mut self, p: &Paging) -> Option<PagingC> {
        Some(match p {
            Paging::Offset { max_limit } => PagingC::Offset { max_limit: *max_limit },
            Paging::Page { max_limit, first_page } => PagingC::Page { max_limit: *max_limit, first_page: *first_page },
            Paging::Cursor { max_limit, next } => PagingC::Cursor { max_limit: *max_limit, next: self.jsonpath(next)? },
        })
    }

    fn resource(&mut self, kind: ResourceKind, r: &ResourceSpec) -> Option<Resource> {
        let id_read = self.jsonpath(&r.id.read);
        let id_template = match &r.id.template {
            Some(t) => self.template(t, &Scope::fixed(&["vars", "scim"])),
            None => None,
        };
        let attrs: Vec<Attr> = r.attributes.iter().filter_map(|a| self.attr(kind, a)).collect();
        let section = kind.endpoint().to_lowercase();
        let ops = [
            (&["get"][..], &r.get, "GET", "/{id}"),
            (&["create"][..], &r.create, "POST", ""),
            (&["delete"][..], &r.delete, "DELETE", "/{id}"),
            (&["update", "steps"][..], &r.update.steps, "PATCH", "/{id}"),
        ];
        for (path, steps, method, tail) in ops {
            if steps.is_empty() {
                let op = path.join(".");
                let help = format!(
                    "IdPs create, read, change and delete {section}; give `{op}` at least one call, e.g. \
                     `- {{ method: {method}, url: \"/{section}{tail}\" }}`"
                );
                let at: Vec<&str> = std::iter::once(section.as_str()).chain(path.iter().copied()).collect();
                self.error_at_key(&at, format!("`{section}.{op}` has no native call"), Some(help));
            }
        }
        let get = self.steps(&r.get, Ctx::Get);
        let create = self.steps(&r.create, Ctx::Create);
        if r.get.iter().any(|g| !g.capture.is_empty() || !g.capture_all.is_empty()) {
            for flag in r.create.iter().filter_map(|c| c.read_back.as_ref()).filter(|f| !f.value) {
                let help = "leave `read_back` out, so that the new record is read with `get`".to_owned();
                let message = "`read_back: false`: the `get` steps capture values into the record (`$._`), which no create answer holds";
                self.d.at(flag, 0, 5, message, Some(help));
            }
        }
        let delete = self.steps(&r.delete, Ctx::Delete);
        let update_steps = self.steps(&r.update.steps, Ctx::Update(r.update.style));
        let list_call = self.single_call(&r.list.call, Ctx::List);
        let records = self.jsonpath(&r.list.records);
        let total = r.list.total.as_ref().and_then(|t| self.jsonpath(t));
        let paging = self.paging(&r.list.paging);
        let mut filters = vec![];
        for f in &r.filters {
            let op = match parse_op(&f.op.value) {
                Some(op) => op,
                None => {
                    let help = "operators: eq, ne, co, sw, ew, gt, ge, lt, le".to_owned();
                    self.d.at(
                        &f.op,
                        0,
                        f.op.value.len(),
                        format!("unknown filter operator `{}`", f.op.value),
                        Some(help),
                    );
                    continue;
                }
            };
            let attr = (f.attribute.value != "*").then(|| AttrPath::parse_simple(&f.attribute.value));
            if attr.as_ref().is_some_and(|a| ResourceSchema::rfc(kind).resolve(a).is_none()) {
                self.d.at(
                    &f.attribute,
                    0,
                    f.attribute.value.len(),
                    format!("`{}` is not a {} attribute", f.attribute.value, kind.name()),
                    None,
                );
                continue;
            }
            let specs: Vec<CallSpec> = match (&f.call, f.steps.is_empty()) {
                (Some(c), true) => vec![c.clone()],
                (None, false) => f.steps.clone(),
                _ => {
                    self.d.at(
                        &f.attribute,
                        0,
                        f.attribute.value.len(),
                        "a filter rule needs either `call` or `steps`",
                        None,
                    );
                    continue;
                }
            };
            let steps = self.steps(&specs, Ctx::Filter);
            let result = match &f.result {
                FilterResult::Single => Some(FilterResultC::Single),
                FilterResult::Records(p) => self.jsonpath(p).map(FilterResultC::Records),
            };
            if let Some(result) = result
                && steps.len() == specs.len()
            {
                filters.push(FilterRuleC { attr, op, steps, result });
            }
        }
        let mut triggers = vec![];
        for t in &r.triggers {
            let Ok(attr) = PatchPath::parse(&t.attribute.value) else {
                self.d.at(&t.attribute, 0, t.attribute.value.len(), "invalid SCIM attribute path", None);
                continue;
            };
            // A trigger on a name the schema does not have would never fire.
            if let PatchPath::Attr(a) = &attr
                && ResourceSchema::rfc(kind).resolve(a).is_none()
            {
                let message = format!("`{}` is not a {} attribute", t.attribute.value, kind.name());
                let help = attribute_suggestion(kind, a);
                self.d.at(&t.attribute, 0, t.attribute.value.len(), message, help);
                continue;
            }
            let steps = self.steps(&t.steps, Ctx::Trigger);
            triggers.push(Trigger {
                attr,
                attr_text: t.attribute.value.clone(),
                equals: t.equals.clone(),
                on_create: t.on_create,
                on_update: t.on_update,
                before_update: t.before_update,
                steps,
            });
        }
        let members = match (&r.members, kind) {
            (Some(_), ResourceKind::User) => {
                let help = "group membership is described once, under `groups.members`".to_owned();
                self.error_at_key(&["users", "members"], "`members` belongs to groups, not users", Some(help));
                None
            }
            (None, ResourceKind::Group) => {
                let help = "without `groups.members`, membership changes from the IdP are refused".to_owned();
                self.warning_at_key(&["groups"], "groups have no `members` section", help);
                None
            }
            (Some(m), ResourceKind::Group) => self.members(m),
            (None, _) => None,
        };
        let forward = self.forward_patch(kind, &r.update.forward_patch, &attrs, &triggers);
        let update =
            Update { style: r.update.style, clear_with: r.update.clear_with.clone(), steps: update_steps, forward };
        Some(Resource {
            kind,
            id: Id { read: id_read?, template: id_template, encoding: r.id.encoding },
            attrs,
            get,
            create,
            update,
            delete,
            list: List { call: list_call?, records: records?, total, paging: paging?, max_scan: r.list.max_scan },
            filters,
            other_filters: r.other_filters,
            triggers,
            members,
        })
    }

    /// Compiles `update.forward_patch`, with the attributes its operations may name; warns when
    /// there are none (or none its `json_patch` can set), since the steps would then never run.
    fn forward_patch(
        &mut self,
        kind: ResourceKind,
        specs: &[CallSpec],
        attrs: &[Attr],
        triggers: &[Trigger],
    ) -> Option<ForwardPatch> {
        if specs.is_empty() {
            return None;
        }
        let steps = self.steps(specs, Ctx::ForwardPatch);
        let attrs = forwardable(kind, attrs, triggers);
        if attrs.is_empty() {
            let section = kind.endpoint().to_lowercase();
            let help = "forwarding needs attributes mapped one to one: `{ scim: title, native: jobTitle }`, with no \
                        transform, `from`, `value`, `select`, trigger or `immutable`"
                .to_owned();
            self.warning_at_key(
                &[&section, "update", "forward_patch"],
                "no attribute is mapped one to one, so `forward_patch` is never used",
                help,
            );
        }
        let forms = ForwardForms::of(&steps);
        let schema = ResourceSchema::rfc(kind);
        // JSON Patch without the record can set a single-valued simple attribute or replace every
        // value of a multi-valued one, at a top-level native key (see `engine::forward`).
        let settable = |(name, native): (&String, &String)| {
            let def = crate::scim::patch::attr_path(name, name).ok().and_then(|p| schema.resolve(&p).map(|r| r.def));
            def.map_or(!native.contains(':'), |d| json_patch_replaces(d, native))
        };
        if forms.json_patch && !attrs.is_empty() && !attrs.iter().any(settable) {
            let section = kind.endpoint().to_lowercase();
            let help = "`json_patch` carries only `add` and `replace` operations that set a single-valued simple \
                        attribute (`displayName`) or replace every value of a multi-valued one, at a top-level native \
                        key; complex attributes (`name`) and extension objects need the record"
                .to_owned();
            self.warning_at_key(
                &[&section, "update", "forward_patch"],
                "no attribute mapped one to one can be set by a JSON Patch without the record, so `forward_patch` is \
                 never used",
                help,
            );
        }
        Some(ForwardPatch { steps, attrs, forms })
    }

    /// A warning at the key at `path`, or about the whole file.
    fn warning_at_key(&mut self, path: &[&str], message: &str, help: String) {
        match Outline::parse(&self.d.source).and_then(|o| o.key(path)) {
            Some((pos, len)) => {
                self.d.at_line(pos.line, pos.column, message);
                if let Some(last) = self.d.items.last_mut() {
                    last.severity = Severity::Warning;
                    last.len = len;
                    last.help = Some(help);
                }
            }
            None => self.d.general(message),
        }
    }

    /// An error at the key at `path` (found in the source text), or about the whole file.
    fn error_at_key(&mut self, path: &[&str], message: impl Into<String>, help: Option<String>) {
        match Outline::parse(&self.d.source).and_then(|o| o.key(path)) {
            Some((pos, len)) => {
                self.d.at_line(pos.line, pos.column, message);
                if let Some(last) = self.d.items.last_mut() {
                    last.len = len;
                    last.help = help;
                }
            }
            None => self.d.general(message),
        }
    }

    fn members(&mut self, m: &MembersSpec) -> Option<Members> {
        for (side, w) in [("add", &m.add), ("remove", &m.remove)] {
            if w.steps.is_empty() {
                let msg = format!("`groups.members.{side}` has no native call");
                self.error_at_key(&["groups", "members", side, "steps"], msg, None);
            }
        }
        let call = match &m.read.call {
            Some(c) => Some(self.single_call(c, Ctx::MembersRead)?),
            None => None,
        };
        let records = self.jsonpath(&m.read.records)?;
        let value = self.jsonpath(&m.read.value)?;
        let display = match &m.read.display {
            Some(d) => Some(self.jsonpath(d)?),
            None => None,
        };
        let paging = match &m.read.paging {
            Some(p) => Some(self.paging(p)?),
            None => None,
        };
        let add = MemberWriteC { mode: m.add.mode, steps: self.steps(&m.add.steps, Ctx::MembersWrite(m.add.mode)) };
        let remove =
            MemberWriteC { mode: m.remove.mode, steps: self.steps(&m.remove.steps, Ctx::MembersWrite(m.remove.mode)) };
        let uses_after = |w: &MemberWriteC| w.steps.iter().any(|c| call_uses(c, "members_after"));
        let needs_after = uses_after(&add) || uses_after(&remove);
        Some(Members {
            call,
            records,
            value,
            display,
            paging,
            add,
            remove,
            needs_after,
            clear_on_delete: m.clear_on_delete,
        })
    }
}

fn parse_op(s: &str) -> Option<CompareOp> {
    Some(match s.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    })
}

/// Where variable path `name` is used in `text`: the first occurrence as a whole name, inside
/// `{…}` for a template. Falls back to the start of the text.
fn find_var(text: &str, name: &str, in_braces: bool) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let want: Vec<char> = name.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || matches!(c, '_' | '$' | '-');
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') && depth == 0 => i += 1,
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if (depth > 0 || !in_braces)
                && chars[i..].starts_with(&want)
                && (i == 0 || !(ident(chars[i - 1]) || chars[i - 1] == '.'))
                && !chars.get(i + want.len()).is_some_and(|c| ident(*c)) =>
            {
                return i;
            }
            _ => {}
        }
        i += 1;
    }
    0
}

/// The first name between backticks in a message.
fn quoted_name(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// Where a JSONPath stops parsing (a 0-based character offset) and a hint, from the parser's
/// report (`--> 1:COLUMN`).
fn jsonpath_problem(path: &str, report: &str) -> (usize, String) {
    let column = report
        .split("--> ")
        .nth(1)
        .and_then(|r| r.split(|c: char| c.is_whitespace()).next())
        .and_then(|lc| lc.split(':').nth(1))
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(1);
    let help = if !path.starts_with('$') {
        "a JSONPath starts with `$`, e.g. `$.id`".to_owned()
    } else if path.matches('[').count() != path.matches(']').count() {
        "a `[` is not closed by `]`".to_owned()
    } else {
        "JSONPath (RFC 9535) examples: `$.id`, `$.data[*]`, `$.items[0].name`, `$['a-b']`".to_owned()
    };
    (column.saturating_sub(1), help)
}

/// Splits a parser message into the message and a help line: a "did you mean" the parser
/// appended, or the list of transforms when an unknown one has no near name.
fn with_help(message: &str) -> (String, Option<String>) {
    if let Some((message, hint)) = message.split_once("; did you mean") {
        return (message.to_owned(), Some(format!("did you mean{hint}")));
    }
    if message.starts_with("unknown transform") {
        return (message.to_owned(), Some(format!("transforms: {}", expr::Transform::NAMES.join(", "))));
    }
    (message.to_owned(), None)
}

/// Whether any template or expression of a call reads variable `root`.
fn call_uses(c: &Call, root: &str) -> bool {
    c.exprs().iter().any(|e| e.vars().iter().any(|v| v.root() == root))
}

/// The schema advertised for a compiled resource: only mapped attributes, with mutability and
/// caseExact from the mapping.
fn advertised(r: &Resource) -> ResourceSchema {
    let full = ResourceSchema::rfc(r.kind);
    let mut keep: Vec<AttrPath> = vec![];
    for a in &r.attrs {
        if let Some(s) = &a.scim {
            let (attr, sub) = match &s.path {
                PatchPath::Attr(p) => (p.clone(), None),
                PatchPath::Filtered { attr, sub, .. } => (attr.clone(), sub.clone()),
            };
            let base = AttrPath { sub: None, ..attr.clone() };
            // A multi-valued attribute is held whole (its `type` and `primary` select the element);
            // a singular complex one only with the sub-attributes the mapping names.
            let multi = full.resolve(&base).is_some_and(|r| r.def.multi_valued);
            match sub.or(attr.sub.clone()) {
                Some(sub) if !multi => keep.push(AttrPath { sub: Some(sub), ..base }),
                _ => keep.push(base),
            }
        }
    }
    if r.members.is_some() {
        keep.push(AttrPath { uri: None, name: "members".into(), sub: None });
    }
    let mut schema = full.restrict(keep.iter());
    let adjust = |schema: &mut ResourceSchema, a: &Attr| {
        let Some(s) = &a.scim else { return };
        let attr = match &s.path {
            PatchPath::Attr(p) => p,
            PatchPath::Filtered { attr, .. } => attr,
        };
        let writes = a.create.is_some() || a.update.is_some();
        let readable = !matches!(a.read, ReadC::None);
        let core = Arc::make_mut(&mut schema.core);
        let def = match &attr.uri {
            Some(u) if !u.eq_ignore_ascii_case(&core.id) => {
                let Some(ext) = schema.extensions.iter_mut().find(|(e, _)| e.id.eq_ignore_ascii_case(u)) else {
                    return;
                };
                Arc::make_mut(&mut ext.0).attributes.iter_mut().find(|d| d.name.eq_ignore_ascii_case(&attr.name))
            }
            _ => core.attributes.iter_mut().find(|d| d.name.eq_ignore_ascii_case(&attr.name)),
        };
        let Some(def) = def else { return };
        if a.immutable {
            def.mutability = Mutability::Immutable;
        } else if !writes
            && readable
            && def.mutability == Mutability::ReadWrite
            && a.update.is_none()
            && a.create.is_none()
        {
            def.mutability = Mutability::ReadOnly;
        }
        if let Some(ce) = a.case_exact
            && def.case_exact.is_some()
        {
            def.case_exact = Some(ce);
        }
    };
    // An attribute is read-only only when no mapping for it writes anything.
    for a in &r.attrs {
        let writes_elsewhere = r.attrs.iter().any(|b| {
            b.scim.as_ref().map(|s| top_name(&s.path)) == a.scim.as_ref().map(|s| top_name(&s.path))
                && (b.create.is_some() || b.update.is_some())
        });
        let triggered =
            r.triggers.iter().any(|t| Some(top_name(&t.attr)) == a.scim.as_ref().map(|s| top_name(&s.path)));
        if writes_elsewhere || triggered {
            let mut a = a.clone();
            if a.create.is_none() && a.update.is_none() {
                a.create = Some(NativePath { segments: vec![] });
            }
            adjust(&mut schema, &a);
        } else {
            adjust(&mut schema, a);
        }
    }
    mark_create_only(&mut schema, r);
    schema
}

/// An attribute that some mapping writes on create but none on update (nor through a trigger) is
/// advertised `immutable`: an IdP reading /Schemas then knows a later change will not reach the
/// application.
fn mark_create_only(schema: &mut ResourceSchema, r: &Resource) {
    let mut names: Vec<String> = r.attrs.iter().filter_map(|a| a.scim.as_ref().map(|s| top_name(&s.path))).collect();
    names.sort();
    names.dedup();
    for name in names {
        let same = |a: &&Attr| a.scim.as_ref().is_some_and(|s| top_name(&s.path) == name);
        let created = r.attrs.iter().filter(same).any(|a| a.create.is_some());
        let updated = r.attrs.iter().filter(same).any(|a| a.update.is_some());
        let triggered = r.triggers.iter().any(|t| top_name(&t.attr) == name);
        if !created || updated || triggered {
            continue;
        }
        let (uri, attr) = match name.rsplit_once(':') {
            Some((u, a)) => (Some(u.to_owned()), a.to_owned()),
            None => (None, name.clone()),
        };
        let core_id = schema.core.id.to_ascii_lowercase();
        let def = match uri {
            Some(u) if u != core_id => {
                schema.extensions.iter_mut().find(|(e, _)| e.id.eq_ignore_ascii_case(&u)).and_then(|(e, _)| {
                    Arc::make_mut(e).attributes.iter_mut().find(|d| d.name.eq_ignore_ascii_case(&attr))
                })
            }
            _ => Arc::make_mut(&mut schema.core).attributes.iter_mut().find(|d| d.name.eq_ignore_ascii_case(&attr)),
        };
        if let Some(def) = def
            && def.mutability == Mutability::ReadWrite
        {
            def.mutability = Mutability::Immutable;
        }
    }
}

/// Whether a JSON Patch `add` of the native member `native` says what a SCIM `replace` of the whole
/// attribute `def` says, without the record: not for a complex single value (SCIM merges its
/// sub-attributes), nor for an extension's attribute (its native name is the extension's object
/// and a key, and `add` needs that object).
pub fn json_patch_replaces(def: &AttributeDef, native: &str) -> bool {
    !native.contains(':') && (def.multi_valued || def.ty != AttrType::Complex)
}

/// "Did you mean" for a SCIM attribute the schema does not have: a sub-attribute of the named
/// attribute when that exists (`name.giveName` → `name.givenName`), else a core attribute.
fn attribute_suggestion(kind: ResourceKind, a: &AttrPath) -> Option<String> {
    let schema = ResourceSchema::rfc(kind);
    let parent = schema.top_attribute(a.uri.as_deref(), &a.name).map(|(_, def)| def);
    let suggestion = match (parent, &a.sub) {
        (Some(def), Some(sub)) => {
            let names: Vec<&str> = def.sub_attributes.iter().map(|s| s.name.as_str()).collect();
            expr::suggest(sub, &names).map(|s| format!("{}.{s}", def.name))
        }
        _ => {
            let names: Vec<&str> = schema.core.attributes.iter().map(|a| a.name.as_str()).collect();
            expr::suggest(&a.name, &names).map(str::to_owned)
        }
    };
    suggestion.map(|s| format!("did you mean `{s}`?"))
}

/// The attributes whose PATCH operations `forward_patch` may carry: those written on update by
/// exactly one attribute mapping that renames the whole SCIM attribute to one native key and
/// does nothing else, so that the application applying the operation to its record does what the
/// gateway's read-modify-write would. Group `members` never qualify: they have their own steps. Nor does
/// one whose native key also holds a computed or constant field (`native: fullName.origin`,
/// `value: idp`): the read-modify-write writes that field again when it writes the key.
fn forwardable(kind: ResourceKind, attrs: &[Attr], triggers: &[Trigger]) -> HashMap<String, String> {
    let core = kind.core_schema().to_ascii_lowercase();
    let name_of = |p: &PatchPath| {
        let n = top_name(p);
        match n.strip_prefix(core.as_str()).and_then(|rest| rest.strip_prefix(':')) {
            Some(plain) => plain.to_owned(),
            None => n,
        }
    };
    let refreshed: Vec<&str> = attrs
        .iter()
        .filter(|a| a.scim.is_none())
        .filter_map(|a| a.update.as_ref().filter(|p| !p.segments.is_empty()))
        .map(NativePath::top_key)
        .collect();
    let mut out = HashMap::new();
    for a in attrs {
        let Some(src) = &a.scim else { continue };
        let PatchPath::Attr(path) = &src.path else { continue };
        let name = name_of(&src.path);
        let plain = a.to_native.is_empty()
            && a.to_scim.is_empty()
            && a.from.is_none()
            && a.value.is_none()
            && a.select.is_none()
            && a.element.is_empty()
            && !a.immutable
            && path.sub.is_none();
        // Other mappings of the same attribute that write on update (a second native field)
        // would be left out; create-only ones (a derived native name) are not written.
        let writers =
            attrs.iter().filter(|b| b.update.is_some() && b.scim.as_ref().is_some_and(|s| name_of(&s.path) == name));
        let alone = writers.count() == 1;
        let triggered = triggers.iter().any(|t| name_of(&t.attr) == name);
        let native = a
            .update
            .as_ref()
            .filter(|p| p.segments.is_empty() || !refreshed.contains(&p.top_key()))
            .and_then(native_attr_name);
        if let Some(native) = native
            && plain
            && alone
            && !triggered
            && !(kind == ResourceKind::Group && name == "members")
        {
            out.insert(name, native);
        }
    }
    out
}

/// A native path of one key (`jobTitle`), or of an extension URN and one key, as a SCIM
/// attribute path; `None` for anything a PATCH path cannot name.
fn native_attr_name(p: &NativePath) -> Option<String> {
    use super::native_path::Segment;
    fn key(s: &Segment) -> Option<&str> {
        match s {
            Segment::Key(k) => Some(k),
            _ => None,
        }
    }
    let path = match p.segments.as_slice() {
        [one] if !key(one)?.contains(':') => key(one)?.to_owned(),
        [urn, one] if key(urn)?.contains(':') => format!("{}:{}", key(urn)?, key(one)?),
        _ => return None,
    };
    crate::scim::patch::attr_path(&path, &path).ok().filter(|a| a.sub.is_none()).map(|_| path)
}

/// The top-level attribute (URN-qualified for extensions) a SCIM path addresses, lower-cased.
pub fn top_name(p: &PatchPath) -> String {
    let a = match p {
        PatchPath::Attr(a) => a,
        PatchPath::Filtered { attr, .. } => attr,
    };
    match &a.uri {
        Some(u) => format!("{}:{}", u.to_ascii_lowercase(), a.name.to_ascii_lowercase()),
        None => a.name.to_ascii_lowercase(),
    }
}
