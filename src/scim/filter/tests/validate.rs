//! Validation against the schema: unknown attributes and ill-typed comparisons are `invalidFilter`.

use super::eval::schema;
use super::{and, eq_str, pr, vp};
use crate::scim::filter::{TypeName, ValidationError, ValidationErrorKind as Kind, parse, validate};
use crate::scim::schema::{AttrType, ResourceKind, ResourceSchema};
use crate::scim::{ScimError, ScimType};

fn check(text: &str) -> Result<(), ValidationError> {
    let f = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    validate(&f, &schema())
}

fn kind(text: &str) -> Kind {
    match check(text) {
        Ok(()) => panic!("{text} validated"),
        Err(e) => e.kind,
    }
}

#[test]
fn accepts_what_idps_send() {
    let ok = [
        r#"userName eq "test.user@okta.local""#,
        r#"externalId eq "00u1""#,
        r#"id eq "1" and manager eq "2""#,
        r#"emails[type eq "work"].value eq "user@contoso.com""#,
        r#"emails[type eq "work" and value eq "user@contoso.com"]"#,
        r#"roles[primary eq true].value pr"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "O'Malley""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"title pr or not (active eq false)"#,
        r#"emails co "example.com""#,
        r#"groups.$ref pr"#,
        r#"locale eq null"#,
        r#"name eq null"#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:level ge 2"#,
        r#"urn:example:params:scim:schemas:extension:test:2.0:User:badge eq "QUJD""#,
    ];
    for text in ok {
        assert_eq!(check(text), Ok(()), "{text}");
    }
    let groups = ResourceSchema::rfc(ResourceKind::Group);
    for text in [r#"displayName eq "Sales""#, r#"members[value eq "1"]"#, r#"members[$ref pr]"#] {
        assert_eq!(validate(&parse(text).unwrap(), &groups), Ok(()), "{text}");
    }
    assert_eq!(kind(r#"userName eq "x" and members[value eq "1"]"#), Kind::UnknownAttribute);
}

#[test]
fn unknown_attributes_are_rejected() {
    let e = check(r#"userNam eq "x""#).unwrap_err();
    assert_eq!(e, ValidationError { path: "userNam".into(), kind: Kind::UnknownAttribute });
    assert_eq!(kind("name.nonsense pr"), Kind::UnknownAttribute);
    assert_eq!(kind(r#"urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber eq "1""#), Kind::UnknownAttribute);
    assert_eq!(kind(r#"urn:example:nope:title pr"#), Kind::UnknownAttribute);
    let e = check(r#"title pr and emails[kind eq "work"]"#).unwrap_err();
    assert_eq!(e, ValidationError { path: "emails[kind]".into(), kind: Kind::UnknownAttribute });
    assert_eq!(kind(r#"emails[type eq "work"].nope eq "x""#), Kind::UnknownAttribute);
}

#[test]
fn value_paths_must_be_relative_and_on_complex_attributes() {
    assert_eq!(kind(r#"userName[value eq "x"]"#), Kind::NotComplex);
    assert_eq!(kind(r#"name.givenName[value eq "x"]"#), Kind::NotComplex);
    assert_eq!(kind(r#"emails[emails.type eq "x"]"#), Kind::NotRelative);
    assert_eq!(kind(r#"emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq "x"]"#), Kind::NotRelative);
    // Only constructible as an AST: the parser rejects it.
    let nested = vp("emails", and(pr("type"), vp("value", eq_str("x", "y"))));
    assert_eq!(validate(&nested, &schema()).unwrap_err().kind, Kind::NestedValuePath);
}

#[test]
fn operators_must_fit_the_type() {
    let na = |op: &str, ty: AttrType| Kind::OperatorNotApplicable {
        op: crate::scim::filter::CompareOp::parse(op).unwrap(),
        ty: TypeName(ty),
    };
    assert_eq!(kind("active gt true"), na("gt", AttrType::Boolean));
    assert_eq!(kind("active le false"), na("le", AttrType::Boolean));
    assert_eq!(kind(r#"active co "t""#), na("co", AttrType::Boolean));
    assert_eq!(kind(r#"emails.primary sw "t""#), na("sw", AttrType::Boolean));
    assert_eq!(kind(r#"meta.created co "2024""#), na("co", AttrType::DateTime));
    assert_eq!(
        kind(r#"urn:example:params:scim:schemas:extension:test:2.0:User:level ew "3""#),
        na("ew", AttrType::Integer)
    );
    assert_eq!(
        kind(r#"urn:example:params:scim:schemas:extension:test:2.0:User:badge gt "A""#),
        na("gt", AttrType::Binary)
    );
    assert_eq!(
        kind(r#"urn:example:params:scim:schemas:extension:test:2.0:User:badge co "A""#),
        na("co", AttrType::Binary)
    );
    assert_eq!(kind(r#"name eq "x""#), na("eq", AttrType::Complex));
}

#[test]
fn values_must_fit_the_type() {
    let mismatch = |ty: AttrType, value: &'static str| Kind::ValueTypeMismatch { ty: TypeName(ty), value };
    assert_eq!(kind("userName eq 5"), mismatch(AttrType::String, "a number"));
    assert_eq!(kind("userName eq true"), mismatch(AttrType::String, "a boolean"));
    assert_eq!(kind(r#"active eq "yes""#), mismatch(AttrType::Boolean, "a string"));
    assert_eq!(kind("meta.created gt 5"), mismatch(AttrType::DateTime, "a number"));
    assert_eq!(
        kind(r#"urn:example:params:scim:schemas:extension:test:2.0:User:level eq "3""#),
        mismatch(AttrType::Integer, "a string")
    );
    assert_eq!(kind(r#"meta.created gt "2024-13-01""#), Kind::InvalidDateTime("2024-13-01".into()));
    assert_eq!(kind("userName gt null"), Kind::NullOrdering);
    assert_eq!(kind("emails[value co null]"), Kind::NullOrdering);
}

#[test]
fn errors_become_400_invalid_filter() {
    let e: ScimError = check(r#"active gt true"#).unwrap_err().into();
    assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidFilter)));
    assert_eq!(e.detail, "invalid filter on active: operator gt does not apply to boolean attributes");
    let e: ScimError = check(r#"emails[kind eq "work"]"#).unwrap_err().into();
    assert_eq!(e.detail, "invalid filter on emails[kind]: unknown attribute");
}
