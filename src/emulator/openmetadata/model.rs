//! OpenMetadata's stored records and how the API renders them.
//!
//! Relationships are stored once and rendered from both sides, as OpenMetadata's relationship table does:
//! a user's team memberships live on the user (`teams`), a team's `users` are derived from them; a team's explicit
//! parents live on the team, its `children` are derived. An empty parent list means "under Organization", and a
//! user without teams is shown as a member of Organization, exactly as `UserRepository.getTeams` reports it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::error::OmError;
use crate::emulator::wire::now_ms;

/// The root team every OpenMetadata instance has.
pub(super) const ORGANIZATION: &str = "Organization";

/// Bookkeeping common to every entity.
#[derive(Debug, Clone)]
pub(super) struct Meta {
    /// The entity version in tenths (0.1 is `1`), so it renders without float drift.
    pub version_tenths: u32,
    pub updated_at: i64,
    pub updated_by: String,
    pub deleted: bool,
    /// When the entity last changed, for the search index lag.
    pub written: Instant,
}

impl Meta {
    pub fn new(by: &str) -> Meta {
        Meta {
            version_tenths: 1,
            updated_at: now_ms(),
            updated_by: by.to_owned(),
            deleted: false,
            written: Instant::now(),
        }
    }

    /// Records a change: the minor version goes up by 0.1.
    pub fn bump(&mut self, by: &str) {
        self.version_tenths += 1;
        self.updated_at = now_ms();
        self.updated_by = by.to_owned();
        self.written = Instant::now();
    }

    pub fn version(&self) -> Value {
        json!(f64::from(self.version_tenths) / 10.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct UserData {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub email: String,
    pub external_id: Option<String>,
    pub scim_user_name: Option<String>,
    pub timezone: Option<String>,
    pub is_bot: bool,
    pub is_admin: bool,
    pub is_email_verified: Option<bool>,
    pub profile: Option<Value>,
    /// Explicit memberships (never Organization), in insertion order.
    pub teams: Vec<Uuid>,
    pub roles: Vec<Uuid>,
    pub personas: Vec<Value>,
    pub default_persona: Option<Value>,
    pub domains: Vec<Value>,
    pub authentication_mechanism: Option<Value>,
}

#[derive(Debug, Clone)]
pub(super) struct User {
    pub id: Uuid,
    pub name: String,
    pub data: UserData,
    pub meta: Meta,
}

/// `Group` holds only users; the others form the department hierarchy under `Organization`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TeamType {
    Group,
    Department,
    Division,
    BusinessUnit,
    Organization,
}

impl TeamType {
    pub fn parse(s: &str) -> Option<TeamType> {
        Some(match s {
            "Group" => TeamType::Group,
            "Department" => TeamType::Department,
            "Division" => TeamType::Division,
            "BusinessUnit" => TeamType::BusinessUnit,
            "Organization" => TeamType::Organization,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TeamType::Group => "Group",
            TeamType::Department => "Department",
            TeamType::Division => "Division",
            TeamType::BusinessUnit => "BusinessUnit",
            TeamType::Organization => "Organization",
        }
    }

    /// Team types allowed as parents of this one (`TeamRepository.populateParents`).
    pub fn allowed_parents(self) -> &'static [TeamType] {
        use TeamType::*;
        match self {
            Group | Department => &[Department, Division, BusinessUnit, Organization],
            Division => &[Division, BusinessUnit, Organization],
            BusinessUnit => &[BusinessUnit, Organization],
            Organization => &[],
        }
    }

    /// Team types allowed as children of this one (`TeamRepository.populateChildren`).
    pub fn allowed_children(self) -> &'static [TeamType] {
        use TeamType::*;
        match self {
            Group => &[],
            Department => &[Department, Group],
            Division => &[Department, Division, Group],
            BusinessUnit | Organization => &[BusinessUnit, Division, Department, Group],
        }
    }

    /// Division and BusinessUnit teams have exactly one parent.
    pub fn single_parent(self) -> bool {
        matches!(self, TeamType::Division | TeamType::BusinessUnit)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct TeamData {
    pub team_type: TeamType,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub profile: Option<Value>,
    pub is_joinable: bool,
    /// Explicit parents; empty means Organization.
    pub parents: Vec<Uuid>,
    pub default_roles: Vec<Uuid>,
    pub owners: Vec<Value>,
    pub domains: Vec<Value>,
}

#[derive(Debug, Clone)]
pub(super) struct Team {
    pub id: Uuid,
    pub name: String,
    pub data: TeamData,
    pub meta: Meta,
}

#[derive(Debug, Clone)]
pub(super) struct Role {
    pub id: Uuid,
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Policy names with a stable id each, for entity references.
    pub policies: Vec<(Uuid, String)>,
    pub meta: Meta,
}

/// Which entities a read includes (`include=non-deleted|deleted|all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Include {
    NonDeleted,
    Deleted,
    All,
}

impl Include {
    pub fn parse(raw: Option<&str>) -> Result<Include, OmError> {
        match raw {
            None | Some("") | Some("non-deleted") => Ok(Include::NonDeleted),
            Some("deleted") => Ok(Include::Deleted),
            Some("all") => Ok(Include::All),
            Some(other) => Err(OmError::bad_request(format!(
                "query param include must be one of [non-deleted, deleted, all], got {other:?}"
            ))),
        }
    }

    pub fn admits(self, deleted: bool) -> bool {
        match self {
            Include::NonDeleted => !deleted,
            Include::Deleted => deleted,
            Include::All => true,
        }
    }
}

/// The `fields` query parameter, checked against what the entity supports.
#[derive(Debug, Clone, Default)]
pub(super) struct Fields(HashSet<String>);

impl Fields {
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Fields, OmError> {
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(Fields::default());
        };
        if raw.trim() == "*" {
            return Ok(Fields::all(allowed));
        }
        let mut set = HashSet::new();
        for field in raw.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            if !allowed.contains(&field) {
                return Err(OmError::bad_request(format!("Invalid field name {field}")));
            }
            set.insert(field.to_owned());
        }
        Ok(Fields(set))
    }

    pub fn all(allowed: &[&str]) -> Fields {
        Fields(allowed.iter().map(|f| (*f).to_owned()).collect())
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains(field)
    }
}

/// The fields a user read may ask for.
pub(super) const USER_FIELDS: &[&str] = &[
    "teams",
    "roles",
    "profile",
    "personas",
    "defaultPersona",
    "domains",
    "follows",
    "owns",
    "authenticationMechanism",
    "lastLoginTime",
    "lastActivityTime",
];

/// The fields a team read may ask for.
pub(super) const TEAM_FIELDS: &[&str] = &[
    "users",
    "userCount",
    "defaultRoles",
    "parents",
    "children",
    "childrenCount",
    "owners",
    "policies",
    "domains",
    "profile",
    "owns",
];

/// The fields a role read may ask for.
pub(super) const ROLE_FIELDS: &[&str] = &["policies", "users", "teams"];

/// How OpenMetadata quotes a name into a fully qualified name: names containing a dot are wrapped in quotes.
pub(super) fn quote_name(name: &str) -> String {
    if name.contains('.') && !(name.len() >= 2 && name.starts_with('"') && name.ends_with('"')) {
        format!("\"{name}\"")
    } else {
        name.to_owned()
    }
}

/// The inverse of [`quote_name`] for names taken from a `/name/{fqn}` path.
pub(super) fn unquote_name(fqn: &str) -> &str {
    if fqn.len() >= 2 && fqn.starts_with('"') && fqn.ends_with('"') { &fqn[1..fqn.len() - 1] } else { fqn }
}

/// All OpenMetadata state of one emulator. Records are kept in ordered maps: a hash map doubles by
/// moving every record in one insert, under the store's lock, which stalled the emulator for tens of
/// milliseconds as a benchmark's creates grew it.
#[derive(Debug)]
pub(super) struct Store {
    /// `http://host:port`, for `href`s.
    pub base: String,
    /// Who the bearer token belongs to, reported as `updatedBy`.
    pub principal: String,
    pub unique_email: bool,
    pub search_lag: Duration,
    pub users: BTreeMap<Uuid, User>,
    /// Lower-cased user name → id: user names are case-insensitive in OpenMetadata.
    pub user_names: BTreeMap<String, Uuid>,
    pub teams: BTreeMap<Uuid, Team>,
    /// Team name (case-sensitive) → id.
    pub team_names: BTreeMap<String, Uuid>,
    pub roles: BTreeMap<Uuid, Role>,
    pub role_names: BTreeMap<String, Uuid>,
    pub organization: Uuid,
}

impl Store {
    pub fn new(base: String, principal: String, unique_email: bool, search_lag: Duration) -> Store {
        let mut store = Store {
            base,
            principal,
            unique_email,
            search_lag,
            users: BTreeMap::new(),
            user_names: BTreeMap::new(),
            teams: BTreeMap::new(),
            team_names: BTreeMap::new(),
            roles: BTreeMap::new(),
            role_names: BTreeMap::new(),
            organization: Uuid::new_v4(),
        };
        let consumer = store.insert_role(
            "DataConsumer",
            "Users with Data Consumer role use different data assets for their day to day work.",
            &["DataConsumerPolicy"],
        );
        store.insert_role(
            "DataSteward",
            "Users with Data Steward role are responsible for ensuring correctness of metadata for data assets.",
            &["DataStewardPolicy"],
        );
        let org = Team {
            id: store.organization,
            name: ORGANIZATION.to_owned(),
            data: TeamData {
                team_type: TeamType::Organization,
                display_name: Some(ORGANIZATION.to_owned()),
                description: Some("Organization under which all the other team hierarchy is created".to_owned()),
                email: None,
                external_id: None,
                profile: None,
                is_joinable: false,
                parents: Vec::new(),
                default_roles: vec![consumer],
                owners: Vec::new(),
                domains: Vec::new(),
            },
            meta: Meta::new("admin"),
        };
        store.team_names.insert(org.name.clone(), org.id);
        store.teams.insert(org.id, org);
        store
    }

    pub fn insert_role(&mut self, name: &str, description: &str, policies: &[&str]) -> Uuid {
        let role = Role {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            display_name: Some(name.to_owned()),
            description: Some(description.to_owned()),
            policies: policies.iter().map(|p| (Uuid::new_v4(), (*p).to_owned())).collect(),
            meta: Meta::new("admin"),
        };
        let id = role.id;
        self.role_names.insert(role.name.clone(), id);
        self.roles.insert(id, role);
        id
    }

    // === lookups ===

    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        self.user_names.get(&unquote_name(name).to_lowercase()).and_then(|id| self.users.get(id))
    }

    pub fn team_by_name(&self, name: &str) -> Option<&Team> {
        self.team_names.get(unquote_name(name)).and_then(|id| self.teams.get(id))
    }

    pub fn role_by_name(&self, name: &str) -> Option<&Role> {
        self.role_names.get(unquote_name(name)).and_then(|id| self.roles.get(id))
    }

    /// The teams a user is shown in: explicit, not deleted, sorted by name; Organization when none.
    pub fn user_teams(&self, user: &User) -> Vec<&Team> {
        let mut teams: Vec<&Team> =
            user.data.teams.iter().filter_map(|id| self.teams.get(id)).filter(|t| !t.meta.deleted).collect();
        teams.sort_by(|a, b| a.name.cmp(&b.name));
        if teams.is_empty() {
            teams.extend(self.teams.get(&self.organization));
        }
        teams
    }

    /// The parents a team is shown with: explicit ones, or Organization.
    pub fn team_parents(&self, team: &Team) -> Vec<&Team> {
        if team.id == self.organization {
            return Vec::new();
        }
        let mut parents: Vec<&Team> = team.data.parents.iter().filter_map(|id| self.teams.get(id)).collect();
        if parents.is_empty() {
            parents.extend(self.teams.get(&self.organization));
        }
        parents.sort_by(|a, b| a.name.cmp(&b.name));
        parents
    }

    /// Direct child teams, sorted by name; Organization's children are the teams without explicit parents.
    pub fn team_children(&self, team_id: Uuid) -> Vec<&Team> {
        let mut children: Vec<&Team> = self
            .teams
            .values()
            .filter(|t| t.id != self.organization)
            .filter(|t| {
                if team_id == self.organization { t.data.parents.is_empty() } else { t.data.parents.contains(&team_id) }
            })
            .collect();
        children.sort_by(|a, b| a.name.cmp(&b.name));
        children
    }

    /// Direct members of a team, sorted by name.
    pub fn team_members(&self, team_id: Uuid, include: Include) -> Vec<&User> {
        let mut members: Vec<&User> = self
            .users
            .values()
            .filter(|u| include.admits(u.meta.deleted))
            .filter(|u| u.data.teams.contains(&team_id))
            .collect();
        members.sort_by_key(|u| u.name.to_lowercase());
        members
    }

    /// Distinct members of a team and all its descendants (`userCount`).
    pub fn user_count(&self, team_id: Uuid) -> usize {
        let mut teams = BTreeSet::new();
        let mut stack = vec![team_id];
        while let Some(id) = stack.pop() {
            if teams.insert(id) {
                stack.extend(self.team_children(id).iter().map(|t| t.id));
            }
        }
        self.users.values().filter(|u| !u.meta.deleted && u.data.teams.iter().any(|t| teams.contains(t))).count()
    }

    /// Roles inherited through team `defaultRoles`, walking up to Organization (`SubjectContext.getRolesForTeams`).
    pub fn inherited_roles(&self, teams: &[&Team]) -> Vec<&Role> {
        let mut seen_teams = HashSet::new();
        let mut roles: Vec<&Role> = Vec::new();
        let mut stack: Vec<&Team> = teams.to_vec();
        while let Some(team) = stack.pop() {
            if team.meta.deleted || !seen_teams.insert(team.id) {
                continue;
            }
            for role in team.data.default_roles.iter().filter_map(|id| self.roles.get(id)) {
                if !roles.iter().any(|r| r.id == role.id) {
                    roles.push(role);
                }
            }
            stack.extend(self.team_parents(team));
        }
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        roles
    }

    // === rendering ===

    pub fn href(&self, collection: &str, id: Uuid) -> String {
        format!("{}/api/v1/{collection}/{id}", self.base)
    }

    pub fn user_ref(&self, user: &User) -> Value {
        let mut r = Map::new();
        r.insert("id".into(), json!(user.id.to_string()));
        r.insert("type".into(), json!("user"));
        r.insert("name".into(), json!(user.name));
        r.insert("fullyQualifiedName".into(), json!(quote_name(&user.name.to_lowercase())));
        if let Some(d) = &user.data.display_name {
            r.insert("displayName".into(), json!(d));
        }
        r.insert("deleted".into(), json!(user.meta.deleted));
        r.insert("href".into(), json!(self.href("users", user.id)));
        Value::Object(r)
    }

    pub fn team_ref(&self, team: &Team) -> Value {
        let mut r = Map::new();
        r.insert("id".into(), json!(team.id.to_string()));
        r.insert("type".into(), json!("team"));
        r.insert("name".into(), json!(team.name));
        r.insert("fullyQualifiedName".into(), json!(quote_name(&team.name)));
        if let Some(d) = &team.data.display_name {
            r.insert("displayName".into(), json!(d));
        }
        if let Some(d) = &team.data.description {
            r.insert("description".into(), json!(d));
        }
        r.insert("deleted".into(), json!(team.meta.deleted));
        r.insert("href".into(), json!(self.href("teams", team.id)));
        Value::Object(r)
    }

    pub fn role_ref(&self, role: &Role) -> Value {
        let mut r = Map::new();
        r.insert("id".into(), json!(role.id.to_string()));
        r.insert("type".into(), json!("role"));
        r.insert("name".into(), json!(role.name));
        r.insert("fullyQualifiedName".into(), json!(quote_name(&role.name)));
        if let Some(d) = &role.display_name {
            r.insert("displayName".into(), json!(d));
        }
        if let Some(d) = &role.description {
            r.insert("description".into(), json!(d));
        }
        r.insert("deleted".into(), json!(role.meta.deleted));
        r.insert("href".into(), json!(self.href("roles", role.id)));
        Value::Object(r)
    }

    pub fn render_user(&self, user: &User, fields: &Fields) -> Value {
        let d = &user.data;
        let mut o = Map::new();
        o.insert("id".into(), json!(user.id.to_string()));
        o.insert("name".into(), json!(user.name));
        o.insert("fullyQualifiedName".into(), json!(quote_name(&user.name.to_lowercase())));
        put_opt(&mut o, "displayName", &d.display_name);
        put_opt(&mut o, "description", &d.description);
        o.insert("email".into(), json!(d.email));
        put_opt(&mut o, "externalId", &d.external_id);
        put_opt(&mut o, "scimUserName", &d.scim_user_name);
        put_opt(&mut o, "timezone", &d.timezone);
        o.insert("version".into(), user.meta.version());
        o.insert("updatedAt".into(), json!(user.meta.updated_at));
        o.insert("updatedBy".into(), json!(user.meta.updated_by));
        o.insert("href".into(), json!(self.href("users", user.id)));
        o.insert("isBot".into(), json!(d.is_bot));
        o.insert("isAdmin".into(), json!(d.is_admin));
        if let Some(v) = d.is_email_verified {
            o.insert("isEmailVerified".into(), json!(v));
        }
        o.insert("deleted".into(), json!(user.meta.deleted));
        if fields.has("profile")
            && let Some(p) = &d.profile
        {
            o.insert("profile".into(), p.clone());
        }
        if fields.has("teams") {
            let teams = self.user_teams(user);
            o.insert("teams".into(), Value::Array(teams.iter().map(|t| self.team_ref(t)).collect()));
        }
        if fields.has("roles") {
            let mut roles: Vec<&Role> = d.roles.iter().filter_map(|id| self.roles.get(id)).collect();
            roles.sort_by(|a, b| a.name.cmp(&b.name));
            o.insert("roles".into(), Value::Array(roles.iter().map(|r| self.role_ref(r)).collect()));
            let inherited = if d.is_bot { Vec::new() } else { self.inherited_roles(&self.user_teams(user)) };
            o.insert("inheritedRoles".into(), Value::Array(inherited.iter().map(|r| self.role_ref(r)).collect()));
        }
        if fields.has("personas") {
            o.insert("personas".into(), Value::Array(d.personas.clone()));
        }
        if fields.has("defaultPersona")
            && let Some(p) = &d.default_persona
        {
            o.insert("defaultPersona".into(), p.clone());
        }
        if fields.has("domains") {
            o.insert("domains".into(), Value::Array(d.domains.clone()));
        }
        if fields.has("follows") {
            o.insert("follows".into(), json!([]));
        }
        if fields.has("owns") {
            o.insert("owns".into(), json!([]));
        }
        if fields.has("authenticationMechanism")
            && let Some(a) = &d.authentication_mechanism
        {
            o.insert("authenticationMechanism".into(), a.clone());
        }
        Value::Object(o)
    }

    pub fn render_team(&self, team: &Team, fields: &Fields, include: Include) -> Value {
        let d = &team.data;
        let mut o = Map::new();
        o.insert("id".into(), json!(team.id.to_string()));
        o.insert("teamType".into(), json!(d.team_type.as_str()));
        o.insert("name".into(), json!(team.name));
        o.insert("fullyQualifiedName".into(), json!(quote_name(&team.name)));
        put_opt(&mut o, "displayName", &d.display_name);
        put_opt(&mut o, "description", &d.description);
        put_opt(&mut o, "email", &d.email);
        put_opt(&mut o, "externalId", &d.external_id);
        o.insert("version".into(), team.meta.version());
        o.insert("updatedAt".into(), json!(team.meta.updated_at));
        o.insert("updatedBy".into(), json!(team.meta.updated_by));
        o.insert("href".into(), json!(self.href("teams", team.id)));
        o.insert("isJoinable".into(), json!(d.is_joinable));
        o.insert("deleted".into(), json!(team.meta.deleted));
        if fields.has("profile")
            && let Some(p) = &d.profile
        {
            o.insert("profile".into(), p.clone());
        }
        if fields.has("users") {
            let members = self.team_members(team.id, include);
            o.insert("users".into(), Value::Array(members.iter().map(|u| self.user_ref(u)).collect()));
        }
        if fields.has("userCount") {
            o.insert("userCount".into(), json!(self.user_count(team.id)));
        }
        if fields.has("defaultRoles") {
            let mut roles: Vec<&Role> = d.default_roles.iter().filter_map(|id| self.roles.get(id)).collect();
            roles.sort_by(|a, b| a.name.cmp(&b.name));
            o.insert("defaultRoles".into(), Value::Array(roles.iter().map(|r| self.role_ref(r)).collect()));
            let parents = self.team_parents(team);
            let inherited = self.inherited_roles(&parents);
            o.insert("inheritedRoles".into(), Value::Array(inherited.iter().map(|r| self.role_ref(r)).collect()));
        }
        if fields.has("parents") {
            let parents = self.team_parents(team);
            o.insert("parents".into(), Value::Array(parents.iter().map(|t| self.team_ref(t)).collect()));
        }
        if fields.has("children") {
            let children = self.team_children(team.id);
            let shown = children.iter().filter(|t| include.admits(t.meta.deleted));
            o.insert("children".into(), Value::Array(shown.map(|t| self.team_ref(t)).collect()));
        }
        if fields.has("childrenCount") {
            o.insert("childrenCount".into(), json!(self.team_children(team.id).len()));
        }
        if fields.has("owners") {
            o.insert("owners".into(), Value::Array(d.owners.clone()));
        }
        if fields.has("policies") {
            o.insert("policies".into(), json!([]));
        }
        if fields.has("domains") {
            o.insert("domains".into(), Value::Array(d.domains.clone()));
        }
        if fields.has("owns") {
            o.insert("owns".into(), json!([]));
        }
        Value::Object(o)
    }

    pub fn render_role(&self, role: &Role, fields: &Fields) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), json!(role.id.to_string()));
        o.insert("name".into(), json!(role.name));
        o.insert("fullyQualifiedName".into(), json!(quote_name(&role.name)));
        put_opt(&mut o, "displayName", &role.display_name);
        put_opt(&mut o, "description", &role.description);
        o.insert("version".into(), role.meta.version());
        o.insert("updatedAt".into(), json!(role.meta.updated_at));
        o.insert("updatedBy".into(), json!(role.meta.updated_by));
        o.insert("href".into(), json!(self.href("roles", role.id)));
        o.insert("deleted".into(), json!(role.meta.deleted));
        if fields.has("policies") {
            let policies: Vec<Value> = role
                .policies
                .iter()
                .map(|(id, name)| json!({"id": id.to_string(), "type": "policy", "name": name, "fullyQualifiedName": name}))
                .collect();
            o.insert("policies".into(), Value::Array(policies));
        }
        if fields.has("users") {
            let mut users: Vec<&User> =
                self.users.values().filter(|u| !u.meta.deleted && u.data.roles.contains(&role.id)).collect();
            users.sort_by(|a, b| a.name.cmp(&b.name));
            o.insert("users".into(), Value::Array(users.iter().map(|u| self.user_ref(u)).collect()));
        }
        if fields.has("teams") {
            let mut teams: Vec<&Team> =
                self.teams.values().filter(|t| !t.meta.deleted && t.data.default_roles.contains(&role.id)).collect();
            teams.sort_by(|a, b| a.name.cmp(&b.name));
            o.insert("teams".into(), Value::Array(teams.iter().map(|t| self.team_ref(t)).collect()));
        }
        Value::Object(o)
    }

    /// A lookup by id failed: OpenMetadata's wording.
    pub fn not_found(entity: &str, key: impl std::fmt::Display) -> OmError {
        OmError::new(StatusCode::NOT_FOUND, format!("{entity} instance for {key} not found"))
    }

    /// Referenced users, each once, in the order given (a team can list thousands).
    pub fn known_users(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, OmError> {
        distinct_known(ids, "user", |id| self.users.contains_key(id), None)
    }

    /// Referenced roles, each once, in the order given.
    pub fn known_roles(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, OmError> {
        distinct_known(ids, "role", |id| self.roles.contains_key(id), None)
    }

    /// Referenced teams (a user's teams, a team's parents), each once, in the order given.
    /// Organization is implied there and never stored (`UserRepository.assignTeams`; the default
    /// parent of a team).
    pub fn known_teams(&self, ids: &[Uuid]) -> Result<Vec<Uuid>, OmError> {
        distinct_known(ids, "team", |id| self.teams.contains_key(id), Some(self.organization))
    }
}

/// `ids` each once, in the order given, after checking that each names an existing `entity`;
/// `implied` is accepted but not kept.
fn distinct_known(
    ids: &[Uuid],
    entity: &str,
    exists: impl Fn(&Uuid) -> bool,
    implied: Option<Uuid>,
) -> Result<Vec<Uuid>, OmError> {
    let mut seen = HashSet::with_capacity(ids.len());
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if !exists(id) {
            return Err(Store::not_found(entity, id));
        }
        if Some(*id) != implied && seen.insert(*id) {
            out.push(*id);
        }
    }
    Ok(out)
}

fn put_opt(o: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        o.insert(key.to_owned(), json!(v));
    }
}
