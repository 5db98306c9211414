//! `ticketdiff fuzz`: programs from random bytes and from mutation of the corpus and of what
//! earlier programs found, run differentially on worker threads; each new signature is
//! minimized and saved, known ones are counted.

mod features;
pub mod mutate;
pub mod rng;
pub mod seeds;
mod share;
mod status;
pub mod target;

pub use status::{print_summary, render_status, Summary};

use crate::backend::BackendId;
use crate::finding::{Finding, Signature};
use crate::minimize::Kept;
use crate::program::usage::Usage;
use crate::program::{check_bounds, Program};
use crate::runner::{Results, Runner};
use crate::store::{self, StoreError};
use crate::triage::{triage, Destination};
use arbitrary::{Arbitrary, Unstructured};
use features::features;
use rng::Rng;
use share::{uses_v2, VersionShare};
use std::collections::HashMap;
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
    /// New signatures whose divergence a rerun did not confirm, each once.
    unconfirmed: Mutex<Vec<(Signature, Kept)>>,
    /// How often programs used each version 2 op and flag.
    usage: Mutex<Usage>,
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
    #[error(transparent)]
    Seeds(#[from] seeds::SeedsError),
    /// A new signature's minimized program that could not be saved: printed whole, so that the
    /// run's work is not lost with it.
    #[error("{source}\nnew signature {signature} not saved; its entry would have been:\n{entry}")]
    Unsaved {
        signature: Signature,
        entry: String,
        source: StoreError,
    },
    #[error("cannot start worker thread {job}: {source}")]
    Spawn { job: usize, source: std::io::Error },
    /// ticketdiff itself panicked on a program (a bug of ours, not a divergence).
    #[error("ticketdiff panicked ({message}) on this program:\n{program}")]
    Panicked { message: String, program: String },
}

struct PoolEntry {
    program: Program,
    weight: u32,
    /// The op where the program diverged on a known signature, to change first.
    focus: Option<usize>,
    /// The features that made it worth keeping.
    features: Vec<u64>,
}

/// Weight of a diverging program that some backend ran to the end without diverging: kept for
/// that backend, but rarely picked, so that divergences already seen do not drown new ones.
const KNOWN_WEIGHT: u32 = 1;
const FRESH_WEIGHT: u32 = 8;
const MAX_POOL: usize = 4096;
/// The newest entries of the pool, picked a third of the time.
const RECENT: usize = 32;
/// Entries drawn for each pick by rarity.
const TOURNAMENT: usize = 4;
/// Most ops of a random program cut short (half of them are).
const SHORT_OPS: usize = 12;

struct Worker<'a> {
    shared: &'a Shared,
    options: &'a Options,
    runner: Runner,
    rng: Rng,
    pool: Vec<PoolEntry>,
    total_weight: u64,
    /// Per feature, how many programs showed it.
    hits: HashMap<u64, u32>,
    share: VersionShare,
}

impl Worker<'_> {
    /// The next program: fresh or a mutant, then made version 1 as often as the share says.
    fn pick(&mut self) -> Program {
        let program = self.candidate();
        self.share.apply(program, &mut self.rng)
    }

    fn candidate(&mut self) -> Program {
        if self.pool.is_empty() || self.rng.chance(1, 4) {
            let len = 8 + self.rng.below(256);
            let bytes = self.rng.bytes(len);
            let mut program =
                Program::arbitrary(&mut Unstructured::new(&bytes)).unwrap_or_default();
            // Short programs run faster and reach a first divergence with less in the way;
            // every saved signature so far needs fewer than ten ops.
            if self.rng.chance(1, 2) {
                program.stmts.truncate(1 + self.rng.below(SHORT_OPS));
            }
            return program;
        }
        let chosen = if self.rng.chance(1, 3) {
            // Recent entries showed something new last: mutate them more while that lasts.
            let recent = self.pool.len().min(RECENT);
            self.pool.len() - 1 - self.rng.below(recent)
        } else {
            self.rarest_of(TOURNAMENT)
        };
        let other = self.rng.below(self.pool.len());
        let entry = &self.pool[chosen];
        mutate::mutate(
            &entry.program,
            entry.focus,
            Some(&self.pool[other].program),
            &mut self.rng,
        )
    }

    /// Of `n` entries drawn by weight, the one whose rarest feature the fewest programs have
    /// shown: an entry that reached somewhere rarely reached gets mutated more, so the steps
    /// toward a deep divergence build on each other instead of drowning in the pool.
    fn rarest_of(&mut self, n: usize) -> usize {
        let mut best = self.weighted();
        for _ in 1..n {
            let next = self.weighted();
            if self.rarity(next) < self.rarity(best) {
                best = next;
            }
        }
        best
    }

    /// How many programs showed the rarest feature of entry `i`.
    fn rarity(&self, i: usize) -> u32 {
        self.pool[i]
            .features
            .iter()
            .map(|f| self.hits.get(f).copied().unwrap_or(0))
            .min()
            .unwrap_or(u32::MAX)
    }

    /// An entry of the pool, by weight.
    fn weighted(&mut self) -> usize {
        let mut target = self.rng.next_u64() % self.total_weight.max(1);
        for (i, e) in self.pool.iter().enumerate() {
            if target < u64::from(e.weight) {
                return i;
            }
            target -= u64::from(e.weight);
        }
        0
    }

    fn add_to_pool(
        &mut self,
        program: Program,
        weight: u32,
        focus: Option<usize>,
        features: Vec<u64>,
    ) {
        if self.pool.len() >= MAX_POOL {
            // Not `swap_remove`: the pool's order is the order of discovery.
            let i = self.rng.below(self.pool.len() - RECENT);
            self.total_weight -= u64::from(self.pool[i].weight);
            self.pool.remove(i);
        }
        self.total_weight += u64::from(weight);
        self.pool.push(PoolEntry {
            program,
            weight,
            focus,
            features,
        });
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

    fn report_panic(&self, program: String, payload: &(dyn std::any::Any + Send)) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let mut errors = self.shared.errors.lock().unwrap_or_else(|e| e.into_inner());
        // One report per message: the same bug hit again adds nothing.
        if !errors
            .iter()
            .any(|e| matches!(e, FuzzError::Panicked { message: m, .. } if *m == message))
        {
            errors.push(FuzzError::Panicked { message, program });
        }
    }

    /// Runs each seed once (so that its features are known), then fuzzes until done.
    fn run(&mut self, seeds: &[Program]) {
        let mut reported = self.runner.tls_time();
        let mut seeds = seeds.iter();
        while !self.done() {
            let (program, seed) = match seeds.next() {
                Some(s) => (s.clone(), true),
                None => (self.pick(), false),
            };
            if program.is_empty() || check_bounds(&program).is_err() {
                continue;
            }
            // Kept for a report should ticketdiff panic on it; formatted only then.
            let kept = program.clone();
            let ran =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.one(program, seed)));
            if let Err(payload) = ran {
                // A bug of ticketdiff's own, not a finding: report it with the program and go
                // on with fresh backends (the old ones may be left mid-call).
                self.report_panic(kept.to_string(), payload.as_ref());
                match Runner::with_oracle(self.options.oracle, &self.options.backends) {
                    Ok(runner) => self.runner = runner,
                    Err(_) => return,
                }
                reported = self.runner.tls_time();
                continue;
            }
            let now = self.runner.tls_time();
            self.shared
                .tls_nanos
                .fetch_add((now - reported).as_nanos() as u64, Ordering::Relaxed);
            reported = now;
        }
    }

    /// Runs one program and keeps it in the pool if it showed a new feature (a seed, always).
    fn one(&mut self, program: Program, seed: bool) {
        // Whole runs, not up to each backend's first divergence: what a backend does after it
        // still shows features, and a program kept for them is changed where it diverged.
        // Measured with `ticketdiff rediscover`: stopping there saved about 1% of the time
        // and lost the signatures behind a known one (all twelve of bench/reference-v1 in
        // 60 s in 1 run of 5, against 5 of 5).
        let results = self.runner.run(&program);
        self.shared.programs.fetch_add(1, Ordering::Relaxed);
        self.shared
            .usage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(&program);
        let skipped = results
            .others
            .iter()
            .filter(|r| r.skipped().is_some())
            .count();
        self.shared
            .skipped
            .fetch_add(skipped as u64, Ordering::Relaxed);
        let any_divergence = results.any_divergence();
        if any_divergence {
            self.shared.divergent.fetch_add(1, Ordering::Relaxed);
            self.triage(&program, &results);
        }
        let mut shown = features(&results);
        shown.sort_unstable();
        shown.dedup();
        let mut fresh = Vec::new();
        for f in &shown {
            let n = self.hits.entry(*f).or_insert(0);
            if *n == 0 {
                fresh.push(*f);
            }
            *n += 1;
        }
        if seed {
            self.add_to_pool(program, FRESH_WEIGHT, None, shown);
            return;
        }
        self.share.record(uses_v2(&program), fresh.len());
        if fresh.is_empty() {
            return;
        }
        // What is kept does not depend on whether a divergence was known before this program
        // (it is known after it either way): the same seed makes the same programs whatever
        // the store held, so a second run of a seed finds nothing the first did not.
        if !any_divergence {
            self.add_to_pool(program, FRESH_WEIGHT, None, fresh);
        } else if let Some(head) = head_before_divergence(&program, &results) {
            // The head to extend, and the whole program to change where it diverged.
            let at = head.len();
            if !head.is_empty() {
                self.add_to_pool(head, FRESH_WEIGHT, None, fresh.clone());
            }
            self.add_to_pool(program, FRESH_WEIGHT, Some(at), fresh);
        } else {
            self.add_to_pool(program, KNOWN_WEIGHT, None, fresh);
        }
    }

    /// Counts known signatures and saves new ones.
    fn triage(&mut self, program: &Program, results: &Results) {
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
        for new in found {
            let signature = new.finding.signature();
            if new.kept != Kept::Minimized {
                let mut unconfirmed = shared.unconfirmed.lock().unwrap_or_else(|e| e.into_inner());
                if !unconfirmed.iter().any(|(s, _)| *s == signature) {
                    unconfirmed.push((signature, new.kept));
                }
            }
            if let Kept::Nothing { .. } = new.kept {
                // Unknown again: a later sighting that a rerun confirms is saved then.
                shared
                    .known
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&signature);
                continue;
            }
            if let Some(Err(source)) = new.saved {
                let path = store::entry_path(&self.options.out, &signature);
                shared
                    .errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(FuzzError::Unsaved {
                        signature,
                        entry: store::render(&new.finding, &path),
                        source,
                    });
            }
            let mut known = shared.known.lock().unwrap_or_else(|e| e.into_inner());
            let hits = known.get(&signature).and_then(|f| f.hits);
            known.insert(
                signature,
                Finding {
                    hits,
                    ..new.finding
                },
            );
        }
    }
}

/// When every backend that ran `program` diverged from the oracle, the ops before the last of
/// those divergences: a signature is fixed at a backend's first divergence, so nothing after it
/// can show that backend anything new, while the head reached a state worth extending. `None`
/// when some backend agreed to the end.
fn head_before_divergence(program: &Program, results: &Results) -> Option<Program> {
    let mut cut = 0;
    for r in results.others.iter().filter(|r| r.trace().is_some()) {
        cut = cut.max(r.divergence.as_ref()?.line);
    }
    Some(Program {
        stmts: program
            .stmts
            .iter()
            .filter(|s| s.line < cut)
            .cloned()
            .collect(),
    })
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
        unconfirmed: Mutex::new(Vec::new()),
        usage: Mutex::new(Usage::default()),
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
                        hits: HashMap::new(),
                        share: VersionShare::default(),
                    };
                    worker.run(&options.seeds);
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
        usage: shared.usage.into_inner().unwrap_or_else(|e| e.into_inner()),
        signatures: rows,
        errors: shared
            .errors
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
        unconfirmed: shared
            .unconfirmed
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
    }
}
