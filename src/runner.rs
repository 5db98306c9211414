//! The differential runner: one program on the oracle and on other backends, compared.

use crate::backend::{self, Backend, ORACLE};
use crate::diff::{first_divergence, Divergence};
use crate::program::Program;
use crate::trace::Trace;

/// What one backend did with a program.
#[derive(Clone, Debug)]
pub enum Outcome {
    Ran(Trace),
    /// The backend cannot run this program faithfully; never counted as agreeing.
    Skipped(String),
}

/// One backend's result, next to the oracle's.
#[derive(Clone, Debug)]
pub struct BackendResult {
    pub backend: &'static str,
    pub version: &'static str,
    pub outcome: Outcome,
    /// The first divergence from the oracle (always `None` for the oracle itself).
    pub divergence: Option<Divergence>,
}

impl BackendResult {
    pub fn trace(&self) -> Option<&Trace> {
        match &self.outcome {
            Outcome::Ran(t) => Some(t),
            Outcome::Skipped(_) => None,
        }
    }
}

/// The oracle and the backends under test, ready to run programs on this thread.
pub struct Runner {
    oracle: Box<dyn Backend>,
    others: Vec<Box<dyn Backend>>,
}

/// An unknown backend name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBackend(pub String);

impl std::fmt::Display for UnknownBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown backend `{}` (known: {})",
            self.0,
            backend::BACKEND_NAMES.join(", ")
        )
    }
}

impl std::error::Error for UnknownBackend {}

impl Runner {
    /// A runner for the named backends; the oracle always runs, first, whether named or not.
    pub fn new<S: AsRef<str>>(names: &[S]) -> Result<Runner, UnknownBackend> {
        let mut others: Vec<Box<dyn Backend>> = Vec::new();
        for name in names {
            let name = name.as_ref();
            if name == ORACLE || others.iter().any(|b| b.name() == name) {
                continue;
            }
            others.push(backend::by_name(name).ok_or_else(|| UnknownBackend(name.into()))?);
        }
        Ok(Runner {
            oracle: backend::by_name(ORACLE).expect("the oracle exists"),
            others,
        })
    }

    /// A runner for every backend.
    pub fn all() -> Runner {
        Runner::new(backend::BACKEND_NAMES).expect("known backends")
    }

    /// Names of the backends compared with the oracle.
    pub fn other_names(&self) -> Vec<&'static str> {
        self.others.iter().map(|b| b.name()).collect()
    }

    /// Runs `program` on the oracle and every other backend; the oracle's result first.
    pub fn run(&mut self, program: &Program) -> Vec<BackendResult> {
        let oracle_trace = self.oracle.run(program);
        let mut results = Vec::with_capacity(1 + self.others.len());
        for other in &mut self.others {
            let outcome = match other.skip_reason(program) {
                Some(why) => Outcome::Skipped(why),
                None => Outcome::Ran(other.run(program)),
            };
            let divergence = match &outcome {
                Outcome::Ran(t) => first_divergence(&oracle_trace, t, other.name()),
                Outcome::Skipped(_) => None,
            };
            results.push(BackendResult {
                backend: other.name(),
                version: other.version(),
                outcome,
                divergence,
            });
        }
        results.insert(
            0,
            BackendResult {
                backend: self.oracle.name(),
                version: self.oracle.version(),
                outcome: Outcome::Ran(oracle_trace),
                divergence: None,
            },
        );
        results
    }

    /// The divergence of one backend from the oracle on `program`, running only those two
    /// (`None` if it agrees, skips the program, or is not in this runner).
    pub fn divergence_on(&mut self, program: &Program, backend: &str) -> Option<Divergence> {
        let other = self.others.iter_mut().find(|b| b.name() == backend)?;
        if other.skip_reason(program).is_some() {
            return None;
        }
        let oracle = self.oracle.run(program);
        first_divergence(&oracle, &other.run(program), backend)
    }

    /// Time spent inside the TLS libraries by every backend of this runner so far.
    pub fn tls_time(&self) -> std::time::Duration {
        self.oracle.tls_time()
            + self
                .others
                .iter()
                .map(|b| b.tls_time())
                .sum::<std::time::Duration>()
    }

    /// The oracle alone.
    pub fn oracle(&mut self) -> &mut dyn Backend {
        self.oracle.as_mut()
    }

    /// A backend by name (the oracle included).
    pub fn backend(&mut self, name: &str) -> Option<&mut dyn Backend> {
        if name == ORACLE {
            return Some(self.oracle.as_mut());
        }
        self.others
            .iter_mut()
            .find(|b| b.name() == name)
            .map(|b| b.as_mut() as &mut dyn Backend)
    }
}
