//! The benchmark's raw results, as kept in `results.json` for the nightly job: every run with
//! the time each signature was first saved, and the engines that could not run and why.

use crate::finding::Signature;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A fuzzing engine.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// `ticketdiff fuzz`.
    Builtin,
    /// The `diff` cargo-fuzz target under libFuzzer, `-fork=JOBS`.
    Libfuzzer,
    /// The `diff` honggfuzz target, `-n JOBS`.
    Honggfuzz,
}

impl EngineKind {
    pub const ALL: [EngineKind; 3] = [
        EngineKind::Builtin,
        EngineKind::Libfuzzer,
        EngineKind::Honggfuzz,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Builtin => "builtin",
            EngineKind::Libfuzzer => "libfuzzer",
            EngineKind::Honggfuzz => "honggfuzz",
        }
    }
}

/// Whether a run started from the seed corpus or from nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Seeded from `corpus/`.
    Corpus,
    /// From an empty corpus.
    Empty,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Corpus, Mode::Empty];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Corpus => "corpus",
            Mode::Empty => "empty",
        }
    }

    /// What the mode means, for headings.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::Corpus => "seeded from corpus/",
            Mode::Empty => "from an empty corpus",
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Every reference signature was saved; the run was stopped then.
    AllFound,
    /// The time budget ran out.
    Budget,
    /// The engine exited by itself before either.
    Exited { code: Option<i32> },
}

/// One engine, one seed, one mode.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Run {
    pub engine: EngineKind,
    /// Tells builds of one engine apart (`builtin`, `before`, ...).
    pub label: String,
    pub mode: Mode,
    pub seed: u64,
    /// Worker processes or threads.
    pub jobs: usize,
    pub budget_secs: f64,
    /// Wall time from start to stop.
    pub elapsed_secs: f64,
    /// CPU time the engine's processes used (user + system, as reaped).
    pub cpu_secs: f64,
    /// The one-minute load average when the run started (the machine is shared).
    pub load_at_start: f64,
    /// Seconds from start to the first save of each signature (reference or not).
    pub found: BTreeMap<Signature, f64>,
    pub ending: Ending,
}

impl Run {
    /// When every signature of `reference` had been saved, if it was.
    pub fn all_found_at(&self, reference: &[Signature]) -> Option<f64> {
        reference
            .iter()
            .map(|s| self.found.get(s).copied())
            .try_fold(0f64, |latest, t| t.map(|t| latest.max(t)))
    }

    /// How many of `reference` had been saved `at` seconds in.
    pub fn found_by(&self, reference: &[Signature], at: f64) -> usize {
        reference
            .iter()
            .filter(|s| self.found.get(s).is_some_and(|&t| t <= at))
            .count()
    }
}

/// An engine the benchmark could not run, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Skipped {
    pub engine: EngineKind,
    pub reason: String,
}

/// Everything one or more benchmark runs measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    /// The signatures to rediscover.
    pub reference: Vec<Signature>,
    /// Cores of the machine.
    pub cores: usize,
    pub skipped: Vec<Skipped>,
    pub runs: Vec<Run>,
}

/// Why results could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not benchmark results: {source}", path.display())]
    Json {
        path: std::path::PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: its reference set differs from {}'s", path.display(), first.display())]
    OtherReference {
        path: std::path::PathBuf,
        first: std::path::PathBuf,
    },
}

impl Results {
    pub fn read(path: &Path) -> Result<Results, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ReadError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Several result files as one (runs added up); they must share a reference set.
    pub fn merge(paths: &[std::path::PathBuf]) -> Result<Results, ReadError> {
        let mut all: Option<(Results, &Path)> = None;
        for path in paths {
            let next = Results::read(path)?;
            match &mut all {
                None => all = Some((next, path)),
                Some((r, first)) => {
                    if r.reference != next.reference {
                        return Err(ReadError::OtherReference {
                            path: path.clone(),
                            first: first.to_path_buf(),
                        });
                    }
                    r.cores = r.cores.max(next.cores);
                    r.skipped.extend(next.skipped);
                    r.runs.extend(next.runs);
                }
            }
        }
        Ok(all.map(|(r, _)| r).unwrap_or_default())
    }

    /// The (label, mode) pairs that have runs, in a stable order: engines as listed in
    /// [`EngineKind`], then labels, then modes.
    pub fn series(&self) -> Vec<(EngineKind, String, Mode)> {
        let mut out: Vec<(EngineKind, String, Mode)> = self
            .runs
            .iter()
            .map(|r| (r.engine, r.label.clone(), r.mode))
            .collect();
        out.sort_by_key(|(e, l, m)| (*e, l.clone(), *m == Mode::Empty));
        out.dedup();
        out
    }

    /// The runs of one series.
    pub fn runs_of<'a>(&'a self, label: &'a str, mode: Mode) -> impl Iterator<Item = &'a Run> {
        self.runs
            .iter()
            .filter(move |r| r.label == label && r.mode == mode)
    }
}
