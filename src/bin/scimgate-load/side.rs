//! One way of sending the workloads (through the gateway, or straight at the application), and the
//! measurement of a cell: both ways, alternating, `--repeat` times.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use scimgate::emulator::OpenMetadataEmulator;
use serde_json::json;

use crate::drive::{Pace, Sample, drive};
use crate::procfs;
use crate::report::Summary;
use crate::seed;
use crate::workloads::{self, Api, Endpoint, Fixture, Kind, SeedUser};

/// Where the fresh group of a member-add run is created.
#[derive(Clone, Copy)]
pub enum Groups<'a> {
    /// As an OpenMetadata team of type Group, in the emulator's store (its id is the SCIM group id).
    Emulator(&'a OpenMetadataEmulator),
    /// With a SCIM `POST /Groups` to the side's own endpoint.
    Scim,
}

pub struct Side<'a> {
    pub endpoint: Arc<Endpoint>,
    pub api: Api,
    pub users: Arc<Vec<SeedUser>>,
    pub groups: Groups<'a>,
    /// The process whose CPU time each run is charged with.
    pub cpu_of: Option<u32>,
}

/// Distinguishes the runs of one process.
static RUN: AtomicU64 = AtomicU64::new(0);

/// `{pid}-{run}`: unique names across runs and processes.
pub fn next_tag() -> String {
    format!("{}-{}", std::process::id(), RUN.fetch_add(1, Ordering::Relaxed))
}

impl Side<'_> {
    async fn fixture(&self, kind: Kind) -> Result<Fixture, String> {
        let tag = next_tag();
        let group = match (kind, self.groups) {
            (Kind::AddMember, Groups::Emulator(om)) => {
                let team = om
                    .seed_team(json!({"name": format!("load-{tag}"), "teamType": "Group"}))
                    .map_err(|e| format!("seeding a team: {e:?}"))?;
                team["id"].as_str().unwrap_or_default().to_owned()
            }
            (Kind::AddMember, Groups::Scim) => seed::group(&self.endpoint, &format!("load-{tag}")).await?,
            _ => String::new(),
        };
        Ok(Fixture { users: Arc::clone(&self.users), group, tag })
    }

    /// One run of `kind` on `conns` connections, with a fresh fixture.
    pub async fn run(&self, kind: Kind, conns: usize, duration: Duration, pace: Pace) -> Result<Sample, String> {
        let fixture = self.fixture(kind).await?;
        let make = workloads::requests(kind, self.api, Arc::clone(&self.endpoint), fixture)?;
        let before = self.cpu_of.and_then(procfs::cpu_time);
        let mut sample = drive(self.endpoint.addr, &make, conns, duration, pace).await;
        let after = self.cpu_of.and_then(procfs::cpu_time);
        sample.cpu = before.zip(after).map(|(b, a)| a.saturating_sub(b));
        Ok(sample)
    }
}

/// Runs a cell `repeat` times each way, alternating so that drift in the machine's load hits both
/// sides alike.
pub async fn measure(
    kind: Kind,
    conns: usize,
    gateway: &Side<'_>,
    direct: Option<&Side<'_>>,
    repeat: usize,
    duration: Duration,
    pace: Pace,
) -> Result<(Summary, Option<Summary>), String> {
    let (mut g, mut d) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        g.push(gateway.run(kind, conns, duration, pace).await?);
        if let Some(direct) = direct {
            d.push(direct.run(kind, conns, duration, pace).await?);
        }
    }
    Ok((Summary::of(&g), direct.map(|_| Summary::of(&d))))
}
