//! The `scimgate` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine;
use clap::{Parser, Subcommand};
use scimgate::app;
use scimgate::settings::Settings;

/// Every request allocates many small JSON values and strings; mimalloc serves them from
/// per-thread free lists, where glibc malloc spends a tenth of a proxied request's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "scimgate", version, about = "A SCIM 2.0 gateway in front of applications' own APIs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway with a settings file.
    Serve {
        /// YAML settings file; `SCIMGATE_*` environment variables override its keys.
        #[arg(long, short, env = "SCIMGATE_CONFIG")]
        config: PathBuf,
    },
    #[command(flatten)]
    Tool(Tool),
}

/// The commands other than `serve`: they run on a default runtime.
#[derive(Subcommand)]
enum Tool {
    /// Run a ready-to-try gateway with no settings file, in front of an emulated application.
    Demo {
        /// What the gateway fronts: an emulated application through its shipped mapping, or `memory`.
        #[arg(long, value_enum, default_value = "openmetadata")]
        target: scimgate::demo::DemoTarget,
        /// Address to listen on (`127.0.0.1:0` picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Bearer token to accept (a random one is made by default).
        #[arg(long)]
        token: Option<String>,
    },
    /// Check mapping and settings files: every problem of every file, at file:line:col.
    /// A settings file's mappings are checked too, with the route's backend overrides applied.
    Check {
        /// Mapping files, settings files, or directories of them (their `.yaml`/`.yml` files).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the mapping format (as committed in `mappings/schema.json`).
    Schema,
    /// Show the native calls a SCIM request would make through a mapping; no write is ever sent.
    Explain {
        /// The mapping file (or `builtin:NAME`); or use --config and --route.
        mapping: Option<PathBuf>,
        /// A settings file whose route's mapping and backend overrides to use.
        #[arg(long, requires = "route")]
        config: Option<PathBuf>,
        /// The route in --config.
        #[arg(long)]
        route: Option<String>,
        /// HTTP method of the SCIM request.
        #[arg(long, short = 'X', default_value = "GET")]
        method: String,
        /// Path below /scim/v2, e.g. `/Users` or `/Groups/ID`.
        #[arg(long)]
        path: String,
        /// The request body: a file, or `-` for standard input (read from a pipe when omitted).
        #[arg(long)]
        body: Option<PathBuf>,
        /// JSON answering reads: {"GET /path?query": body, "GET /path": {"status": 404}, …};
        /// unanswered reads get 404.
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// Answer reads from the application itself (writes are still never sent).
        #[arg(long)]
        live: bool,
    },
    /// Replay a corpus of IdP cases (built in: Entra in both modes and Okta) against a SCIM base
    /// URL; prints a pass/fail table and exits non-zero on any failure.
    Replay {
        /// The SCIM base URL, e.g. `https://host/route/scim/v2`.
        #[arg(long)]
        url: String,
        /// Bearer token for the server.
        #[arg(long, env = "SCIMGATE_REPLAY_TOKEN")]
        token: String,
        /// A corpus file in the same format (default: the built-in corpus).
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Only this case (repeatable).
        #[arg(long = "case")]
        cases: Vec<String>,
        /// Write a JUnit XML report to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Check every expectation, even on attributes the server does not advertise in /Schemas.
        #[arg(long)]
        strict: bool,
    },
}

/// Keeps the trace exporter alive; dropping it at exit flushes the last spans.
struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
    }
}

/// JSON logs on stderr, filtered by `SCIMGATE_LOG`; with the `otel` feature and
/// `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported over OTLP.
fn init_logging() -> Telemetry {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter = EnvFilter::try_from_env("SCIMGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter).with(logs);
    #[cfg(feature = "otel")]
    if let Some((traces, provider)) = scimgate::observe::otel::layer() {
        registry.with(traces).init();
        return Telemetry { provider: Some(provider) };
    }
    registry.init();
    Telemetry {
        #[cfg(feature = "otel")]
        provider: None,
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// 32 random bytes (from the OS generator behind UUIDv4), URL-safe.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!("sgd_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Runs the gateway until SIGINT or SIGTERM, then drains it.
async fn serve(config: PathBuf, settings: Settings) -> Result<(), String> {
    let https = settings.tls.is_some();
    let running = std::sync::Arc::new(app::start(&settings).await.map_err(|e| e.to_string())?);
    if let Err(e) = scimgate::reload::spawn(std::sync::Arc::clone(&running), config) {
        tracing::warn!(error = %e, "configuration files are not watched; send SIGHUP to reload");
    }
    let scheme = if https { "https" } else { "http" };
    println!("listening on {scheme}://{}", running.local_addr);
    tracing::info!(addr = %running.local_addr, routes = settings.routes.len(), "scimgate started");
    wait_for_signal().await;
    tracing::info!("shutting down: readiness off, draining in-flight requests");
    running.shutdown().await.map_err(|e| e.to_string())
}

/// Runs one of the other commands.
async fn run(tool: Tool) -> Result<(), String> {
    match tool {
        Tool::Check { files } => {
            let env: Vec<(String, String)> = std::env::vars().collect();
            let report = scimgate::cli::check::check_paths(&files, &env);
            print!("{}", report.render());
            match report.errors() {
                0 => Ok(()),
                1 => Err("check failed: 1 error".to_owned()),
                n => Err(format!("check failed: {n} errors")),
            }
        }
        Tool::Schema => {
            print!("{}", scimgate::cli::schema_text());
            Ok(())
        }
        Tool::Explain { mapping, config, route, method, path, body, fixtures, live } => {
            let body = scimgate::cli::explain::read_body(body.as_deref(), &method).map_err(|e| e.to_string())?;
            let args =
                scimgate::cli::explain::ExplainArgs { mapping, config, route, method, path, body, fixtures, live };
            let text = scimgate::cli::explain::run(&args).await.map_err(|e| e.to_string())?;
            print!("{text}");
            Ok(())
        }
        Tool::Replay { url, token, corpus, cases, junit, strict } => {
            let args =
                scimgate::cli::replay::ReplayArgs { url, token, corpus, cases, junit, skip_unadvertised: !strict };
            let report = scimgate::cli::replay::run(&args).await.map_err(|e| e.to_string())?;
            if report.failed() == 0 {
                Ok(())
            } else {
                Err(format!("{} of {} cases failed", report.failed(), report.cases.len()))
            }
        }
        Tool::Demo { target, listen, token } => {
            let token = token.unwrap_or_else(random_token);
            let demo = scimgate::demo::Demo::start(target, listen, &token).await.map_err(|e| e.to_string())?;
            let base = demo.base_url();
            println!(
                "scimgate demo: SCIM 2.0 in front of {} (for trying and testing; data is lost on exit)",
                target.describe()
            );
            println!();
            println!("SCIM base URL:");
            println!("{base}");
            println!("Bearer token:");
            println!("{token}");
            println!();
            println!("Try:");
            println!("  curl -s -H 'Authorization: Bearer {token}' '{base}/Users'");
            println!(
                "  curl -s -H 'Authorization: Bearer {token}' -H 'Content-Type: application/scim+json' -d '{{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"alice@example.com\",\"name\":{{\"givenName\":\"Alice\",\"familyName\":\"Liddell\"}},\"emails\":[{{\"value\":\"alice@example.com\",\"type\":\"work\",\"primary\":true}}]}}' '{base}/Users'"
            );
            println!(
                "  curl -s -H 'Authorization: Bearer {token}' '{base}/Users?filter=userName%20eq%20%22alice@example.com%22'"
            );
            println!("  curl -s -H 'Authorization: Bearer {token}' '{base}/Schemas'");
            println!("Other targets: scimgate demo --target collibra|datahub|scim|memory. Press Ctrl-C to stop.");
            wait_for_signal().await;
            demo.shutdown().await.map_err(|e| e.to_string())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _telemetry = init_logging();
    let outcome = match cli.command {
        // `serve` reads its settings before the runtime exists: they say how many threads it has.
        Command::Serve { config } => Settings::load(&config)
            .map_err(|e| e.to_string())
            .and_then(|settings| runtime(settings.http.worker_threads)?.block_on(serve(config, settings))),
        Command::Tool(tool) => runtime(None).and_then(|r| r.block_on(run(tool))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scimgate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The runtime, with `threads` workers or one per CPU.
fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime, String> {
    scimgate::server::runtime::build(threads).map_err(|e| format!("cannot start the runtime: {e}"))
}
