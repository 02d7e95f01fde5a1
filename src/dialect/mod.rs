//! IdP dialects → plain RFC 7644.
//!
//! Microsoft Entra ID (default mode and with the `aadOptscim062020` flag) and Okta each send request
//! shapes that RFC 7644 does not allow or that a strict reading would misinterpret. This layer turns all
//! of them into RFC 7644 before the protocol core sees the request, so that the core and the engine
//! know only the RFC. Every known shape is accepted at once: there is no setting and no IdP detection,
//! because none of the rewrites below can change the meaning of a request that was already RFC-clean.
//!
//! The rules work from the schema types (boolean, complex, multi-valued, mutability) rather than from
//! attribute names, so they also cover extension and custom attributes that behave like the ones the
//! IdPs are known to send. Section numbers (`§`) refer to the IdP behaviour reference
//! (`idp-behaviour.md`).
//!
//! Everything here is a pure function with work linear in the size of the request.
//!
//! # Query strings ([`normalize_query`])
//! - **`+` is a space**, as is `%20`. Entra encodes filters HTML-form style
//!   (`filter=displayName+eq+%22TEST%22`, §1.3); Okta uses `%20` (§2.2). A literal plus arrives as `%2B`.
//! - **Parameter names are matched case-insensitively** (`filter`, `attributes`, `excludedAttributes`,
//!   `startIndex`, `count`, `sortBy`, `sortOrder`); a parameter given twice is a 400, since either choice
//!   would silently ignore what the client asked for.
//! - **Unknown parameters are ignored**: the `aadOptscim062020` flag lives in Entra's tenant URL and may
//!   be forwarded on every request (§1.4).
//! - Percent-escapes must decode to UTF-8 (else 400 `invalidValue`). Values are otherwise returned as
//!   text: paging limits and projection paths are the core's to judge.
//!
//! # Resource bodies, POST and PUT ([`normalize_resource`])
//! - **String booleans** (`"True"`, `"false"`, any case) become JSON booleans wherever the schema says
//!   the attribute or sub-attribute is boolean (`active`, `emails[].primary`, …). Entra's default mode
//!   and Microsoft's reference suite send `"active": "True"` (§1.6, §3.10).
//! - **A single-valued complex attribute given a bare scalar** gets it as its `value` sub-attribute;
//!   **given a one-element array**, it gets that element. Entra sends the enterprise `manager` as a bare
//!   id string (§1.5 "Manager in POST"), while the RFC and Entra's own reader want `{"value": …}` (§1.9).
//!   The same holds for scalar elements of a multi-valued complex attribute.
//! - **A single-valued simple attribute given `[{"value": x}]` or `[x]`** gets `x`: the shape Microsoft's
//!   old SCIM library used for single values (§1.6 "Value as string vs array").
//! - **Complex values whose `value` is JSON text** (`"{\"id\":…,\"value\":\"25\",\"displayName\":…}"`)
//!   are replaced by the object the text encodes. Entra's SingleAppRoleAssignment mapping sends roles
//!   this way (§1.6 roles row, §1.8).
//! - **`displayName` inside a complex value is read as `display`** when the attribute has a `display`
//!   sub-attribute and no `displayName` one. Entra's AppRoleAssignmentsComplex roles carry `displayName`
//!   (§1.8, §4); RFC 7643 multi-valued attributes call it `display`.
//! - **Unknown URIs in `schemas` are dropped**, known ones are spelled canonically, and extensions whose
//!   attributes the body carries are listed. Entra's group POST lists
//!   `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group` (§1.5).
//! - **URN-qualified top-level keys** (`"urn:…:enterprise:2.0:User:department": "x"`) move into their
//!   schema's extension object, and **dotted keys** (`"name.givenName": "x"`) into their complex
//!   attribute. These are the attribute-path keys Entra uses in no-path PATCH values (§1.6, §1.7); the
//!   same keys in a body mean the same attributes. A key placed this way wins over a nested value for the
//!   same sub-attribute.
//! - **Left alone**: `"roles": []`, JSON `null`s (older Entra bodies, §1.5) and read-only attributes
//!   such as `meta`, `id` and Okta's `groups: []` (§2.3). The core treats empty and null as absent and
//!   ignores read-only input on writes (RFC 7644 §3.3, §3.5.1).
//!
//! # PATCH bodies ([`normalize_patch`], [`normalize_patch_json`], [`coerce_patch_filters`])
//! - **Structural keys are case-insensitive**: `Operations`, `schemas`, `op`, `path`, `value`, and the `op`
//!   value itself. Entra sends `Add`/`Replace`/`Remove` and tells servers to match case-insensitively
//!   (§1.6 "op casing").
//! - **No-path `add`/`replace` with attribute-path keys is split**: when the value object has dotted or
//!   URN-qualified keys (Entra with the flag: `{"displayName":…,"name.givenName":…,
//!   "urn:…:enterprise:2.0:User:employeeNumber":…}`, §1.6 "Replace several attributes"), it becomes one
//!   operation per key with that key as the path. Plain keys become plain paths and extension objects
//!   one path per attribute. Operations are ordered by key, so a whole complex attribute comes before
//!   its sub-attributes.
//! - **Read-only keys in no-path values are dropped** (`schemas`, `id`, `meta`, any read-only attribute).
//!   Okta's group rename repeats the group's `id` in the value (§2.2 Group Push, step 4); that restates
//!   rather than modifies it.
//! - **`remove` of a multi-valued attribute with a `value` list** becomes one `remove` per listed element,
//!   with path `attr[value eq "…"]`. Entra's default mode removes a member with
//!   `{"op":"Remove","path":"members","value":[{"value":"u1"}]}` (§1.6 table, "Remove group member"); read
//!   as RFC 7644 it would remove every member. An empty list removes nothing (a request left with no
//!   operations is an empty [`PatchRequest`](crate::scim::patch::PatchRequest), not an error).
//! - **A path naming exactly one extension attribute without its URN** is qualified with that
//!   extension's URN. Entra's tutorial Example 5 patches `"path": "manager"` (§1.6).
//! - **Values are shaped by the attribute the path targets**, with the resource rules above: string
//!   booleans (`Replace active "False"`, §1.6 "Disable user"), `manager` as a bare string, `{…}` or a
//!   one-element array (§1.6 "Value as string vs array"), role values as JSON text (`Add roles`,
//!   §1.6/§1.8), `[{"value": x}]` for single values. Filtered paths target the filtered attribute's
//!   elements or the named sub-attribute (`roles[primary eq "True"].value`).
//! - After parsing ([`PatchRequest::from_json`](crate::scim::patch::PatchRequest::from_json)), **string
//!   literals in value-path filters compared with boolean sub-attributes become booleans**:
//!   `roles[primary eq "True"]` → `roles[primary eq true]` (§1.7 roles mappings).
//!
//! # Query filters ([`normalize_filter`], [`coerce_filter_literals`])
//! - The same literal coercion, for query filters such as `active eq "True"`. Entra's non-RFC form
//!   `emails[type eq "work"].value eq "x"` (§1.7) is accepted by the filter parser itself; this layer
//!   leaves what the parser made of it unchanged.

mod filter;
mod keys;
mod patch;
mod query;
mod resource;
mod shape;

pub use filter::{coerce_filter_literals, normalize_filter};
pub use patch::{coerce_patch_filters, normalize_patch, normalize_patch_json};
pub use query::{QueryParams, normalize_query};
pub use resource::normalize_resource;

#[cfg(test)]
mod tests;
