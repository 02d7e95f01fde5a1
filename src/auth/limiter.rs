//! Slows down guessing at the token endpoint: failed client authentications are counted per
//! (client id, source address) and per source address in fixed windows; past a threshold, further
//! attempts from that key are refused until the window ends, without checking the secret.
//!
//! Keying on the pair means an attacker guessing one client's secret from one address does not
//! lock out the real client elsewhere; the per-address count stops one address from spreading
//! guesses over many client ids. Memory is bounded: past `max_entries`, the oldest window is
//! dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits of the failure counter.
#[derive(Debug, Clone, Copy)]
pub struct LimiterSettings {
    pub window: Duration,
    /// Failures of one client id from one address allowed per window.
    pub per_client: u32,
    /// Failures from one address (any client id) allowed per window.
    pub per_address: u32,
    /// Most keys tracked at once, per table.
    pub max_entries: usize,
}

impl Default for LimiterSettings {
    fn default() -> Self {
        LimiterSettings { window: Duration::from_secs(60), per_client: 5, per_address: 20, max_entries: 4096 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
struct Tables {
    by_client: HashMap<(String, Option<IpAddr>), Window>,
    by_address: HashMap<Option<IpAddr>, Window>,
}

/// The failure counter of one token endpoint.
#[derive(Debug)]
pub struct FailureLimiter {
    settings: LimiterSettings,
    tables: Mutex<Tables>,
}

impl FailureLimiter {
    pub fn new(settings: LimiterSettings) -> Self {
        FailureLimiter { settings, tables: Mutex::new(Tables::default()) }
    }

    /// When attempts for `client_id` from `addr` are refused, for how much longer.
    pub fn blocked_for(&self, client_id: &str, addr: Option<IpAddr>) -> Option<Duration> {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let s = &self.settings;
        let over = |w: Option<&Window>, limit: u32| {
            w.filter(|w| w.failures >= limit && now.duration_since(w.started) < s.window)
                .map(|w| s.window.saturating_sub(now.duration_since(w.started)))
        };
        over(tables.by_client.get(&(client_id.to_owned(), addr)), s.per_client)
            .or_else(|| over(tables.by_address.get(&addr), s.per_address))
    }

    /// Counts one failed attempt.
    pub fn record_failure(&self, client_id: &str, addr: Option<IpAddr>) {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let s = self.settings;
        // Client ids are attacker-chosen: keep at most a bounded prefix as the key.
        let id: String = client_id.chars().take(256).collect();
        bump(&mut tables.by_client, (id, addr), now, s);
        bump(&mut tables.by_address, addr, now, s);
    }

    /// Keys currently tracked, for tests of the bound.
    pub fn tracked(&self) -> usize {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        tables.by_client.len() + tables.by_address.len()
    }
}

fn bump<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, Window>, key: K, now: Instant, s: LimiterSettings) {
    if let Some(w) = map.get_mut(&key) {
        if now.duration_since(w.started) >= s.window {
            *w = Window { started: now, failures: 0 };
        }
        w.failures = w.failures.saturating_add(1);
        return;
    }
    if map.len() >= s.max_entries {
        map.retain(|_, w| now.duration_since(w.started) < s.window);
    }
    if map.len() >= s.max_entries
        && let Some(oldest) = map.iter().min_by_key(|(_, w)| w.started).map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
    map.insert(key, Window { started: now, failures: 1 });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, n]))
    }

    #[test]
    fn blocks_a_client_from_one_address_only() {
        let l = FailureLimiter::new(LimiterSettings { per_client: 3, per_address: 100, ..Default::default() });
        for _ in 0..2 {
            l.record_failure("c", addr(1));
        }
        assert!(l.blocked_for("c", addr(1)).is_none());
        l.record_failure("c", addr(1));
        let wait = l.blocked_for("c", addr(1)).expect("blocked after 3 failures");
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert!(l.blocked_for("c", addr(2)).is_none(), "another address is not blocked");
        assert!(l.blocked_for("d", addr(1)).is_none(), "another client is not blocked");
    }

    #[test]
    fn blocks_an_address_spreading_over_clients() {
        let l = FailureLimiter::new(LimiterSettings { per_client: 100, per_address: 4, ..Default::default() });
        for i in 0..4 {
            l.record_failure(&format!("c{i}"), addr(1));
        }
        assert!(l.blocked_for("fresh", addr(1)).is_some());
        assert!(l.blocked_for("fresh", addr(2)).is_none());
    }

    #[test]
    fn windows_end() {
        let l = FailureLimiter::new(LimiterSettings {
            window: Duration::from_millis(50),
            per_client: 1,
            per_address: 1,
            max_entries: 10,
        });
        l.record_failure("c", addr(1));
        assert!(l.blocked_for("c", addr(1)).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.blocked_for("c", addr(1)).is_none());
    }

    #[test]
    fn memory_is_bounded() {
        let l = FailureLimiter::new(LimiterSettings { max_entries: 8, ..Default::default() });
        for i in 0..1000u32 {
            l.record_failure(&format!("client-{i}"), Some(IpAddr::from(i.to_be_bytes())));
        }
        assert!(l.tracked() <= 16, "{}", l.tracked());
    }
}
