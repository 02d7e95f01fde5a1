//! Command line.

use std::time::Duration;

use crate::drive::Pace;
use crate::workloads::Kind;

pub const USAGE: &str = "\
scimgate-load: what the gateway costs on top of the application it fronts

USAGE: scimgate-load [OPTIONS]

Sections (--sections, comma-separated; default: openmetadata,startup,connections):
  openmetadata   each workload through the gateway (shipped OpenMetadata mapping) and straight at the
                 emulated OpenMetadata with the equivalent native call; the gateway's RSS idle and at peak
  proxy          the SCIM-to-SCIM mapping in front of a second scimgate on the memory target, against
                 that backend called directly
  passthrough    the floor under any proxy's cost here: an HTTP/1 pass-through proxy (forwarding only,
                 no auth, mapping or JSON) in front of the emulated OpenMetadata and of scimgate on the
                 memory target, against each called directly
  memory         the memory target alone, with --memory-sizes users stored
  startup        process start to the first 200 from /readyz, --startup-runs times
  connections    the gateway's RSS with --connections keep-alive connections open
  bulk           an IdP paging through --bulk-users users (--page-size per page), then one PATCH adding
                 --bulk-members members to a group, against the same native calls replayed directly
  all            every section

Options:
  --duration SECS          length of each measured run [5]
  --concurrency LIST       connections, e.g. 1,16,64 [1,16,64]
  --repeat N               runs per cell (gateway and direct alternate); medians are printed [1]
  --rate N                 offer N workload iterations per second in all, due at even intervals on each
                           connection (like wrk2 -R), instead of a closed loop; an iteration's latency
                           counts from its due time, so a side that falls behind pays for the wait
  --workloads LIST         get,filter,replace,member,create [all]
  --users N                users stored before the runs [1000]
  --memory-sizes LIST      stored users for the memory section [0,10000,100000]
  --connections N          keep-alive connections for the connections section [1000]
  --startup-runs N         gateway starts for the startup section [10]
  --bulk-users N           users stored for the bulk section [100000]
  --bulk-members N         members added by the bulk section's PATCH [10000]
  --page-size N            users per page when the bulk section lists [100]
  --auth jwt|static        the load's credential: an RS256 JWT from a local issuer whose JWKS the
                           gateway caches (needs the openssl command), or a static token [jwt]
  --scim-url URL --token T aim the SCIM workloads at any SCIM service (http) instead; seeds --users
                           users and one group per member-add run there first, and deletes nothing
  --wrap 'CMD ARGS'        run the gateway under CMD (e.g. 'valgrind --tool=callgrind')
  --gateway PATH           the scimgate binary to measure [the one beside this binary]
  --gateway-threads N      the measured gateway's http.worker_threads [its default: one per CPU]
  --show-calls             print the native calls the gateway makes for one request of each workload
  --smoke                  every section for a few seconds, tiny sizes, no thresholds
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    OpenMetadata,
    Proxy,
    Passthrough,
    Memory,
    Startup,
    Connections,
    Bulk,
}

impl Section {
    const ALL: [Section; 7] = [
        Section::OpenMetadata,
        Section::Proxy,
        Section::Passthrough,
        Section::Memory,
        Section::Startup,
        Section::Connections,
        Section::Bulk,
    ];

    fn from_key(key: &str) -> Option<Section> {
        Some(match key {
            "openmetadata" => Section::OpenMetadata,
            "proxy" => Section::Proxy,
            "passthrough" => Section::Passthrough,
            "memory" => Section::Memory,
            "startup" => Section::Startup,
            "connections" => Section::Connections,
            "bulk" => Section::Bulk,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Jwt,
    Static,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub duration: Duration,
    pub concurrency: Vec<usize>,
    pub repeat: usize,
    pub pace: Pace,
    pub workloads: Vec<Kind>,
    pub users: usize,
    pub memory_sizes: Vec<usize>,
    pub connections: usize,
    pub startup_runs: usize,
    pub bulk_users: usize,
    pub bulk_members: usize,
    pub page_size: usize,
    pub auth: AuthKind,
    pub sections: Vec<Section>,
    pub scim_url: Option<String>,
    pub token: Option<String>,
    pub wrap: Vec<String>,
    pub gateway: Option<std::path::PathBuf>,
    /// `http.worker_threads` of the measured gateway; its own default when absent.
    pub gateway_threads: Option<usize>,
    pub show_calls: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            duration: Duration::from_secs(5),
            concurrency: vec![1, 16, 64],
            repeat: 1,
            pace: Pace::Closed,
            workloads: Kind::ALL.to_vec(),
            users: 1000,
            memory_sizes: vec![0, 10_000, 100_000],
            connections: 1000,
            startup_runs: 10,
            bulk_users: 100_000,
            bulk_members: 10_000,
            page_size: 100,
            auth: AuthKind::Jwt,
            sections: vec![Section::OpenMetadata, Section::Startup, Section::Connections],
            scim_url: None,
            token: None,
            wrap: Vec::new(),
            gateway: None,
            gateway_threads: None,
            show_calls: false,
        }
    }
}

impl Options {
    pub fn has(&self, s: Section) -> bool {
        self.sections.contains(&s)
    }
}

/// `Ok(None)` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options::default();
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--duration" => {
                let secs: f64 = number(&value()?)?;
                o.duration = Duration::try_from_secs_f64(secs).map_err(|e| format!("--duration: {e}"))?;
            }
            "--concurrency" => o.concurrency = list(&value()?)?,
            "--repeat" => o.repeat = number::<usize>(&value()?)?.max(1),
            "--rate" => {
                let rate: f64 = number(&value()?)?;
                if !(rate.is_finite() && rate > 0.0) {
                    return Err("--rate: a positive number of iterations per second".into());
                }
                o.pace = Pace::Rate(rate);
            }
            "--workloads" => {
                o.workloads = value()?
                    .split(',')
                    .map(|k| Kind::from_key(k.trim()).ok_or_else(|| format!("unknown workload {k}")))
                    .collect::<Result<_, _>>()?
            }
            "--users" => o.users = number::<usize>(&value()?)?.max(1),
            "--memory-sizes" => o.memory_sizes = list(&value()?)?,
            "--connections" => o.connections = number(&value()?)?,
            "--startup-runs" => o.startup_runs = number::<usize>(&value()?)?.max(1),
            "--bulk-users" => o.bulk_users = number::<usize>(&value()?)?.max(1),
            "--bulk-members" => o.bulk_members = number(&value()?)?,
            "--page-size" => o.page_size = number::<usize>(&value()?)?.max(1),
            "--auth" => {
                o.auth = match value()?.as_str() {
                    "jwt" => AuthKind::Jwt,
                    "static" => AuthKind::Static,
                    other => return Err(format!("--auth: jwt or static, not {other}")),
                }
            }
            "--sections" => {
                let v = value()?;
                o.sections = if v == "all" {
                    Section::ALL.to_vec()
                } else {
                    v.split(',')
                        .map(|s| Section::from_key(s.trim()).ok_or_else(|| format!("unknown section {s}")))
                        .collect::<Result<_, _>>()?
                };
            }
            "--scim-url" => o.scim_url = Some(value()?),
            "--token" => o.token = Some(value()?),
            "--wrap" => o.wrap = value()?.split_whitespace().map(str::to_owned).collect(),
            "--gateway" => o.gateway = Some(value()?.into()),
            "--gateway-threads" => o.gateway_threads = Some(number::<usize>(&value()?)?.max(1)),
            "--show-calls" => o.show_calls = true,
            "--smoke" => {
                o.duration = Duration::from_millis(200);
                o.concurrency = vec![1, 4];
                o.repeat = 1;
                o.users = 50;
                o.memory_sizes = vec![0, 300];
                o.connections = 50;
                o.startup_runs = 2;
                o.bulk_users = 500;
                o.bulk_members = 200;
                o.sections = Section::ALL.to_vec();
                o.show_calls = true;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    if o.scim_url.is_some() != o.token.is_some() {
        return Err("--scim-url and --token go together".into());
    }
    if o.bulk_members > o.bulk_users {
        return Err("--bulk-members: at most --bulk-users".into());
    }
    if o.concurrency.contains(&0) {
        return Err("--concurrency: at least 1 connection".into());
    }
    Ok(Some(o))
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.trim().parse().map_err(|e| format!("{s}: {e}"))
}

fn list(s: &str) -> Result<Vec<usize>, String> {
    s.split(',').map(number).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_lists_and_sections() {
        let o = parse(args("--concurrency 2,8 --workloads get,create --sections memory,proxy --auth static"))
            .unwrap()
            .unwrap();
        assert_eq!(o.concurrency, [2, 8]);
        assert_eq!(o.workloads, [Kind::GetById, Kind::Create]);
        assert_eq!(o.sections, [Section::Memory, Section::Proxy]);
        assert_eq!(o.auth, AuthKind::Static);
        assert_eq!(o.pace, Pace::Closed);
        assert!(parse(args("--sections all")).unwrap().unwrap().has(Section::Connections));
        assert_eq!(parse(args("--rate 2500")).unwrap().unwrap().pace, Pace::Rate(2500.0));
    }

    #[test]
    fn refuses_what_it_cannot_run() {
        assert!(parse(args("--scim-url http://x/")).is_err());
        assert!(parse(args("--concurrency 0")).is_err());
        assert!(parse(args("--rate 0")).is_err());
        assert!(parse(args("--rate nan")).is_err());
        assert!(parse(args("--workloads nope")).is_err());
        assert!(parse(args("--bogus")).is_err());
        assert!(parse(args("--help")).unwrap().is_none());
    }
}
