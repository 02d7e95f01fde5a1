//! Collibra's stored records, their JSON shape, and offset paging.
//!
//! Membership is stored on the group (`members`); the built-in `Everyone` group holds every user implicitly.
//! Every resource carries the common fields `id, createdBy, createdOn, lastModifiedBy, lastModifiedOn, system,
//! resourceType`. External-system mappings point at a resource by id; deleting the resource keeps the mapping and
//! only drops that reference, as Collibra does so that synchronising systems can notice the deletion.

use std::collections::HashMap;

use http::StatusCode;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::error::CollibraError;
use crate::emulator::wire::{NativeRequest, now_ms};

/// Largest page Collibra serves; `limit=0` means this default.
pub(super) const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Clone)]
pub(super) struct Audit {
    pub created_by: Uuid,
    pub created_on: i64,
    pub modified_by: Uuid,
    pub modified_on: i64,
}

impl Audit {
    pub fn new(by: Uuid) -> Audit {
        let now = now_ms();
        Audit { created_by: by, created_on: now, modified_by: by, modified_on: now }
    }

    pub fn touch(&mut self, by: Uuid) {
        self.modified_by = by;
        self.modified_on = now_ms();
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct UserData {
    pub user_name: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub gender: String,
    pub language: Option<String>,
    pub enabled: bool,
    pub license_type: String,
    pub additional_emails: Vec<Value>,
    pub phones: Vec<Value>,
    pub addresses: Vec<Value>,
    pub instant_messaging: Vec<Value>,
    pub websites: Vec<Value>,
}

#[derive(Debug, Clone)]
pub(super) struct User {
    pub id: Uuid,
    pub audit: Audit,
    pub data: UserData,
}

#[derive(Debug, Clone)]
pub(super) struct Group {
    pub id: Uuid,
    pub audit: Audit,
    pub name: String,
    pub locally_managed: bool,
    /// Built-in groups (Everyone) cannot be changed or deleted.
    pub system: bool,
    /// Member user ids in the order they were added.
    pub members: Vec<Uuid>,
}

#[derive(Debug, Clone)]
pub(super) struct Role {
    pub id: Uuid,
    pub audit: Audit,
    pub name: String,
    pub description: String,
    pub global: bool,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Responsibility {
    pub id: Uuid,
    pub audit: Audit,
    pub role: Uuid,
    pub owner: Uuid,
    /// `(resourceId, resourceType)` for a resource role; none for a global assignment.
    pub resource: Option<(Uuid, String)>,
}

/// A link between a resource in an external system and a Collibra resource (`/mappings`).
#[derive(Debug, Clone)]
pub(super) struct Mapping {
    pub id: Uuid,
    pub audit: Audit,
    pub external_system_id: String,
    pub external_entity_id: String,
    pub external_entity_url: Option<String>,
    pub description: Option<String>,
    /// The mapped resource; `None` once that resource was deleted (or when none was given).
    pub mapped_resource: Option<Uuid>,
    pub last_sync_date: Option<i64>,
    pub sync_action: Option<String>,
}

/// All Collibra state of one emulator.
#[derive(Debug)]
pub(super) struct Store {
    /// The id of the account the Basic credentials belong to, reported as `createdBy`/`lastModifiedBy`.
    pub actor: Uuid,
    pub users: HashMap<Uuid, User>,
    pub groups: HashMap<Uuid, Group>,
    pub everyone: Uuid,
    pub roles: HashMap<Uuid, Role>,
    pub responsibilities: HashMap<Uuid, Responsibility>,
    pub mappings: HashMap<Uuid, Mapping>,
}

impl Store {
    pub fn new() -> Store {
        let actor = Uuid::new_v4();
        let everyone = Group {
            id: Uuid::new_v4(),
            audit: Audit::new(actor),
            name: "Everyone".to_owned(),
            locally_managed: true,
            system: true,
            members: Vec::new(),
        };
        let mut store = Store {
            actor,
            users: HashMap::new(),
            groups: HashMap::new(),
            everyone: everyone.id,
            roles: HashMap::new(),
            responsibilities: HashMap::new(),
            mappings: HashMap::new(),
        };
        store.groups.insert(everyone.id, everyone);
        for (name, global, description) in [
            ("Sysadmin", true, "Can administer the whole platform."),
            ("Catalog Author", true, "Can create and change catalog content."),
            ("Catalog", true, "Can use the data catalog."),
            ("Owner", false, "Owns a community, domain or asset."),
            ("Steward", false, "Stewards a community, domain or asset."),
        ] {
            store.insert_role(name, global, description);
        }
        store
    }

    pub fn insert_role(&mut self, name: &str, global: bool, description: &str) -> Uuid {
        let role = Role {
            id: Uuid::new_v4(),
            audit: Audit::new(self.actor),
            name: name.to_owned(),
            description: description.to_owned(),
            global,
            permissions: Vec::new(),
        };
        let id = role.id;
        self.roles.insert(id, role);
        id
    }

    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        self.users.values().find(|u| u.data.user_name.eq_ignore_ascii_case(name))
    }

    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.groups.values().find(|g| g.name.eq_ignore_ascii_case(name))
    }

    /// The type and display name of any resource a mapping may point at.
    pub fn resource(&self, id: Uuid) -> Option<(&'static str, String)> {
        if let Some(u) = self.users.get(&id) {
            return Some(("User", u.data.user_name.clone()));
        }
        if let Some(g) = self.groups.get(&id) {
            return Some(("UserGroup", g.name.clone()));
        }
        self.roles.get(&id).map(|r| ("Role", r.name.clone()))
    }

    /// A deleted resource leaves the mappings that pointed at it in place, without the reference.
    pub fn forget_mapped_resource(&mut self, id: Uuid) {
        let actor = self.actor;
        for mapping in self.mappings.values_mut().filter(|m| m.mapped_resource == Some(id)) {
            mapping.mapped_resource = None;
            mapping.audit.touch(actor);
        }
    }

    /// Whether `user` is in `group` (everyone is in Everyone).
    pub fn is_member(&self, group: &Group, user: Uuid) -> bool {
        group.id == self.everyone || group.members.contains(&user)
    }

    fn common(&self, o: &mut Map<String, Value>, id: Uuid, audit: &Audit, system: bool, resource_type: &str) {
        o.insert("id".into(), json!(id.to_string()));
        o.insert("createdBy".into(), json!(audit.created_by.to_string()));
        o.insert("createdOn".into(), json!(audit.created_on));
        o.insert("lastModifiedBy".into(), json!(audit.modified_by.to_string()));
        o.insert("lastModifiedOn".into(), json!(audit.modified_on));
        o.insert("system".into(), json!(system));
        o.insert("resourceType".into(), json!(resource_type));
    }

    pub fn render_user(&self, user: &User) -> Value {
        let d = &user.data;
        let mut o = Map::new();
        self.common(&mut o, user.id, &user.audit, false, "User");
        o.insert("userName".into(), json!(d.user_name));
        if let Some(v) = &d.first_name {
            o.insert("firstName".into(), json!(v));
        }
        if let Some(v) = &d.last_name {
            o.insert("lastName".into(), json!(v));
        }
        o.insert("emailAddress".into(), json!(d.email));
        o.insert("gender".into(), json!(d.gender));
        if let Some(v) = &d.language {
            o.insert("language".into(), json!(v));
        }
        o.insert("additionalEmailAddresses".into(), Value::Array(d.additional_emails.clone()));
        o.insert("phoneNumbers".into(), Value::Array(d.phones.clone()));
        o.insert("instantMessagingAccounts".into(), Value::Array(d.instant_messaging.clone()));
        o.insert("websites".into(), Value::Array(d.websites.clone()));
        o.insert("addresses".into(), Value::Array(d.addresses.clone()));
        o.insert("activated".into(), json!(false));
        o.insert("enabled".into(), json!(d.enabled));
        o.insert("ldapUser".into(), json!(false));
        o.insert("userSource".into(), json!("INTERNAL"));
        o.insert("guestUser".into(), json!(false));
        o.insert("apiUser".into(), json!(false));
        o.insert("licenseType".into(), json!(d.license_type));
        Value::Object(o)
    }

    pub fn render_group(&self, group: &Group) -> Value {
        let mut o = Map::new();
        self.common(&mut o, group.id, &group.audit, group.system, "UserGroup");
        o.insert("name".into(), json!(group.name));
        o.insert("locallyManaged".into(), json!(group.locally_managed));
        Value::Object(o)
    }

    pub fn render_role(&self, role: &Role) -> Value {
        let mut o = Map::new();
        self.common(&mut o, role.id, &role.audit, true, "Role");
        o.insert("name".into(), json!(role.name));
        o.insert("description".into(), json!(role.description));
        o.insert("global".into(), json!(role.global));
        o.insert("permissions".into(), json!(role.permissions));
        Value::Object(o)
    }

    pub fn render_mapping(&self, m: &Mapping) -> Value {
        let mut o = Map::new();
        self.common(&mut o, m.id, &m.audit, false, "Mapping");
        o.insert("externalSystemId".into(), json!(m.external_system_id));
        o.insert("externalEntityId".into(), json!(m.external_entity_id));
        if let Some(v) = &m.external_entity_url {
            o.insert("externalEntityUrl".into(), json!(v));
        }
        if let Some(v) = &m.description {
            o.insert("description".into(), json!(v));
        }
        if let Some((id, (kind, name))) = m.mapped_resource.and_then(|id| self.resource(id).map(|r| (id, r))) {
            o.insert("mappedResource".into(), json!({"id": id.to_string(), "resourceType": kind, "name": name}));
        }
        if let Some(v) = m.last_sync_date {
            o.insert("lastSyncDate".into(), json!(v));
        }
        if let Some(v) = &m.sync_action {
            o.insert("syncAction".into(), json!(v));
        }
        Value::Object(o)
    }

    pub fn render_responsibility(&self, r: &Responsibility) -> Value {
        let mut o = Map::new();
        self.common(&mut o, r.id, &r.audit, false, "Responsibility");
        let role_name = self.roles.get(&r.role).map(|role| role.name.clone()).unwrap_or_default();
        o.insert("role".into(), json!({"id": r.role.to_string(), "name": role_name, "resourceType": "Role"}));
        if let Some((id, kind)) = &r.resource {
            o.insert("baseResource".into(), json!({"id": id.to_string(), "resourceType": kind}));
        }
        let owner_type = if self.groups.contains_key(&r.owner) { "UserGroup" } else { "User" };
        o.insert("owner".into(), json!({"id": r.owner.to_string(), "resourceType": owner_type}));
        Value::Object(o)
    }
}

/// `offset`, `limit` and `countLimit` of a find request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paging {
    pub offset: usize,
    pub limit: usize,
    /// -1 counts everything, 0 skips counting, n counts at most n.
    pub count_limit: i64,
}

impl Paging {
    pub fn parse(req: &NativeRequest) -> Result<Paging, CollibraError> {
        let bad = |m: String| CollibraError::new(StatusCode::BAD_REQUEST, "invalidPagingParameter", m);
        let offset = req.int("offset", 0).map_err(bad)?;
        let limit = req.int("limit", 0).map_err(bad)?;
        let count_limit = req.int("countLimit", -1).map_err(bad)?;
        if offset < 0 {
            return Err(bad(format!("offset must not be negative, got {offset}")));
        }
        if !(0..=MAX_LIMIT).contains(&limit) {
            return Err(bad(format!("limit must be between 0 and {MAX_LIMIT}, got {limit}")));
        }
        if count_limit < -1 {
            return Err(bad(format!("countLimit must be -1 or more, got {count_limit}")));
        }
        let limit = if limit == 0 { MAX_LIMIT } else { limit };
        Ok(Paging {
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            limit: usize::try_from(limit).unwrap_or(1000),
            count_limit,
        })
    }

    /// The paged response `{total, offset, limit, results}`, rendering only the page; `total` is left out when
    /// counting is skipped.
    pub fn respond<T>(&self, all: &[T], render: impl Fn(&T) -> Value) -> Value {
        let total = all.len();
        let results: Vec<Value> = all.iter().skip(self.offset).take(self.limit).map(render).collect();
        let mut o = Map::new();
        match self.count_limit {
            0 => {}
            n if n > 0 => {
                o.insert("total".into(), json!(total.min(usize::try_from(n).unwrap_or(usize::MAX))));
            }
            _ => {
                o.insert("total".into(), json!(total));
            }
        }
        o.insert("offset".into(), json!(self.offset));
        o.insert("limit".into(), json!(self.limit));
        o.insert("results".into(), Value::Array(results));
        Value::Object(o)
    }
}

/// `nameMatchMode`: EXACT compares case-sensitively, the others ignore case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MatchMode {
    Start,
    End,
    Anywhere,
    Exact,
}

impl MatchMode {
    pub fn parse(raw: Option<&str>) -> Result<MatchMode, CollibraError> {
        match raw {
            None | Some("") | Some("ANYWHERE") => Ok(MatchMode::Anywhere),
            Some("START") => Ok(MatchMode::Start),
            Some("END") => Ok(MatchMode::End),
            Some("EXACT") => Ok(MatchMode::Exact),
            Some(other) => Err(CollibraError::invalid(format!(
                "nameMatchMode must be one of START, END, ANYWHERE, EXACT, got {other:?}"
            ))),
        }
    }

    pub fn matches(self, candidate: &str, wanted: &str) -> bool {
        if self == MatchMode::Exact {
            return candidate == wanted;
        }
        let (c, w) = (candidate.to_lowercase(), wanted.to_lowercase());
        match self {
            MatchMode::Start => c.starts_with(&w),
            MatchMode::End => c.ends_with(&w),
            _ => c.contains(&w),
        }
    }
}

/// `sortOrder`: `ASC` (default) or `DESC`.
pub(super) fn descending(req: &NativeRequest) -> Result<bool, CollibraError> {
    match req.param("sortOrder") {
        None | Some("") | Some("ASC") => Ok(false),
        Some("DESC") => Ok(true),
        Some(other) => Err(CollibraError::invalid(format!("sortOrder must be ASC or DESC, got {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_is_case_sensitive_and_the_others_are_not() {
        assert!(MatchMode::Exact.matches("Data Stewards", "Data Stewards"));
        assert!(!MatchMode::Exact.matches("Data Stewards", "data stewards"));
        assert!(MatchMode::Start.matches("Data Stewards", "data"));
        assert!(MatchMode::End.matches("Data Stewards", "STEWARDS"));
        assert!(MatchMode::Anywhere.matches("Data Stewards", "a st"));
        assert!(!MatchMode::Start.matches("Data Stewards", "stew"));
    }

    #[test]
    fn count_limit_caps_or_skips_the_total() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let p = Paging { offset: 1, limit: 2, count_limit: -1 };
        assert_eq!(p.respond(&items, Value::clone), json!({"total": 5, "offset": 1, "limit": 2, "results": [1, 2]}));
        let p = Paging { offset: 0, limit: 2, count_limit: 3 };
        assert_eq!(p.respond(&items, Value::clone)["total"], 3);
        let p = Paging { offset: 0, limit: 2, count_limit: 0 };
        assert!(p.respond(&items, Value::clone).get("total").is_none());
    }
}
