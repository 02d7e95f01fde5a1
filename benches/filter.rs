//! Filter hot paths: parsing what IdPs send, and evaluating a parsed filter against a resource.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scimgate::scim::filter::{self, Filter};
use scimgate::scim::{Resource, ResourceKind, ResourceSchema};
use serde_json::json;

/// Entra's user lookup.
const ENTRA: &str = r#"userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee@contoso.com""#;

/// Value paths, URN names, grouping, `not`, every value type.
const COMPLEX: &str = r#"(userType eq "Employee" or userType eq "Contractor") and emails[type eq "work" and value co "@contoso.com"] and not (active eq false) and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d" and meta.lastModified gt "2024-01-01T00:00:00Z" and (title pr or name.givenName sw "B")"#;

fn user() -> Resource {
    let v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee@contoso.com",
        "userType": "Employee",
        "active": true,
        "title": "Engineer",
        "name": { "givenName": "Barbara", "familyName": "Jensen" },
        "emails": [
            { "value": "bjensen@example.com", "type": "home" },
            { "value": "barbara.jensen@contoso.com", "type": "work", "primary": true }
        ],
        "meta": { "lastModified": "2024-05-01T09:30:00+02:00" },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" }
        }
    });
    v.as_object().cloned().unwrap_or_default()
}

fn parsed(text: &str) -> Filter {
    match filter::parse(text) {
        Ok(f) => f,
        Err(e) => panic!("benchmark filter does not parse: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let schema = ResourceSchema::rfc(ResourceKind::User);
    let resource = user();
    let (entra, complex) = (parsed(ENTRA), parsed(COMPLEX));
    assert!(filter::matches(&entra, &resource, &schema) && filter::matches(&complex, &resource, &schema));

    c.bench_function("filter/parse/entra", |b| b.iter(|| filter::parse(black_box(ENTRA))));
    c.bench_function("filter/parse/complex", |b| b.iter(|| filter::parse(black_box(COMPLEX))));
    c.bench_function("filter/validate/complex", |b| b.iter(|| filter::validate(black_box(&complex), &schema)));
    c.bench_function("filter/matches/entra", |b| b.iter(|| filter::matches(black_box(&entra), &resource, &schema)));
    c.bench_function("filter/matches/complex", |b| b.iter(|| filter::matches(black_box(&complex), &resource, &schema)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
