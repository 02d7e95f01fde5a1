//! The convergence property: a seeded random sequence of SCIM writes (users and groups, every
//! operation kind, in Entra's default and `aadOptscim062020` shapes and Okta's) runs twice, each
//! time against a fresh emulated application behind a fresh gateway: once with faults injected on
//! more than 10% of the application's calls (500, 502, 503, 429, connection resets after the write
//! was applied, answers slower than the backend timeout) and once without. The simulated IdP
//! retries every failed operation as Entra and Okta do (a create looks the resource up first; a
//! delete answered 404 after a failed try is done), with a bounded number of tries.
//!
//! Checked: after every SCIM success the application's records equal the IdP's model of what it
//! was told (so each 2xx is reflected, and no record exists that no acknowledged operation
//! created); no operation fails for good; the clean run needs no retry; and both runs end with the
//! same native state (compared as a projection of the emulator's records: names, emails, display
//! names, external ids, active/deleted, roles, group memberships).
//!
//! `SCIMGATE_LONG_TESTS=1` runs 5,000 writes per target instead of a few hundred;
//! `SCIMGATE_CONVERGENCE_SEED=<n>` replays one seed. Every failure message starts with the seed.

#[path = "reliability_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use http::StatusCode;
use scimgate::emulator::FaultRule;
use serde_json::{Value, json};
use support::*;

/// Seeds of the always-on runs (one per target); the long run uses the same unless overridden.
const OPENMETADATA_SEED: u64 = 0x5C1A_2024_0001;
const DATAHUB_SEED: u64 = 0x5C1A_2024_0002;
/// Writes per run: always-on and `SCIMGATE_LONG_TESTS=1`.
const SHORT_WRITES: usize = 300;
const LONG_WRITES: usize = 5_000;
/// Logical users and groups the sequence draws from.
const USERS: usize = 40;
const GROUPS: usize = 10;
/// Tries per operation before the simulated IdP gives up (which fails the test).
const MAX_TRIES: usize = 25;
const ROLES: [&str; 2] = ["DataConsumer", "DataSteward"];

// === seeded randomness ===

/// SplitMix64: small, and the same sequence on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Up to `k` distinct items of `items`, in a random order.
    fn sample<T: Copy>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut pool = items.to_vec();
        let mut out = Vec::new();
        while out.len() < k && !pool.is_empty() {
            out.push(pool.swap_remove(self.below(pool.len())));
        }
        out
    }
}

// === the IdP's model ===

/// Which IdP dialect an operation is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    EntraDefault,
    EntraAad,
    Okta,
}

const SHAPES: [Shape; 3] = [Shape::EntraDefault, Shape::EntraAad, Shape::Okta];

#[derive(Debug, Clone, PartialEq, Eq)]
struct User {
    user_name: String,
    display: String,
    email: String,
    external_id: String,
    given: String,
    active: bool,
    roles: BTreeSet<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    display: String,
    members: BTreeSet<usize>,
}

/// What the IdP believes the application holds: only acknowledged operations change it.
#[derive(Debug, Clone, Default)]
struct Model {
    users: BTreeMap<usize, User>,
    groups: BTreeMap<usize, Group>,
}

/// One IdP operation, with the values it sets.
#[derive(Debug, Clone)]
enum Op {
    CreateUser {
        u: usize,
        user: User,
        shape: Shape,
    },
    UpdateUser {
        u: usize,
        display: String,
        email: String,
        external_id: String,
        given: String,
        shape: Shape,
    },
    SetActive {
        u: usize,
        active: bool,
        shape: Shape,
    },
    SetRoles {
        u: usize,
        roles: BTreeSet<&'static str>,
        shape: Shape,
    },
    DeleteUser {
        u: usize,
    },
    CreateGroup {
        g: usize,
        display: String,
        shape: Shape,
    },
    AddMembers {
        g: usize,
        users: Vec<usize>,
        shape: Shape,
    },
    RemoveMembers {
        g: usize,
        users: Vec<usize>,
        shape: Shape,
    },
    /// Okta's full push.
    ReplaceMembers {
        g: usize,
        users: Vec<usize>,
    },
    /// Okta's combined membership update: removals by filter and an add in one PATCH.
    MoveMembers {
        g: usize,
        remove: Vec<usize>,
        add: Vec<usize>,
    },
    RenameGroup {
        g: usize,
        display: String,
        shape: Shape,
    },
    /// Okta (custom apps): the whole group with PUT.
    PutGroup {
        g: usize,
        display: String,
        users: Vec<usize>,
    },
    DeleteGroup {
        g: usize,
    },
}

impl Op {
    /// A short label for statistics.
    fn kind(&self) -> &'static str {
        match self {
            Op::CreateUser { .. } => "create user",
            Op::UpdateUser { .. } => "update user",
            Op::SetActive { .. } => "enable/disable user",
            Op::SetRoles { .. } => "set roles",
            Op::DeleteUser { .. } => "delete user",
            Op::CreateGroup { .. } => "create group",
            Op::AddMembers { .. } => "add members",
            Op::RemoveMembers { .. } => "remove members",
            Op::ReplaceMembers { .. } => "replace members",
            Op::MoveMembers { .. } => "move members",
            Op::RenameGroup { .. } => "rename group",
            Op::PutGroup { .. } => "put group",
            Op::DeleteGroup { .. } => "delete group",
        }
    }
}

impl Model {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::CreateUser { u, user, .. } => {
                self.users.insert(*u, user.clone());
            }
            Op::UpdateUser { u, display, email, external_id, given, .. } => {
                let user = self.users.get_mut(u).expect("planned on an existing user");
                user.display = display.clone();
                user.email = email.clone();
                user.external_id = external_id.clone();
                user.given = given.clone();
            }
            Op::SetActive { u, active, .. } => self.users.get_mut(u).expect("existing user").active = *active,
            Op::SetRoles { u, roles, .. } => self.users.get_mut(u).expect("existing user").roles = roles.clone(),
            Op::DeleteUser { u } => {
                self.users.remove(u);
                for g in self.groups.values_mut() {
                    g.members.remove(u);
                }
            }
            Op::CreateGroup { g, display, .. } => {
                self.groups.insert(*g, Group { display: display.clone(), members: BTreeSet::new() });
            }
            Op::AddMembers { g, users, .. } => self.group(*g).members.extend(users.iter().copied()),
            Op::RemoveMembers { g, users, .. } => {
                let group = self.group(*g);
                users.iter().for_each(|u| {
                    group.members.remove(u);
                });
            }
            Op::ReplaceMembers { g, users } => self.group(*g).members = users.iter().copied().collect(),
            Op::MoveMembers { g, remove, add } => {
                let group = self.group(*g);
                remove.iter().for_each(|u| {
                    group.members.remove(u);
                });
                group.members.extend(add.iter().copied());
            }
            Op::RenameGroup { g, display, .. } => self.group(*g).display = display.clone(),
            Op::PutGroup { g, display, users } => {
                let group = self.group(*g);
                group.display = display.clone();
                group.members = users.iter().copied().collect();
            }
            Op::DeleteGroup { g } => {
                self.groups.remove(g);
            }
        }
    }

    fn group(&mut self, g: usize) -> &mut Group {
        self.groups.get_mut(&g).expect("planned on an existing group")
    }

    /// What the application should show.
    fn expected(&self) -> Projection {
        let users = self
            .users
            .values()
            .map(|u| {
                let view = UserView {
                    display: u.display.clone(),
                    email: u.email.clone(),
                    external_id: u.external_id.clone(),
                    active: u.active,
                    roles: u.roles.iter().map(|r| (*r).to_owned()).collect(),
                };
                (u.user_name.clone(), view)
            })
            .collect();
        let groups = self
            .groups
            .values()
            .map(|g| (g.display.clone(), g.members.iter().map(|u| self.users[u].user_name.clone()).collect()))
            .collect();
        Projection { users, groups }
    }
}

/// The comparable part of an application's state, keyed by SCIM userName and group displayName.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Projection {
    users: BTreeMap<String, UserView>,
    groups: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct UserView {
    display: String,
    email: String,
    external_id: String,
    active: bool,
    roles: BTreeSet<String>,
}

impl Projection {
    /// The differences, one line each, for failure messages.
    fn diff(&self, other: &Projection) -> String {
        let mut lines = Vec::new();
        let keys: BTreeSet<&String> = self.users.keys().chain(other.users.keys()).collect();
        for k in keys {
            let (a, b) = (self.users.get(k), other.users.get(k));
            if a != b {
                lines.push(format!("user {k}: {a:?} vs {b:?}"));
            }
        }
        let keys: BTreeSet<&String> = self.groups.keys().chain(other.groups.keys()).collect();
        for k in keys {
            let (a, b) = (self.groups.get(k), other.groups.get(k));
            if a != b {
                lines.push(format!("group {k}: {a:?} vs {b:?}"));
            }
        }
        lines.join("\n")
    }
}

/// Reads the emulator's records into a [`Projection`].
fn project(native: &Native) -> Projection {
    match native {
        Native::OpenMetadata(om) => {
            let users = om.users();
            let by_name: HashMap<String, String> = users
                .iter()
                .map(|u| (text(&u["name"]), u["scimUserName"].as_str().map_or_else(|| text(&u["name"]), str::to_owned)))
                .collect();
            let users = users
                .iter()
                .map(|u| {
                    let roles = u["roles"].as_array().into_iter().flatten().map(|r| text(&r["name"])).collect();
                    let view = UserView {
                        display: text(&u["displayName"]),
                        email: text(&u["email"]),
                        external_id: text(&u["externalId"]),
                        active: u["deleted"] != true,
                        roles,
                    };
                    (by_name[&text(&u["name"])].clone(), view)
                })
                .collect();
            let groups = om
                .teams()
                .iter()
                .filter(|t| t["teamType"] == "Group")
                .map(|t| {
                    let members = t["users"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| by_name.get(&text(&m["name"])).cloned().unwrap_or_else(|| format!("?{m}")))
                        .collect();
                    (text(&t["displayName"]), members)
                })
                .collect();
            Projection { users, groups }
        }
        Native::DataHub(dh) => {
            let users = dh
                .users()
                .iter()
                .map(|u| {
                    let info = &u["corpUserInfo"]["value"];
                    let user_name = info["customProperties"]["scimUserName"]
                        .as_str()
                        .map_or_else(|| text(&u["corpUserKey"]["value"]["username"]), str::to_owned);
                    let roles = u["roleMembership"]["value"]["roles"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| text(r).trim_start_matches("urn:li:dataHubRole:").to_owned())
                        .collect();
                    let external_id = text(&u["origin"]["value"]["externalType"]);
                    let view = UserView {
                        display: text(&info["displayName"]),
                        email: text(&info["email"]),
                        external_id: external_id.trim_start_matches("SCIM_client_").to_owned(),
                        active: u["corpUserStatus"]["value"]["status"] != "SUSPENDED",
                        roles,
                    };
                    (user_name, view)
                })
                .collect();
            let groups = dh
                .groups()
                .iter()
                .map(|g| {
                    let members = dh
                        .members_of(&text(&g["urn"]))
                        .iter()
                        .map(|m| m.trim_start_matches("urn:li:corpuser:").to_owned())
                        .collect();
                    (text(&g["corpGroupInfo"]["value"]["displayName"]), members)
                })
                .collect();
            Projection { users, groups }
        }
        Native::Collibra(_) => unreachable!("no Collibra projection"),
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

// === planning ===

/// How a target names things, so that the plan only asks what the target can hold.
#[derive(Debug, Clone, Copy)]
struct Flavour {
    /// Role values the mapping knows.
    roles: &'static [&'static str],
    /// Most roles a user can hold there.
    max_roles: usize,
}

const OPENMETADATA: Flavour = Flavour { roles: &ROLES, max_roles: 2 };
/// DataHub takes one role, the primary one.
const DATAHUB: Flavour = Flavour { roles: &["Reader", "Editor"], max_roles: 1 };

/// A random sequence of `n` operations, each valid in the state the previous ones leave.
fn plan(seed: u64, n: usize, flavour: Flavour) -> Vec<Op> {
    let mut rng = Rng(seed);
    let mut model = Model::default();
    let mut incarnation = vec![0usize; GROUPS];
    let mut renames = 0usize;
    let mut ops = Vec::with_capacity(n);
    while ops.len() < n {
        let op = next_op(&mut rng, &model, flavour, &mut incarnation, &mut renames);
        if let Some(op) = op {
            model.apply(&op);
            ops.push(op);
        }
    }
    ops
}

fn new_user(rng: &mut Rng, u: usize, flavour: Flavour) -> User {
    let k = match rng.below(4) {
        0 | 1 => 0,
        2 => 1,
        _ => flavour.max_roles,
    };
    let roles = rng.sample(flavour.roles, k.min(flavour.max_roles)).into_iter().collect();
    let tag = rng.below(1000);
    User {
        user_name: format!("user{u:02}@example.com"),
        display: format!("User {u} v{tag}"),
        email: format!("user{u:02}.{tag}@example.com"),
        external_id: format!("ext-{u}-{tag}"),
        given: format!("Given{tag}"),
        active: true,
        roles,
    }
}

fn next_op(
    rng: &mut Rng,
    model: &Model,
    flavour: Flavour,
    incarnation: &mut [usize],
    renames: &mut usize,
) -> Option<Op> {
    let shape = rng.pick(&SHAPES);
    let absent_users: Vec<usize> = (0..USERS).filter(|u| !model.users.contains_key(u)).collect();
    let active: Vec<usize> = model.users.iter().filter(|(_, u)| u.active).map(|(k, _)| *k).collect();
    let inactive: Vec<usize> = model.users.iter().filter(|(_, u)| !u.active).map(|(k, _)| *k).collect();
    let existing_groups: Vec<usize> = model.groups.keys().copied().collect();
    let absent_groups: Vec<usize> = (0..GROUPS).filter(|g| !model.groups.contains_key(g)).collect();
    let roll = rng.below(100);
    let op = match roll {
        0..=14 if !absent_users.is_empty() => {
            let u = rng.pick(&absent_users);
            Op::CreateUser { u, user: new_user(rng, u, flavour), shape }
        }
        15..=26 if !active.is_empty() => {
            let u = rng.pick(&active);
            let tag = rng.below(1000);
            Op::UpdateUser {
                u,
                display: format!("User {u} v{tag}"),
                email: format!("user{u:02}.{tag}@example.com"),
                external_id: format!("ext-{u}-{tag}"),
                given: format!("Given{tag}"),
                shape,
            }
        }
        27..=32 if !active.is_empty() => Op::SetActive { u: rng.pick(&active), active: false, shape },
        33..=37 if !inactive.is_empty() => Op::SetActive { u: rng.pick(&inactive), active: true, shape },
        38..=42 if !active.is_empty() => {
            let u = rng.pick(&active);
            let k = rng.below(flavour.max_roles + 1);
            Op::SetRoles { u, roles: rng.sample(flavour.roles, k).into_iter().collect(), shape }
        }
        // Okta never deletes users; Entra does after a soft delete, or directly.
        43..=47 if !model.users.is_empty() && shape != Shape::Okta => {
            let all: Vec<usize> = model.users.keys().copied().collect();
            Op::DeleteUser { u: rng.pick(&all) }
        }
        48..=53 if !absent_groups.is_empty() => {
            let g = rng.pick(&absent_groups);
            incarnation[g] += 1;
            Op::CreateGroup { g, display: format!("Team {g} r{}", incarnation[g]), shape }
        }
        54..=68 if !existing_groups.is_empty() && !active.is_empty() => {
            let g = rng.pick(&existing_groups);
            let k = 1 + rng.below(4);
            Op::AddMembers { g, users: rng.sample(&active, k), shape }
        }
        69..=78 if !existing_groups.is_empty() => {
            let g = rng.pick(&existing_groups);
            let members: Vec<usize> = model.groups[&g].members.iter().copied().collect();
            if members.is_empty() {
                return None;
            }
            let k = 1 + rng.below(3);
            Op::RemoveMembers { g, users: rng.sample(&members, k), shape }
        }
        79..=82 if !existing_groups.is_empty() => {
            let g = rng.pick(&existing_groups);
            let k = rng.below(5);
            Op::ReplaceMembers { g, users: rng.sample(&active, k) }
        }
        83..=86 if !existing_groups.is_empty() && !active.is_empty() => {
            let g = rng.pick(&existing_groups);
            let members: Vec<usize> = model.groups[&g].members.iter().copied().collect();
            let remove = rng.sample(&members, 2);
            let candidates: Vec<usize> = active.iter().copied().filter(|u| !remove.contains(u)).collect();
            let k = 1 + rng.below(2);
            let add = rng.sample(&candidates, k);
            Op::MoveMembers { g, remove, add }
        }
        87..=90 if !existing_groups.is_empty() => {
            *renames += 1;
            let g = rng.pick(&existing_groups);
            Op::RenameGroup { g, display: format!("Team {g} renamed {renames}"), shape }
        }
        91..=93 if !existing_groups.is_empty() => {
            *renames += 1;
            let g = rng.pick(&existing_groups);
            let k = rng.below(4);
            Op::PutGroup { g, display: format!("Team {g} put {renames}"), users: rng.sample(&active, k) }
        }
        94..=99 if !existing_groups.is_empty() => Op::DeleteGroup { g: rng.pick(&existing_groups) },
        _ => return None,
    };
    Some(op)
}

// === the simulated IdP ===

/// Why one try of an operation did not succeed.
struct Failed(Answer);

/// Ids the application gave to the logical users and groups of this run.
#[derive(Default)]
struct Ids {
    users: HashMap<usize, String>,
    groups: HashMap<usize, String>,
}

struct Idp<'a> {
    scim: &'a Scim,
    ids: Ids,
    model: Model,
}

fn user_body(user: &User, shape: Shape) -> Value {
    let emails = json!([{"primary": true, "type": "work", "value": user.email}]);
    let name =
        json!({"givenName": user.given, "familyName": "Example", "formatted": format!("{} Example", user.given)});
    let mut body = match shape {
        Shape::Okta => json!({
            "schemas": [USER], "userName": user.user_name, "name": name, "emails": emails,
            "displayName": user.display, "locale": "en-US", "externalId": user.external_id,
            "groups": [], "password": "Pa55-w0rd!", "active": user.active,
        }),
        Shape::EntraDefault | Shape::EntraAad => json!({
            "schemas": [USER, ENTERPRISE], "externalId": user.external_id, "userName": user.user_name,
            "active": user.active, "emails": emails, "meta": {"resourceType": "User"}, "name": name,
            "displayName": user.display, "roles": [],
        }),
    };
    body["roles"] = match (shape, user.roles.len()) {
        (Shape::Okta, n) => Value::Array(user.roles.iter().map(|r| json!({"value": r, "primary": n == 1})).collect()),
        (_, 0) => json!([]),
        // SingleAppRoleAssignment: one primary role.
        (_, 1) => json!([{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": user.roles.first()}]),
        // AppRoleAssignmentsComplex: every role, none primary.
        _ => Value::Array(user.roles.iter().map(|r| json!({"primary": false, "value": r, "displayName": r})).collect()),
    };
    body
}

fn member_values(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

fn patch_success(a: &Answer) -> bool {
    matches!(a.status, 200 | 204)
}

impl<'a> Idp<'a> {
    fn uid(&self, u: usize) -> String {
        self.ids.users.get(&u).cloned().unwrap_or_else(|| panic!("no id for user {u}"))
    }

    fn gid(&self, g: usize) -> String {
        self.ids.groups.get(&g).cloned().unwrap_or_else(|| panic!("no id for group {g}"))
    }

    fn uids(&self, users: &[usize]) -> Vec<String> {
        users.iter().map(|u| self.uid(*u)).collect()
    }

    /// One try of `op`. `retrying` says an earlier try failed (so a 404 on a delete means done).
    async fn attempt(&mut self, op: &Op, retrying: bool) -> Result<(), Failed> {
        let scim = self.scim;
        let check = |a: Answer, ok: fn(&Answer) -> bool| if ok(&a) { Ok(a) } else { Err(Failed(a)) };
        match op {
            Op::CreateUser { u, user, shape } => {
                // Entra and Okta both look the user up before creating it.
                let found = scim.find_user(&user.user_name).await.map_err(Failed)?;
                match found.as_slice() {
                    [] => {
                        let a = check(scim.post("/Users", &user_body(user, *shape)).await, |a| a.status == 201)?;
                        self.ids.users.insert(*u, a.id().to_owned());
                    }
                    [id] => {
                        // A create that failed after the application applied it: bring it up to date.
                        self.ids.users.insert(*u, id.clone());
                        let primary = user.roles.len() == 1;
                        let roles: Vec<Value> =
                            user.roles.iter().map(|r| json!({"value": r, "primary": primary})).collect();
                        let ops = json!([
                            {"op": "replace", "value": {
                                "displayName": user.display, "externalId": user.external_id,
                                "name.givenName": user.given, "active": user.active}},
                            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": user.email},
                            {"op": "replace", "path": "roles", "value": roles},
                        ]);
                        check(scim.patch(&format!("/Users/{id}"), ops).await, patch_success)?;
                    }
                    many => panic!("{} is in the application {} times: {many:?}", user.user_name, many.len()),
                }
            }
            Op::UpdateUser { u, display, email, external_id, given, shape } => {
                let path = format!("/Users/{}", self.uid(*u));
                let a = match shape {
                    Shape::EntraDefault => {
                        let ops = json!([
                            {"op": "Replace", "path": "displayName", "value": display},
                            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": email},
                            {"op": "Replace", "path": "name.givenName", "value": given},
                            {"op": "Replace", "path": "externalId", "value": external_id},
                        ]);
                        scim.patch(&path, ops).await
                    }
                    Shape::EntraAad => {
                        let ops = json!([
                            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": email},
                            {"op": "replace", "value": {"displayName": display, "name.givenName": given, "externalId": external_id}},
                        ]);
                        scim.patch(&path, ops).await
                    }
                    Shape::Okta => {
                        let mut current = check(scim.get(&path).await, |a| a.status == 200)?.body;
                        current["displayName"] = json!(display);
                        current["externalId"] = json!(external_id);
                        current["emails"] = json!([{"primary": true, "type": "work", "value": email}]);
                        current["name"] = json!({"givenName": given, "familyName": "Example"});
                        current["groups"] = json!([]);
                        scim.put(&path, &current).await
                    }
                };
                check(a, |a| a.status == 200)?;
            }
            Op::SetActive { u, active, shape } => {
                let path = format!("/Users/{}", self.uid(*u));
                let ops = match shape {
                    Shape::EntraDefault => {
                        json!([{"op": "Replace", "path": "active", "value": if *active { "True" } else { "False" }}])
                    }
                    Shape::EntraAad => json!([{"op": "replace", "path": "active", "value": active}]),
                    Shape::Okta => json!([{"op": "replace", "value": {"active": active}}]),
                };
                check(scim.patch(&path, ops).await, patch_success)?;
            }
            Op::SetRoles { u, roles, shape } => {
                let path = format!("/Users/{}", self.uid(*u));
                // One role is the primary one (DataHub reads only that); several are all equal.
                let primary = roles.len() == 1;
                let values: Vec<Value> =
                    roles.iter().map(|r| json!({"value": r, "display": r, "primary": primary})).collect();
                match shape {
                    Shape::Okta => {
                        let mut current = check(scim.get(&path).await, |a| a.status == 200)?.body;
                        current["roles"] = Value::Array(values);
                        check(scim.put(&path, &current).await, |a| a.status == 200)?;
                    }
                    _ if roles.is_empty() => {
                        check(scim.patch(&path, json!([{"op": "Remove", "path": "roles"}])).await, patch_success)?;
                    }
                    _ => {
                        let ops = json!([{"op": "replace", "path": "roles", "value": values}]);
                        check(scim.patch(&path, ops).await, patch_success)?;
                    }
                }
            }
            Op::DeleteUser { u } => {
                let a = scim.delete(&format!("/Users/{}", self.uid(*u))).await;
                if !(a.status == 204 || (retrying && a.status == 404)) {
                    return Err(Failed(a));
                }
            }
            Op::CreateGroup { g, display, shape } => {
                let found = scim.find_group(display).await.map_err(Failed)?;
                match found.as_slice() {
                    [] => {
                        let body = match shape {
                            Shape::Okta => json!({"schemas": [GROUP], "displayName": display, "members": []}),
                            _ => json!({
                                "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                                "externalId": format!("ext-group-{g}"), "displayName": display,
                                "meta": {"resourceType": "Group"},
                            }),
                        };
                        let a = check(scim.post("/Groups", &body).await, |a| a.status == 201)?;
                        self.ids.groups.insert(*g, a.id().to_owned());
                    }
                    [id] => {
                        self.ids.groups.insert(*g, id.clone());
                    }
                    many => panic!("group {display} is in the application {} times: {many:?}", many.len()),
                }
            }
            Op::AddMembers { g, users, shape } => {
                let ids = self.uids(users);
                let value: Vec<Value> = match shape {
                    Shape::EntraDefault => ids.iter().map(|id| json!({"$ref": null, "value": id})).collect(),
                    Shape::EntraAad => ids.iter().map(|id| json!({"value": id})).collect(),
                    Shape::Okta => users
                        .iter()
                        .zip(&ids)
                        .map(|(u, id)| json!({"value": id, "display": self.model.users[u].user_name}))
                        .collect(),
                };
                let op = if *shape == Shape::EntraDefault { "Add" } else { "add" };
                let ops = json!([{"op": op, "path": "members", "value": value}]);
                check(scim.patch(&format!("/Groups/{}", self.gid(*g)), ops).await, patch_success)?;
            }
            Op::RemoveMembers { g, users, shape } => {
                let ids = self.uids(users);
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let ops = match shape {
                    Shape::EntraDefault => json!([{"op": "Remove", "path": "members", "value": member_values(&refs)}]),
                    _ => Value::Array(
                        ids.iter()
                            .map(|id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}))
                            .collect(),
                    ),
                };
                check(scim.patch(&format!("/Groups/{}", self.gid(*g)), ops).await, patch_success)?;
            }
            Op::ReplaceMembers { g, users } => {
                let ids = self.uids(users);
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let ops = json!([{"op": "replace", "path": "members", "value": member_values(&refs)}]);
                check(scim.patch(&format!("/Groups/{}", self.gid(*g)), ops).await, patch_success)?;
            }
            Op::MoveMembers { g, remove, add } => {
                let mut ops: Vec<Value> = self
                    .uids(remove)
                    .iter()
                    .map(|id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}))
                    .collect();
                let add_ids = self.uids(add);
                let refs: Vec<&str> = add_ids.iter().map(String::as_str).collect();
                ops.push(json!({"op": "add", "path": "members", "value": member_values(&refs)}));
                check(scim.patch(&format!("/Groups/{}", self.gid(*g)), Value::Array(ops)).await, patch_success)?;
            }
            Op::RenameGroup { g, display, shape } => {
                let gid = self.gid(*g);
                let ops = match shape {
                    Shape::EntraDefault => json!([{"op": "Replace", "path": "displayName", "value": display}]),
                    Shape::EntraAad => json!([{"op": "replace", "path": "displayName", "value": display}]),
                    Shape::Okta => json!([{"op": "replace", "value": {"id": gid, "displayName": display}}]),
                };
                check(scim.patch(&format!("/Groups/{gid}"), ops).await, patch_success)?;
            }
            Op::PutGroup { g, display, users } => {
                let gid = self.gid(*g);
                let ids = self.uids(users);
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                let body =
                    json!({"schemas": [GROUP], "id": gid, "displayName": display, "members": member_values(&refs)});
                check(scim.put(&format!("/Groups/{gid}"), &body).await, |a| a.status == 200)?;
            }
            Op::DeleteGroup { g } => {
                let a = scim.delete(&format!("/Groups/{}", self.gid(*g))).await;
                if !(a.status == 204 || (retrying && a.status == 404)) {
                    return Err(Failed(a));
                }
            }
        }
        Ok(())
    }
}

// === running ===

/// What one run did.
#[derive(Debug, Default)]
struct Stats {
    writes: usize,
    failed_tries: usize,
    by_status: BTreeMap<u16, usize>,
    by_kind: BTreeMap<&'static str, usize>,
    native_calls: u64,
    faults_fired: u64,
    elapsed: Duration,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} writes in {:.1?}; {} failed tries (by SCIM status {:?}); {} native calls, {} faulted ({:.1}%)",
            self.writes,
            self.elapsed,
            self.failed_tries,
            self.by_status,
            self.native_calls,
            self.faults_fired,
            100.0 * self.faults_fired as f64 / self.native_calls.max(1) as f64,
        )
    }
}

/// Fault rules of the faulty run, with their probabilities per native call.
fn install_faults(native: &Native) -> Vec<scimgate::emulator::FaultId> {
    let f = native.faults();
    vec![
        f.add(FaultRule::status(StatusCode::INTERNAL_SERVER_ERROR).probability(0.04)),
        f.add(FaultRule::status(StatusCode::BAD_GATEWAY).probability(0.02)),
        f.add(FaultRule::status(StatusCode::SERVICE_UNAVAILABLE).probability(0.03)),
        f.add(FaultRule::rate_limited(Duration::ZERO).probability(0.02)),
        // Applied, then the answer is cut: the gateway cannot know whether the write happened.
        f.add(FaultRule::reset().probability(0.03)),
        // Longer than the backend timeout below: abandoned by the gateway.
        f.add(FaultRule::delay(Duration::from_millis(700)).probability(0.005)),
    ]
}

/// The backend settings of both runs: short timeout so slow answers are faults, quick backoff.
fn backend_settings() -> Value {
    let mut s = fast_backend();
    s["timeouts"] = json!({"connect_ms": 1000, "request_ms": 300});
    s
}

/// How long the IdP waits before try number `tries + 1`: its own backoff, or the `Retry-After`
/// it was given scaled down (the simulated IdP's clock runs fast), whichever is longer.
fn idp_backoff(tries: usize, answer: &Answer) -> Duration {
    let own = Duration::from_millis(5u64 << tries.min(7)).min(Duration::from_millis(400));
    let told = Duration::from_millis(50 * answer.retry_after_secs().unwrap_or(0).min(20));
    own.max(told)
}

/// Runs `ops` against a fresh target; with `faulty`, faults are injected on the application.
async fn run(kind: Kind, seed: u64, ops: &[Op], faulty: bool) -> (Projection, Stats) {
    let rig = Rig::start(kind, seed, backend_settings()).await;
    let rules = if faulty { install_faults(&rig.native) } else { Vec::new() };
    let mut idp = Idp { scim: &rig.scim, ids: Ids::default(), model: Model::default() };
    let mut stats = Stats::default();
    let started = Instant::now();
    let label = if faulty { "faulty" } else { "clean" };
    for (i, op) in ops.iter().enumerate() {
        let mut tries = 0;
        loop {
            match idp.attempt(op, tries > 0).await {
                Ok(()) => break,
                Err(Failed(answer)) => {
                    tries += 1;
                    stats.failed_tries += 1;
                    *stats.by_status.entry(answer.status).or_default() += 1;
                    assert!(
                        faulty,
                        "seed {seed}: {label} run, write #{i} ({op:?}) failed without faults: {} {:?}",
                        answer.status, answer.body
                    );
                    assert!(
                        answer.status >= 429 && answer.status != 501,
                        "seed {seed}: write #{i} ({op:?}) got {} under faults, which an IdP does not retry: {:?}",
                        answer.status,
                        answer.body
                    );
                    assert!(
                        tries < MAX_TRIES,
                        "seed {seed}: write #{i} ({op:?}) still fails after {tries} tries: {} {:?}",
                        answer.status,
                        answer.body
                    );
                    tokio::time::sleep(idp_backoff(tries, &answer)).await;
                }
            }
        }
        idp.model.apply(op);
        *stats.by_kind.entry(op.kind()).or_default() += 1;
        stats.writes += 1;
        // Every acknowledged write is in the application, and nothing else is.
        let native = project(&rig.native);
        let expected = idp.model.expected();
        assert!(
            native == expected,
            "seed {seed}: {label} run, after write #{i} ({op:?}) the application differs from what was acknowledged \
             (application vs model):\n{}",
            native.diff(&expected)
        );
    }
    stats.elapsed = started.elapsed();
    stats.native_calls = rig.native.requests().received();
    stats.faults_fired = rules.iter().map(|r| rig.native.faults().fired(*r)).sum();
    let state = project(&rig.native);
    rig.shutdown().await;
    (state, stats)
}

fn long_tests() -> bool {
    std::env::var("SCIMGATE_LONG_TESTS").is_ok_and(|v| v == "1")
}

fn seed_or(default: u64) -> u64 {
    std::env::var("SCIMGATE_CONVERGENCE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Plans, runs clean, runs with faults, and compares.
async fn converges(kind: Kind, flavour: Flavour, default_seed: u64) {
    let seed = seed_or(default_seed);
    let writes = if long_tests() { LONG_WRITES } else { SHORT_WRITES };
    println!("convergence on {kind:?}: seed {seed} ({writes} writes; replay with SCIMGATE_CONVERGENCE_SEED={seed})");
    let ops = plan(seed, writes, flavour);
    let (clean, clean_stats) = run(kind, seed, &ops, false).await;
    println!("clean:  {clean_stats}");
    let (faulty, faulty_stats) = run(kind, seed, &ops, true).await;
    println!("faulty: {faulty_stats}");
    println!("writes by kind: {:?}", faulty_stats.by_kind);
    assert_eq!(clean_stats.failed_tries, 0, "seed {seed}");
    let rate = faulty_stats.faults_fired as f64 / faulty_stats.native_calls.max(1) as f64;
    assert!(rate >= 0.10, "seed {seed}: only {:.1}% of native calls were faulted", rate * 100.0);
    assert!(faulty_stats.failed_tries > 0, "seed {seed}: the faults never reached the IdP");
    for kind in ["create user", "update user", "delete user", "create group", "add members", "remove members"] {
        assert!(faulty_stats.by_kind.get(kind).is_some_and(|n| *n > 0), "seed {seed}: no {kind} in the sequence");
    }
    assert!(clean == faulty, "seed {seed}: final states differ (clean vs faulty):\n{}", clean.diff(&faulty));
    assert!(!clean.users.is_empty() && !clean.groups.is_empty(), "seed {seed}: an empty final state proves little");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetadata_converges_under_faults() {
    converges(Kind::OpenMetadata, OPENMETADATA, OPENMETADATA_SEED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datahub_converges_under_faults() {
    converges(Kind::DataHub, DATAHUB, DATAHUB_SEED).await;
}

#[test]
fn plans_are_reproducible_and_cover_every_shape() {
    let a = plan(7, 500, OPENMETADATA);
    let b = plan(7, 500, OPENMETADATA);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_ne!(format!("{a:?}"), format!("{:?}", plan(8, 500, OPENMETADATA)));
    let shapes: BTreeSet<String> = a
        .iter()
        .filter_map(|op| match op {
            Op::UpdateUser { shape, .. } | Op::SetActive { shape, .. } | Op::AddMembers { shape, .. } => {
                Some(format!("{shape:?}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(shapes.len(), 3, "{shapes:?}");
    let kinds: BTreeSet<&str> = a.iter().map(Op::kind).collect();
    assert_eq!(kinds.len(), 13, "every operation kind appears: {kinds:?}");
}
