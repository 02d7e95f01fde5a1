//! A side-by-side load harness: each SCIM workload runs through the gateway (a real `scimgate
//! serve` child process in front of an emulated OpenMetadata) and straight at the emulator with
//! the equivalent native call, in the same run, and the table prints the ratio.
//!
//! `scimgate-load [--duration SECS] [--concurrency 1,16,64] [--smoke]`
//! `scimgate-load --scim-url URL --token T` aims the SCIM workloads at any SCIM service instead.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use scimgate::emulator::{OpenMetadataConfig, OpenMetadataEmulator};
use serde_json::json;

const TOKEN: &str = "load-harness-token";
const OM_TOKEN: &str = "openmetadata-emulator-token";

struct Options {
    duration: Duration,
    concurrency: Vec<usize>,
    scim_url: Option<String>,
    token: String,
    users: usize,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        duration: Duration::from_secs(5),
        concurrency: vec![1, 16, 64],
        scim_url: None,
        token: TOKEN.to_owned(),
        users: 1000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--duration" => o.duration = Duration::from_secs_f64(value()?.parse().map_err(|e| format!("{e}"))?),
            "--concurrency" => {
                o.concurrency = value()?
                    .split(',')
                    .map(|c| c.trim().parse().map_err(|e| format!("{e}")))
                    .collect::<Result<_, _>>()?
            }
            "--users" => o.users = value()?.parse().map_err(|e| format!("{e}"))?,
            "--scim-url" => o.scim_url = Some(value()?),
            "--token" => o.token = value()?,
            "--smoke" => {
                o.duration = Duration::from_millis(300);
                o.concurrency = vec![1, 4];
                o.users = 50;
            }
            "-h" | "--help" => {
                println!(
                    "scimgate-load [--duration SECS] [--concurrency 1,16,64] [--users N] [--smoke] [--scim-url URL --token T]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

/// One HTTP request of a workload; `i` makes each request distinct where the workload needs it.
type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

struct Cell {
    requests: u64,
    errors: u64,
    p50_us: u64,
    p99_us: u64,
    elapsed: Duration,
}

impl Cell {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Numbers requests across all cells, so each create names a new user.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

async fn drive(client: &reqwest::Client, make: &MakeRequest, concurrency: usize, duration: Duration) -> Cell {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, make) = (client.clone(), Arc::clone(make));
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let i = SEQUENCE.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                match make(&client, i).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                lat.push(t.elapsed().as_micros() as u64);
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0);
    Cell { requests: all.len() as u64, errors, p50_us: pct(0.5), p99_us: pct(0.99), elapsed }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `scimgate serve` in front of the emulator, as a child process (so its RSS is its own).
fn start_gateway(om_base: &str, dir: &std::path::Path) -> Result<(Child, String), String> {
    let settings = format!(
        "listen: 127.0.0.1:0\naudit: {{ to: off }}\nroutes:\n  om:\n    target:\n      kind: mapping\n      file: builtin:openmetadata\n      backend:\n        base_url: {om_base}/api\n        auth: {{ type: bearer, token: {OM_TOKEN} }}\n        concurrency: 256\n    auth:\n      tokens: [{{ name: load, value: {TOKEN} }}]\n"
    );
    let file = dir.join("scimgate.yaml");
    std::fs::write(&file, settings).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let binary = exe.with_file_name("scimgate");
    let mut child = Command::new(&binary)
        .args(["serve", "--config"])
        .arg(&file)
        .env("SCIMGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(url) = line.strip_prefix("listening on ") {
            return Ok((child, format!("{url}/om/scim/v2")));
        }
    }
    Err("the gateway exited before listening".into())
}

struct Workload {
    name: &'static str,
    gateway: MakeRequest,
    direct: Option<MakeRequest>,
}

/// The application behind the gateway, for the direct calls: its base URL, the seeded users (id,
/// userName) and a group id.
struct Native<'a> {
    base: &'a str,
    users: &'a [(String, String)],
    group: &'a str,
}

fn workloads(scim: &str, token: &str, native: Option<Native<'_>>) -> Vec<Workload> {
    let (s, t) = (scim.to_owned(), token.to_owned());
    let user = |i: u64| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("load{i}-{}@example.com", std::process::id()), "emails": [{"value": format!("load{i}@example.com"), "primary": true}]});
    let mut out = Vec::new();
    let (ids, group) = match &native {
        Some(n) => (n.users.to_vec(), n.group.to_owned()),
        None => (Vec::new(), String::new()),
    };
    let ids = Arc::new(ids);
    let pick = {
        let ids = Arc::clone(&ids);
        move |i: u64| ids.get(i as usize % ids.len().max(1)).cloned().unwrap_or_default()
    };
    let om = native.map(|n| n.base.to_owned()).unwrap_or_default();
    macro_rules! req {
        ($f:expr) => {
            Arc::new($f) as MakeRequest
        };
    }
    {
        let (s, t, pick, om, pick2) = (s.clone(), t.clone(), pick.clone(), om.clone(), pick.clone());
        out.push(Workload {
            name: "GET user by id",
            gateway: req!(move |c: &reqwest::Client, i| c.get(format!("{s}/Users/{}", pick(i).0)).bearer_auth(&t)),
            direct: (!om.is_empty()).then(|| {
                req!(move |c: &reqwest::Client, i| c
                    .get(format!("{om}/api/v1/users/{}?fields=teams,roles&include=all", pick2(i).0))
                    .bearer_auth(OM_TOKEN))
            }),
        });
    }
    {
        let (s, t, pick, om, pick2) = (s.clone(), t.clone(), pick.clone(), om.clone(), pick.clone());
        out.push(Workload {
            name: "userName eq filter",
            gateway: req!(move |c: &reqwest::Client, i| c
                .get(format!("{s}/Users?filter=userName%20eq%20%22{}%22", pick(i).1.replace('@', "%40")))
                .bearer_auth(&t)),
            direct: (!om.is_empty()).then(|| {
                req!(move |c: &reqwest::Client, i| c
                    .get(format!(
                        "{om}/api/v1/users/name/{}?fields=teams,roles&include=all",
                        pick2(i).1.replace('@', "_")
                    ))
                    .bearer_auth(OM_TOKEN))
            }),
        });
    }
    {
        let (s, t, om) = (s.clone(), t.clone(), om.clone());
        out.push(Workload {
            name: "POST create user",
            gateway: req!(move |c: &reqwest::Client, i| c.post(format!("{s}/Users")).bearer_auth(&t).json(&user(i))),
            direct: (!om.is_empty()).then(|| {
                req!(move |c: &reqwest::Client, i| c
                    .post(format!("{om}/api/v1/users"))
                    .bearer_auth(OM_TOKEN)
                    .json(&json!({"name": format!("direct{i}-{}", std::process::id()), "email": format!("direct{i}@example.com")})))
            }),
        });
    }
    {
        let (s, t, pick, om, pick2) = (s.clone(), t.clone(), pick.clone(), om.clone(), pick.clone());
        out.push(Workload {
            name: "PATCH replace 2 attributes",
            gateway: req!(move |c: &reqwest::Client, i| c
                .patch(format!("{s}/Users/{}", pick(i).0))
                .bearer_auth(&t)
                .header("content-type", "application/scim+json")
                .body(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                    {"op": "replace", "path": "displayName", "value": format!("Name {i}")},
                    {"op": "replace", "path": "active", "value": true}]})
                    .to_string()
                )),
            direct: (!om.is_empty()).then(|| {
                req!(move |c: &reqwest::Client, i| c
                    .patch(format!("{om}/api/v1/users/{}", pick2(i).0))
                    .bearer_auth(OM_TOKEN)
                    .header("content-type", "application/json-patch+json")
                    .body(json!([{"op": "add", "path": "/displayName", "value": format!("Name {i}")}]).to_string()))
            }),
        });
    }
    if !group.is_empty() {
        let (s, t, pick, om, pick2, g, g2) = (s, t, pick.clone(), om, pick, group.clone(), group);
        out.push(Workload {
            name: "PATCH add 1 member",
            gateway: req!(move |c: &reqwest::Client, i| c
                .patch(format!("{s}/Groups/{g}"))
                .bearer_auth(&t)
                .header("content-type", "application/scim+json")
                .body(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": pick(i).0}]}]})
                    .to_string()
                )),
            direct: Some(req!(move |c: &reqwest::Client, i| c
                .put(format!("{om}/api/v1/teams/{g2}/users"))
                .bearer_auth(OM_TOKEN)
                .json(&json!([{"id": pick2(i).0, "type": "user"}])))),
        });
    }
    out
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

async fn run(o: Options) -> Result<(), String> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(512).build().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("scimgate-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (workloads, gateway, _om) = match &o.scim_url {
        Some(url) => (workloads(url, &o.token, None), None, None),
        None => {
            let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await.map_err(|e| e.to_string())?;
            let mut ids = Vec::new();
            for i in 0..o.users {
                let u = om
                    .seed_user(json!({"name": format!("user{i}_example.com"), "email": format!("user{i}@example.com"), "scimUserName": format!("user{i}@example.com")}))
                    .map_err(|e| format!("{e:?}"))?;
                ids.push((u["id"].as_str().unwrap_or_default().to_owned(), format!("user{i}@example.com")));
            }
            let team = om.seed_team(json!({"name": "load-team", "teamType": "Group"})).map_err(|e| format!("{e:?}"))?;
            let team_id = team["id"].as_str().unwrap_or_default().to_owned();
            let (child, url) = start_gateway(&om.base_url(), &dir)?;
            let base = om.base_url();
            let w = workloads(&url, TOKEN, Some(Native { base: &base, users: &ids, group: &team_id }));
            (w, Some(child), Some(om))
        }
    };
    let pid = gateway.as_ref().map(Child::id);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = pid.and_then(rss_kib);
    let mut peak = idle.unwrap_or(0);
    println!(
        "{:<28} {:>5} | {:>9} {:>8} {:>8} {:>6} | {:>9} {:>8} {:>8} | {:>6}",
        "workload", "conns", "gw req/s", "p50 ms", "p99 ms", "errors", "direct/s", "p50 ms", "p99 ms", "ratio"
    );
    let mut failures = 0;
    for w in &workloads {
        for &c in &o.concurrency {
            let g = drive(&client, &w.gateway, c, o.duration).await;
            peak = peak.max(pid.and_then(rss_kib).unwrap_or(0));
            failures += g.errors;
            match &w.direct {
                Some(d) => {
                    let n = drive(&client, d, c, o.duration).await;
                    println!(
                        "{:<28} {:>5} | {:>9.0} {:>8} {:>8} {:>6} | {:>9.0} {:>8} {:>8} | {:>6.2}",
                        w.name,
                        c,
                        g.rps(),
                        ms(g.p50_us),
                        ms(g.p99_us),
                        g.errors,
                        n.rps(),
                        ms(n.p50_us),
                        ms(n.p99_us),
                        g.rps() / n.rps().max(f64::MIN_POSITIVE)
                    );
                }
                None => println!(
                    "{:<28} {:>5} | {:>9.0} {:>8} {:>8} {:>6} |",
                    w.name,
                    c,
                    g.rps(),
                    ms(g.p50_us),
                    ms(g.p99_us),
                    g.errors
                ),
            }
        }
    }
    if let Some(idle) = idle {
        println!("gateway RSS: idle {:.1} MiB, peak {:.1} MiB", idle as f64 / 1024.0, peak as f64 / 1024.0);
    }
    if let Some(mut child) = gateway {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failures > 0 { Err(format!("{failures} requests through the gateway failed")) } else { Ok(()) }
}

fn main() {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("scimgate-load: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    if let Err(e) = runtime.block_on(run(options)) {
        eprintln!("scimgate-load: {e}");
        std::process::exit(1);
    }
}
