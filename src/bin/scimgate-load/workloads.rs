//! The five workloads, each as a SCIM request and as the equivalent native OpenMetadata call.
//!
//! The native side makes the call an application's own client would make for the same change, so
//! the ratio between the two is what the gateway costs on top of the application.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, header};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::drive::MakeRequest;

/// One workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GetById,
    Filter,
    Create,
    Replace,
    AddMember,
}

impl Kind {
    /// Every workload, in the order they run: creates last, because they grow the store the
    /// others read.
    pub const ALL: [Kind; 5] = [Kind::GetById, Kind::Filter, Kind::Replace, Kind::AddMember, Kind::Create];

    pub fn name(self) -> &'static str {
        match self {
            Kind::GetById => "GET user by id",
            Kind::Filter => "userName eq filter",
            Kind::Create => "POST create user",
            Kind::Replace => "PATCH replace 2 attributes",
            Kind::AddMember => "PATCH add 1 member",
        }
    }

    /// The name used on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Kind::GetById => "get",
            Kind::Filter => "filter",
            Kind::Create => "create",
            Kind::Replace => "replace",
            Kind::AddMember => "member",
        }
    }

    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// Where requests go: an HTTP origin, a base path, and the `Authorization` value.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    host: HeaderValue,
    /// Path prefix without a trailing `/`, e.g. `/om/scim/v2` or `/api/v1`.
    base_path: String,
    authorization: HeaderValue,
}

impl Endpoint {
    /// `url` is `http://host:port/base/path`; only plain HTTP is supported.
    pub fn from_url(url: &str, authorization: &str) -> Result<Endpoint, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let addr = authority
            .to_socket_addrs()
            .map_err(|e| format!("{url}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: the host has no address"))?;
        let base_path = format!("/{}", path.trim_end_matches('/'));
        Ok(Endpoint {
            addr,
            host: HeaderValue::from_str(authority).map_err(|e| format!("{url}: {e}"))?,
            base_path: if base_path == "/" { String::new() } else { base_path },
            authorization: HeaderValue::from_str(authorization).map_err(|e| format!("authorization: {e}"))?,
        })
    }

    /// The same endpoint reached through `addr` (a proxy in front of it): same base path, `Host`
    /// and credential.
    pub fn behind(&self, addr: SocketAddr) -> Endpoint {
        Endpoint { addr, ..self.clone() }
    }

    /// A request to `base_path + path`, with a JSON body when given.
    pub fn request(&self, method: Method, path: &str, body: Option<(&'static str, Vec<u8>)>) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body.as_ref().map(|(_, b)| Bytes::from(b.clone())).unwrap_or_default()));
        *req.method_mut() = method;
        let uri = format!("{}{path}", self.base_path);
        *req.uri_mut() = uri.parse().unwrap_or_else(|_| http::Uri::from_static("/"));
        let h = req.headers_mut();
        h.insert(header::HOST, self.host.clone());
        h.insert(header::AUTHORIZATION, self.authorization.clone());
        if let Some((content_type, _)) = body {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        req
    }
}

/// A stored user the workloads read and change.
#[derive(Debug, Clone)]
pub struct SeedUser {
    pub id: String,
    pub user_name: String,
}

/// The data one run of a workload uses.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub users: Arc<Vec<SeedUser>>,
    /// The group members are added to (fresh for each run, so that runs compare equal sizes).
    pub group: String,
    /// Makes created names unique across runs and processes.
    pub tag: String,
}

impl Fixture {
    fn user(&self, i: u64) -> &SeedUser {
        &self.users[(i % self.users.len() as u64) as usize]
    }
}

/// The API a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Scim,
    /// OpenMetadata's REST API, below `/api/v1`.
    OpenMetadata,
}

const SCIM_JSON: &str = "application/scim+json";
const JSON: &str = "application/json";
const JSON_PATCH: &str = "application/json-patch+json";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The request maker of `kind` in `api` at `endpoint`, reading `fixture`. A SCIM workload is one
/// request; its OpenMetadata equivalent is the sequence of native calls the shipped mapping makes
/// for it (`--show-calls` prints them), so that the ratio is the gateway's own cost.
pub fn requests(kind: Kind, api: Api, endpoint: Arc<Endpoint>, fixture: Fixture) -> Result<MakeRequest, String> {
    if fixture.users.is_empty() {
        return Err("no users to work on".into());
    }
    let (e, f) = (endpoint, fixture);
    let make: MakeRequest = match api {
        Api::Scim => Arc::new(move |i, step, _| (step == 0).then(|| scim_request(kind, &e, &f, i))),
        Api::OpenMetadata => Arc::new(move |i, step, previous| native_step(kind, &e, &f, i, step, previous)),
    };
    Ok(make)
}

fn json_body(content_type: &'static str, v: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some((content_type, v.to_string().into_bytes()))
}

fn scim_request(kind: Kind, e: &Endpoint, f: &Fixture, i: u64) -> Request<Full<Bytes>> {
    match kind {
        Kind::GetById => e.request(Method::GET, &format!("/Users/{}", f.user(i).id), None),
        Kind::Filter => {
            let name = encode(&f.user(i).user_name);
            e.request(Method::GET, &format!("/Users?filter=userName%20eq%20%22{name}%22"), None)
        }
        Kind::Create => {
            let user_name = format!("load-{}-{i}@example.com", f.tag);
            e.request(Method::POST, "/Users", Some((SCIM_JSON, scim_user(&user_name, i))))
        }
        Kind::Replace => {
            let body = json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "path": "displayName", "value": format!("Name {i}")},
                {"op": "replace", "path": "externalId", "value": format!("ext-{i}")},
            ]});
            e.request(Method::PATCH, &format!("/Users/{}", f.user(i).id), json_body(SCIM_JSON, &body))
        }
        Kind::AddMember => {
            let body = json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": f.user(i).id}]},
            ]});
            e.request(Method::PATCH, &format!("/Groups/{}", f.group), json_body(SCIM_JSON, &body))
        }
    }
}

/// Step `step` of the native calls for `kind`.
fn native_step(
    kind: Kind,
    e: &Endpoint,
    f: &Fixture,
    i: u64,
    step: usize,
    previous: &[u8],
) -> Option<Request<Full<Bytes>>> {
    let read_user = |id: &str| e.request(Method::GET, &format!("/users/{id}?fields=teams%2Croles&include=all"), None);
    let read_team = || e.request(Method::GET, &format!("/teams/{}?fields=parents&include=all", f.group), None);
    match (kind, step) {
        (Kind::GetById, 0) => Some(read_user(&f.user(i).id)),
        (Kind::Filter, 0) => {
            let name = encode(&native_name(&f.user(i).user_name));
            Some(e.request(Method::GET, &format!("/users/name/{name}?fields=teams%2Croles&include=all"), None))
        }
        (Kind::Create, 0) => {
            let user_name = format!("load-{}-{i}@example.com", f.tag);
            let body = json!({
                "name": native_name(&user_name),
                "email": user_name,
                "scimUserName": user_name,
                "displayName": format!("Load User {i}"),
                "externalId": format!("ext-{user_name}"),
                "isAdmin": false,
            });
            Some(e.request(Method::POST, "/users", json_body(JSON, &body)))
        }
        (Kind::Create, 1) => Some(read_user(&id_of(previous)?)),
        (Kind::Replace, 0) => {
            let body = json!([
                {"op": "add", "path": "/displayName", "value": format!("Name {i}")},
                {"op": "add", "path": "/externalId", "value": format!("ext-{i}")},
            ]);
            Some(e.request(Method::PATCH, &format!("/users/{}", f.user(i).id), json_body(JSON_PATCH, &body)))
        }
        // Read the team (without its users), append the member with a JSON Patch, read it again.
        (Kind::AddMember, 0 | 2) => Some(read_team()),
        (Kind::AddMember, 1) => {
            let body = json!([{"op": "add", "path": "/users/-", "value": {"id": f.user(i).id, "type": "user"}}]);
            Some(e.request(Method::PATCH, &format!("/teams/{}", f.group), json_body(JSON_PATCH, &body)))
        }
        _ => None,
    }
}

/// An Entra-style user on create.
pub fn scim_user(user_name: &str, i: u64) -> Vec<u8> {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "active": true,
        "displayName": format!("Load User {i}"),
        "name": {"givenName": "Load", "familyName": format!("User {i}")},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
    })
    .to_string()
    .into_bytes()
}

/// A SCIM group with no members.
pub fn scim_group(display_name: &str) -> Vec<u8> {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": display_name})
        .to_string()
        .into_bytes()
}

/// OpenMetadata's user name for a `userName`, as the shipped mapping derives it (`lower`,
/// `slug(64)`: characters other than letters, digits, `_`, `-` and `.` become `_`).
pub fn native_name(user_name: &str) -> String {
    user_name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .take(64)
        .collect()
}

/// Percent-encodes what a path segment or query value cannot carry as is.
fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The `id` of a JSON answer.
pub fn id_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(body).ok()?.get("id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_split_origin_and_base_path() {
        let e = Endpoint::from_url("http://127.0.0.1:8080/om/scim/v2/", "Bearer t").unwrap();
        assert_eq!(e.addr, "127.0.0.1:8080".parse().unwrap());
        let r = e.request(Method::GET, "/Users/1", None);
        assert_eq!(r.uri(), "/om/scim/v2/Users/1");
        assert_eq!(r.headers()[header::HOST], "127.0.0.1:8080");
        assert_eq!(r.headers()[header::AUTHORIZATION], "Bearer t");
        assert!(Endpoint::from_url("https://127.0.0.1:1/", "x").is_err());
    }

    #[test]
    fn workloads_are_known_by_key() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_key(k.key()), Some(k));
        }
        assert_eq!(Kind::from_key("nope"), None);
    }

    #[test]
    fn native_names_follow_the_mapping() {
        assert_eq!(native_name("User7@Example.com"), "user7_example.com");
    }
}
