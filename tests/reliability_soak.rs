//! Soak: the real `scimgate` binary (a child process, as operators run it) in front of an emulated
//! OpenMetadata, under mixed SCIM traffic at a steady rate (user create, read, filter, PATCH,
//! group member add and remove, group read, list, disable, delete: each cycle leaves nothing
//! behind, so the work stays the same from start to end). The gateway's resident memory and open
//! file descriptors are sampled from /proc/PID/status and /proc/PID/fd.
//!
//! Asserted: every request gets its expected answer (no errors), the open descriptors at the end
//! are no more than after warm-up plus a small slack (no leak), and resident memory shows no growth
//! trend: the mean of the last quarter of the samples is within the allowed growth of the mean of
//! the first quarter after warm-up.
//!
//! Always: 20 s at 40 requests/s. `SCIMGATE_LONG_TESTS=1`: 10 minutes; with
//! `SCIMGATE_SOAK_CSV=<file>` the samples are also written there (seconds, RSS KiB, fds, requests).

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use scimgate::emulator::{OpenMetadataConfig, OpenMetadataEmulator};
use serde_json::{Value, json};

const TOKEN: &str = "soak-idp-token";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const RATE_PER_SEC: u64 = 40;

/// One reading of the gateway process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    requests: u64,
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).expect("read /proc/PID/fd").count()
}

fn mean(xs: &[u64]) -> f64 {
    xs.iter().sum::<u64>() as f64 / xs.len().max(1) as f64
}

/// The traffic: one request per call of [`Traffic::next`], cycling through a fixed mix.
struct Traffic {
    http: Client,
    base: String,
    group: String,
    step: u64,
    user: Option<String>,
    served: u64,
    errors: Vec<String>,
}

impl Traffic {
    async fn send(&mut self, method: Method, path: &str, body: Option<Value>, expect: &[u16]) -> Value {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        self.served += 1;
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                if !expect.contains(&status) {
                    self.errors.push(format!("{method} {path}: {status} {body}"));
                }
                body
            }
            Err(e) => {
                self.errors.push(format!("{method} {path}: {e}"));
                Value::Null
            }
        }
    }

    async fn next(&mut self) {
        let cycle = self.step / 10;
        let name = format!("soak{cycle}@example.com");
        let user_path = self.user.as_ref().map(|id| format!("/Users/{id}")).unwrap_or_default();
        let group_path = format!("/Groups/{}", self.group);
        let patch = |ops: Value| Some(json!({"schemas": [PATCH_OP], "Operations": ops}));
        match self.step % 10 {
            0 => {
                let body = json!({"schemas": [USER], "userName": name, "displayName": "Soak",
                    "emails": [{"value": name, "type": "work", "primary": true}], "active": true});
                let created = self.send(Method::POST, "/Users", Some(body), &[201]).await;
                self.user = created["id"].as_str().map(str::to_owned);
            }
            1 => {
                self.send(Method::GET, &user_path, None, &[200]).await;
            }
            2 => {
                let filter = format!("userName%20eq%20%22{}%22", name.replace('@', "%40"));
                self.send(Method::GET, &format!("/Users?filter={filter}"), None, &[200]).await;
            }
            3 => {
                let ops = json!([{"op": "Replace", "path": "displayName", "value": format!("Soak {cycle}")}]);
                self.send(Method::PATCH, &user_path, patch(ops), &[200, 204]).await;
            }
            4 => {
                let id = self.user.clone().unwrap_or_default();
                let ops = json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]);
                self.send(Method::PATCH, &group_path, patch(ops), &[200, 204]).await;
            }
            5 => {
                let path = format!("{group_path}?excludedAttributes=members");
                self.send(Method::GET, &path, None, &[200]).await;
            }
            6 => {
                let id = self.user.clone().unwrap_or_default();
                let ops = json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
                self.send(Method::PATCH, &group_path, patch(ops), &[200, 204]).await;
            }
            7 => {
                self.send(Method::GET, "/Users?startIndex=1&count=10", None, &[200]).await;
            }
            8 => {
                let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
                self.send(Method::PATCH, &user_path, patch(ops), &[200, 204]).await;
            }
            _ => {
                self.send(Method::DELETE, &user_path, None, &[204]).await;
                self.user = None;
            }
        }
        self.step += 1;
    }
}

async fn soak(duration: Duration, warmup: Duration, every: Duration, max_growth: f64) {
    let om = OpenMetadataEmulator::start(OpenMetadataConfig::default()).await.expect("emulator starts");
    let yaml = format!(
        "listen: 127.0.0.1:0\naudit: {{ to: \"off\" }}\nroutes:\n  om:\n    target:\n      kind: mapping\n      file: builtin:openmetadata\n      backend:\n        base_url: {}/api\n        auth: {{ type: bearer, token: openmetadata-emulator-token }}\n    auth:\n      tokens: [{{ name: idp, value: {TOKEN} }}]\n",
        om.base_url()
    );
    let gw = support::Gateway::serve(&yaml, "om", TOKEN);
    let pid = gw.pid();
    let http = Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let group: Value = http
        .post(format!("{}/Groups", gw.base_url))
        .bearer_auth(TOKEN)
        .json(&json!({"schemas": [GROUP], "displayName": "soak-team"}))
        .send()
        .await
        .expect("group created")
        .json()
        .await
        .expect("group body");
    let group = group["id"].as_str().expect("group id").to_owned();
    let mut traffic =
        Traffic { http, base: gw.base_url.clone(), group, step: 0, user: None, served: 0, errors: Vec::new() };

    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SEC));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next_sample = Duration::ZERO;
    while started.elapsed() < duration {
        ticker.tick().await;
        traffic.next().await;
        if started.elapsed() >= next_sample {
            samples.push(Sample {
                at: started.elapsed(),
                rss_kib: rss_kib(pid),
                fds: fd_count(pid),
                requests: traffic.served,
            });
            next_sample += every;
        }
    }
    samples.push(Sample { at: started.elapsed(), rss_kib: rss_kib(pid), fds: fd_count(pid), requests: traffic.served });

    println!("{:>8} {:>10} {:>5} {:>9}", "seconds", "RSS KiB", "fds", "requests");
    for s in &samples {
        println!("{:>8.0} {:>10} {:>5} {:>9}", s.at.as_secs_f64(), s.rss_kib, s.fds, s.requests);
    }
    if let Ok(path) = std::env::var("SCIMGATE_SOAK_CSV") {
        let mut csv = String::from("seconds,rss_kib,fds,requests\n");
        for s in &samples {
            csv.push_str(&format!("{:.0},{},{},{}\n", s.at.as_secs_f64(), s.rss_kib, s.fds, s.requests));
        }
        std::fs::write(&path, csv).expect("write the samples");
    }

    let rate = traffic.served as f64 / started.elapsed().as_secs_f64();
    println!("{} requests in {:.0?} ({rate:.1}/s), {} errors", traffic.served, started.elapsed(), traffic.errors.len());
    assert!(
        traffic.errors.is_empty(),
        "errors under steady traffic: {:?}",
        &traffic.errors[..traffic.errors.len().min(10)]
    );
    assert!(rate > RATE_PER_SEC as f64 * 0.8, "the rate was not kept: {rate:.1}/s");

    let measured: Vec<&Sample> = samples.iter().filter(|s| s.at >= warmup).collect();
    assert!(measured.len() >= 8, "too few samples after warm-up: {}", measured.len());
    let quarter = measured.len() / 4;
    let first = mean(&measured[..quarter].iter().map(|s| s.rss_kib).collect::<Vec<_>>());
    let last = mean(&measured[measured.len() - quarter..].iter().map(|s| s.rss_kib).collect::<Vec<_>>());
    let growth = (last - first) / first;
    println!(
        "RSS: first quarter after warm-up {first:.0} KiB, last quarter {last:.0} KiB, growth {:.1}%",
        growth * 100.0
    );
    assert!(growth <= max_growth, "RSS grew {:.1}% (allowed {:.0}%)", growth * 100.0, max_growth * 100.0);

    let fds_after_warmup = measured[0].fds;
    let fds_at_end = samples.last().map_or(0, |s| s.fds);
    assert!(fds_at_end <= fds_after_warmup + 8, "open descriptors went from {fds_after_warmup} to {fds_at_end}");

    drop(gw);
    om.shutdown().await.expect("emulator stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_traffic_keeps_memory_and_descriptors_flat() {
    if std::env::var("SCIMGATE_LONG_TESTS").is_ok_and(|v| v == "1") {
        soak(Duration::from_secs(600), Duration::from_secs(60), Duration::from_secs(10), 0.10).await;
    } else {
        soak(Duration::from_secs(20), Duration::from_secs(4), Duration::from_secs(1), 0.15).await;
    }
}
