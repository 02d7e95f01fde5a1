//! Large data through the gateway: an IdP paging through every user of a big application, and one
//! PATCH adding thousands of members to a group. Each is timed through the gateway, then the
//! native calls the gateway made (as the emulator recorded them) are replayed straight at the
//! emulator, one after the other on one connection, and timed: the ratio is what the gateway adds
//! on top of the calls it needs.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request};
use http_body_util::Full;
use scimgate::emulator::{OpenMetadataEmulator, RecordedRequest};
use serde_json::{Value, json};

use crate::drive::Connection;
use crate::gateway::{Gateway, route};
use crate::report::mib;
use crate::scenarios::{PeakRss, Run, openmetadata_target, openmetadata_with_users, print_title};
use crate::side::next_tag;
use crate::workloads::Endpoint;

const OM_TOKEN: &str = "openmetadata-emulator-token";
const SCIM_JSON: &str = "application/scim+json";

/// One timed piece of work and the native calls it made.
struct Timed {
    took: Duration,
    calls: Vec<RecordedRequest>,
}

pub async fn bulk(run: &Run) -> Result<(), String> {
    let o = &run.o;
    let seeding = Instant::now();
    let (om, users) = openmetadata_with_users(o.bulk_users).await?;
    let seeded_in = seeding.elapsed();
    let team = seed_team(&om)?;
    let spare_team = seed_team(&om)?;
    let gw =
        Gateway::start(&run.dir, "bulk", &route("om", &openmetadata_target(&om), &run.creds.route_auth), &run.launch)
            .await?;
    let endpoint = run.gateway_endpoint(&gw, "om")?;
    let mut conn = Connection::open(endpoint.addr).await.map_err(|e| e.to_string())?;
    // Warm: the JWKS fetch, the backend connection, lazy state.
    send_ok(&mut conn, endpoint.request(Method::GET, "/Users?count=1", None)).await?;
    let before = gw.rss_kib().unwrap_or(0);
    let peak = PeakRss::watch(gw.pid());

    let listing = list_all(&om, &endpoint, &mut conn, o.bulk_users, o.page_size).await?;
    let members: Vec<Value> = users.iter().take(o.bulk_members).map(|u| json!({"value": u.id})).collect();
    let patch = add_members(&om, &endpoint, &mut conn, &team, members).await?;
    let peak_kib = peak.finish().max(gw.rss_kib().unwrap_or(0));
    gw.stop();

    // The same native calls straight at the emulator. The member PATCH is replayed on the spare
    // team, empty as the first one was, so that the application does the same work.
    let native = Endpoint::from_url(&om.base_url(), &format!("Bearer {OM_TOKEN}"))?;
    let mut direct = Connection::open(native.addr).await.map_err(|e| e.to_string())?;
    let listing_direct = replay(&mut direct, &native, &listing.calls, None).await?;
    let patch_direct = replay(&mut direct, &native, &patch.calls, Some((&team.id, &spare_team.id))).await?;
    let members_after = om_team_size(&om, &spare_team)?;
    if members_after != o.bulk_members {
        return Err(format!("the replayed member PATCH left {members_after} members, not {}", o.bulk_members));
    }

    print_title(&format!(
        "bulk: {} users in the emulated OpenMetadata (seeded in {:.1} s), paged {} at a time through the gateway ({}), then one PATCH adding {} members to an empty group; direct: the same native calls replayed",
        o.bulk_users,
        seeded_in.as_secs_f64(),
        o.page_size,
        run.label(),
        o.bulk_members
    ));
    println!("{:<34} | {:>10} {:>12} | {:>10} | {:>6}", "work", "gateway s", "native calls", "direct s", "ratio");
    for (name, through, direct) in [
        (format!("list {} users", o.bulk_users), &listing, listing_direct),
        (format!("PATCH add {} members", o.bulk_members), &patch, patch_direct),
    ] {
        println!(
            "{name:<34} | {:>10.3} {:>12} | {:>10.3} | {:>6.2}",
            through.took.as_secs_f64(),
            through.calls.len(),
            direct.as_secs_f64(),
            through.took.as_secs_f64() / direct.as_secs_f64().max(f64::MIN_POSITIVE)
        );
    }
    println!(
        "gateway RSS: {} before, {} peak, growth {}",
        mib(before),
        mib(peak_kib),
        mib(peak_kib.saturating_sub(before))
    );
    Ok(())
}

/// An empty team: its id and name.
struct Team {
    id: String,
    name: String,
}

fn seed_team(om: &OpenMetadataEmulator) -> Result<Team, String> {
    let name = format!("bulk-{}", next_tag());
    let team =
        om.seed_team(json!({"name": name, "teamType": "Group"})).map_err(|e| format!("seeding a team: {e:?}"))?;
    Ok(Team { id: team["id"].as_str().unwrap_or_default().to_owned(), name })
}

/// Members of a team, read from the emulator's own store.
fn om_team_size(om: &OpenMetadataEmulator, team: &Team) -> Result<usize, String> {
    let t = om.team_by_name(&team.name).ok_or_else(|| format!("team {} is gone", team.name))?;
    Ok(t["users"].as_array().map_or(0, Vec::len))
}

async fn send_ok(conn: &mut Connection, req: Request<Full<Bytes>>) -> Result<Value, String> {
    let what = format!("{} {}", req.method(), req.uri());
    let resp = conn.send(req).await.map_err(|e| format!("{what}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{what}: {status}: {}", String::from_utf8_lossy(resp.body())));
    }
    if resp.body().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(resp.body()).map_err(|e| format!("{what}: {e}"))
}

/// Pages through every user with `startIndex` and `count`, as an IdP does on import.
async fn list_all(
    om: &OpenMetadataEmulator,
    endpoint: &Endpoint,
    conn: &mut Connection,
    expected: usize,
    page: usize,
) -> Result<Timed, String> {
    om.requests().clear();
    let started = Instant::now();
    let (mut seen, mut start) = (0, 1);
    loop {
        let path = format!("/Users?startIndex={start}&count={page}");
        let body = send_ok(conn, endpoint.request(Method::GET, &path, None)).await?;
        let n = body["Resources"].as_array().map_or(0, Vec::len);
        let total = body["totalResults"].as_u64().unwrap_or(0) as usize;
        seen += n;
        start += n;
        if n == 0 || start > total {
            break;
        }
    }
    let took = started.elapsed();
    if seen != expected {
        return Err(format!("listed {seen} users, expected {expected}"));
    }
    Ok(Timed { took, calls: om.requests().take() })
}

async fn add_members(
    om: &OpenMetadataEmulator,
    endpoint: &Endpoint,
    conn: &mut Connection,
    team: &Team,
    members: Vec<Value>,
) -> Result<Timed, String> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}]
    });
    let req = endpoint.request(
        Method::PATCH,
        &format!("/Groups/{}", team.id),
        Some((SCIM_JSON, body.to_string().into_bytes())),
    );
    om.requests().clear();
    let started = Instant::now();
    send_ok(conn, req).await?;
    let took = started.elapsed();
    let calls = om.requests().take();
    let size = om_team_size(om, team)?;
    if size != members.len() {
        return Err(format!("the group has {size} members after the PATCH, expected {}", members.len()));
    }
    Ok(Timed { took, calls })
}

/// Sends `calls` again, in order, and answers how long they took; `swap` replaces one id by
/// another in paths and bodies.
async fn replay(
    conn: &mut Connection,
    native: &Endpoint,
    calls: &[RecordedRequest],
    swap: Option<(&str, &str)>,
) -> Result<Duration, String> {
    let swap_in = |s: &str| swap.map_or_else(|| s.to_owned(), |(from, to)| s.replace(from, to));
    let mut requests = Vec::with_capacity(calls.len());
    for c in calls {
        let uri = match &c.query {
            Some(q) => format!("{}?{q}", swap_in(&c.path)),
            None => swap_in(&c.path),
        };
        let body = swap_in(&String::from_utf8_lossy(&c.body));
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = c.method.clone();
        *req.uri_mut() = uri.parse().map_err(|e| format!("{uri}: {e}"))?;
        let h = req.headers_mut();
        h.insert(HOST, HeaderValue::from_str(&native.addr.to_string()).map_err(|e| e.to_string())?);
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {OM_TOKEN}")).map_err(|e| e.to_string())?);
        if let Some(ct) = c.headers.get(CONTENT_TYPE) {
            h.insert(CONTENT_TYPE, ct.clone());
        }
        requests.push(req);
    }
    let started = Instant::now();
    for req in requests {
        send_ok(conn, req).await?;
    }
    Ok(started.elapsed())
}
