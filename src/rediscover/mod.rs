//! `ticketdiff rediscover`: the rediscovery benchmark. Each engine (the built-in fuzzer, the
//! libFuzzer target, the honggfuzz target) runs from an empty store, once per seed, with and
//! without the seed corpus, on the same number of workers for the same wall time; the time at
//! which each signature of a reference store (`diff/`) is first saved is recorded.
//!
//! Runs alternate engines seed by seed, so a change in the machine's load hits all of them.
//! Results go to `results.json` (raw, for tracking), `table.md` and `rediscover.svg`, rewritten
//! after every run so that an interrupted benchmark keeps what it measured.

pub mod engine;
pub mod plot;
pub mod results;
pub mod summary;
mod watch;

pub use engine::{Engine, EngineKind};
pub use results::{Ending, Mode, Results, Run, Skipped};

use crate::backend::BackendId;
use crate::finding::Signature;
use crate::fsutil::write_atomic;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The arguments of `ticketdiff rediscover`.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Engines to run (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = EngineKind::ALL)]
    pub engines: Vec<EngineKind>,
    /// Runs per engine and mode, with seeds 1 to N.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub seeds: u64,
    /// With and/or without the seed corpus (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Mode::ALL)]
    pub modes: Vec<Mode>,
    /// Budget of a run seeded from the corpus, in seconds (a run ends earlier once every
    /// reference signature is saved).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub time_corpus: u64,
    /// Budget of a run from an empty corpus, in seconds.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub time_empty: u64,
    /// Workers of every engine: threads (built-in), `-fork` processes (libFuzzer), `-n`
    /// threads (honggfuzz), 1 to 256 (default: the available cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: Option<u16>,
    /// The signatures to rediscover: a store of saved divergences.
    #[arg(long, default_value = "diff")]
    pub reference: PathBuf,
    /// Only the reference signatures of these backends (comma-separated; default: all of
    /// them). The engines compare exactly the backends of the signatures kept.
    #[arg(long = "backend", value_enum, value_delimiter = ',')]
    pub backends: Vec<BackendId>,
    /// The seed corpus of the `corpus` mode.
    #[arg(long, default_value = "corpus")]
    pub corpus: PathBuf,
    /// Where runs, results.json, table.md and rediscover.svg are written.
    #[arg(long, default_value = "rediscover-out")]
    pub out: PathBuf,
    /// Another build of ticketdiff to run as an engine of its own, as LABEL=PATH (repeatable),
    /// e.g. `--builtin before=/tmp/ticketdiff-main` to compare two versions run by run.
    #[arg(long = "builtin", value_name = "LABEL=PATH", value_parser = parse_builtin)]
    pub builtins: Vec<(String, PathBuf)>,
    /// Use the libFuzzer and honggfuzz targets as built before instead of building them.
    #[arg(long)]
    pub no_build: bool,
    /// Run nothing: write the table and the picture from these results (merged).
    #[arg(long, value_name = "RESULTS.json")]
    pub from: Vec<PathBuf>,
}

fn parse_builtin(s: &str) -> Result<(String, PathBuf), String> {
    let (label, path) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected LABEL=PATH"))?;
    if label.is_empty() || label.contains(['/', ' ']) {
        return Err(format!(
            "`{label}`: a label is a word without `/` or spaces"
        ));
    }
    Ok((label.to_string(), PathBuf::from(path)))
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read the reference signatures: {source}", dir.display())]
    Reference {
        dir: PathBuf,
        source: crate::store::StoreError,
    },
    #[error(transparent)]
    Entry(#[from] crate::store::EntryError),
    #[error("{}: no saved signature to rediscover", .0.display())]
    NoReference(PathBuf),
    #[error("{}: no saved signature of {backends} to rediscover", dir.display())]
    NoReferenceOf { dir: PathBuf, backends: String },
    #[error("{}: no such corpus folder", .0.display())]
    NoCorpus(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Results(#[from] results::ReadError),
    #[error("cannot draw the picture: {0}")]
    Plot(String),
    #[error("no engine could run")]
    NoEngine,
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The signatures of a store, sorted by name.
pub fn reference_signatures(dir: &Path) -> Result<Vec<Signature>, Error> {
    let entries = crate::store::read_dir(dir).map_err(|source| Error::Reference {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut out = entries
        .into_iter()
        .map(|e| e.map(|f| f.signature()))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_cached_key(|s| s.to_string());
    out.dedup();
    if out.is_empty() {
        return Err(Error::NoReference(dir.to_path_buf()));
    }
    Ok(out)
}

/// Writes `results.json`, `table.md` and `rediscover.svg` into `out`.
pub fn write_outputs(results: &Results, out: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(out).map_err(io_at(out))?;
    let json = serde_json::to_string_pretty(results).expect("serializable") + "\n";
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        write_atomic(&path, bytes).map_err(io_at(&path))
    };
    write("results.json", json.as_bytes())?;
    write("table.md", summary::markdown(results).as_bytes())?;
    let svg = plot::svg(results).map_err(Error::Plot)?;
    write("rediscover.svg", svg.as_bytes())
}

/// The engines to run, built as needed; the ones that cannot run are reported as skipped.
fn engines(options: &Options, repo: &Path) -> (Vec<Engine>, Vec<Skipped>) {
    let (mut ready, mut skipped) = (Vec::new(), Vec::new());
    let build = engine::Build {
        repo,
        build: !options.no_build,
    };
    for kind in &options.engines {
        let made = match kind {
            EngineKind::Builtin => std::env::current_exe()
                .map(|exe| Engine {
                    kind: EngineKind::Builtin,
                    label: "builtin".into(),
                    exe,
                    target: None,
                })
                .map_err(|e| Skipped {
                    engine: EngineKind::Builtin,
                    reason: format!("cannot find this executable: {e}"),
                }),
            EngineKind::Libfuzzer => engine::libfuzzer(&build),
            EngineKind::Honggfuzz => engine::honggfuzz(&build),
        };
        match made {
            Ok(e) => ready.push(e),
            Err(s) => {
                eprintln!("rediscover: SKIPPING {}: {}", s.engine.name(), s.reason);
                skipped.push(s);
            }
        }
    }
    for (label, exe) in &options.builtins {
        ready.push(Engine {
            kind: EngineKind::Builtin,
            label: label.clone(),
            exe: exe.clone(),
            target: None,
        });
    }
    (ready, skipped)
}

/// The benchmark (or, with `--from`, only its outputs); the results, also written to `--out`.
pub fn run(options: &Options, stop: Arc<AtomicBool>) -> Result<Results, Error> {
    if !options.from.is_empty() {
        let results = Results::merge(&options.from)?;
        write_outputs(&results, &options.out)?;
        return Ok(results);
    }
    let mut reference = reference_signatures(&options.reference)?;
    if !options.backends.is_empty() {
        reference.retain(|s| options.backends.contains(&s.backend()));
        if reference.is_empty() {
            return Err(Error::NoReferenceOf {
                dir: options.reference.clone(),
                backends: options
                    .backends
                    .iter()
                    .map(|b| b.name())
                    .collect::<Vec<_>>()
                    .join(","),
            });
        }
    }
    if options.modes.contains(&Mode::Corpus) && !options.corpus.is_dir() {
        return Err(Error::NoCorpus(options.corpus.clone()));
    }
    let mut backends: Vec<BackendId> = reference.iter().map(|s| s.backend()).collect();
    backends.sort();
    backends.dedup();
    let jobs = options.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let repo = std::env::current_dir().map_err(io_at(Path::new(".")))?;
    let corpus = absolute(&options.corpus);
    let (ready, skipped) = engines(options, &repo);
    if ready.is_empty() {
        return Err(Error::NoEngine);
    }
    let mut results = Results {
        reference: reference.clone(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        skipped,
        runs: Vec::new(),
    };
    let out = absolute(&options.out);
    for &mode in &options.modes {
        let budget = match mode {
            Mode::Corpus => options.time_corpus,
            Mode::Empty => options.time_empty,
        };
        for seed in 1..=options.seeds {
            for engine in &ready {
                if stop.load(Ordering::Relaxed) {
                    write_outputs(&results, &out)?;
                    return Ok(results);
                }
                let dir = out
                    .join("runs")
                    .join(format!("{}-{}-{seed}", engine.label, mode.name()));
                let _ = std::fs::remove_dir_all(&dir);
                let (store, work) = (dir.join("store"), dir.join("work"));
                for d in [&store, &work] {
                    std::fs::create_dir_all(d).map_err(io_at(d))?;
                }
                let setup = engine::RunSetup {
                    mode,
                    seed,
                    jobs,
                    // A backstop: the benchmark stops the engine at the budget itself.
                    limit_secs: budget + 30,
                    store: &store,
                    work: &work,
                    corpus: &corpus,
                    repo: &repo,
                    backends: &backends,
                };
                let cmd = engine.command(&setup).map_err(io_at(&work))?;
                let load_at_start = watch::load_average();
                eprintln!(
                    "rediscover: {} {} seed {seed}: up to {budget}s on {jobs} workers (load {load_at_start:.2})",
                    engine.label,
                    mode.name()
                );
                let log = dir.join("log.txt");
                let watched = watch::watch(
                    cmd,
                    &log,
                    &store,
                    &reference,
                    Duration::from_secs(budget),
                    &stop,
                )
                .map_err(io_at(&engine.exe))?;
                let Some(watched) = watched else {
                    // Interrupted: an unfinished run measures nothing.
                    continue;
                };
                let run = Run {
                    engine: engine.kind,
                    label: engine.label.clone(),
                    mode,
                    seed,
                    jobs,
                    budget_secs: budget as f64,
                    elapsed_secs: watched.elapsed_secs,
                    cpu_secs: watched.cpu_secs,
                    load_at_start,
                    found: watched.found,
                    ending: watched.ending,
                };
                let found = run.found_by(&reference, f64::INFINITY);
                eprintln!(
                    "rediscover: {} {} seed {seed}: {found}/{} signatures, {}",
                    engine.label,
                    mode.name(),
                    reference.len(),
                    match run.all_found_at(&reference) {
                        Some(t) => format!("all after {t:.1}s"),
                        None => format!("ended: {:?} (log: {})", run.ending, log.display()),
                    }
                );
                results.runs.push(run);
                write_outputs(&results, &out)?;
            }
        }
    }
    Ok(results)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
