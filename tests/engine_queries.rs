//! Mapping engine acceptance: SCIM filters translated to native queries (query parameters, path
//! lookups, search templates) with the gateway's post-filter, bounded scans and rejection of
//! untranslatable filters, and the three paging styles.

#[path = "support/stub_backend.rs"]
mod stub_backend;

use serde_json::{Value, json};
use stub_backend::*;

/// Percent-encodes a query parameter value the way a browser form would not: every byte outside
/// RFC 3986 unreserved characters.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn users_with(extra: &str, list: &str) -> String {
    format!(
        r#"
id: {{ read: $.id }}
attributes:
  - {{ scim: userName, native: login }}
  - {{ scim: displayName, native: name }}
  - {{ scim: externalId, native: ref }}
  - {{ scim: emails.value, select: primary_or_first, native: email }}
get: [{{ name: read user, method: GET, url: "/users/{{id}}" }}]
create: [{{ method: POST, url: /users, body: "{{doc}}" }}]
update: {{ style: put, steps: [{{ method: PUT, url: "/users/{{id}}", body: "{{doc}}" }}] }}
delete: [{{ method: DELETE, url: "/users/{{id}}" }}]
list:
{list}
{extra}
"#
    )
}

const OFFSET_LIST: &str = r#"  call: { name: list users, method: GET, url: /users, query: { offset: "{offset}", limit: "{limit}" } }
  records: $.items[*]
  total: $.total
  paging: { style: offset, max_limit: 2 }
  max_scan: 5"#;

/// Two records a page, the next page's cursor at `paging.after`, the total at `paging.total`.
const CURSOR_LIST: &str = r#"  call: { name: list users, method: GET, url: /users, query: { limit: "{limit}", after: "{cursor}" } }
  records: $.data[*]
  total: $.paging.total
  paging: { style: cursor, max_limit: 2, next: $.paging.after }"#;

const FILTERS: &str = r#"filters:
  - attribute: userName
    op: eq
    call: { name: find by login, method: GET, url: /users, query: { login: "{value}" } }
    result: { records: "$.items[*]" }
  - attribute: externalId
    call: { name: read by ref, method: GET, url: "/users/by-ref/{value}" }
    result: single
  - attribute: emails.value
    call: { name: search email, method: GET, url: /search, query: { q: 'email.keyword:"{value}"', size: "10" } }
    result: { records: "$.hits[*]._source" }
"#;

fn user(id: &str, login: &str, name: &str) -> Value {
    json!({"id": id, "login": login, "name": name, "email": format!("{login}@x.org")})
}

async fn query(gw: &Gateway, filter: &str, extra: &str) -> Answer {
    gw.get(&format!("/Users?filter={}{extra}", enc(filter))).await
}

fn ids(a: &Answer) -> Vec<String> {
    a.body["Resources"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn query_parameter_filter_is_post_filtered_exactly() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", &users_with(FILTERS, OFFSET_LIST), PLAIN_GROUPS), &stub).await;
    // The application matches loosely (substring): the gateway keeps only exact matches.
    stub.get_json(
        "/api/users?login=ann",
        json!({"items": [user("1", "ann", "Ann"), user("2", "anna", "Anna"), user("3", "joanne", "Jo"), user("4", "ANN", "Other")]}),
    );
    let r = query(&gw, r#"userName eq "ann""#, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // userName is case-insensitive in SCIM: "ANN" matches too.
    assert_eq!(ids(&r), ["1", "4"]);
    assert_eq!(r.body["totalResults"], 2);
    assert_eq!(stub.take_lines(), ["GET /api/users?login=ann"]);

    // Inside an `and`, the translatable term picks the call and the whole filter is applied after.
    let r = query(&gw, r#"userName eq "ann" and displayName eq "Ann""#, "").await;
    assert_eq!(ids(&r), ["1"]);
    assert_eq!(stub.take_lines(), ["GET /api/users?login=ann"]);
}

#[tokio::test]
async fn path_lookup_filter_answers_one_record_or_none() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", &users_with(FILTERS, OFFSET_LIST), PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users/by-ref/E%2F1%20x", json!({"id": "7", "login": "ann", "ref": "E/1 x"}));
    let r = query(&gw, r#"externalId eq "E/1 x""#, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), ["7"]);
    assert_eq!(stub.take_lines(), ["GET /api/users/by-ref/E%2F1%20x"]);

    // `id eq` reads the record; an id that can name no record is an empty result without a call.
    stub.get_json("/api/users/7", json!({"id": "7", "login": "ann"}));
    let r = query(&gw, r#"id eq "7""#, "").await;
    assert_eq!(ids(&r), ["7"]);
    assert_eq!(stub.take_lines(), ["GET /api/users/7"]);
    for id in [".", ".."] {
        let r = query(&gw, &format!("id eq \"{id}\""), "").await;
        assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(0)), "{id}: {:?}", r.body);
        assert!(stub.take().is_empty(), "{id}");
    }

    // 404 from the path lookup is an empty result, not an error.
    let r = query(&gw, r#"externalId eq "nobody""#, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(stub.take_lines(), ["GET /api/users/by-ref/nobody"]);
}

#[tokio::test]
async fn search_template_filter_renders_the_native_query() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", &users_with(FILTERS, OFFSET_LIST), PLAIN_GROUPS), &stub).await;
    let q = format!("q={}&size=10", enc(r#"email.keyword:"ann@x.org""#));
    assert_eq!(q, "q=email.keyword%3A%22ann%40x.org%22&size=10");
    stub.get_json(
        &format!("/api/search?{q}"),
        json!({"hits": [{"_source": user("1", "ann", "Ann")}, {"_source": user("2", "annie", "Annie")}]}),
    );
    let r = query(&gw, r#"emails.value eq "ann@x.org""#, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), ["1"], "the fuzzy hit is dropped by the post-filter");
    assert_eq!(stub.take_lines(), [format!("GET /api/search?{q}")]);
}

/// Filters no rule translates: evaluated by the gateway over a listing bounded by `max_scan`.
#[tokio::test]
async fn other_filters_scan_within_max_scan() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", &users_with(FILTERS, OFFSET_LIST), PLAIN_GROUPS), &stub).await;
    stub.get_json(
        "/api/users?limit=2&offset=0",
        json!({"items": [user("1", "ann", "Ann"), user("2", "bob", "Bob")], "total": 5}),
    );
    stub.get_json(
        "/api/users?limit=2&offset=2",
        json!({"items": [user("3", "cyd", "Anne"), user("4", "dan", "Dan")], "total": 5}),
    );
    stub.get_json("/api/users?limit=2&offset=4", json!({"items": [user("5", "eve", "Joann")], "total": 5}));
    let r = query(&gw, r#"displayName co "nn""#, "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), ["1", "3", "5"]);
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(
        stub.take_lines(),
        ["GET /api/users?limit=2&offset=0", "GET /api/users?limit=2&offset=2", "GET /api/users?limit=2&offset=4"]
    );

    // Paging applies to the matches.
    let r = query(&gw, r#"displayName co "nn""#, "&startIndex=2&count=1").await;
    assert_eq!(ids(&r), ["3"]);
    assert_eq!(r.body["totalResults"], 3);
    stub.take();

    // A sixth record makes the listing larger than max_scan (5): refused, after at most 6 records.
    stub.get_json(
        "/api/users?limit=2&offset=4",
        json!({"items": [user("5", "eve", "Joann"), user("6", "fay", "Fay")], "total": 7}),
    );
    stub.get_json("/api/users?limit=2&offset=6", json!({"items": [user("7", "gus", "Gus")], "total": 7}));
    let r = query(&gw, r#"displayName co "nn""#, "").await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["scimType"], "tooMany");
    assert_eq!(
        stub.take_lines(),
        ["GET /api/users?limit=2&offset=0", "GET /api/users?limit=2&offset=2", "GET /api/users?limit=2&offset=4"]
    );
}

#[tokio::test]
async fn other_filters_reject_answers_invalid_filter_without_calls() {
    let stub = Stub::start().await;
    let extra = format!("{FILTERS}other_filters: reject\n");
    let gw = Gateway::start(&mapping("", &users_with(&extra, OFFSET_LIST), PLAIN_GROUPS), &stub).await;
    let r = query(&gw, r#"displayName co "nn""#, "").await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.body["scimType"], "invalidFilter");
    assert!(stub.take().is_empty());

    // A translated filter still works.
    stub.get_json("/api/users?login=ann", json!({"items": [user("1", "ann", "Ann")]}));
    let r = query(&gw, r#"userName eq "ann""#, "").await;
    assert_eq!((r.status, ids(&r)), (200, vec!["1".to_owned()]));
}

#[tokio::test]
async fn offset_paging_maps_start_index_and_count() {
    let stub = Stub::start().await;
    let list = r#"  call: { name: list users, method: GET, url: /users, query: { offset: "{offset}", limit: "{limit}" } }
  records: $.items[*]
  total: $.total
  paging: { style: offset, max_limit: 100 }"#;
    let gw = Gateway::start(&mapping("", &users_with("", list), PLAIN_GROUPS), &stub).await;
    stub.get_json(
        "/api/users?limit=2&offset=2",
        json!({"items": [user("3", "c", "C"), user("4", "d", "D")], "total": 7}),
    );
    let r = gw.get("/Users?startIndex=3&count=2").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), ["3", "4"]);
    assert_eq!((r.body["totalResults"].as_u64(), r.body["startIndex"].as_u64()), (Some(7), Some(3)));
    assert_eq!(r.body["itemsPerPage"], 2);
    assert_eq!(stub.take_lines(), ["GET /api/users?limit=2&offset=2"]);
}

#[tokio::test]
async fn page_number_paging_walks_whole_pages() {
    let stub = Stub::start().await;
    let list = r#"  call: { name: list users, method: GET, url: /users, query: { page: "{page}", size: "{limit}" } }
  records: $.items[*]
  total: $.total
  paging: { style: page, max_limit: 2, first_page: 1 }"#;
    let gw = Gateway::start(&mapping("", &users_with("", list), PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users?page=1&size=2", json!({"items": [user("1", "a", "A"), user("2", "b", "B")], "total": 5}));
    stub.get_json("/api/users?page=2&size=2", json!({"items": [user("3", "c", "C"), user("4", "d", "D")], "total": 5}));
    stub.get_json("/api/users?page=3&size=2", json!({"items": [user("5", "e", "E")], "total": 5}));

    let r = gw.get("/Users?startIndex=3&count=2").await;
    assert_eq!(ids(&r), ["3", "4"]);
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(stub.take_lines(), ["GET /api/users?page=2&size=2"]);

    // A window across two pages reads both.
    let r = gw.get("/Users?startIndex=2&count=2").await;
    assert_eq!(ids(&r), ["2", "3"]);
    assert_eq!(stub.take_lines(), ["GET /api/users?page=1&size=2", "GET /api/users?page=2&size=2"]);

    let r = gw.get("/Users?startIndex=5&count=10").await;
    assert_eq!(ids(&r), ["5"]);
    assert_eq!(stub.take_lines(), ["GET /api/users?page=3&size=2"]);
}

#[tokio::test]
async fn cursor_paging_walks_forward_and_remembers_cursors() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", &users_with("", CURSOR_LIST), PLAIN_GROUPS), &stub).await;
    stub.get_json(
        "/api/users?limit=2",
        json!({"data": [user("1", "a", "A"), user("2", "b", "B")], "paging": {"after": "c/2=", "total": 5}}),
    );
    stub.get_json(
        "/api/users?after=c%2F2%3D&limit=2",
        json!({"data": [user("3", "c", "C"), user("4", "d", "D")], "paging": {"after": "c3", "total": 5}}),
    );
    stub.get_json("/api/users?after=c3&limit=2", json!({"data": [user("5", "e", "E")], "paging": {"total": 5}}));

    let r = gw.get("/Users?startIndex=3&count=2").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), ["3", "4"]);
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(stub.take_lines(), ["GET /api/users?limit=2", "GET /api/users?after=c%2F2%3D&limit=2"]);

    // The cursor of the next page was remembered: no walk from the start.
    let r = gw.get("/Users?startIndex=5&count=2").await;
    assert_eq!(ids(&r), ["5"]);
    assert_eq!(stub.take_lines(), ["GET /api/users?after=c3&limit=2"]);

    // The first page needs no cursor.
    let r = gw.get("/Users?startIndex=1&count=1").await;
    assert_eq!(ids(&r), ["1"]);
    assert_eq!(stub.take_lines(), ["GET /api/users?limit=2"]);
}

#[tokio::test]
async fn cursor_paging_answers_a_far_start_index_by_walking_only_the_pages_there_are() {
    let stub = Stub::start().await;
    let gw = Gateway::start(&mapping("", &users_with("", CURSOR_LIST), PLAIN_GROUPS), &stub).await;
    stub.get_json(
        "/api/users?limit=2",
        json!({"data": [user("1", "a", "A"), user("2", "b", "B")], "paging": {"after": "p2", "total": 3}}),
    );
    stub.get_json("/api/users?after=p2&limit=2", json!({"data": [user("3", "c", "C")], "paging": {"total": 3}}));

    // A start far past any page: the walk ends with the listing, whatever the number says.
    let far = "/Users?startIndex=99999999999999999999&count=10";
    let r = tokio::time::timeout(std::time::Duration::from_secs(20), gw.get(far)).await.expect("an answer");
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), Vec::<String>::new());
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(stub.take_lines(), ["GET /api/users?limit=2", "GET /api/users?after=p2&limit=2"]);

    // Once a cursor is known, a far start goes on from the furthest one.
    let r = tokio::time::timeout(std::time::Duration::from_secs(20), gw.get(far)).await.expect("an answer");
    assert_eq!(ids(&r), Vec::<String>::new());
    assert_eq!(stub.take_lines(), ["GET /api/users?after=p2&limit=2"]);
}

#[tokio::test]
async fn a_listing_without_a_total_is_counted_once_and_every_page_gives_the_same_total() {
    let stub = Stub::start().await;
    let list = r#"  call: { name: list users, method: GET, url: /users, query: { limit: "{limit}", after: "{cursor}" } }
  records: $.data[*]
  paging: { style: cursor, max_limit: 2, next: $.next }"#;
    let gw = Gateway::start(&mapping("", &users_with("", list), PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users?limit=2", json!({"data": [user("1", "a", "A"), user("2", "b", "B")], "next": "p2"}));
    stub.get_json(
        "/api/users?after=p2&limit=2",
        json!({"data": [user("3", "c", "C"), user("4", "d", "D")], "next": "p3"}),
    );
    stub.get_json("/api/users?after=p3&limit=2", json!({"data": [user("5", "e", "E")], "next": null}));

    // The first page counts the rest of the listing from where it stopped, not from the start.
    let r = gw.get("/Users?startIndex=1&count=2").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((ids(&r), r.body["totalResults"].as_u64()), (vec!["1".to_owned(), "2".to_owned()], Some(5)));
    assert_eq!(
        stub.take_lines(),
        ["GET /api/users?limit=2", "GET /api/users?after=p2&limit=2", "GET /api/users?after=p3&limit=2"]
    );

    // The next page reads only its own page and gives the same total.
    let r = gw.get("/Users?startIndex=3&count=2").await;
    assert_eq!((ids(&r), r.body["totalResults"].as_u64()), (vec!["3".to_owned(), "4".to_owned()], Some(5)));
    assert_eq!(stub.take_lines(), ["GET /api/users?after=p2&limit=2"]);

    // A user deleted through the gateway: the listing is counted again.
    stub.on("DELETE", "/api/users/5", Reply::empty(204));
    assert_eq!(gw.delete("/Users/5").await.status, 204);
    stub.get_json("/api/users?after=p3&limit=2", json!({"data": [], "next": null}));
    stub.take_lines();
    let r = gw.get("/Users?startIndex=1&count=2").await;
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(stub.take_lines().len(), 3);
}

#[tokio::test]
async fn a_filter_rule_asks_for_one_page_of_the_listing_s_size() {
    let stub = Stub::start().await;
    let filters = r#"filters:
  - attribute: userName
    call: { name: find by login, method: GET, url: /users, query: { login: "{value}", limit: "{limit}" } }
    result: { records: "$.items[*]" }"#;
    let gw = Gateway::start(&mapping("", &users_with(filters, OFFSET_LIST), PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users?limit=2&login=ann", json!({"items": [user("1", "ann", "Ann")]}));
    let r = query(&gw, "userName eq \"ann\"", "").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), ["1"]);
    assert_eq!(stub.take_lines(), ["GET /api/users?limit=2&login=ann"]);
}

#[tokio::test]
async fn a_start_past_the_end_of_a_listing_without_a_total_reports_the_listing_s_length() {
    let stub = Stub::start().await;
    let list = r#"  call: { name: list users, method: GET, url: /users, query: { offset: "{offset}", limit: "{limit}" } }
  records: $.items[*]
  paging: { style: offset, max_limit: 2 }"#;
    let gw = Gateway::start(&mapping("", &users_with("", list), PLAIN_GROUPS), &stub).await;
    stub.get_json("/api/users?limit=2&offset=0", json!({"items": [user("1", "a", "A"), user("2", "b", "B")]}));
    stub.get_json("/api/users?limit=2&offset=2", json!({"items": [user("3", "c", "C")]}));
    stub.get_json("/api/users?limit=2&offset=999", json!({"items": []}));

    // The empty page says only that the listing ends before it; its length is counted.
    let r = gw.get("/Users?startIndex=1000&count=2").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((ids(&r), r.body["totalResults"].as_u64()), (Vec::<String>::new(), Some(3)));
    assert_eq!(
        stub.take_lines(),
        ["GET /api/users?limit=2&offset=999", "GET /api/users?limit=2&offset=0", "GET /api/users?limit=2&offset=2"]
    );
    // The count is remembered.
    let r = gw.get("/Users?startIndex=1000&count=2").await;
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(stub.take_lines(), ["GET /api/users?limit=2&offset=999"]);
}
