//! Backends in worker processes: a server library that cannot share this process (another
//! OpenSSL release defines the same C symbols as the one linked here) runs in a separate
//! executable, `ticketdiff-worker`, built from `workers/` against that library, and is driven
//! over pipes by [`protocol`]. The client stays here, so every backend is measured with the
//! same client over the same wire.

mod group;
pub mod process;
pub mod protocol;
pub mod serve;

use crate::backend::BackendId;
use std::path::PathBuf;

/// How a worker backend is built and what it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerSpec {
    /// The folder of its build under the workers' folder (one build per library).
    pub build: &'static str,
    /// The in-process backend the worker hosts (in its own build of the crate).
    pub host: BackendId,
}

/// The worker a backend runs in, if it runs in one.
pub fn spec(id: BackendId) -> Option<WorkerSpec> {
    let spec = |build, host| Some(WorkerSpec { build, host });
    match id {
        BackendId::Openssl | BackendId::Native | BackendId::Rustls => None,
        BackendId::OpensslWorker => spec("openssl-system", BackendId::Openssl),
        BackendId::Openssl36 => spec("openssl-3.6", BackendId::Openssl),
        BackendId::Openssl40 => spec("openssl-4.0", BackendId::Openssl),
    }
}

/// Where worker builds live: `TICKETDIFF_WORKER_DIR`, else `target/workers` of this checkout
/// (also when the variable is bad: commands refuse that at their start, see [`crate::env`]).
pub fn workers_dir() -> PathBuf {
    match crate::env::worker_dir() {
        Ok(Some(dir)) => dir,
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/workers"),
    }
}

/// The worker executable of a build.
pub fn executable(spec: WorkerSpec) -> PathBuf {
    workers_dir()
        .join(spec.build)
        .join("release")
        .join("ticketdiff-worker")
}

/// A worker backend whose executable is not built, or does not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("backend `{id}` runs in a worker process, and {problem}{}", match build {
    true => format!("; build it with `workers/build.sh {id}` (from the repository's top folder)"),
    false => String::new(),
})]
pub struct Unavailable {
    pub id: BackendId,
    pub problem: String,
    /// Whether building the worker is what helps: it is missing, or from another ticketdiff.
    pub build: bool,
}

/// Checks that a backend can run here: in process always; a worker when its executable is
/// built.
pub fn check(id: BackendId) -> Result<(), Unavailable> {
    let Some(spec) = spec(id) else {
        return Ok(());
    };
    let path = executable(spec);
    match path.is_file() {
        true => Ok(()),
        false => Err(Unavailable {
            id,
            problem: format!("{} is not there", path.display()),
            build: true,
        }),
    }
}
