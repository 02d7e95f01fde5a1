use crate::dialect::{QueryParams, normalize_query};
use crate::scim::ScimType;

#[test]
fn entra_plus_encoded_group_query() {
    // §1.3, S11; corpus entra-02
    let q = normalize_query("excludedAttributes=members&filter=displayName+eq+%22TEST%22").unwrap();
    assert_eq!(
        q,
        QueryParams {
            filter: Some(r#"displayName eq "TEST""#.into()),
            excluded_attributes: Some("members".into()),
            ..QueryParams::default()
        }
    );
}

#[test]
fn okta_percent_encoded_user_query_with_paging() {
    // §2.2 Assign user; corpus okta-06
    let q = normalize_query("filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100").unwrap();
    assert_eq!(
        q,
        QueryParams {
            filter: Some(r#"userName eq "test.user@okta.local""#.into()),
            start_index: Some("1".into()),
            count: Some("100".into()),
            ..QueryParams::default()
        }
    );
}

#[test]
fn entra_manager_reference_query() {
    // §1.3 Manager change; corpus entra-24
    let q = normalize_query("filter=id+eq+%22u1%22+and+manager+eq+%22m1%22&attributes=id").unwrap();
    assert_eq!(q.filter.as_deref(), Some(r#"id eq "u1" and manager eq "m1""#));
    assert_eq!(q.attributes.as_deref(), Some("id"));
}

#[test]
fn encoded_plus_stays_a_plus() {
    let q = normalize_query("filter=userName+eq+%22a%2Bb%40x.example%22").unwrap();
    assert_eq!(q.filter.as_deref(), Some(r#"userName eq "a+b@x.example""#));
}

#[test]
fn names_match_case_insensitively() {
    let q = normalize_query(
        "?FILTER=active+eq+true&StartIndex=2&COUNT=5&Attributes=userName&EXCLUDEDATTRIBUTES=emails&SORTBY=userName&sortorder=descending",
    )
    .unwrap();
    assert_eq!(
        q,
        QueryParams {
            filter: Some("active eq true".into()),
            attributes: Some("userName".into()),
            excluded_attributes: Some("emails".into()),
            start_index: Some("2".into()),
            count: Some("5".into()),
            sort_by: Some("userName".into()),
            sort_order: Some("descending".into()),
        }
    );
}

#[test]
fn unknown_parameters_such_as_the_entra_flag_are_ignored() {
    // §1.4: the flag sits in the tenant URL's query string and may be forwarded.
    for raw in ["aadOptscim062020&count=3", "aadOptscim062020=&count=3", "count=3&aadOptscim062020&x=%FF"] {
        let q = normalize_query(raw).unwrap();
        assert_eq!(q, QueryParams { count: Some("3".into()), ..QueryParams::default() }, "{raw}");
    }
    assert_eq!(normalize_query("").unwrap(), QueryParams::default());
    assert_eq!(normalize_query("&&").unwrap(), QueryParams::default());
}

#[test]
fn a_parameter_given_twice_is_rejected() {
    for raw in ["filter=a&filter=b", "count=1&Count=1", "sortBy=x&SORTBY="] {
        let e = normalize_query(raw).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)), "{raw}");
    }
}

#[test]
fn invalid_utf8_is_rejected() {
    let e = normalize_query("filter=userName+eq+%22%FF%22").unwrap_err();
    assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)));
}

#[test]
fn a_parameter_without_a_value_is_present_and_empty() {
    let q = normalize_query("filter").unwrap();
    assert_eq!(q.filter.as_deref(), Some(""));
}
