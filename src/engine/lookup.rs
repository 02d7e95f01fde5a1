//! Named lookups (e.g. role name → role id), answered by native calls and cached per replica.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use moka::future::Cache;
use serde_json::Value;

use super::calls::Runner;
use crate::mapping::expr::{self, EvalError, LookupResolver};
use crate::mapping::model::OnMissing;

/// Caches of every lookup of one mapping.
pub struct Lookups {
    caches: HashMap<String, Cache<String, Value>>,
}

impl Lookups {
    pub fn new(runner: &Runner) -> Self {
        let caches = runner
            .mapping
            .lookups
            .iter()
            .map(|(name, l)| (name.clone(), Cache::builder().max_capacity(10_000).time_to_live(l.ttl).build()))
            .collect();
        Lookups { caches }
    }
}

/// A resolver bound to a runner, for one request.
pub struct Resolver<'a> {
    pub runner: &'a Runner,
    pub lookups: &'a Lookups,
}

#[async_trait]
impl LookupResolver for Resolver<'_> {
    async fn lookup(&self, name: &str, value: &Value) -> Result<Value, EvalError> {
        let (Some(spec), Some(cache)) = (self.runner.mapping.lookups.get(name), self.lookups.caches.get(name)) else {
            return Err(EvalError::Lookup(format!("no lookup named `{name}`")));
        };
        let key = expr::to_text(value);
        let runner = self.runner;
        let fetch = async {
            let mut scope = runner.scope();
            scope.insert("value".into(), value.clone());
            let req = runner.request(&spec.call, &scope, &expr::NoLookups).await.map_err(EvalError::Scim)?;
            let resp = runner.transport.send(req).await.map_err(|e| EvalError::Scim(runner.transport_error(&e, 0)))?;
            let found = if (200..300).contains(&resp.status) {
                resp.json().map(|j| spec.result.first(&j)).unwrap_or(Value::Null)
            } else if resp.status == 404 {
                Value::Null
            } else {
                return Err(EvalError::Scim(runner.native_error("lookup", &spec.call.name, &resp, 0)));
            };
            match (found.is_null(), spec.on_missing) {
                (true, OnMissing::Error) => {
                    Err(EvalError::InvalidValue(format!("{name}: nothing found for \"{key}\"")))
                }
                _ => Ok(found),
            }
        };
        cache.try_get_with(key.clone(), fetch).await.map_err(|e: Arc<EvalError>| (*e).clone())
    }
}
