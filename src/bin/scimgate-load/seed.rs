//! Stores the users and groups the workloads work on, through SCIM.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::Method;

use crate::drive::Connection;
use crate::workloads::{Endpoint, SeedUser, id_of, scim_group, scim_user};

const SCIM_JSON: &str = "application/scim+json";

/// Creates `n` users named `seed-{tag}-{i}@example.com` over `concurrency` connections; returns
/// them in creation-index order, and the time it took.
pub async fn users(
    endpoint: &Arc<Endpoint>,
    n: usize,
    concurrency: usize,
    tag: &str,
) -> Result<(Vec<SeedUser>, Duration), String> {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (endpoint, next, tag) = (Arc::clone(endpoint), Arc::clone(&next), tag.to_owned());
        workers.push(tokio::spawn(async move {
            let mut conn = Connection::open(endpoint.addr).await.map_err(|e| e.to_string())?;
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(made);
                }
                let user_name = format!("seed-{tag}-{i}@example.com");
                let req = endpoint.request(Method::POST, "/Users", Some((SCIM_JSON, scim_user(&user_name, i as u64))));
                let resp = conn.send(req).await.map_err(|e| format!("creating {user_name}: {e}"))?;
                let id = id_of(resp.body())
                    .filter(|_| resp.status().is_success())
                    .ok_or_else(|| format!("creating {user_name}: {} {}", resp.status(), body_text(resp.body())))?;
                made.push((i, SeedUser { id, user_name }));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for w in workers {
        all.extend(w.await.map_err(|e| e.to_string())??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok((all.into_iter().map(|(_, u)| u).collect(), started.elapsed()))
}

/// Creates an empty group; returns its id.
pub async fn group(endpoint: &Endpoint, display_name: &str) -> Result<String, String> {
    let mut conn = Connection::open(endpoint.addr).await.map_err(|e| e.to_string())?;
    let req = endpoint.request(Method::POST, "/Groups", Some((SCIM_JSON, scim_group(display_name))));
    let resp = conn.send(req).await.map_err(|e| format!("creating group {display_name}: {e}"))?;
    id_of(resp.body())
        .filter(|_| resp.status().is_success())
        .ok_or_else(|| format!("creating group {display_name}: {} {}", resp.status(), body_text(resp.body())))
}

fn body_text(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}
