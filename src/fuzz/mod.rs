//! `ticketdiff fuzz`: programs from random bytes and from mutation of the corpus and of what
//! earlier programs found, run differentially on worker threads; each new signature is
//! minimized and saved, known ones are counted.

pub mod mutate;
pub mod rng;
mod status;
pub mod target;

pub use status::{print_summary, render_status, SignatureRow, Summary};

use crate::minimize::minimize_divergence;
use crate::program::{check_bounds, Program};
use crate::runner::{BackendResult, Runner};
use crate::store::{self, NewEntry, Saved};
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
    /// Backends compared with the oracle.
    pub backends: Vec<String>,
    /// Where new divergences are saved (and known ones read from).
    pub out: PathBuf,
    /// Programs to start from (the corpus).
    pub seeds: Vec<Program>,
}

/// One signature as the run knows it.
#[derive(Clone, Debug)]
struct Known {
    row: SignatureRow,
}

/// What all workers share.
pub struct Shared {
    pub stop: AtomicBool,
    pub programs: AtomicU64,
    pub divergent: AtomicU64,
    pub skipped: AtomicU64,
    /// Nanoseconds workers spent inside the TLS libraries.
    pub tls_nanos: AtomicU64,
    known: Mutex<HashMap<String, Known>>,
    errors: Mutex<Vec<String>>,
    started: Instant,
}

impl Shared {
    /// `(signatures, new this run)`.
    pub fn signature_counts(&self) -> (usize, usize) {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        (known.len(), known.values().filter(|k| k.row.new).count())
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Hits of known signatures this run.
    pub fn known_hits(&self) -> u64 {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .values()
            .filter(|k| !k.row.new)
            .map(|k| k.row.hits)
            .sum()
    }
}

/// Features of a run, a cheap stand-in for coverage: which op led to which result class and
/// ticket movement on each backend. A program with a feature never seen is worth mutating.
fn features(results: &[BackendResult]) -> Vec<u64> {
    use std::hash::{Hash, Hasher};
    let mut out = Vec::new();
    for (b, r) in results.iter().enumerate() {
        let Some(trace) = r.trace() else { continue };
        let (mut issued, mut received) = (0, 0);
        for step in trace {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            b.hash(&mut h);
            step.op.split(' ').next().hash(&mut h);
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
        let mut only_known = true;
        let mut any_divergence = false;
        for r in &results[1..] {
            if matches!(r.outcome, crate::runner::Outcome::Skipped(_)) {
                self.shared.skipped.fetch_add(1, Ordering::Relaxed);
            }
            let Some(d) = &r.divergence else { continue };
            any_divergence = true;
            if self.record(&program, r, d) {
                only_known = false;
            }
        }
        if any_divergence {
            self.shared.divergent.fetch_add(1, Ordering::Relaxed);
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

    /// Counts a divergence; minimizes and saves it if its signature is new. Returns whether it
    /// was new.
    fn record(
        &mut self,
        program: &Program,
        r: &BackendResult,
        d: &crate::diff::Divergence,
    ) -> bool {
        let key = d.signature.key();
        {
            let mut known = self.shared.known.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(k) = known.get_mut(&key) {
                k.row.hits += 1;
                return false;
            }
            known.insert(
                key.clone(),
                Known {
                    row: SignatureRow::from_divergence(d, true, None),
                },
            );
        }
        let (small, divergence) = minimize_divergence(&mut self.runner, program, d);
        let oracle_version = self.runner.oracle().version();
        let entry = NewEntry {
            divergence: &divergence,
            program: &small,
            oracle_version,
            backend_version: r.version,
            found_by: "ticketdiff fuzz",
        };
        let saved = store::save(&self.options.out, &entry);
        let mut known = self.shared.known.lock().unwrap_or_else(|e| e.into_inner());
        let row = &mut known.get_mut(&key).expect("inserted above").row;
        *row = SignatureRow::from_divergence(&divergence, true, None);
        row.hits = 1;
        row.ops = small.len();
        match saved {
            Ok(Saved::New) | Ok(Saved::Improved) | Ok(Saved::Kept) => {
                row.file = Some(store::entry_path(&self.options.out, &key));
            }
            Err(e) => self
                .shared
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("saving {key}: {e}")),
        }
        true
    }
}

/// Runs the fuzzer until time, runs or a stop request; `on_tick` is called a few times a
/// second from the calling thread (for the status line).
pub fn fuzz(
    options: &Options,
    stop: Arc<AtomicBool>,
    mut on_tick: impl FnMut(&Shared),
) -> Result<Summary, String> {
    // Validate the backends before any thread starts.
    Runner::new(&options.backends).map_err(|e| e.to_string())?;
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
        for entry in store::read_dir(&options.out) {
            match entry {
                Ok(e) => {
                    let row = SignatureRow::from_entry(&e);
                    known.insert(e.signature.clone(), Known { row });
                }
                Err(e) => shared
                    .errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(e),
            }
        }
    }
    let jobs = options.jobs.max(1);
    std::thread::scope(|scope| {
        for job in 0..jobs {
            let shared = &shared;
            scope.spawn(move || {
                let runner = Runner::new(&options.backends).expect("validated above");
                let mut worker = Worker {
                    shared,
                    options,
                    runner,
                    rng: Rng::new(options.seed ^ (job as u64).wrapping_mul(0xA24B_AED4_963E_E407)),
                    pool: Vec::new(),
                    total_weight: 0,
                    seen: HashSet::new(),
                };
                for seed in &options.seeds {
                    worker.add_to_pool(seed.clone(), FRESH_WEIGHT);
                }
                worker.run();
            });
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
    let mut rows: Vec<SignatureRow> = known
        .into_values()
        .map(|k| k.row)
        .filter(|r| r.new || r.hits > 0)
        .collect();
    rows.sort_by(|a, b| b.new.cmp(&a.new).then(a.signature.cmp(&b.signature)));
    let elapsed = shared.started.elapsed();
    let tls_share = shared.tls_nanos.load(Ordering::Relaxed) as f64
        / (elapsed.as_nanos() as f64 * jobs as f64).max(1.0);
    Ok(Summary {
        elapsed,
        tls_share,
        programs: shared.programs.into_inner(),
        divergent: shared.divergent.into_inner(),
        skipped: shared.skipped.into_inner(),
        jobs,
        signatures: rows,
        errors: shared
            .errors
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
    })
}
