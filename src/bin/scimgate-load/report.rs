//! Medians over repeated runs, and the printed tables.

use crate::drive::{Sample, median};

/// The median of several runs of one cell: req/s, p50 and p99 each as their median; errors summed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    /// CPU microseconds per request of the process the side is charged to.
    pub cpu_us: Option<f64>,
    /// The p99 of the gateway's own time per iteration (its `Server-Timing`), median over runs.
    pub own_p99_ms: Option<f64>,
}

impl Summary {
    pub fn of(samples: &[Sample]) -> Summary {
        let ms = |f: fn(&Sample) -> u64| median(samples.iter().map(|s| f(s) as f64 / 1000.0).collect());
        Summary {
            rps: median(samples.iter().map(Sample::rps).collect()),
            p50_ms: ms(|s| s.p50_us),
            p99_ms: ms(|s| s.p99_us),
            errors: samples.iter().map(|s| s.errors).sum(),
            cpu_us: {
                let per_request: Vec<f64> = samples.iter().filter_map(Sample::cpu_us_per_request).collect();
                (!per_request.is_empty()).then(|| median(per_request))
            },
            own_p99_ms: {
                let own: Vec<f64> = samples.iter().filter_map(|s| s.own_p99_us).map(|us| us as f64 / 1000.0).collect();
                (!own.is_empty()).then(|| median(own))
            },
        }
    }
}

/// The side-by-side table: through the gateway, straight at the application, and the ratio.
pub fn side_by_side_header(direct_label: &str) {
    println!(
        "own p99: p99 ms of the gateway's own time per request, from its Server-Timing answers (the time not spent \
         waiting on the application)"
    );
    println!(
        "{:<27} {:>5} | {:>8} {:>7} {:>7} {:>6} {:>6} | {:>8} {:>7} {:>7} {:>6} {:>6} | {:>5} {:>7} {:>7}",
        "workload",
        "conns",
        "gw req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "cpu us",
        direct_label,
        "p50 ms",
        "p99 ms",
        "errors",
        "cpu us",
        "ratio",
        "+p99 ms",
        "own p99"
    );
}

fn cpu(s: &Summary) -> String {
    s.cpu_us.map_or_else(|| "-".to_owned(), |c| format!("{c:.0}"))
}

pub fn side_by_side_row(name: &str, conns: usize, gw: &Summary, direct: Option<&Summary>) {
    let left = format!(
        "{name:<27} {conns:>5} | {:>8.0} {:>7.2} {:>7.2} {:>6} {:>6}",
        gw.rps,
        gw.p50_ms,
        gw.p99_ms,
        gw.errors,
        cpu(gw)
    );
    match direct {
        Some(d) => println!(
            "{left} | {:>8.0} {:>7.2} {:>7.2} {:>6} {:>6} | {:>5.2} {:>7.2} {:>7}",
            d.rps,
            d.p50_ms,
            d.p99_ms,
            d.errors,
            cpu(d),
            gw.rps / d.rps.max(f64::MIN_POSITIVE),
            gw.p99_ms - d.p99_ms,
            gw.own_p99_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2}"))
        ),
        None => println!("{left} |"),
    }
}

/// The single-target table (the memory target, or any SCIM service), with a reference figure.
pub fn single_header() {
    println!(
        "{:>7} {:<27} {:>5} | {:>8} {:>7} {:>7} {:>6} {:>6} | {:>9} {:>6}",
        "users", "workload", "conns", "req/s", "p50 ms", "p99 ms", "errors", "cpu us", "reference", "x ref"
    );
}

pub fn single_row(stored: usize, name: &str, conns: usize, s: &Summary, reference: Option<f64>) {
    let left = format!(
        "{stored:>7} {name:<27} {conns:>5} | {:>8.0} {:>7.2} {:>7.2} {:>6} {:>6}",
        s.rps,
        s.p50_ms,
        s.p99_ms,
        s.errors,
        cpu(s)
    );
    match reference {
        Some(r) => println!("{left} | {r:>9.0} {:>6.1}", s.rps / r),
        None => println!("{left} |"),
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn summaries_take_medians_and_sum_errors() {
        let s = |requests, errors, p50_us, p99_us| Sample {
            requests,
            errors,
            p50_us,
            p99_us,
            own_p99_us: (requests != 300).then_some(p99_us / 10),
            elapsed: Duration::from_secs(1),
            cpu: Some(Duration::from_millis(requests)),
        };
        let sum = Summary::of(&[s(100, 1, 1000, 5000), s(300, 0, 3000, 9000), s(200, 2, 2000, 7000)]);
        assert_eq!(sum.rps, 200.0);
        assert_eq!(sum.p50_ms, 2.0);
        assert_eq!(sum.p99_ms, 7.0);
        assert_eq!(sum.errors, 3);
        assert_eq!(sum.cpu_us, Some(1000.0));
        // Over the two runs that had it: the lower of 0.5 and 0.7 ms.
        assert_eq!(sum.own_p99_ms, Some(0.5));
    }
}
