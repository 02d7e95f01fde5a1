//! The audit stream: one JSON line per provisioning change (create, replace, patch, delete), with
//! who asked, what was asked, which native calls were made and how it ended. Separate from the
//! logs so it can be shipped and kept on its own terms.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use super::calls::NativeCall;

/// Where audit events go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuditSettings {
    /// Standard output, one JSON object per line (the default: containers collect it).
    #[default]
    Stdout,
    /// Standard error.
    Stderr,
    /// Appended to a file.
    File { path: PathBuf },
    /// No audit stream.
    Off,
}

/// One provisioning change.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent<'a> {
    /// RFC 3339, UTC.
    pub time: String,
    pub request_id: &'a str,
    pub route: &'a str,
    /// The authenticated client's configured name.
    pub client: &'a str,
    pub resource: &'a str,
    pub operation: &'a str,
    /// The SCIM id the change concerns (for a create, the id the application assigned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<&'a str>,
    /// The SCIM status answered.
    pub status: u16,
    /// `applied` when the application confirmed the change, `failed` otherwise.
    pub outcome: &'static str,
    pub native_calls: &'a [NativeCall],
}

enum Sink {
    Stdout,
    Stderr,
    File(Mutex<std::fs::File>),
    Off,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Opens the audit stream. The first call wins; later ones (a reload) keep the stream open.
pub fn init(settings: &AuditSettings) -> std::io::Result<()> {
    if SINK.get().is_some() {
        return Ok(());
    }
    let sink = match settings {
        AuditSettings::Stdout => Sink::Stdout,
        AuditSettings::Stderr => Sink::Stderr,
        AuditSettings::Off => Sink::Off,
        AuditSettings::File { path } => {
            Sink::File(Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(path)?))
        }
    };
    let _ = SINK.set(sink);
    Ok(())
}

/// Writes one event; a failing sink is reported in the logs, never to the client.
pub fn emit(event: &AuditEvent<'_>) {
    let Some(sink) = SINK.get() else { return };
    let Ok(mut line) = serde_json::to_vec(event) else { return };
    line.push(b'\n');
    let written = match sink {
        Sink::Off => Ok(()),
        Sink::Stdout => std::io::stdout().lock().write_all(&line),
        Sink::Stderr => std::io::stderr().lock().write_all(&line),
        Sink::File(f) => match f.lock() {
            Ok(mut f) => f.write_all(&line),
            Err(_) => Ok(()),
        },
    };
    if let Err(e) = written {
        tracing::error!(error = %e, "cannot write the audit event");
    }
}

/// The current time as SCIM writes it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
