//! Entry points for the criterion benchmarks of the engine's per-request work (`benches/mapping.rs`):
//! turning a SCIM resource into the native requests of a create, and a native record into SCIM,
//! without any I/O. Not a stable API.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::calls::{Transport, eval_error};
use super::{MappedTarget, convert};
use crate::backend::{BackendError, NativeRequest, NativeResponse};
use crate::mapping::compile::CompiledMapping;
use crate::mapping::expr;
use crate::scim::{self, ResourceKind, ScimError};

/// A transport that sends nothing: every call fails as unreachable.
struct Offline;

#[async_trait]
impl Transport for Offline {
    async fn send(&self, req: NativeRequest) -> Result<NativeResponse, BackendError> {
        Err(BackendError::NotSent { step: req.step, reason: "offline".into() })
    }
}

/// A target for `mapping` that never reaches an application.
pub fn offline(mapping: Arc<CompiledMapping>, base_url: &str) -> MappedTarget {
    MappedTarget::new(mapping, Arc::new(Offline), base_url.to_owned())
}

impl MappedTarget {
    /// The requests a create of `resource` opens with, rendered but not sent: the create document
    /// built from the attributes' create shapes, then every create step whose `when` holds before
    /// any answer (a `for_each` step once per element).
    pub async fn plan_create(
        &self,
        kind: ResourceKind,
        resource: &scim::Resource,
    ) -> Result<Vec<NativeRequest>, ScimError> {
        let res = self.res(kind);
        let resolver = self.resolver();
        let mut scope = self.runner.scope();
        scope.insert("scim".into(), Value::Object(resource.clone()));
        if let Some(t) = &res.id.template {
            let id = expr::render(t, &scope, &resolver, &|s| s.to_owned()).await.map_err(|e| eval_error("id", e))?;
            scope.insert("id".into(), Value::String(id));
        }
        let doc = convert::create_doc(res, resource, self.schema(kind), &scope, &resolver).await?;
        scope.insert("doc".into(), doc);
        let mut out = Vec::with_capacity(res.create.len());
        for call in &res.create {
            if let Some(w) = &call.when {
                let v = expr::eval(w, &scope, &resolver).await.map_err(|e| eval_error(&call.name, e))?;
                if !expr::truthy(&v) {
                    continue;
                }
            }
            let items = match &call.for_each {
                None => vec![None],
                Some(e) => match expr::eval(e, &scope, &resolver).await.map_err(|e| eval_error(&call.name, e))? {
                    Value::Array(a) => a.into_iter().map(Some).collect(),
                    Value::Null => vec![],
                    one => vec![Some(one)],
                },
            };
            for (i, item) in items.into_iter().enumerate() {
                let mut s: Map<String, Value> = scope.clone();
                if let Some(item) = item {
                    s.insert("item".into(), item);
                    s.insert("index".into(), Value::from(i));
                }
                out.push(self.runner.request(call, &s, &resolver).await?);
            }
        }
        Ok(out)
    }

    /// A native record read back into a SCIM resource (without `members`).
    pub async fn read_native(&self, kind: ResourceKind, record: &Value) -> Result<scim::Resource, ScimError> {
        Ok(self.to_scim(kind, record.clone()).await?.0)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use serde_json::json;

    use super::*;

    fn openmetadata() -> MappedTarget {
        let src = crate::mapping::builtin::source("openmetadata").unwrap_or_default();
        let (m, _) = crate::mapping::compile_str("openmetadata.yaml", src).unwrap_or_else(|d| panic!("{}", d.render()));
        offline(Arc::new(m), "http://om.example/api")
    }

    #[test]
    fn plans_the_openmetadata_create_without_sending() {
        let t = openmetadata();
        let user = json!({"userName": "Jane@X.com", "displayName": "Jane", "emails": [{"value": "jane@x.com"}]});
        let plan = t.plan_create(ResourceKind::User, user.as_object().unwrap_or(&Map::new())).now_or_never();
        let plan = plan.unwrap_or_else(|| panic!("rendering awaits nothing")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].url, "http://om.example/api/v1/users");
        let body: Value = serde_json::from_slice(plan[0].body.as_deref().unwrap_or_default()).unwrap_or_default();
        // The shipped mapping evolves; these fields are its identity rules.
        assert_eq!(body["name"], "jane_x.com");
        assert_eq!(body["scimUserName"], "Jane@X.com");
        assert_eq!(body["email"], "jane@x.com");
        assert_eq!(body["displayName"], "Jane");
        let record = json!({"id": "u1", "name": "jane_x.com", "scimUserName": "Jane@X.com", "email": "jane@x.com", "deleted": false});
        let scim = t.read_native(ResourceKind::User, &record).now_or_never();
        let scim = scim.unwrap_or_else(|| panic!("reading awaits nothing")).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(scim["userName"], "Jane@X.com");
        assert_eq!(scim["active"], true);
    }
}
