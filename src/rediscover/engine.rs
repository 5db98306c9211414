//! The three fuzzing engines as the benchmark runs them: how each is built, and the command
//! line of one run (the same workers, the same wall time, the same store and seeds for all).

pub use super::results::EngineKind;
use super::results::{Mode, Skipped};
use crate::backend::BackendId;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An engine ready to run: its kind, a label for its results, and the executable.
#[derive(Clone, Debug)]
pub struct Engine {
    pub kind: EngineKind,
    pub label: String,
    pub exe: PathBuf,
    /// The program `exe` fuzzes, when that is another executable (honggfuzz's target).
    pub target: Option<PathBuf>,
}

/// What a run is given.
pub struct RunSetup<'a> {
    pub mode: Mode,
    pub seed: u64,
    pub jobs: usize,
    /// The engine's own time limit, a backstop: the benchmark stops it at the budget.
    pub limit_secs: u64,
    /// The run's store: empty at the start; the engine saves its findings here.
    pub store: &'a Path,
    /// A scratch folder of the run's own (working corpus, artifacts, workspace).
    pub work: &'a Path,
    /// The seed programs (`corpus/`), read only.
    pub corpus: &'a Path,
    /// The repository checkout (for the dictionary).
    pub repo: &'a Path,
    pub backends: &'a [BackendId],
}

impl Engine {
    /// The command of one run, its working folders made.
    pub fn command(&self, s: &RunSetup<'_>) -> std::io::Result<Command> {
        let backends = s
            .backends
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(",");
        let empty = s.work.join("empty");
        std::fs::create_dir_all(&empty)?;
        let seeds = match s.mode {
            Mode::Corpus => s.corpus.to_path_buf(),
            Mode::Empty => empty,
        };
        let dict = s.repo.join("fuzz/diff.dict");
        let mut cmd = Command::new(&self.exe);
        match self.kind {
            EngineKind::Builtin => {
                cmd.arg("fuzz")
                    .args(["--time", &s.limit_secs.to_string()])
                    .args(["--seed", &s.seed.to_string()])
                    .args(["--jobs", &s.jobs.to_string()])
                    .args(["--backend", &backends])
                    .arg("--out")
                    .arg(s.store)
                    .arg("--corpus")
                    .arg(&seeds);
            }
            EngineKind::Libfuzzer => {
                let grown = s.work.join("corpus");
                let artifacts = s.work.join("artifacts");
                std::fs::create_dir_all(&grown)?;
                std::fs::create_dir_all(&artifacts)?;
                // The first folder receives new inputs; the seeds are only read.
                cmd.arg(&grown)
                    .arg(&seeds)
                    .arg(format!("-fork={}", s.jobs))
                    .args(["-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"])
                    .arg(format!("-max_total_time={}", s.limit_secs))
                    .args(["-timeout=60", "-rss_limit_mb=4096", "-max_len=4096"])
                    .arg(format!("-seed={}", s.seed))
                    .arg(format!("-dict={}", dict.display()))
                    .arg(format!("-artifact_prefix={}/", artifacts.display()));
            }
            EngineKind::Honggfuzz => {
                let grown = s.work.join("corpus");
                let workspace = s.work.join("workspace");
                std::fs::create_dir_all(&grown)?;
                std::fs::create_dir_all(&workspace)?;
                // honggfuzz has no seed option: runs differ by its own randomness. `-P`:
                // persistent mode, as `cargo hfuzz run` runs it.
                cmd.arg("-P")
                    .arg("--input")
                    .arg(&seeds)
                    .arg("--output")
                    .arg(&grown)
                    .arg("--workspace")
                    .arg(&workspace)
                    .arg("--dict")
                    .arg(&dict)
                    .args(["-F", "4096", "-t", "60", "-n", &s.jobs.to_string()])
                    .args(["--run_time", &s.limit_secs.to_string()])
                    .args(["-Q", "-v", "--"])
                    .args(&self.target);
            }
        }
        cmd.env("TICKETDIFF_DIFF_DIR", s.store)
            .env("TICKETDIFF_BACKENDS", &backends);
        Ok(cmd)
    }
}

/// How external builds are run: whether to build at all, and where the checkout is.
pub struct Build<'a> {
    pub repo: &'a Path,
    /// Build the targets (else use what was built before).
    pub build: bool,
}

fn skipped(kind: EngineKind, reason: impl Into<String>) -> Skipped {
    Skipped {
        engine: kind,
        reason: reason.into(),
    }
}

/// The last lines of a failed command's output, for the reason it was skipped.
fn tail(output: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
}

/// Runs a build step, logging to standard error; the reason on failure.
fn build_step(cmd: &mut Command, what: &str) -> Result<(), String> {
    eprintln!("rediscover: {what} ...");
    let started = std::time::Instant::now();
    let output = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if !output.status.success() {
        return Err(format!("{what} failed: {}", tail(&output)));
    }
    eprintln!(
        "rediscover: {what}: done in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether `cargo ARGS` runs and succeeds (a toolchain or a cargo plugin is there).
fn cargo_runs(args: &[&str]) -> bool {
    Command::new("cargo")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The engine, once its executables are there.
fn built(kind: EngineKind, exe: PathBuf, target: Option<PathBuf>) -> Result<Engine, Skipped> {
    if let Some(missing) = std::iter::once(&exe).chain(&target).find(|p| !p.is_file()) {
        return Err(skipped(
            kind,
            format!(
                "{} is not built (run without --no-build)",
                missing.display()
            ),
        ));
    }
    Ok(Engine {
        kind,
        label: kind.name().into(),
        exe,
        target,
    })
}

/// The host triple, for cargo's target folder names.
fn host_triple() -> String {
    Command::new("rustc")
        .arg("-vV")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        })
        .unwrap_or_else(|| "x86_64-unknown-linux-gnu".into())
}

/// The libFuzzer `diff` target, built with `cargo +nightly fuzz build -O` (release,
/// AddressSanitizer: what `.ci/libfuzzer.sh` and the nightly job run).
pub fn libfuzzer(b: &Build<'_>) -> Result<Engine, Skipped> {
    let kind = EngineKind::Libfuzzer;
    let exe = b
        .repo
        .join("fuzz/target")
        .join(host_triple())
        .join("release/diff");
    if b.build {
        if !cargo_runs(&["+nightly", "--version"]) {
            return Err(skipped(
                kind,
                "no nightly toolchain (`rustup toolchain install nightly`)",
            ));
        }
        if !cargo_runs(&["+nightly", "fuzz", "--version"]) {
            return Err(skipped(
                kind,
                "cargo-fuzz is not installed (`cargo install --locked cargo-fuzz`)",
            ));
        }
        build_step(
            Command::new("cargo")
                .current_dir(b.repo)
                .args(["+nightly", "fuzz", "build", "-O", "diff"]),
            "building the libFuzzer target (cargo +nightly fuzz build -O diff)",
        )
        .map_err(|e| skipped(kind, e))?;
    }
    built(kind, exe, None)
}

/// The honggfuzz `diff` target, built with `cargo hfuzz build` (release), run by the honggfuzz
/// executable that cargo-hfuzz builds beside it (`hfuzz_target/honggfuzz`).
pub fn honggfuzz(b: &Build<'_>) -> Result<Engine, Skipped> {
    let kind = EngineKind::Honggfuzz;
    let dir = b.repo.join("fuzz/honggfuzz");
    let built = dir.join("hfuzz_target");
    if b.build {
        if !cargo_runs(&["hfuzz", "version"]) {
            return Err(skipped(
                kind,
                "cargo-hfuzz is not installed (`apt-get install binutils-dev libunwind-dev`, \
                 `cargo install --locked honggfuzz`)",
            ));
        }
        build_step(
            Command::new("cargo")
                .current_dir(&dir)
                .args(["hfuzz", "build"]),
            "building the honggfuzz target (cargo hfuzz build)",
        )
        .map_err(|e| skipped(kind, e))?;
    }
    let target = built.join(host_triple()).join("release/diff");
    self::built(kind, built.join("honggfuzz"), Some(target))
}
