//! The sections of a run; each starts what it measures and prints its table.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use scimgate::emulator::{OpenMetadataConfig, OpenMetadataEmulator};
use serde_json::json;

use crate::credentials::Credentials;
use crate::drive::{Connection, Iteration, Pace, drive, iteration, median, next_sequence};
use crate::gateway::{Gateway, Launch, route};
use crate::options::Options;
use crate::procfs::rss_kib;
use crate::report::{self, Summary, mib};
use crate::seed;
use crate::side::{Groups, Side, measure, next_tag};
use crate::workloads::{self, Api, Endpoint, Kind, SeedUser, native_name};

const OM_TOKEN: &str = "openmetadata-emulator-token";
const BACKEND_TOKEN: &str = "scim-backend-token";

/// What every section shares.
pub struct Run {
    pub o: Options,
    pub dir: PathBuf,
    pub creds: Credentials,
    pub launch: Launch,
}

impl Run {
    pub(crate) fn gateway_endpoint(&self, gw: &Gateway, route: &str) -> Result<Arc<Endpoint>, String> {
        Endpoint::from_url(&format!("{}/{route}/scim/v2", gw.origin()), &self.creds.authorization).map(Arc::new)
    }

    /// The load's credential, the measured gateway's threads when set, and a fixed rate.
    pub(crate) fn label(&self) -> String {
        let threads = match self.launch.threads {
            Some(1) => ", 1 worker thread".to_owned(),
            Some(n) => format!(", {n} worker threads"),
            None => String::new(),
        };
        let pace = match self.o.pace {
            Pace::Closed => String::new(),
            Pace::Rate(r) => format!("; {r:.0} iterations/s offered on each side, latency from each one's due time"),
        };
        format!("{}{threads}{pace}", self.creds.label)
    }

    fn concurrency_for_seeding(&self) -> usize {
        self.o.concurrency.iter().copied().max().unwrap_or(16).min(64)
    }
}

/// The emulated OpenMetadata with `n` users (`user{i}@example.com`) stored.
pub async fn openmetadata_with_users(n: usize) -> Result<(OpenMetadataEmulator, Vec<SeedUser>), String> {
    let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await.map_err(|e| e.to_string())?;
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let user_name = format!("user{i}@example.com");
        let u = om
            .seed_user(json!({
                "name": native_name(&user_name),
                "email": user_name,
                "scimUserName": user_name,
                "displayName": format!("User {i}"),
            }))
            .map_err(|e| format!("seeding a user: {e:?}"))?;
        users.push(SeedUser { id: u["id"].as_str().unwrap_or_default().to_owned(), user_name });
    }
    Ok((om, users))
}

pub(crate) fn openmetadata_target(om: &OpenMetadataEmulator) -> String {
    format!(
        "{{ kind: mapping, file: \"builtin:openmetadata\", backend: {{ base_url: \"{}/api\", auth: {{ type: bearer, token: {OM_TOKEN} }} }} }}",
        om.base_url()
    )
}

/// Samples a process's RSS every 50 ms and keeps the largest.
pub(crate) struct PeakRss {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl PeakRss {
    pub(crate) fn watch(pid: u32) -> PeakRss {
        let (peak, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(pid).unwrap_or(0), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        PeakRss { peak, stop }
    }

    pub(crate) fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed)
    }
}

/// Sends a few requests so that connections, caches (the JWKS) and lazy state are warm, and
/// fails early when the gateway refuses the load's requests.
async fn warm_up(side: &Side<'_>) -> Result<(), String> {
    let s = side.run(Kind::GetById, 4, Duration::from_millis(300), Pace::Closed).await?;
    if s.errors > 0 || s.requests == 0 {
        return Err(format!("warm-up: {} of {} requests failed", s.errors, s.requests));
    }
    Ok(())
}

pub(crate) fn print_title(title: &str) {
    println!("\n== {title}");
}

/// The emulated OpenMetadata called directly. It runs in this process, beside the load
/// generator: their CPU time is one figure.
pub(crate) fn openmetadata_direct(om: &OpenMetadataEmulator, users: Arc<Vec<SeedUser>>) -> Result<Side<'_>, String> {
    Ok(Side {
        endpoint: Arc::new(Endpoint::from_url(&om.api_url(), &format!("Bearer {OM_TOKEN}"))?),
        api: Api::OpenMetadata,
        users,
        groups: Groups::Emulator(om),
        cpu_of: Some(std::process::id()),
    })
}

/// A second scimgate on the memory target (never wrapped, default threads, no Server-Timing: only
/// what is in front of it is measured), with `--users` users seeded, and the side that calls it
/// directly.
pub(crate) async fn memory_backend(run: &Run) -> Result<(Gateway, Side<'static>), String> {
    let auth = format!("{{ tokens: [{{ name: front, value: {BACKEND_TOKEN} }}] }}");
    let no_wrap = Launch { wrap: Vec::new(), threads: None, server_timing: false, ..run.launch.clone() };
    let backend = Gateway::start(&run.dir, "backend", &route("app", "{ kind: memory }", &auth), &no_wrap).await?;
    let endpoint = Arc::new(Endpoint::from_url(&backend_scim_url(&backend), &format!("Bearer {BACKEND_TOKEN}"))?);
    let (users, _) = seed::users(&endpoint, run.o.users, run.concurrency_for_seeding(), &next_tag()).await?;
    let direct =
        Side { endpoint, api: Api::Scim, users: Arc::new(users), groups: Groups::Scim, cpu_of: Some(backend.pid()) };
    Ok((backend, direct))
}

fn backend_scim_url(backend: &Gateway) -> String {
    format!("{}/app/scim/v2", backend.origin())
}

/// The side-by-side table: every workload at every concurrency, through `front` and straight at
/// `direct`; returns how many requests through `front` failed.
pub(crate) async fn side_by_side(o: &Options, front: &Side<'_>, direct: &Side<'_>) -> Result<u64, String> {
    report::side_by_side_header("direct/s");
    let mut errors = 0;
    for &kind in &o.workloads {
        for &c in &o.concurrency {
            let (f, d) = measure(kind, c, front, Some(direct), o.repeat, o.duration, o.pace).await?;
            errors += f.errors;
            report::side_by_side_row(kind.name(), c, &f, d.as_ref());
        }
    }
    Ok(errors)
}

/// Each workload through the gateway and straight at the emulated OpenMetadata.
pub async fn openmetadata(run: &Run) -> Result<(), String> {
    let o = &run.o;
    let (om, users) = openmetadata_with_users(o.users).await?;
    let users = Arc::new(users);
    let gw = Gateway::start(
        &run.dir,
        "openmetadata",
        &route("om", &openmetadata_target(&om), &run.creds.route_auth),
        &run.launch,
    )
    .await?;
    let idle = gw.rss_kib().unwrap_or(0);
    let gateway = Side {
        endpoint: run.gateway_endpoint(&gw, "om")?,
        api: Api::Scim,
        users: Arc::clone(&users),
        groups: Groups::Emulator(&om),
        cpu_of: Some(gw.pid()),
    };
    let direct = openmetadata_direct(&om, users)?;
    warm_up(&gateway).await?;
    let warm = gw.rss_kib().unwrap_or(0);
    print_title(&format!(
        "gateway (scimgate serve, mapping builtin:openmetadata, {}) vs the emulated OpenMetadata called directly; {} users stored; {:.1} s per run, median of {}",
        run.label(),
        o.users,
        o.duration.as_secs_f64(),
        o.repeat
    ));
    println!(
        "cpu us: CPU time per request of the gateway process; direct: of this process (load generator and emulator)"
    );
    if o.show_calls {
        show_native_calls(&om, &gateway).await?;
    }
    let peak = PeakRss::watch(gw.pid());
    let errors = side_by_side(o, &gateway, &direct).await?;
    let peak = peak.finish().max(warm);
    println!("gateway RSS: idle {} (ready), {} (after warm-up), peak {}", mib(idle), mib(warm), mib(peak));
    gw.stop();
    if errors > 0 { Err(format!("{errors} requests through the gateway failed")) } else { Ok(()) }
}

/// Prints, for one request of each workload, the native calls the emulator received.
async fn show_native_calls(om: &OpenMetadataEmulator, gateway: &Side<'_>) -> Result<(), String> {
    println!("native calls the gateway makes for one request of each workload:");
    for &kind in &Kind::ALL {
        om.requests().clear();
        let fixture =
            workloads::Fixture { users: Arc::clone(&gateway.users), group: first_team(om, kind)?, tag: next_tag() };
        let make = workloads::requests(kind, Api::Scim, Arc::clone(&gateway.endpoint), fixture)?;
        let mut conn = Connection::open(gateway.endpoint.addr).await.map_err(|e| e.to_string())?;
        let req = make(next_sequence(), 0, &[]).ok_or("no request")?;
        let resp = conn.send(req).await.map_err(|e| e.to_string())?;
        let calls: Vec<String> = om
            .requests()
            .take()
            .iter()
            .map(|r| {
                let body = String::from_utf8_lossy(&r.body[..r.body.len().min(160)]).into_owned();
                format!("{} {} {body}", r.method, r.path_and_query().trim_start_matches("/api"))
            })
            .collect();
        println!("  {} -> {}", kind.name(), resp.status().as_u16());
        for c in calls {
            println!("      {c}");
        }
    }
    Ok(())
}

/// A fresh team for the member-add example, empty otherwise.
fn first_team(om: &OpenMetadataEmulator, kind: Kind) -> Result<String, String> {
    if kind != Kind::AddMember {
        return Ok(String::new());
    }
    let team = om
        .seed_team(json!({"name": format!("calls-{}", next_tag()), "teamType": "Group"}))
        .map_err(|e| format!("seeding a team: {e:?}"))?;
    Ok(team["id"].as_str().unwrap_or_default().to_owned())
}

/// The SCIM-to-SCIM mapping in front of a second scimgate on the memory target.
pub async fn proxy(run: &Run) -> Result<(), String> {
    let o = &run.o;
    let (backend, direct) = memory_backend(run).await?;
    let backend_url = backend_scim_url(&backend);
    let target = format!(
        "{{ kind: mapping, file: \"builtin:scim\", backend: {{ base_url: \"{backend_url}\", auth: {{ type: bearer, token: {BACKEND_TOKEN} }} }} }}"
    );
    let front = Gateway::start(&run.dir, "proxy", &route("proxy", &target, &run.creds.route_auth), &run.launch).await?;
    let gateway = Side {
        endpoint: run.gateway_endpoint(&front, "proxy")?,
        api: Api::Scim,
        users: Arc::clone(&direct.users),
        groups: Groups::Scim,
        cpu_of: Some(front.pid()),
    };
    warm_up(&gateway).await?;
    print_title(&format!(
        "SCIM-to-SCIM: gateway (mapping builtin:scim, {}) in front of scimgate on the memory target vs that backend called directly (static token); {} users stored; {:.1} s per run, median of {}",
        run.label(),
        o.users,
        o.duration.as_secs_f64(),
        o.repeat
    ));
    println!("cpu us: CPU time per request of the front gateway process; direct: of the backend scimgate process");
    let peak = PeakRss::watch(front.pid());
    let errors = side_by_side(o, &gateway, &direct).await?;
    println!("front gateway RSS: peak {}", mib(peak.finish()));
    front.stop();
    backend.stop();
    if errors > 0 { Err(format!("{errors} requests through the gateway failed")) } else { Ok(()) }
}

/// Figures of the peer gateway's in-memory plugin at 64 connections (wrk, this machine):
/// GET by id, `userName eq` filter, create (upper end of its range).
fn peer_figure(stored: usize, kind: Kind, conns: usize) -> Option<f64> {
    if conns != 64 {
        return None;
    }
    match (stored >= 10_000, kind) {
        (true, Kind::GetById) => Some(3_000.0),
        (true, Kind::Filter) => Some(1_500.0),
        (true, Kind::Create) => Some(670.0),
        (false, Kind::GetById) if stored <= 100 => Some(10_000.0),
        _ => None,
    }
}

/// The memory target alone, at each store size.
pub async fn memory(run: &Run) -> Result<(), String> {
    let o = &run.o;
    print_title(&format!(
        "memory target alone ({}); reference: the peer gateway's in-memory plugin at 64 connections; {:.1} s per run, median of {}",
        run.label(),
        o.duration.as_secs_f64(),
        o.repeat
    ));
    let kinds: Vec<Kind> =
        o.workloads.iter().copied().filter(|k| matches!(k, Kind::GetById | Kind::Filter | Kind::Create)).collect();
    report::single_header();
    let mut errors = 0;
    let mut notes = Vec::new();
    for &size in &o.memory_sizes {
        // An "empty" store still needs someone to read.
        let stored = size.max(10);
        let gw =
            Gateway::start(&run.dir, "memory", &route("mem", "{ kind: memory }", &run.creds.route_auth), &run.launch)
                .await?;
        let endpoint = run.gateway_endpoint(&gw, "mem")?;
        let (users, took) = seed::users(&endpoint, stored, 64, &next_tag()).await?;
        let side =
            Side { endpoint, api: Api::Scim, users: Arc::new(users), groups: Groups::Scim, cpu_of: Some(gw.pid()) };
        warm_up(&side).await?;
        let seeded = gw.rss_kib().unwrap_or(0);
        for &kind in &kinds {
            for &c in &o.concurrency {
                let (s, _) = measure(kind, c, &side, None, o.repeat, o.duration, o.pace).await?;
                errors += s.errors;
                report::single_row(stored, kind.name(), c, &s, peer_figure(stored, kind, c));
            }
        }
        notes.push(format!(
            "{stored} users: seeded over 64 connections at {:.0} creates/s; RSS {} after seeding, {} at the end",
            stored as f64 / took.as_secs_f64().max(f64::MIN_POSITIVE),
            mib(seeded),
            mib(gw.rss_kib().unwrap_or(0))
        ));
        gw.stop();
    }
    for n in notes {
        println!("{n}");
    }
    if errors > 0 { Err(format!("{errors} requests failed")) } else { Ok(()) }
}

/// The SCIM workloads against any SCIM service.
pub async fn scim_url(run: &Run, url: &str, token: &str) -> Result<(), String> {
    let o = &run.o;
    let endpoint = Arc::new(Endpoint::from_url(url, &format!("Bearer {token}"))?);
    let (users, took) = seed::users(&endpoint, o.users, run.concurrency_for_seeding(), &next_tag()).await?;
    let side = Side { endpoint, api: Api::Scim, users: Arc::new(users), groups: Groups::Scim, cpu_of: None };
    warm_up(&side).await?;
    print_title(&format!(
        "{url}: {} users seeded at {:.0} creates/s; {:.1} s per run, median of {}",
        o.users,
        o.users as f64 / took.as_secs_f64().max(f64::MIN_POSITIVE),
        o.duration.as_secs_f64(),
        o.repeat
    ));
    report::single_header();
    for &kind in &o.workloads {
        for &c in &o.concurrency {
            let (s, _) = measure(kind, c, &side, None, o.repeat, o.duration, o.pace).await?;
            report::single_row(o.users, kind.name(), c, &s, None);
        }
    }
    Ok(())
}

/// Process start to the first 200 from `/readyz`, with the OpenMetadata mapping and a memory route.
pub async fn startup(run: &Run) -> Result<(), String> {
    let o = &run.o;
    let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await.map_err(|e| e.to_string())?;
    let routes = format!(
        "{}{}",
        route("om", &openmetadata_target(&om), &run.creds.route_auth),
        route("mem", "{ kind: memory }", &run.creds.route_auth)
    );
    let (mut times, mut rss) = (Vec::new(), Vec::new());
    for _ in 0..o.startup_runs {
        let gw = Gateway::start(&run.dir, "startup", &routes, &run.launch).await?;
        times.push(gw.startup.as_secs_f64() * 1000.0);
        rss.push(gw.rss_kib().unwrap_or(0) as f64);
        gw.stop();
    }
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    let max = times.iter().copied().fold(0.0, f64::max);
    print_title(&format!(
        "start-up ({} starts; routes: builtin:openmetadata mapping and memory; {})",
        o.startup_runs,
        run.label()
    ));
    println!(
        "process start to /readyz 200: median {:.1} ms (min {min:.1}, max {max:.1}); RSS when ready: median {}",
        median(times),
        mib(median(rss) as u64)
    );
    Ok(())
}

/// The gateway's RSS with many keep-alive connections open, idle and then all busy at once.
pub async fn connections(run: &Run) -> Result<(), String> {
    let o = &run.o;
    let (om, users) = openmetadata_with_users(100).await?;
    let gw = Gateway::start(
        &run.dir,
        "connections",
        &route("om", &openmetadata_target(&om), &run.creds.route_auth),
        &run.launch,
    )
    .await?;
    let endpoint = run.gateway_endpoint(&gw, "om")?;
    let side = Side {
        endpoint: Arc::clone(&endpoint),
        api: Api::Scim,
        users: Arc::new(users),
        groups: Groups::Emulator(&om),
        cpu_of: Some(gw.pid()),
    };
    warm_up(&side).await?;
    let idle = gw.rss_kib().unwrap_or(0);
    let make = workloads::requests(
        Kind::GetById,
        Api::Scim,
        Arc::clone(&endpoint),
        workloads::Fixture { users: Arc::clone(&side.users), group: String::new(), tag: next_tag() },
    )?;
    let mut conns = Vec::with_capacity(o.connections);
    let mut errors = 0;
    for _ in 0..o.connections {
        let mut c = Connection::open(endpoint.addr).await.map_err(|e| format!("opening a connection: {e}"))?;
        if !matches!(iteration(&mut c, &make, next_sequence()).await, Ok(Iteration { ok: true, .. })) {
            errors += 1;
        }
        conns.push(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let open_idle = gw.rss_kib().unwrap_or(0);
    let peak = PeakRss::watch(gw.pid());
    let mut tasks = Vec::with_capacity(conns.len());
    for mut c in conns {
        let make = Arc::clone(&make);
        tasks.push(tokio::spawn(async move {
            let ok = matches!(iteration(&mut c, &make, next_sequence()).await, Ok(Iteration { ok: true, .. }));
            (c, ok)
        }));
    }
    let mut conns = Vec::with_capacity(tasks.len());
    for t in tasks {
        let (c, ok) = t.await.map_err(|e| e.to_string())?;
        errors += u64::from(!ok);
        conns.push(c);
    }
    let busy = gw.rss_kib().unwrap_or(0);
    let peak = peak.finish().max(busy);
    // And a sustained load over as many connections (new ones: the idle ones are closed first,
    // so that 1,000 are open, not 2,000), as the IdP side of a large deployment would.
    drop(conns);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sustained_peak = PeakRss::watch(gw.pid());
    let sustained =
        drive(endpoint.addr, &make, o.connections, o.duration.min(Duration::from_secs(3)), Pace::Closed).await;
    let after = sustained_peak.finish().max(gw.rss_kib().unwrap_or(0));
    print_title(&format!(
        "{} keep-alive connections to the gateway (OpenMetadata route, {})",
        o.connections,
        run.label()
    ));
    println!(
        "RSS: {} before, {} with {} idle connections open, {} peak with all sending at once, {} peak over {} s of load on {} connections ({:.0} req/s, p99 {:.1} ms, {} errors); {} errors in the single-request rounds",
        mib(idle),
        mib(open_idle),
        o.connections,
        mib(peak),
        mib(after),
        o.duration.min(Duration::from_secs(3)).as_secs_f64(),
        o.connections,
        sustained.rps(),
        Summary::of(&[sustained]).p99_ms,
        sustained.errors,
        errors
    );
    gw.stop();
    Ok(())
}
