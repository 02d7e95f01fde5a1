//! The mapping file format (`apiVersion: scimgate/v1`): Rust types from which the YAML is read and
//! the JSON Schema (`scimgate schema`) is generated. Doc comments here are the schema's
//! descriptions, written for mapping authors.
//!
//! Everything stringly typed here (SCIM paths, native paths, JSONPaths, templates, expressions)
//! keeps its source location so the compiler can report errors at file:line:col.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

/// A string with its location in the mapping file.
pub type Text = Spanned<String>;

/// A mapping: how one application's native user/group API serves SCIM.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "scimgate mapping")]
pub struct MappingFile {
    /// Format version. Must be `scimgate/v1`.
    #[serde(rename = "apiVersion")]
    #[schemars(with = "String", extend("const" = "scimgate/v1"))]
    pub api_version: Text,
    /// Short name of the target application, used in logs and metrics.
    pub name: String,
    /// What this mapping is for.
    #[serde(default)]
    pub description: String,
    /// How to reach the application: base URL, authentication, TLS, timeouts, retries, limits.
    /// Deployment settings may override any of these keys per route.
    pub backend: crate::backend::BackendSettings,
    /// Constants usable in templates as `vars.NAME`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Named lookups (e.g. role name → role id) usable as the `lookup("NAME")` transform; answers
    /// are cached per replica.
    #[serde(default)]
    pub lookups: BTreeMap<String, LookupSpec>,
    /// How native error answers become SCIM errors. Rules are tried in order; the first match
    /// wins. Without a match: 404 → 404, 409 → 409 uniqueness, other 4xx → 400 invalidValue with
    /// the application's message, 429/503 → passed on with Retry-After, other 5xx → 502.
    #[serde(default)]
    pub errors: Vec<ErrorRule>,
    /// The SCIM User resource.
    pub users: ResourceSpec,
    /// The SCIM Group resource.
    pub groups: ResourceSpec,
}

/// A native lookup: turns a value (available as `value` in the call) into another.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupSpec {
    /// The read-only call that answers the lookup.
    pub call: CallSpec,
    /// JSONPath into the answer selecting the result.
    #[schemars(with = "String")]
    pub result: Text,
    /// What an answer of 404, or no match of `result`, means.
    #[serde(default)]
    pub on_missing: OnMissing,
    /// Seconds an answer stays cached in this replica.
    #[serde(default = "default_lookup_ttl")]
    pub cache_ttl_secs: u64,
}

fn default_lookup_ttl() -> u64 {
    300
}

/// What a lookup does when nothing is found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnMissing {
    /// The SCIM request fails with 400 invalidValue naming the value.
    #[default]
    Error,
    /// The lookup yields null.
    Null,
}

/// Maps a native error answer to a SCIM error.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// Which answers this rule matches; every given condition must hold.
    pub when: ErrorMatch,
    /// The SCIM error to answer.
    pub scim: ScimErrorSpec,
}

/// Which native error answers an `errors` rule matches.
#[derive(Debug, Clone, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ErrorMatch {
    /// HTTP status codes.
    #[serde(default)]
    pub status: Vec<u16>,
    /// Text the answer body must contain (case-insensitive).
    #[serde(default)]
    pub body_contains: Option<String>,
    /// Only for this operation (`create`, `get`, `update`, `delete`, `list`, `members`).
    #[serde(default)]
    pub operation: Option<String>,
}

/// The SCIM error an `errors` rule answers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimErrorSpec {
    /// HTTP status of the SCIM error.
    pub status: u16,
    /// RFC 7644 `scimType`, e.g. `uniqueness`, `invalidValue`, `mutability`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub scim_type: Option<Text>,
    /// Detail shown to the IdP administrator; a template that may use `message` (the
    /// application's own error text) and `status`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub detail: Option<Text>,
}

/// How one SCIM resource type maps onto the application.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// Identity: the native id and how the SCIM `id` encodes it.
    pub id: IdSpec,
    /// Attribute mappings. Only SCIM attributes listed here are advertised in `/Schemas`.
    pub attributes: Vec<AttributeSpec>,
    /// Read one record by native id (`{id}` in templates). A 404 means the resource does not exist.
    pub get: OperationSpec,
    /// Create a record. The native document built from the attributes' create shape is `doc`.
    pub create: OperationSpec,
    /// Change a record.
    pub update: UpdateSpec,
    /// Delete a record (a SCIM DELETE).
    pub delete: OperationSpec,
    /// List records page by page (used for unfiltered queries and gateway-side filtering).
    pub list: ListSpec,
    /// Native translations of SCIM filters, tried in order.
    #[serde(default)]
    pub filters: Vec<FilterRule>,
    /// What to do with a filter no rule translates.
    #[serde(default)]
    pub other_filters: OtherFilters,
    /// Calls triggered by the value of a SCIM attribute after create or update, e.g. `active`
    /// false → a soft delete, true → a restore call.
    #[serde(default)]
    pub triggers: Vec<TriggerSpec>,
    /// Group membership (Group resource only).
    #[serde(default)]
    pub members: Option<MembersSpec>,
}

/// The native identity of a record.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdSpec {
    /// JSONPath reading the native id from a native record, e.g. `$.id` or `$.urn`.
    #[schemars(with = "String")]
    pub read: Text,
    /// For applications where the client chooses the id: a template computing it from the SCIM
    /// resource at create time, e.g. `urn:li:corpuser:{scim.userName}`. Absent: the application
    /// assigns the id and it is read from the create answer with `read`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub template: Option<Text>,
    /// How the SCIM `id` encodes the native id.
    #[serde(default)]
    pub encoding: IdEncoding,
}

/// SCIM id ↔ native id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdEncoding {
    /// The native id is the SCIM id.
    #[default]
    Plain,
    /// The SCIM id is the unpadded base64url of the native id (for URNs and other ids with
    /// characters that are awkward in URLs).
    Base64url,
}

/// One attribute mapping: a SCIM attribute (or a constant) and a native field.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeSpec {
    /// SCIM attribute path: `userName`, `name.givenName`, `emails[type eq "work"].value`,
    /// `roles.value` (all values of a multi-valued attribute), or a URN-qualified extension
    /// attribute such as `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
    /// Absent for native fields that only get a constant (`value`) or a computed value (`from`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub scim: Option<Text>,
    /// Native field path written on create and update and read back: `email`,
    /// `profile.title`, `teams[]` (array of values), `roles[].id` (array of objects keyed by id),
    /// `phones[type=WORK].phoneNumber` (element selected by a key field).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub native: Option<Text>,
    /// Native field path used on create instead of `native`; `false` = not sent on create.
    #[serde(default)]
    pub create: Option<FieldTarget>,
    /// Native field path used on update instead of `native`; `false` = never updated.
    #[serde(default)]
    pub update: Option<FieldTarget>,
    /// How to read the value back: a JSONPath into the native record (instead of deriving it from
    /// `native`), or `false` when the value cannot be read back.
    #[serde(default)]
    pub read: Option<FieldTarget>,
    /// A constant written to the native field (with no `scim`).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub value: Option<serde_json::Value>,
    /// An expression computing the native value (with no `scim`), e.g. `now | epoch_ms`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub from: Option<Text>,
    /// Transforms applied to the SCIM value on its way to the application, e.g.
    /// `[lower, slug]` or `["map({\"true\": \"ACTIVE\", \"false\": \"SUSPENDED\"})"]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub to_native: Vec<Text>,
    /// Transforms applied to the native value on its way back to SCIM.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub to_scim: Vec<Text>,
    /// For a multi-valued SCIM source: which element to use.
    #[serde(default)]
    pub select: Option<Select>,
    /// Fields added to every native array element this mapping writes (e.g. `{type: role}`).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub element: BTreeMap<String, serde_json::Value>,
    /// The attribute cannot change after create (a key of the native record); an update that
    /// changes it fails with 400 mutability.
    #[serde(default)]
    pub immutable: bool,
    /// Overrides the schema's `caseExact` for this attribute (advertised in `/Schemas` and used by
    /// gateway-side filtering).
    #[serde(default)]
    pub case_exact: Option<bool>,
    /// Only for these operations (default: create and update).
    #[serde(default)]
    pub on: Vec<WriteOp>,
}

/// A native field path, or `false`.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum FieldTarget {
    /// Never (on this verb).
    Off(bool),
    /// This path.
    Path(#[schemars(with = "String")] Text),
}

/// Read by hand rather than as an untagged enum, which would lose the path's location.
impl<'de> Deserialize<'de> for FieldTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Raw(FieldTarget);
        impl<'de> Deserialize<'de> for Raw {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Raw;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("`false` or a path")
                    }
                    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Raw, E> {
                        Ok(Raw(FieldTarget::Off(v)))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Raw, E> {
                        Ok(Raw(FieldTarget::Path(Spanned::new(v.to_owned(), Location::UNKNOWN, Location::UNKNOWN))))
                    }
                }
                d.deserialize_any(V)
            }
        }
        let s = Spanned::<Raw>::deserialize(d)?;
        Ok(match s.value.0 {
            FieldTarget::Path(p) => FieldTarget::Path(Spanned::new(p.value, s.referenced, s.defined)),
            off => off,
        })
    }
}

/// Which write operations an attribute mapping applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteOp {
    Create,
    Update,
}

/// Picks one element of a multi-valued SCIM attribute.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Select {
    /// The element marked `primary`, else the first.
    PrimaryOrFirst,
    /// The element marked `primary`, else the only element; several elements and none primary
    /// fail with 400 invalidValue and this detail.
    PrimaryOrOnly {
        /// Detail of the 400 error.
        error: String,
    },
}

/// A sequence of native calls run in order. Later steps see earlier captures.
pub type OperationSpec = Vec<CallSpec>;

/// One native HTTP call.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// Names the step in error details and logs (default: the method and URL template).
    #[serde(default)]
    pub name: Option<String>,
    /// HTTP method.
    pub method: HttpMethod,
    /// URL template relative to the backend's base URL, e.g. `/v1/users/{id}`; every `{…}`
    /// insertion is percent-encoded.
    #[schemars(with = "String")]
    pub url: Text,
    /// Query parameters (templates); parameters whose value is null are left out.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub query: BTreeMap<String, Text>,
    /// Extra headers (templates).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: BTreeMap<String, Text>,
    /// Body template: any YAML value; a string that is exactly `{expr}` is replaced by the
    /// expression's JSON value, other strings are interpolated.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub body: Option<Spanned<BodyNode>>,
    /// Run this step only when the expression is truthy.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub when: Option<Text>,
    /// Run this step once per element of the array the expression yields, with the element as
    /// `item` (and `index`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub for_each: Option<Text>,
    /// Values captured from the JSON answer: name → JSONPath (first match, or null).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub capture: BTreeMap<String, Text>,
    /// Values captured from the JSON answer: name → JSONPath (all matches, as an array).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub capture_all: BTreeMap<String, Text>,
    /// The only statuses that count as success, replacing "any 2xx" (e.g. `[404]` on an existence
    /// check before a create: a 200 then fails, and an `errors` rule can make it 409 uniqueness).
    #[serde(default)]
    pub expect: Vec<u16>,
    /// Statuses other than 2xx that count as success for this step (e.g. 404 on a read of an
    /// optional aspect); the answer's captures then yield null.
    #[serde(default)]
    pub accept: Vec<u16>,
    /// Marks this step's answer as the record of the operation (instead of the last answer), and
    /// says where the record is in it (`$` for the whole answer). In `get`, values captured by any
    /// step are added to the record under `_` (read them with `$._.NAME`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub record: Option<Text>,
    /// Create steps only. `false` says this step's answer (at `record`, else the whole answer) is
    /// the new record as complete as `get` would read it, so the create answers from it instead
    /// of reading the record back; it is still read back when a later step, a trigger or a
    /// member write ran. Default `true`.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub read_back: Option<Spanned<bool>>,
}

/// A body template as written, every value with its location so that an error in a string deep
/// inside a body is reported where that string is.
#[derive(Debug, Clone)]
pub enum BodyNode {
    String(String),
    /// A number, boolean or null.
    Scalar(serde_json::Value),
    Array(Vec<Spanned<BodyNode>>),
    Object(Vec<(String, Spanned<BodyNode>)>),
}

impl<'de> Deserialize<'de> for BodyNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> serde::de::Visitor<'de> for BodyVisitor {
    type Value = BodyNode;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a body template (any YAML value)")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<BodyNode, E> {
        Ok(BodyNode::Scalar(v.into()))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<BodyNode, E> {
        Ok(BodyNode::Scalar(v.into()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<BodyNode, E> {
        Ok(BodyNode::Scalar(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<BodyNode, E> {
        Ok(BodyNode::Scalar(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into)))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BodyNode, E> {
        Ok(BodyNode::String(v.to_owned()))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<BodyNode, E> {
        Ok(BodyNode::Scalar(serde_json::Value::Null))
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<BodyNode, E> {
        Ok(BodyNode::Scalar(serde_json::Value::Null))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<BodyNode, D::Error> {
        BodyNode::deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<BodyNode, A::Error> {
        let mut items = vec![];
        while let Some(v) = seq.next_element::<Spanned<BodyNode>>()? {
            items.push(v);
        }
        Ok(BodyNode::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<BodyNode, A::Error> {
        let mut entries = vec![];
        while let Some(k) = map.next_key::<BodyKey>()? {
            entries.push((k.0, map.next_value::<Spanned<BodyNode>>()?));
        }
        Ok(BodyNode::Object(entries))
    }
}

/// A body key; JSON keys are text, so `200:` becomes `"200"`.
struct BodyKey(String);

impl<'de> Deserialize<'de> for BodyKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = BodyKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a text, number or boolean key")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BodyKey, E> {
                Ok(BodyKey(v.to_owned()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<BodyKey, E> {
                Ok(BodyKey(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<BodyKey, E> {
                Ok(BodyKey(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<BodyKey, E> {
                Ok(BodyKey(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// HTTP methods a step may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

/// How changes are written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec {
    /// The update style; decides what the steps receive:
    /// `json_patch` → `patch` (RFC 6902 operations from the current record to the new one);
    /// `merge_patch` → `changes` (only the changed fields, new values);
    /// `put` → `doc` (the whole record with changes applied, read-modify-write);
    /// `per_key` → one run of the steps per changed top-level key of the record, with `key`
    /// and `value` (whole-aspect upserts).
    pub style: UpdateStyle,
    /// For `merge_patch`: the value sent to clear a field, for applications where null means
    /// "leave alone" (e.g. `""`). Default: null.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub clear_with: Option<serde_json::Value>,
    /// The calls that write the change; skipped when nothing changed.
    pub steps: OperationSpec,
    /// Calls that receive a SCIM PATCH's own operations, in `operations`, for applications that
    /// speak SCIM PATCH themselves, or as RFC 6902 operations on the native record, in
    /// `json_patch`. Used when every operation names an attribute mapped one to one (a `scim`
    /// attribute with a `native` name and nothing else: no transform, `from`, `value`, `select`,
    /// trigger or `immutable`) by a plain path (`title`, `name.givenName`, `urn:…:User:manager`)
    /// or in a no-path value: the names are made native and the PATCH is sent as it is, one call
    /// with no read of the current record, so a change made in the application meanwhile is not
    /// overwritten. `json_patch` says less without the record: it carries only `add` and `replace`
    /// operations that set a top-level single-valued attribute or replace every value of a
    /// multi-valued one. Any other PATCH (value-filtered paths such as
    /// `emails[type eq "work"].value`, group members, removing a required attribute) goes through
    /// `steps`. An answer holding the record is read as the new state; otherwise it is read back.
    #[serde(default)]
    pub forward_patch: OperationSpec,
}

/// How a change reaches the application; see `update.style`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStyle {
    /// RFC 6902 operations from the current record to the new one, in `patch`.
    JsonPatch,
    /// Only the changed fields with their new values, in `changes`.
    MergePatch,
    /// The whole new record, in `doc` (read-modify-write).
    Put,
    /// One run of the steps per changed top-level key, with `key` and `value`.
    PerKey,
}

/// Listing records.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSpec {
    /// The list call; templates see `limit`, `offset`, `page` and `cursor` per the paging style.
    pub call: CallSpec,
    /// JSONPath to the records in the answer, e.g. `$.data[*]`.
    #[schemars(with = "String")]
    pub records: Text,
    /// JSONPath to the total count, when the application gives one.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub total: Option<Text>,
    /// How pages are requested.
    pub paging: Paging,
    /// Records read at most for one gateway-side filtered query, or to count a listing whose
    /// application gives no total.
    #[serde(default = "default_max_scan")]
    pub max_scan: usize,
}

fn default_max_scan() -> usize {
    10_000
}

/// Paging styles.
#[derive(Debug, Clone, JsonSchema)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paging {
    /// `offset` (0-based) and `limit` parameters; SCIM `startIndex`/`count` map onto them.
    Offset {
        /// Largest page the application serves.
        max_limit: usize,
    },
    /// `page` number and `limit` page size.
    Page {
        /// Largest page the application serves.
        max_limit: usize,
        /// Number of the first page (0 or 1).
        #[serde(default)]
        first_page: u64,
    },
    /// An opaque cursor: `cursor` is null for the first page and the value read by `next` after.
    /// The gateway walks forward and remembers cursors per position (per replica).
    Cursor {
        /// Largest page the application serves.
        max_limit: usize,
        /// JSONPath to the next page's cursor (absent or null on the last page).
        #[schemars(with = "String")]
        next: Text,
    },
}

/// The keys of a `paging` section, read as a plain struct so that every value keeps its location
/// (an internally tagged enum would lose them), then checked per style.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaging {
    style: PagingStyle,
    max_limit: usize,
    #[serde(default)]
    first_page: Option<u64>,
    #[serde(default)]
    next: Option<Text>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum PagingStyle {
    Offset,
    Page,
    Cursor,
}

impl<'de> Deserialize<'de> for Paging {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = RawPaging::deserialize(d)?;
        let only = |style: &str, key: &str| D::Error::custom(format!("`{key}` applies only to `style: {style}`"));
        match raw.style {
            PagingStyle::Offset | PagingStyle::Cursor if raw.first_page.is_some() => Err(only("page", "first_page")),
            PagingStyle::Offset | PagingStyle::Page if raw.next.is_some() => Err(only("cursor", "next")),
            PagingStyle::Offset => Ok(Paging::Offset { max_limit: raw.max_limit }),
            PagingStyle::Page => Ok(Paging::Page { max_limit: raw.max_limit, first_page: raw.first_page.unwrap_or(0) }),
            PagingStyle::Cursor => match raw.next {
                Some(next) => Ok(Paging::Cursor { max_limit: raw.max_limit, next }),
                None => Err(D::Error::missing_field("next")),
            },
        }
    }
}

/// A SCIM filter the application can answer natively.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterRule {
    /// The SCIM attribute path compared, e.g. `userName` or `emails.value`; `*` matches every
    /// filter and gives the calls the whole filter as `filter` (for SCIM backends).
    #[schemars(with = "String")]
    pub attribute: Text,
    /// The operator (`eq`, `sw`, `co`, …).
    #[serde(default = "default_op")]
    #[schemars(with = "String")]
    pub op: Text,
    /// The call; `value` is the filter's comparison value. For lookups that need several calls
    /// (find a key, then read the record), use `steps` instead.
    #[serde(default)]
    pub call: Option<CallSpec>,
    /// Several calls in order; the answer read is the last step's (or the last step with `record`).
    #[serde(default)]
    pub steps: OperationSpec,
    /// How to read the answer.
    pub result: FilterResult,
}

fn yes() -> bool {
    true
}

fn default_op() -> Text {
    Spanned::new("eq".into(), Location::UNKNOWN, Location::UNKNOWN)
}

/// How the answer of a filter translation is read.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FilterResult {
    /// The answer is one record (a path lookup); 404 means no match.
    Single,
    /// The answer lists records at this JSONPath (matches may be fuzzy: the SCIM filter is always
    /// applied again by the gateway to what comes back).
    Records(#[schemars(with = "String")] Text),
}

/// Filters without a native translation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OtherFilters {
    /// Evaluate the filter in the gateway over a listing, up to `list.max_scan` records; more
    /// records fail with 400 tooMany.
    #[default]
    Scan,
    /// Answer 400 invalidFilter.
    Reject,
}

/// Calls run when a SCIM attribute takes a value or changes (e.g. `active` false → a soft delete,
/// `active` true → a restore call, `externalId` changed → rewrite a mapping record).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// The SCIM attribute, e.g. `active`.
    #[schemars(with = "String")]
    pub attribute: Text,
    /// The value that triggers the calls; absent: any change of the attribute does (on create:
    /// any value), with the new value as `value`.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub equals: Option<serde_json::Value>,
    /// Also on create when the new resource has this value.
    #[serde(default)]
    pub on_create: bool,
    /// Also on update when the attribute changes to this value (default true).
    #[serde(default = "yes")]
    pub on_update: bool,
    /// Run before the field update of the same request (e.g. a restore call that must precede
    /// changes to a deactivated record); default after.
    #[serde(default)]
    pub before_update: bool,
    /// The calls.
    pub steps: OperationSpec,
}

/// Where group membership lives and how it changes.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersSpec {
    /// How to read a group's members.
    pub read: MembersRead,
    /// Adding members; `members` holds the native ids of the added members.
    pub add: MemberWrite,
    /// Removing members; `members` holds the native ids of the removed members.
    pub remove: MemberWrite,
    /// Run the `remove` writes for every member before a group is deleted (for applications that
    /// store membership on the members and would keep dangling references).
    #[serde(default)]
    pub clear_on_delete: bool,
}

/// How a group's members are read.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersRead {
    /// A call answering the members of group `{id}`; absent: members are in the group record.
    #[serde(default)]
    pub call: Option<CallSpec>,
    /// JSONPath to member entries (in the call's answer, or in the group record).
    #[schemars(with = "String")]
    pub records: Text,
    /// JSONPath, relative to a member entry, to the member's native user id.
    #[schemars(with = "String")]
    pub value: Text,
    /// JSONPath, relative to a member entry, to a display name.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub display: Option<Text>,
    /// Paging of the members call.
    #[serde(default)]
    pub paging: Option<Paging>,
}

/// How member changes are written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberWrite {
    /// `batch`: the steps run once with all changed members in `members` (and the complete new
    /// member list in `members_after`); `each`: the steps run once per member with `member`.
    pub mode: MemberMode,
    /// The calls that write the change.
    pub steps: OperationSpec,
}

/// How member writes are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberMode {
    /// One run of the steps for all changed members (`members`).
    Batch,
    /// One run of the steps per changed member (`member`).
    Each,
}
