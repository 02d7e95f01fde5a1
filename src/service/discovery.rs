//! Discovery resources (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`,
//! rendered from the route's schema model so they advertise only what the target can hold.

use serde_json::{Value, json};

use crate::scim::schema::{ResourceSchema, SchemaDef};
use crate::scim::{ResourceKind, SchemaModel, urn};

/// Settings reflected in `/ServiceProviderConfig`.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    pub max_results: usize,
}

pub fn service_provider_config(base: &str, caps: Capabilities) -> Value {
    json!({
        "schemas": [urn::SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://github.com/scimgate/scimgate#readme",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": caps.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token in the Authorization header (RFC 6750)",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig")
        }
    })
}

pub fn resource_type(base: &str, schema: &ResourceSchema) -> Value {
    let kind = schema.kind;
    let extensions: Vec<Value> =
        schema.extensions.iter().map(|(s, required)| json!({"schema": s.id, "required": required})).collect();
    let mut v = json!({
        "schemas": [urn::RESOURCE_TYPE],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": match kind { ResourceKind::User => "User Account", ResourceKind::Group => "Group" },
        "schema": kind.core_schema(),
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", kind.name())}
    });
    if !extensions.is_empty() {
        v["schemaExtensions"] = Value::Array(extensions);
    }
    v
}

pub fn resource_types(base: &str, model: &SchemaModel) -> Vec<Value> {
    vec![resource_type(base, &model.user), resource_type(base, &model.group)]
}

pub fn schema(base: &str, def: &SchemaDef) -> Value {
    let mut v = serde_json::to_value(def).unwrap_or(Value::Null);
    v["schemas"] = json!([urn::SCHEMA]);
    v["meta"] = json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{}", def.id)});
    v
}

pub fn schemas(base: &str, model: &SchemaModel) -> Vec<Value> {
    model.all_schemas().into_iter().map(|s| schema(base, s)).collect()
}

/// A ListResponse for discovery listings (no paging: they are small).
pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [urn::LIST_RESPONSE],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_name_schemas_and_extensions() {
        let m = SchemaModel::rfc();
        let rts = resource_types("http://h/r/scim/v2", &m);
        assert_eq!(rts[0]["endpoint"], "/Users");
        assert_eq!(rts[0]["schemaExtensions"][0]["schema"], urn::ENTERPRISE_USER);
        assert_eq!(rts[1]["schema"], urn::GROUP);
        assert!(rts[1].get("schemaExtensions").is_none());
    }

    #[test]
    fn schemas_are_rfc_shaped() {
        let m = SchemaModel::rfc();
        let all = schemas("http://h/r/scim/v2", &m);
        assert_eq!(all.len(), 3);
        let user = &all[0];
        assert_eq!(user["id"], urn::USER);
        assert_eq!(user["meta"]["location"], format!("http://h/r/scim/v2/Schemas/{}", urn::USER));
        let user_name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
    }
}
