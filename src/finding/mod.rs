//! What ticketdiff finds: a [`Divergence`] (the first step where a backend's trace differs
//! from the oracle's, and its [`Signature`]) and a [`Finding`] (a divergence with the program
//! that shows it, the versions it was seen with and where it came from). The store saves
//! findings, the report lists them, the fuzzer counts them and the fuzz targets crash on new ones:
//! all with these types.

mod signature;

pub use signature::{BadSignature, Direction, Phase, RetClass, RetOther, Signature, TicketField};

use crate::backend::BackendId;
use crate::program::{Op, Program};
use crate::trace::{Field, Value};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

/// The first step where a backend's trace differs from the oracle's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub signature: Signature,
    /// The line of the op in its program.
    pub line: u32,
    pub op: Op,
    pub difference: Difference,
}

/// What differs at the divergent step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// A trace field has another value than the oracle's.
    Field {
        field: Field,
        oracle: Value,
        other: Value,
    },
    /// The backend's worker process died during the op (`how`: the signal or exit status).
    Crashed { how: String },
    /// The backend's worker did not answer within the time given to one call.
    Hung { after_ms: u64 },
}

impl Divergence {
    pub fn backend(&self) -> BackendId {
        self.signature.backend()
    }

    /// The differing field, when a field differs.
    pub fn field(&self) -> Option<Field> {
        match self.difference {
            Difference::Field { field, .. } => Some(field),
            Difference::Crashed { .. } | Difference::Hung { .. } => None,
        }
    }

    /// The field's name, or `crash` / `hang`.
    pub fn what(&self) -> &'static str {
        match self.difference {
            Difference::Field { field, .. } => field.name(),
            Difference::Crashed { .. } => "crash",
            Difference::Hung { .. } => "hang",
        }
    }

    /// `1 vs 0`, or how the worker failed.
    pub fn comparison(&self) -> String {
        match self.oracle_text() {
            Some(oracle) => format!("{oracle} vs {}", self.other_text()),
            None => self.other_text(),
        }
    }

    /// What the other backend did instead, in a few words: the value, or how its worker
    /// failed.
    pub fn other_text(&self) -> String {
        match &self.difference {
            Difference::Field { other, .. } => other.to_string(),
            Difference::Crashed { how } => format!("crashed ({how})"),
            Difference::Hung { after_ms } => format!("no answer in {after_ms} ms"),
        }
    }

    /// The oracle's value, when a field differs.
    pub fn oracle_text(&self) -> Option<String> {
        match &self.difference {
            Difference::Field { oracle, .. } => Some(oracle.to_string()),
            Difference::Crashed { .. } | Difference::Hung { .. } => None,
        }
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`: ", self.line, self.op)?;
        let backend = self.backend();
        match &self.difference {
            Difference::Field {
                field,
                oracle,
                other,
            } => write!(f, "{field} is {oracle} on the oracle, {other} on {backend}"),
            Difference::Crashed { how } => write!(f, "the {backend} worker crashed ({how})"),
            Difference::Hung { after_ms } => write!(
                f,
                "the {backend} worker did not answer within {after_ms} ms"
            ),
        }
    }
}

/// The libraries a finding was seen with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versions {
    /// Which backend was the oracle.
    pub oracle_backend: BackendId,
    pub oracle: String,
    pub backend: String,
}

/// When and by what a finding was first found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Whole seconds: entries record the time to the second.
    pub at: SystemTime,
    /// `ticketdiff fuzz`, `cargo fuzz`, `honggfuzz`, ...
    pub by: String,
}

impl Found {
    /// Now, to the second.
    pub fn now(by: &str) -> Found {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Found {
            at: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
            by: by.to_string(),
        }
    }

    /// `2026-11-27T06:15:01Z`.
    pub fn time(&self) -> String {
        humantime::format_rfc3339_seconds(self.at).to_string()
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.time())?;
        if !self.by.is_empty() {
            write!(f, " by {}", self.by)?;
        }
        Ok(())
    }
}

/// A divergence with everything needed to show, rerun and track it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub divergence: Divergence,
    /// The (minimized) program that shows it.
    pub program: Program,
    pub versions: Versions,
    /// When it was first found, when known.
    pub found: Option<Found>,
    /// Programs that showed it, when counted (a fuzz run, a hits file, a `# hits:` line).
    pub hits: Option<u64>,
    /// Where it is saved, once it is.
    pub file: Option<PathBuf>,
    /// Whether it is new against what the reader compares with (the store at the start of a
    /// fuzz run, a report's baseline); `None` when there is nothing to compare with.
    pub new: Option<bool>,
}

impl Finding {
    pub fn signature(&self) -> Signature {
        self.divergence.signature
    }

    pub fn backend(&self) -> BackendId {
        self.divergence.backend()
    }

    /// `OpenSSL 3.0.19 27 Jan 2026 (oracle), rustls 0.23.46 (rustls)`; empty when unknown.
    pub fn versions_text(&self) -> String {
        let v = &self.versions;
        if v.oracle.is_empty() && v.backend.is_empty() {
            return String::new();
        }
        format!("{} (oracle), {} ({})", v.oracle, v.backend, self.backend())
    }

    /// The command that reruns it.
    pub fn rerun(&self) -> String {
        let file = self.file.as_deref().unwrap_or(std::path::Path::new("FILE"));
        rerun_command(self.backend(), file)
    }
}

/// The command that reruns the program at `path` on `backend` (an entry's `# rerun:`).
pub fn rerun_command(backend: BackendId, path: &std::path::Path) -> String {
    format!(
        "ticketdiff run --backend {backend} {}",
        crate::files::Shown(path)
    )
}

/// The JSON shape of `ticketdiff report --format json` rows and `ticketdiff fuzz --json`
/// signatures: flat fields, values as the trace writes them (as text).
impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.divergence;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("signature", &d.signature)?;
        m.serialize_entry("backend", &d.backend())?;
        m.serialize_entry("versions", &self.versions_text())?;
        m.serialize_entry("line", &d.line)?;
        m.serialize_entry("op", &d.op.to_string())?;
        m.serialize_entry("field", &d.field().map(Field::name))?;
        m.serialize_entry("oracle", &d.oracle_text())?;
        m.serialize_entry("other", &d.other_text())?;
        m.serialize_entry("hits", &self.hits)?;
        m.serialize_entry("first_found", &self.found.as_ref().map(Found::to_string))?;
        if let Some(new) = self.new {
            m.serialize_entry("new", &new)?;
        }
        m.serialize_entry("file", &self.file)?;
        m.serialize_entry("ops", &self.program.len())?;
        m.serialize_entry("program", &self.program.to_string())?;
        m.end()
    }
}
