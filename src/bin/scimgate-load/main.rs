//! `scimgate-load`: a side-by-side load harness. Each SCIM workload runs through the gateway (a
//! real `scimgate serve` child process, so its memory is its own) and straight at the application
//! with the equivalent native call, in the same run, and the table prints the ratio. It also
//! measures the memory target alone, the SCIM-to-SCIM mapping against its backend, start-up time,
//! memory with many connections, and any other SCIM service (`--scim-url`). See `--help`.

mod bulk;
mod credentials;
mod drive;
mod gateway;
mod options;
mod passthrough;
mod procfs;
mod report;
mod scenarios;
mod seed;
mod side;
mod workloads;

use std::time::Duration;

use credentials::Credentials;
use gateway::Launch;
use options::{AuthKind, Options, Section};
use scenarios::Run;

/// The harness shares the machine with what it measures, and its emulators and pass-through proxy
/// allocate per request like the gateway does: under glibc malloc they spent about a sixth of their CPU
/// in the allocator (consolidation included), taking cores from the side under test and lengthening its
/// tail. The same allocator as the gateway's keeps the comparison about the code, not the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, upstream, threads @ ..] = args.as_slice()
        && flag == passthrough::ARG
    {
        if let Err(e) = passthrough::serve(upstream, threads.first().map(String::as_str)) {
            eprintln!("scimgate-load: {e}");
            std::process::exit(1);
        }
        return;
    }
    let options = match options::parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{}", options::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("scimgate-load: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scimgate-load: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(options)) {
        eprintln!("scimgate-load: {e}");
        std::process::exit(1);
    }
}

async fn run(o: Options) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("scimgate-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = sections(o, dir.clone()).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn sections(o: Options, dir: std::path::PathBuf) -> Result<(), String> {
    println!(
        "scimgate-load: {} cores, {} memory; release build: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_total(),
        if cfg!(debug_assertions) { "no (debug)" } else { "yes" }
    );
    let creds = match o.auth {
        AuthKind::Jwt if o.scim_url.is_none() => Credentials::jwt(&dir).await?,
        _ => Credentials::static_token(),
    };
    let ready_timeout = if o.wrap.is_empty() { Duration::from_secs(30) } else { Duration::from_secs(300) };
    let launch = Launch {
        wrap: o.wrap.clone(),
        ready_timeout,
        binary: o.gateway.clone(),
        threads: o.gateway_threads,
        server_timing: true,
    };
    let run = Run { o, dir, creds, launch };
    if let (Some(url), Some(token)) = (&run.o.scim_url, &run.o.token) {
        return scenarios::scim_url(&run, url, token).await;
    }
    let mut failures = Vec::new();
    let mut section = |name: &str, r: Result<(), String>| {
        if let Err(e) = r {
            eprintln!("scimgate-load: {name}: {e}");
            failures.push(name.to_owned());
        }
    };
    if run.o.has(Section::OpenMetadata) {
        section("openmetadata", scenarios::openmetadata(&run).await);
    }
    if run.o.has(Section::Proxy) {
        section("proxy", scenarios::proxy(&run).await);
    }
    if run.o.has(Section::Passthrough) {
        section("passthrough", passthrough::section(&run).await);
    }
    if run.o.has(Section::Memory) {
        section("memory", scenarios::memory(&run).await);
    }
    if run.o.has(Section::Startup) {
        section("startup", scenarios::startup(&run).await);
    }
    if run.o.has(Section::Connections) {
        section("connections", scenarios::connections(&run).await);
    }
    if run.o.has(Section::Bulk) {
        section("bulk", bulk::bulk(&run).await);
    }
    if failures.is_empty() { Ok(()) } else { Err(format!("failed sections: {}", failures.join(", "))) }
}

/// `MemTotal` from `/proc/meminfo`, for the report.
fn memory_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or_else(|| "unknown".into(), |kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
}
