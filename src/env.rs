//! Every `TICKETDIFF_*` environment variable ticketdiff reads, declared once: its type, its
//! range and its check. Commands check them all before doing anything (see [`check_all`]), so
//! a bad value is an error naming the variable instead of a silent default; the readers below
//! are what the rest of the crate calls. `docs/environment.md` describes each.

use crate::backend::BackendId;
use crate::program::Escaped;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// A variable's name, as the user spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    WorkerTimeoutMs,
    WorkerDir,
    DiffDir,
    Backends,
    AbortOnNew,
}

impl Var {
    /// Every variable, in the order they are checked and documented.
    pub const ALL: [Var; 5] = [
        Var::WorkerTimeoutMs,
        Var::WorkerDir,
        Var::DiffDir,
        Var::Backends,
        Var::AbortOnNew,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Var::WorkerTimeoutMs => "TICKETDIFF_WORKER_TIMEOUT_MS",
            Var::WorkerDir => "TICKETDIFF_WORKER_DIR",
            Var::DiffDir => "TICKETDIFF_DIFF_DIR",
            Var::Backends => "TICKETDIFF_BACKENDS",
            Var::AbortOnNew => "TICKETDIFF_ABORT_ON_NEW",
        }
    }

    /// What a value must be, as the error message says it.
    pub fn accepted(self) -> String {
        match self {
            Var::WorkerTimeoutMs => format!(
                "a whole number of milliseconds from {} to {}",
                MIN_TIMEOUT_MS, MAX_TIMEOUT_MS
            ),
            Var::WorkerDir | Var::DiffDir => "a folder's path, not empty".into(),
            Var::Backends => {
                let names: Vec<&str> = BackendId::ALL.iter().map(|b| b.name()).collect();
                format!("a comma-separated list of {}", names.join(", "))
            }
            Var::AbortOnNew => "`1`, or unset".into(),
        }
    }

    fn raw(self) -> Option<OsString> {
        std::env::var_os(self.name())
    }
}

/// The shortest and longest time one worker call may take: 1 ms is the least a clock tick can
/// tell apart; one hour is far past any call (a whole program takes milliseconds), and keeps
/// every deadline far from overflowing.
pub const MIN_TIMEOUT_MS: u64 = 1;
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// The worker call timeout when the variable is unset: a slow machine gets a wide margin.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// A variable whose value is not in its range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}; expected {}", var.name(), var.accepted())]
pub struct EnvError {
    pub var: Var,
    /// What is wrong with the value, quoting it escaped.
    pub problem: String,
}

impl EnvError {
    fn new(var: Var, value: &OsString, why: &str) -> EnvError {
        EnvError {
            var,
            problem: format!("{why} `{}`", Escaped(&value.to_string_lossy())),
        }
    }
}

fn text(var: Var, value: &OsString) -> Result<&str, EnvError> {
    value
        .to_str()
        .ok_or_else(|| EnvError::new(var, value, "not UTF-8:"))
}

/// Checks every variable that is set; the first bad one is the error.
pub fn check_all() -> Result<(), EnvError> {
    for var in Var::ALL {
        match var {
            Var::WorkerTimeoutMs => worker_timeout().map(drop)?,
            Var::WorkerDir | Var::DiffDir => folder(var).map(drop)?,
            Var::Backends => backends().map(drop)?,
            Var::AbortOnNew => abort_on_new().map(drop)?,
        }
    }
    Ok(())
}

/// How long one worker call may take: `TICKETDIFF_WORKER_TIMEOUT_MS`.
pub fn worker_timeout() -> Result<Duration, EnvError> {
    let var = Var::WorkerTimeoutMs;
    let Some(value) = var.raw() else {
        return Ok(Duration::from_millis(DEFAULT_TIMEOUT_MS));
    };
    let ms: u64 = text(var, &value)?
        .parse()
        .map_err(|_| EnvError::new(var, &value, "not a whole number:"))?;
    match (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms) {
        true => Ok(Duration::from_millis(ms)),
        false => Err(EnvError::new(var, &value, "out of range:")),
    }
}

fn folder(var: Var) -> Result<Option<PathBuf>, EnvError> {
    match var.raw() {
        None => Ok(None),
        Some(value) if value.is_empty() => Err(EnvError::new(var, &value, "empty:")),
        Some(value) => Ok(Some(PathBuf::from(value))),
    }
}

/// Where worker builds live, when `TICKETDIFF_WORKER_DIR` says.
pub fn worker_dir() -> Result<Option<PathBuf>, EnvError> {
    folder(Var::WorkerDir)
}

/// Where a fuzz target's store is, when `TICKETDIFF_DIFF_DIR` says.
pub fn diff_dir() -> Result<Option<PathBuf>, EnvError> {
    folder(Var::DiffDir)
}

/// The backends a fuzz target compares, when `TICKETDIFF_BACKENDS` says.
pub fn backends() -> Result<Option<Vec<BackendId>>, EnvError> {
    let var = Var::Backends;
    let Some(value) = var.raw() else {
        return Ok(None);
    };
    let list = text(var, &value)?;
    let ids = list
        .split(',')
        .map(|name| name.trim().parse::<BackendId>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| EnvError::new(var, &value, &format!("no backend `{}` in", Escaped(&e.0))))?;
    Ok(Some(ids))
}

/// Whether a fuzz target aborts (rather than panics) at a new signature:
/// `TICKETDIFF_ABORT_ON_NEW=1`.
pub fn abort_on_new() -> Result<bool, EnvError> {
    let var = Var::AbortOnNew;
    match var.raw() {
        None => Ok(false),
        Some(value) if value == "1" => Ok(true),
        Some(value) => Err(EnvError::new(var, &value, "not `1`:")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages a bad value gets; the values are set and removed by the CLI tests in
    /// processes of their own, since the environment is shared by this process's threads.
    #[test]
    fn messages_name_the_variable_the_value_and_the_range() {
        let e = EnvError::new(Var::WorkerTimeoutMs, &"10s".into(), "not a whole number:");
        assert_eq!(
            e.to_string(),
            "TICKETDIFF_WORKER_TIMEOUT_MS: not a whole number: `10s`; \
             expected a whole number of milliseconds from 1 to 3600000"
        );
        let e = EnvError::new(Var::DiffDir, &"a\nb".into(), "empty:");
        assert!(!e.to_string().contains('\n'), "{e}");
        for var in Var::ALL {
            assert!(var.name().starts_with("TICKETDIFF_"));
            assert!(!var.accepted().is_empty());
        }
    }
}
