//! The schema model (RFC 7643 §7): attribute definitions that drive case sensitivity, projection,
//! mutability and discovery.
//!
//! The full RFC core User, enterprise User and Group schemas are embedded. A target narrows them with
//! [`ResourceSchema::restrict`] so that `/Schemas` advertises only what it can hold.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::filter::AttrPath;
use super::urn;

/// The type of an attribute's values (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    #[default]
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    #[default]
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    #[default]
    None,
    Server,
    Global,
}

/// One attribute definition, serialised exactly as `/Schemas` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    pub multi_valued: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_exact: Option<bool>,
    #[serde(default)]
    pub mutability: Mutability,
    #[serde(default)]
    pub returned: Returned,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniqueness: Option<Uniqueness>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// Whether string comparisons on this attribute are case-sensitive (RFC 7643 §2.2 default: false).
    pub fn is_case_exact(&self) -> bool {
        self.case_exact.unwrap_or(false)
    }

    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn simple(name: &str, ty: AttrType, mutability: Mutability, returned: Returned, case_exact: bool) -> Self {
        AttributeDef {
            name: name.to_owned(),
            ty,
            multi_valued: false,
            description: String::new(),
            required: false,
            canonical_values: vec![],
            case_exact: matches!(ty, AttrType::String | AttrType::Reference | AttrType::Binary).then_some(case_exact),
            mutability,
            returned,
            uniqueness: (ty != AttrType::Complex).then_some(Uniqueness::None),
            reference_types: vec![],
            sub_attributes: vec![],
        }
    }
}

/// A schema (RFC 7643 §7): a URN and its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub attributes: Vec<AttributeDef>,
}

impl SchemaDef {
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// The two resource types a SCIM gateway serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }
    /// The endpoint segment, e.g. `Users`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }
    pub fn core_schema(self) -> &'static str {
        match self {
            ResourceKind::User => urn::USER,
            ResourceKind::Group => urn::GROUP,
        }
    }
    pub fn from_endpoint(segment: &str) -> Option<Self> {
        if segment.eq_ignore_ascii_case("Users") {
            Some(ResourceKind::User)
        } else if segment.eq_ignore_ascii_case("Groups") {
            Some(ResourceKind::Group)
        } else {
            None
        }
    }
}

/// Where an attribute lives: the resource's core schema or an extension (by URN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrHome<'a> {
    /// Top-level key of the resource (core schema or common attribute).
    Core,
    /// Under the extension URN key of the resource.
    Extension(&'a str),
}

/// A resolved attribute: its definition and where its value sits in a resource.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedAttr<'a> {
    pub home: AttrHome<'a>,
    pub def: &'a AttributeDef,
    /// Set when the path named a sub-attribute that exists.
    pub sub: Option<&'a AttributeDef>,
}

/// The schema of one resource type: core schema, extensions and the common attributes.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    pub kind: ResourceKind,
    pub core: Arc<SchemaDef>,
    /// Extension schemas with whether they are required.
    pub extensions: Vec<(Arc<SchemaDef>, bool)>,
    common: Arc<Vec<AttributeDef>>,
}

impl ResourceSchema {
    /// The full RFC 7643 schema for `kind` (User gets the enterprise extension).
    pub fn rfc(kind: ResourceKind) -> Self {
        let defs = builtin();
        match kind {
            ResourceKind::User => ResourceSchema {
                kind,
                core: defs.user.clone(),
                extensions: vec![(defs.enterprise_user.clone(), false)],
                common: defs.common.clone(),
            },
            ResourceKind::Group => {
                ResourceSchema { kind, core: defs.group.clone(), extensions: vec![], common: defs.common.clone() }
            }
        }
    }

    /// The common attributes (`id`, `externalId`, `meta`) of RFC 7643 §3.1.
    pub fn common_attributes(&self) -> &[AttributeDef] {
        &self.common
    }

    /// All schema URNs this resource type knows (core first).
    pub fn schema_urns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.core.id.as_str()).chain(self.extensions.iter().map(|(s, _)| s.id.as_str()))
    }

    pub fn extension(&self, uri: &str) -> Option<&SchemaDef> {
        self.extensions.iter().map(|(s, _)| s.as_ref()).find(|s| s.id.eq_ignore_ascii_case(uri))
    }

    /// Resolves a (possibly URN-qualified) attribute path. Case-insensitive, per RFC 7643 §2.1.
    pub fn resolve(&self, path: &AttrPath) -> Option<ResolvedAttr<'_>> {
        let (home, def) = self.top_attribute(path.uri.as_deref(), &path.name)?;
        let sub = match &path.sub {
            Some(s) => Some(def.sub_attribute(s)?),
            None => None,
        };
        Some(ResolvedAttr { home, def, sub })
    }

    /// The top-level attribute `name` of the schema `uri` names (the core schema when `None`),
    /// and where it sits: [`ResourceSchema::resolve`] without the sub-attribute.
    pub fn top_attribute(&self, uri: Option<&str>, name: &str) -> Option<(AttrHome<'_>, &AttributeDef)> {
        match uri {
            Some(uri) if uri.eq_ignore_ascii_case(&self.core.id) => Some((AttrHome::Core, self.core_attribute(name)?)),
            Some(uri) => {
                let ext = self.extensions.iter().find(|(s, _)| s.id.eq_ignore_ascii_case(uri))?;
                Some((AttrHome::Extension(ext.0.id.as_str()), ext.0.attribute(name)?))
            }
            None => Some((AttrHome::Core, self.core_attribute(name)?)),
        }
    }

    /// A core-schema or common attribute by name.
    pub fn core_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.core.attribute(name).or_else(|| self.common.iter().find(|a| a.name.eq_ignore_ascii_case(name)))
    }

    /// A copy of this schema holding only the listed attributes. Each entry is a path such as
    /// `userName`, `name.givenName`, `emails` or `urn:…:enterprise:2.0:User:department`; naming a
    /// complex attribute keeps all of its sub-attributes, naming a sub-attribute keeps that one.
    /// Extensions left with no attribute are dropped.
    pub fn restrict<'a>(&self, keep: impl IntoIterator<Item = &'a AttrPath>) -> Self {
        let mut wanted: HashMap<(String, String), Option<Vec<String>>> = HashMap::new();
        for p in keep {
            let uri = p.uri.clone().unwrap_or_else(|| self.core.id.clone()).to_ascii_lowercase();
            let entry = wanted.entry((uri, p.name.to_ascii_lowercase())).or_insert_with(|| Some(vec![]));
            match (&p.sub, entry.as_mut()) {
                (Some(s), Some(subs)) => subs.push(s.to_ascii_lowercase()),
                (None, _) => *entry = None,
                _ => {}
            }
        }
        let filter_schema = |s: &SchemaDef| -> SchemaDef {
            let uri = s.id.to_ascii_lowercase();
            let attributes = s
                .attributes
                .iter()
                .filter_map(|a| {
                    let w = wanted.get(&(uri.clone(), a.name.to_ascii_lowercase()))?;
                    let mut a = a.clone();
                    if let Some(subs) = w {
                        a.sub_attributes.retain(|sa| subs.contains(&sa.name.to_ascii_lowercase()));
                    }
                    Some(a)
                })
                .collect();
            SchemaDef { attributes, ..s.clone() }
        };
        ResourceSchema {
            kind: self.kind,
            core: Arc::new(filter_schema(&self.core)),
            extensions: self
                .extensions
                .iter()
                .map(|(s, req)| (Arc::new(filter_schema(s)), *req))
                .filter(|(s, _)| !s.attributes.is_empty())
                .collect(),
            common: self.common.clone(),
        }
    }
}

/// The schemas of both resource types served on one route.
#[derive(Debug, Clone)]
pub struct SchemaModel {
    pub user: ResourceSchema,
    pub group: ResourceSchema,
}

impl SchemaModel {
    /// The full RFC 7643 model.
    pub fn rfc() -> Self {
        SchemaModel { user: ResourceSchema::rfc(ResourceKind::User), group: ResourceSchema::rfc(ResourceKind::Group) }
    }

    pub fn for_kind(&self, kind: ResourceKind) -> &ResourceSchema {
        match kind {
            ResourceKind::User => &self.user,
            ResourceKind::Group => &self.group,
        }
    }

    /// Every distinct schema, core schemas first.
    pub fn all_schemas(&self) -> Vec<&SchemaDef> {
        let mut out: Vec<&SchemaDef> = vec![&self.user.core, &self.group.core];
        for (s, _) in self.user.extensions.iter().chain(&self.group.extensions) {
            if !out.iter().any(|o| o.id == s.id) {
                out.push(s);
            }
        }
        out
    }
}

struct Builtin {
    user: Arc<SchemaDef>,
    group: Arc<SchemaDef>,
    enterprise_user: Arc<SchemaDef>,
    common: Arc<Vec<AttributeDef>>,
}

fn builtin() -> &'static Builtin {
    static DEFS: std::sync::OnceLock<Builtin> = std::sync::OnceLock::new();
    DEFS.get_or_init(|| {
        let parse = |s: &str| -> Arc<SchemaDef> {
            #[allow(clippy::expect_used)]
            Arc::new(serde_json::from_str(s).expect("embedded schema JSON is valid"))
        };
        Builtin {
            user: parse(include_str!("schemas/user.json")),
            group: parse(include_str!("schemas/group.json")),
            enterprise_user: parse(include_str!("schemas/enterprise_user.json")),
            common: Arc::new(common_attributes()),
        }
    })
}

fn common_attributes() -> Vec<AttributeDef> {
    use AttrType::*;
    use Mutability::*;
    let mut id = AttributeDef::simple("id", String, ReadOnly, Returned::Always, true);
    id.uniqueness = Some(Uniqueness::Server);
    let external_id = AttributeDef::simple("externalId", String, ReadWrite, Returned::Default, true);
    let mut meta = AttributeDef::simple("meta", Complex, ReadOnly, Returned::Default, false);
    meta.sub_attributes = vec![
        AttributeDef::simple("resourceType", String, ReadOnly, Returned::Default, true),
        AttributeDef::simple("created", DateTime, ReadOnly, Returned::Default, false),
        AttributeDef::simple("lastModified", DateTime, ReadOnly, Returned::Default, false),
        AttributeDef::simple("location", Reference, ReadOnly, Returned::Default, true),
        AttributeDef::simple("version", String, ReadOnly, Returned::Default, true),
    ];
    vec![id, external_id, meta]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> AttrPath {
        AttrPath::parse_simple(s)
    }

    #[test]
    fn rfc_user_schema_resolves_core_sub_and_extension_attributes() {
        let s = ResourceSchema::rfc(ResourceKind::User);
        let r = s.resolve(&path("USERNAME")).unwrap();
        assert_eq!(r.def.name, "userName");
        assert!(!r.def.is_case_exact());
        assert_eq!(r.home, AttrHome::Core);
        let r = s.resolve(&path("name.givenName")).unwrap();
        assert_eq!(r.sub.unwrap().name, "givenName");
        let r = s.resolve(&path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")).unwrap();
        assert_eq!(r.home, AttrHome::Extension(urn::ENTERPRISE_USER));
        assert_eq!(r.def.name, "manager");
        assert!(s.resolve(&path("id")).unwrap().def.is_case_exact());
        assert!(s.resolve(&path("nonsense")).is_none());
        assert!(s.resolve(&path("name.nonsense")).is_none());
    }

    #[test]
    fn restrict_keeps_only_named_attributes() {
        let s = ResourceSchema::rfc(ResourceKind::User);
        let keep = [path("userName"), path("name.givenName"), path("emails")];
        let r = s.restrict(keep.iter());
        assert_eq!(r.core.attributes.len(), 3);
        assert_eq!(r.core.attribute("name").unwrap().sub_attributes.len(), 1);
        assert_eq!(r.core.attribute("emails").unwrap().sub_attributes.len(), 4);
        assert!(r.extensions.is_empty(), "enterprise extension had nothing kept");
        // common attributes stay resolvable
        assert!(r.resolve(&path("externalId")).is_some());
    }
}
