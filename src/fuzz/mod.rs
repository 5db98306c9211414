//! `ticketdiff fuzz`: programs from random bytes and from mutation of the corpus and of what
//! earlier programs found, run differentially on worker threads; each new signature is
//! minimized and saved, known ones are counted.

pub mod mutate;
pub mod rng;
mod status;
pub mod target;

pub use status::{print_summary, render_status, Summary};

use crate::backend::BackendId;
use crate::finding::{Finding, Signature};
use crate::program::{check_bounds, Program};
use crate::runner::{Results, Runner};
use crate::store::{self, StoreError};
use crate::triage::{triage, Destination};
use arbitrary::{Arbitrary, Unstructured};
use rng::Rng;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What to fuzz and for how long.
#[derive(Clone, Debug)]
pub struct Options {
    /// Stop after this long (`None`: until `runs` or a stop request).
    pub time: Option<Duration>,
    /// Stop after this many programs.
    pub runs: Option<u64>,
    pub jobs: usize,
    pub seed: u64,
    /// The oracle.
    pub oracle: BackendId,
    /// Backends compared with the oracle.
    pub backends: Vec<BackendId>,
    /// Where new divergences are saved (and known ones read from).
    pub out: PathBuf,
    /// Programs to start from (the corpus).
    pub seeds: Vec<Program>,
}

/// What all workers share.
pub struct Shared {
    pub stop: AtomicBool,
    pub programs: AtomicU64,
    pub divergent: AtomicU64,
    pub skipped: AtomicU64,
    /// Nanoseconds workers spent inside the TLS libraries.
    pub tls_nanos: AtomicU64,
    /// Every signature the run knows: those saved before it started and those it found, with
    /// this run's hits.
    known: Mutex<HashMap<Signature, Finding>>,
    errors: Mutex<Vec<FuzzError>>,
    started: Instant,
}

impl Shared {
    /// `(signatures, new this run)`.
    pub fn signature_counts(&self) -> (usize, usize) {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        (
            known.len(),
            known.values().filter(|f| f.new == Some(true)).count(),
        )
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Hits of known signatures this run.
    pub fn known_hits(&self) -> u64 {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .values()
            .filter(|f| f.new != Some(true))
            .filter_map(|f| f.hits)
            .sum()
    }
}

/// What went wrong in a fuzz run; the run itself goes on where it can.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unavailable(#[from] crate::worker::Unavailable),
    #[error("cannot start worker thread {job}: {source}")]
    Spawn { job: usize, source: std::io::Error },
}

/// Features of a run, a cheap stand-in for coverage: which op led to which result class and
/// ticket movement on each backend. A program with a feature never seen is worth mutating.
fn features(results: &Results) -> Vec<u64> {
    use std::hash::{Hash, Hasher};
    let mut out = Vec::new();
    for (b, trace) in results.traces() {
        let (mut issued, mut received) = (0, 0);
        for step in trace {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            b.hash(&mut h);
            step.op.kind().hash(&mut h);
            step.ret.map(|r| r.clamp(-1, 2)).hash(&mut h);
            (step.issued - issued).min(3).hash(&mut h);
            (step.received - received).min(3).hash(&mut h);
            step.resumed.hash(&mut h);
            issued = step.issued;
            received = step.received;
            out.push(h.finish());
        }
    }
    out
}

struct PoolEntry {
    program: Program,
    weight: u32,
}

/// Weight of a program that shows nothing but known signatures: kept, but rarely picked, so
/// that known divergences do not drown new ones.
const KNOWN_WEIGHT: u32 = 1;
const FRESH_WEIGHT: u32 = 8;
const MAX_POOL: usize = 4096;

struct Worker<'a> {
    shared: &'a Shared,
    options: &'a Options,
    runner: Runner,
    rng: Rng,
    pool: Vec<PoolEntry>,
    total_weight: u64,
    seen: HashSet<u64>,
}

impl Worker<'_> {
    fn pick(&mut self) -> Program {
        if self.pool.is_empty() || self.rng.chance(1, 4) {
            let len = 8 + self.rng.below(256);
            let bytes = self.rng.bytes(len);
            return Program::arbitrary(&mut Unstructured::new(&bytes)).unwrap_or_default();
        }
        let mut target = self.rng.next_u64() % self.total_weight.max(1);
        let mut chosen = 0;
        for (i, e) in self.pool.iter().enumerate() {
            if target < u64::from(e.weight) {
                chosen = i;
                break;
            }
            target -= u64::from(e.weight);
        }
        mutate::mutate(&self.pool[chosen].program, &mut self.rng)
    }

    fn add_to_pool(&mut self, program: Program, weight: u32) {
        if self.pool.len() >= MAX_POOL {
            let i = self.rng.below(self.pool.len());
            self.total_weight -= u64::from(self.pool[i].weight);
            self.pool.swap_remove(i);
        }
        self.total_weight += u64::from(weight);
        self.pool.push(PoolEntry { program, weight });
    }

    fn done(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
            || self
                .options
                .runs
                .is_some_and(|r| self.shared.programs.load(Ordering::Relaxed) >= r)
            || self
                .options
                .time
                .is_some_and(|t| self.shared.elapsed() >= t)
    }

    fn run(&mut self) {
        let mut reported = self.runner.tls_time();
        while !self.done() {
            let program = self.pick();
            if program.is_empty() || check_bounds(&program).is_err() {
                continue;
            }
            self.one(program);
            let now = self.runner.tls_time();
            self.shared
                .tls_nanos
                .fetch_add((now - reported).as_nanos() as u64, Ordering::Relaxed);
            reported = now;
        }
    }

    fn one(&mut self, program: Program) {
        let results = self.runner.run(&program);
        self.shared.programs.fetch_add(1, Ordering::Relaxed);
        let skipped = results
            .others
            .iter()
            .filter(|r| r.skipped().is_some())
            .count();
        self.shared
            .skipped
            .fetch_add(skipped as u64, Ordering::Relaxed);
        let any_divergence = results.any_divergence();
        let mut only_known = true;
        if any_divergence {
            self.shared.divergent.fetch_add(1, Ordering::Relaxed);
            only_known = self.triage(&program, &results);
        }
        let fresh: Vec<u64> = features(&results)
            .into_iter()
            .filter(|f| !self.seen.contains(f))
            .collect();
        if !fresh.is_empty() {
            self.seen.extend(fresh);
            let weight = if any_divergence && only_known {
                KNOWN_WEIGHT
            } else {
                FRESH_WEIGHT
            };
            self.add_to_pool(program, weight);
        }
    }

    /// Counts known signatures and saves new ones; whether every divergence was known.
    fn triage(&mut self, program: &Program, results: &Results) -> bool {
        let shared = self.shared;
        let claim = |signature: Signature| {
            let mut known = shared.known.lock().unwrap_or_else(|e| e.into_inner());
            match known.get_mut(&signature) {
                Some(f) => {
                    *f.hits.get_or_insert(0) += 1;
                    false
                }
                None => {
                    let d = results
                        .divergences()
                        .map(|(_, d)| d)
                        .find(|d| d.signature == signature)
                        .expect("claimed signatures come from the results");
                    // A placeholder until minimized, so that other workers count it as known.
                    known.insert(
                        signature,
                        Finding {
                            divergence: d.clone(),
                            program: program.clone(),
                            versions: crate::finding::Versions {
                                oracle_backend: BackendId::ORACLE,
                                oracle: String::new(),
                                backend: String::new(),
                            },
                            found: None,
                            hits: Some(1),
                            file: None,
                            new: Some(true),
                        },
                    );
                    true
                }
            }
        };
        let to = Destination {
            dir: &self.options.out,
            save: true,
            found_by: "ticketdiff fuzz",
        };
        let found = triage(&mut self.runner, program, results, claim, &to);
        let only_known = found.is_empty();
        for new in found {
            let mut known = shared.known.lock().unwrap_or_else(|e| e.into_inner());
            let signature = new.finding.signature();
            let hits = known.get(&signature).and_then(|f| f.hits);
            known.insert(
                signature,
                Finding {
                    hits,
                    ..new.finding
                },
            );
            if let Some(Err(e)) = new.saved {
                shared
                    .errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(FuzzError::Store(e));
            }
        }
        only_known
    }
}

/// Runs the fuzzer until time, runs or a stop request; `on_tick` is called a few times a
/// second from the calling thread (for the status line).
pub fn fuzz(options: &Options, stop: Arc<AtomicBool>, mut on_tick: impl FnMut(&Shared)) -> Summary {
    let shared = Shared {
        stop: AtomicBool::new(false),
        programs: AtomicU64::new(0),
        divergent: AtomicU64::new(0),
        skipped: AtomicU64::new(0),
        tls_nanos: AtomicU64::new(0),
        known: Mutex::new(HashMap::new()),
        errors: Mutex::new(Vec::new()),
        started: Instant::now(),
    };
    {
        let mut known = shared.known.lock().unwrap_or_else(|e| e.into_inner());
        let mut errors = shared.errors.lock().unwrap_or_else(|e| e.into_inner());
        let entries = match store::read_dir(&options.out) {
            Ok(entries) => entries,
            // No store yet: the first finding makes it.
            Err(StoreError::ReadDir { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Vec::new()
            }
            Err(e) => {
                errors.push(FuzzError::Store(e));
                Vec::new()
            }
        };
        for entry in entries {
            match entry {
                Ok(f) => {
                    known.insert(
                        f.signature(),
                        Finding {
                            hits: Some(0),
                            new: Some(false),
                            ..f
                        },
                    );
                }
                Err(e) => errors.push(FuzzError::Store(StoreError::Broken(e))),
            }
        }
    }
    let jobs = options.jobs;
    let mut started = 0;
    std::thread::scope(|scope| {
        for job in 0..jobs {
            let shared = &shared;
            let spawned = std::thread::Builder::new()
                .name(format!("fuzz-{job}"))
                .spawn_scoped(scope, move || {
                    let runner = match Runner::with_oracle(options.oracle, &options.backends) {
                        Ok(runner) => runner,
                        Err(e) => {
                            shared
                                .errors
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(FuzzError::Unavailable(e));
                            return;
                        }
                    };
                    let mut worker = Worker {
                        shared,
                        options,
                        runner,
                        rng: Rng::new(
                            options.seed ^ (job as u64).wrapping_mul(0xA24B_AED4_963E_E407),
                        ),
                        pool: Vec::new(),
                        total_weight: 0,
                        seen: HashSet::new(),
                    };
                    for seed in &options.seeds {
                        worker.add_to_pool(seed.clone(), FRESH_WEIGHT);
                    }
                    worker.run();
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => {
                    // The machine's thread limit: the run goes on with the workers it has.
                    shared
                        .errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(FuzzError::Spawn { job, source: e });
                    break;
                }
            }
        }
        if started == 0 {
            shared.stop.store(true, Ordering::Relaxed);
        }
        loop {
            std::thread::sleep(Duration::from_millis(100));
            if stop.load(Ordering::Relaxed) {
                shared.stop.store(true, Ordering::Relaxed);
            }
            let finished = shared.stop.load(Ordering::Relaxed)
                || options
                    .runs
                    .is_some_and(|r| shared.programs.load(Ordering::Relaxed) >= r)
                || options.time.is_some_and(|t| shared.elapsed() >= t);
            on_tick(&shared);
            if finished {
                shared.stop.store(true, Ordering::Relaxed);
                break;
            }
        }
    });
    let known = shared.known.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut rows: Vec<Finding> = known
        .into_values()
        .filter(|f| f.new == Some(true) || f.hits.unwrap_or(0) > 0)
        .collect();
    rows.sort_by_cached_key(|f| (f.new != Some(true), f.signature().to_string()));
    let elapsed = shared.started.elapsed();
    let tls_share = shared.tls_nanos.load(Ordering::Relaxed) as f64
        / (elapsed.as_nanos() as f64 * started.max(1) as f64).max(1.0);
    Summary {
        elapsed,
        tls_share,
        programs: shared.programs.into_inner(),
        divergent: shared.divergent.into_inner(),
        skipped: shared.skipped.into_inner(),
        jobs: started,
        signatures: rows,
        errors: shared
            .errors
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
    }
}
