//! The differential runner: one program on the oracle and on other backends, compared.

use crate::backend::{Backend, BackendId, Failure, Unfinished};
use crate::diff::first_divergence;
use crate::finding::{Difference, Divergence, Signature};
use crate::program::Program;
use crate::registry;
use crate::trace::{first_difference, Trace};
use crate::worker::Unavailable;

/// What one backend did with a program.
#[derive(Clone, Debug)]
pub enum BackendRun {
    Ran(Trace),
    /// The backend cannot run this program faithfully; never counted as agreeing.
    Skipped(String),
    /// Its worker crashed or hung: the steps before, and the op it failed in.
    Failed(Unfinished),
}

/// One backend's result, next to the oracle's.
#[derive(Clone, Debug)]
pub struct BackendResult {
    pub backend: BackendId,
    pub version: &'static str,
    pub run: BackendRun,
    /// The first divergence from the oracle.
    pub divergence: Option<Divergence>,
}

impl BackendResult {
    pub fn trace(&self) -> Option<&Trace> {
        match &self.run {
            BackendRun::Ran(t) => Some(t),
            BackendRun::Skipped(_) | BackendRun::Failed(_) => None,
        }
    }

    pub fn skipped(&self) -> Option<&str> {
        match &self.run {
            BackendRun::Skipped(why) => Some(why),
            BackendRun::Ran(_) | BackendRun::Failed(_) => None,
        }
    }
}

/// The oracle's run of a program.
#[derive(Clone, Debug)]
pub struct OracleRun {
    pub version: &'static str,
    pub trace: Trace,
}

/// A program's run on the oracle and on every other backend of the runner.
#[derive(Clone, Debug)]
pub struct Results {
    pub oracle: OracleRun,
    /// The other backends, in the runner's order.
    pub others: Vec<BackendResult>,
}

impl Results {
    /// One backend's result (not the oracle's).
    pub fn get(&self, backend: BackendId) -> Option<&BackendResult> {
        self.others.iter().find(|r| r.backend == backend)
    }

    /// The backends that diverged, with their divergence.
    pub fn divergences(&self) -> impl Iterator<Item = (&BackendResult, &Divergence)> {
        self.others
            .iter()
            .filter_map(|r| r.divergence.as_ref().map(|d| (r, d)))
    }

    pub fn any_divergence(&self) -> bool {
        self.divergences().next().is_some()
    }

    /// Every backend's trace that ran, the oracle's first.
    pub fn traces(&self) -> impl Iterator<Item = (BackendId, &Trace)> {
        std::iter::once((BackendId::ORACLE, &self.oracle.trace)).chain(
            self.others
                .iter()
                .filter_map(|r| r.trace().map(|t| (r.backend, t))),
        )
    }
}

/// How much of a backend's run is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extent {
    /// The whole trace (`run`, replay, the tables).
    Whole,
    /// Up to the first divergence from the oracle, that step included: its signature is fixed
    /// there, so a fuzzer needs nothing after it.
    ToDivergence,
}

/// The oracle and the backends under test, ready to run programs on this thread.
pub struct Runner {
    oracle: Box<dyn Backend>,
    others: Vec<Box<dyn Backend>>,
    /// Backends made for [`Runner::compare`] that `run` does not run.
    extra: Vec<Box<dyn Backend>>,
}

impl Runner {
    /// A runner for these backends against the default oracle; the oracle always runs,
    /// whether named or not, and a name given twice runs once.
    pub fn new(backends: &[BackendId]) -> Result<Runner, Unavailable> {
        Runner::with_oracle(BackendId::ORACLE, backends)
    }

    /// A runner for these backends against `oracle`.
    pub fn with_oracle(oracle: BackendId, backends: &[BackendId]) -> Result<Runner, Unavailable> {
        let mut others: Vec<Box<dyn Backend>> = Vec::new();
        for &id in backends {
            if id == oracle || others.iter().any(|b| b.id() == id) {
                continue;
            }
            others.push(registry::backend(id)?);
        }
        Ok(Runner {
            oracle: registry::backend(oracle)?,
            others,
            extra: Vec::new(),
        })
    }

    /// A runner of backends made elsewhere (a test's stand-in for a backend, say); `others`
    /// must have ids of their own, none the oracle's.
    pub fn from_backends(oracle: Box<dyn Backend>, others: Vec<Box<dyn Backend>>) -> Runner {
        Runner {
            oracle,
            others,
            extra: Vec::new(),
        }
    }

    /// The oracle's id.
    pub fn oracle_id(&self) -> BackendId {
        self.oracle.id()
    }

    /// The backends compared with the oracle.
    pub fn others(&self) -> Vec<BackendId> {
        self.others.iter().map(|b| b.id()).collect()
    }

    /// Runs `program` on the oracle and every other backend. When the oracle itself cannot
    /// finish (a worker oracle that crashed), nothing is compared: every other backend is
    /// reported skipped, with the reason.
    pub fn run(&mut self, program: &Program) -> Results {
        self.run_to(program, Extent::Whole)
    }

    /// Runs `program` like [`run`](Runner::run), keeping of each other backend's run what
    /// `extent` says; the oracle always runs to the end, and divergences are the same.
    pub fn run_to(&mut self, program: &Program, extent: Extent) -> Results {
        let (oracle, failed) = run_oracle(self.oracle.as_mut(), program);
        let others = self
            .others
            .iter_mut()
            .map(|other| match &failed {
                Some(why) => BackendResult {
                    backend: other.id(),
                    version: other.version(),
                    run: BackendRun::Skipped(why.clone()),
                    divergence: None,
                },
                None => run_against(other.as_mut(), &oracle.trace, program, extent),
            })
            .collect();
        Results { oracle, others }
    }

    /// Runs `program` on the oracle and one backend only, whether or not `run` runs it; the
    /// oracle does not run when the backend skips the program.
    pub fn compare(
        &mut self,
        program: &Program,
        backend: BackendId,
    ) -> Result<BackendResult, Unavailable> {
        self.compare_to(program, backend, Extent::Whole)
    }

    fn compare_to(
        &mut self,
        program: &Program,
        backend: BackendId,
        extent: Extent,
    ) -> Result<BackendResult, Unavailable> {
        let other = match self.others.iter().position(|b| b.id() == backend) {
            Some(at) => self.others[at].as_mut(),
            None => {
                let at = match self.extra.iter().position(|b| b.id() == backend) {
                    Some(at) => at,
                    None => {
                        self.extra.push(registry::backend(backend)?);
                        self.extra.len() - 1
                    }
                };
                self.extra[at].as_mut()
            }
        };
        if let Some(why) = other.skip_reason(program) {
            return Ok(BackendResult {
                backend,
                version: other.version(),
                run: BackendRun::Skipped(why),
                divergence: None,
            });
        }
        Ok(match run_oracle(self.oracle.as_mut(), program) {
            (oracle, None) => run_against(other, &oracle.trace, program, extent),
            (_, Some(why)) => BackendResult {
                backend,
                version: other.version(),
                run: BackendRun::Skipped(why),
                divergence: None,
            },
        })
    }

    /// The divergence of one backend from the oracle on `program`, running only those two
    /// (`None` if it agrees or skips the program).
    pub fn divergence_on(&mut self, program: &Program, backend: BackendId) -> Option<Divergence> {
        self.compare_to(program, backend, Extent::ToDivergence)
            .ok()?
            .divergence
    }

    /// Time spent inside the TLS libraries by every backend of this runner so far.
    pub fn tls_time(&self) -> std::time::Duration {
        self.oracle.tls_time()
            + self
                .others
                .iter()
                .chain(&self.extra)
                .map(|b| b.tls_time())
                .sum::<std::time::Duration>()
    }

    /// The oracle alone.
    pub fn oracle(&mut self) -> &mut dyn Backend {
        self.oracle.as_mut()
    }
}

/// The oracle's run, and why nothing can be compared with it when it could not finish.
fn run_oracle(oracle: &mut dyn Backend, program: &Program) -> (OracleRun, Option<String>) {
    let version = oracle.version();
    match oracle.run(program) {
        Ok(trace) => (OracleRun { version, trace }, None),
        Err(u) => {
            let line = program.stmts[u.at].line;
            let why = format!(
                "the oracle ({}) could not finish: line {line}: {:?}",
                oracle.id(),
                u.failure
            );
            let trace = u.steps;
            (OracleRun { version, trace }, Some(why))
        }
    }
}

/// Runs `program` on `backend` (as far as `extent` says) and compares it with the oracle's
/// trace.
fn run_against(
    backend: &mut dyn Backend,
    oracle: &Trace,
    program: &Program,
    extent: Extent,
) -> BackendResult {
    let run = match backend.skip_reason(program) {
        Some(why) => BackendRun::Skipped(why),
        None => {
            let ran = match extent {
                Extent::Whole => backend.run(program),
                Extent::ToDivergence => {
                    let mut at = 0;
                    backend.run_until(program, &mut |step| {
                        let differs = oracle
                            .get(at)
                            .is_none_or(|o| first_difference(o, step).is_some());
                        at += 1;
                        differs
                    })
                }
            };
            match ran {
                Ok(trace) => BackendRun::Ran(trace),
                Err(unfinished) => BackendRun::Failed(unfinished),
            }
        }
    };
    let divergence = match &run {
        BackendRun::Ran(t) => first_divergence(oracle, t, backend.id()),
        BackendRun::Skipped(_) => None,
        BackendRun::Failed(u) => Some(failure_divergence(oracle, u, program, backend.id())),
    };
    BackendResult {
        backend: backend.id(),
        version: backend.version(),
        run,
        divergence,
    }
}

/// The divergence of a backend that failed in an op: the steps before it are compared first
/// (a difference there came first), then the failure itself is the divergence.
fn failure_divergence(
    oracle: &Trace,
    unfinished: &Unfinished,
    program: &Program,
    backend: BackendId,
) -> Divergence {
    if let Some(d) = first_divergence(oracle, &unfinished.steps, backend) {
        return d;
    }
    let stmt = program.stmts[unfinished.at];
    let op = stmt.op.kind().call();
    let (signature, difference) = match &unfinished.failure {
        Failure::Crashed(how) => (
            Signature::Crash { backend, op },
            Difference::Crashed { how: how.clone() },
        ),
        Failure::Hung { after_ms } => (
            Signature::Hang { backend, op },
            Difference::Hung {
                after_ms: *after_ms,
            },
        ),
    };
    Divergence {
        signature,
        line: stmt.line,
        op: stmt.op,
        difference,
    }
}
