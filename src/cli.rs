//! The `ticketdiff` command line: its arguments and its commands. Each command writes its
//! output to the writer it is given and returns how it ended; `main` turns errors into messages
//! and exit codes, in one place.

use crate::backend::BackendId;
use crate::expect::{bless as bless_text, Release};
use crate::files::FilesError;
use crate::finding::Signature;
use crate::fsutil::{rewrite_unchanged, write_atomic, RewriteError};
use crate::program::{load, read_fuzz_input, LoadError};
use crate::report::ReportError;
use crate::runner::Runner;
use crate::store::{EntryError, StoreError};
use crate::table;
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "ticketdiff",
    version,
    about = "Does a Rust TLS 1.3 server issue session tickets exactly as OpenSSL 3 does?"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run programs on the oracle and other backends; show each side by side.
    Run {
        /// `.tkt` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Backends to compare with the oracle (comma-separated); the oracle always runs.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = BackendId::DEFAULT)]
        backend: Vec<BackendId>,
        #[command(flatten)]
        oracle: OracleArg,
        /// Print JSON Lines: one object per file and backend.
        #[arg(long)]
        json: bool,
    },
    /// Fuzz: generate and mutate programs, run them differentially, minimize and save every
    /// new divergence. Exit 0 when nothing new was found, 1 when a new signature was saved.
    Fuzz(FuzzArgs),
    /// Minimize a program that diverges, keeping its signature.
    Minimize {
        file: PathBuf,
        /// Where to write the result (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The backend whose divergence to keep (default: the first that diverges).
        #[arg(long, value_enum)]
        backend: Option<BackendId>,
        #[command(flatten)]
        oracle: OracleArg,
    },
    /// Check the regression corpus and the saved divergences.
    Replay {
        /// Files or directories (default: corpus/ and diff/).
        paths: Vec<PathBuf>,
        #[command(flatten)]
        oracle: OracleArg,
        /// Fail on every saved entry that cannot be checked here (its worker not built, its
        /// oracle another release) instead of counting it apart.
        #[arg(long)]
        require_checked: bool,
    },
    /// Print the program a fuzzer input stands for (a `.tkt` text as itself, any other bytes as
    /// the fuzz targets decode them), ready for `ticketdiff run`.
    Decode { file: PathBuf },
    /// Serve the native TLS 1.3 server on a TCP socket (for `openssl s_client`, curl, ...).
    Serve(crate::serve::Options),
    /// Summarize a directory of saved divergences (default `diff/`): signature, backend and
    /// versions, first divergent op, oracle vs other value, hits, first found, the program.
    Report {
        /// The directory (default: `diff`).
        #[arg(default_value = "diff")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
        /// Hits per signature: the output of `ticketdiff fuzz --json`, or {"SIGNATURE": N}.
        #[arg(long, value_name = "FILE")]
        hits: Option<PathBuf>,
        /// Mark signatures not saved in this directory (e.g. the repository's `diff/`) as new.
        #[arg(long, value_name = "DIR")]
        baseline: Option<PathBuf>,
    },
    /// The rediscovery benchmark: how long each fuzzing engine takes to find every signature of
    /// a store again, from an empty store, over several seeds (results.json, table.md, an SVG).
    Rediscover(crate::rediscover::Options),
    /// Record the oracle's results in programs as `# expect` comments (after an OpenSSL upgrade,
    /// or for a new corpus program).
    Bless {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        oracle: OracleArg,
    },
}

/// `--oracle`: which backend the others are compared with.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct OracleArg {
    /// The oracle: the OpenSSL linked here by default, or another release (`openssl-3.6`,
    /// `openssl-4.0`, in worker processes).
    #[arg(long = "oracle", value_enum, default_value_t = BackendId::ORACLE)]
    pub id: BackendId,
}

/// The arguments of `ticketdiff fuzz`.
#[derive(clap::Args, Clone, Debug)]
pub struct FuzzArgs {
    /// Seconds to run (default 60 unless --runs is given).
    #[arg(long)]
    pub time: Option<u64>,
    /// Programs to run.
    #[arg(long)]
    pub runs: Option<u64>,
    /// Worker threads, 1 to 256 (default: the available cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=MAX_JOBS as i64))]
    pub jobs: Option<u16>,
    /// Seed of the program generator (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Backends to compare with the oracle (comma-separated; default: those in process).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = BackendId::DEFAULT)]
    pub backend: Vec<BackendId>,
    #[command(flatten)]
    pub oracle: OracleArg,
    /// Where new divergences are saved.
    #[arg(long, default_value = "diff")]
    pub out: PathBuf,
    /// Seed programs: .tkt files, or directories of .tkt files and of a coverage-guided
    /// engine's inputs (libFuzzer's corpus folder such as fuzz/corpus/diff, honggfuzz's),
    /// decoded as the fuzz targets decode them; default `corpus/` when there is one.
    #[arg(long)]
    pub corpus: Option<Vec<PathBuf>>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Most `--jobs`: far above the cores of any machine this runs on, well below a thread limit.
pub const MAX_JOBS: u16 = 256;

/// How a command ended, when it did what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// All agree, all passed, nothing new.
    Ok,
    /// A divergence, a failed replay, a new signature.
    Found,
    /// `run`: no divergence, but some program was compared with nothing (every backend named
    /// besides the oracle skipped it), so "all agree" would not be true.
    NotCompared,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Found => 1,
            Exit::NotCompared => 3,
        }
    }
}

/// Exit code of a usage or input error.
pub const EXIT_ERROR: u8 = 2;
/// Standard output closed by its reader: what a shell reports for a process ended by SIGPIPE.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// Why a command could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Writing the command's own output failed (a closed pipe is not reported, only ends it).
    #[error("cannot write to standard output: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Rewrite(#[from] RewriteError),
    #[error(transparent)]
    Files(#[from] FilesError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Entry(#[from] EntryError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {signature} {kept} (a backend that diverges only sometimes)", path.display())]
    NotKept {
        path: PathBuf,
        signature: crate::finding::Signature,
        kept: crate::minimize::Kept,
    },
    #[error("{}: no backend diverges; nothing to minimize", .0.display())]
    NothingToMinimize(PathBuf),
    #[error("nothing to replay: no `corpus/` or `diff/` here and no path given")]
    NothingToReplay,
    #[error("{}: is a saved divergence; `minimize -o` writes over it only from an entry of the same signature (now `{found}`)", path.display())]
    WouldReplaceEntry { path: PathBuf, found: String },
    #[error("{}: {message}", path.display())]
    Unsaveable { path: PathBuf, message: String },
    #[error(transparent)]
    Fuzz(#[from] crate::fuzz::FuzzError),
    /// Errors already printed one by one, each once.
    #[error("{command}: {errors} error(s), printed above")]
    Reported {
        command: &'static str,
        errors: usize,
    },
    #[error(transparent)]
    Unavailable(#[from] crate::worker::Unavailable),
    #[error(transparent)]
    Env(#[from] crate::env::EnvError),
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    #[error("{}:{line}: the oracle could not finish the program: {failure}", path.display())]
    Unfinished {
        path: PathBuf,
        line: u32,
        failure: crate::backend::Failure,
    },
    #[error("ticketdiff serve: {0}")]
    Serve(std::io::Error),
    #[error("ticketdiff rediscover: {0}")]
    Rediscover(#[from] crate::rediscover::Error),
}

impl CliError {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_BROKEN_PIPE,
            _ => EXIT_ERROR,
        }
    }
}

/// Runs a parsed command, writing its output to `out`.
pub fn execute(command: Command, out: &mut dyn Write) -> Result<Exit, CliError> {
    crate::env::check_all()?;
    match command {
        Command::Run {
            files,
            backend,
            oracle,
            json,
        } => run(&files, oracle.id, &backend, json, out),
        Command::Replay {
            paths,
            oracle,
            require_checked,
        } => replay(&paths, oracle.id, require_checked, out),
        Command::Fuzz(args) => fuzz(args, out),
        Command::Minimize {
            file,
            output,
            backend,
            oracle,
        } => minimize(&file, output.as_deref(), oracle.id, backend, out),
        Command::Bless { files, oracle } => bless(&files, oracle.id, out),
        Command::Decode { file } => decode(&file, out),
        Command::Serve(options) => crate::serve::serve(&options)
            .map(|()| Exit::Ok)
            .map_err(|e| match e.kind() {
                // Its log lines could not be written: the reader went away.
                std::io::ErrorKind::BrokenPipe => CliError::Output(e),
                _ => CliError::Serve(e),
            }),
        Command::Rediscover(options) => rediscover(&options, out),
        Command::Report {
            dir,
            format,
            hits,
            baseline,
        } => report(&dir, format, hits.as_deref(), baseline.as_deref(), out),
    }
}

#[derive(Serialize)]
struct JsonRun<'a> {
    file: &'a str,
    backend: BackendId,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    steps: &'a [crate::trace::Step],
}

/// `ticketdiff run`.
pub fn run(
    files: &[PathBuf],
    oracle: BackendId,
    backends: &[BackendId],
    json: bool,
    out: &mut dyn Write,
) -> Result<Exit, CliError> {
    // Every file is checked before any runs, so an input error costs no partial output.
    let programs = files
        .iter()
        .map(|f| load(f).map(|p| (f.display().to_string(), p.program)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runner = Runner::with_oracle(oracle, backends)?;
    let (mut diverged, mut not_compared) = (false, false);
    for (name, program) in &programs {
        let results = runner.run(program);
        diverged |= results.any_divergence();
        not_compared |=
            !results.others.is_empty() && results.others.iter().all(|r| r.skipped().is_some());
        if !json {
            writeln!(out, "{}", table::render(name, program, &results))?;
            continue;
        }
        let oracle = JsonRun {
            file: name,
            backend: BackendId::ORACLE,
            version: results.oracle.version,
            skipped: None,
            steps: &results.oracle.trace,
        };
        writeln!(
            out,
            "{}",
            serde_json::to_string(&oracle).expect("serializable")
        )?;
        for r in &results.others {
            let line = JsonRun {
                file: name,
                backend: r.backend,
                version: r.version,
                skipped: r.skipped(),
                steps: r.trace().map_or(&[], |t| t.as_slice()),
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string(&line).expect("serializable")
            )?;
        }
    }
    Ok(if diverged {
        Exit::Found
    } else if not_compared {
        Exit::NotCompared
    } else {
        Exit::Ok
    })
}

/// `ticketdiff replay`: exit 1 when a file failed (or, with `require_checked`, an entry was
/// not checked).
pub fn replay(
    paths: &[PathBuf],
    oracle: BackendId,
    require_checked: bool,
    out: &mut dyn Write,
) -> Result<Exit, CliError> {
    let paths: Vec<PathBuf> = if paths.is_empty() {
        ["corpus", "diff"]
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect()
    } else {
        paths.to_vec()
    };
    if paths.is_empty() {
        return Err(CliError::NothingToReplay);
    }
    let mut reports = crate::replay::replay_with(&paths, oracle)?;
    for r in &mut reports {
        if let (true, Some(why)) = (require_checked, &r.not_checked) {
            r.failures.push(format!(
                "{}: not checked: {why} (--require-checked)",
                crate::files::Shown(&r.path)
            ));
        }
    }
    out.write_all(crate::replay::summary(&reports).as_bytes())?;
    let failed = reports.iter().filter(|r| !r.passed()).count();
    Ok(if failed > 0 { Exit::Found } else { Exit::Ok })
}

/// `ticketdiff bless`: rewrites each file's `# expect` comments from a run of the oracle. Every
/// file is tried; each error is printed once, and the command fails after the others were
/// blessed.
pub fn bless(files: &[PathBuf], oracle: BackendId, out: &mut dyn Write) -> Result<Exit, CliError> {
    let mut runner = Runner::with_oracle(oracle, &[])?;
    let mut errors = 0;
    for f in files {
        let result = load(f).map_err(CliError::from).and_then(|file| {
            let trace = runner
                .oracle()
                .run(&file.program)
                .map_err(|u| CliError::Unfinished {
                    path: f.clone(),
                    line: file.program.stmts[u.at].line,
                    failure: u.failure,
                })?;
            let release = Release::of_version(runner.oracle().version());
            let blessed = bless_text(&file.text, &trace, release.as_ref());
            if blessed == file.text {
                return Ok(false);
            }
            rewrite_unchanged(f, file.text.as_bytes(), blessed.as_bytes())?;
            Ok(true)
        });
        match result {
            Ok(true) => writeln!(out, "blessed {}", f.display())?,
            Ok(false) => {}
            Err(e) => {
                eprintln!("ticketdiff: {e}");
                errors += 1;
            }
        }
    }
    if errors > 0 {
        // What was blessed is said before the error ends the command.
        out.flush()?;
        return Err(CliError::Reported {
            command: "bless",
            errors,
        });
    }
    Ok(Exit::Ok)
}

/// Default fuzzing time when neither `--time` nor `--runs` is given.
pub const DEFAULT_FUZZ_SECS: u64 = 60;

/// `ticketdiff fuzz`.
pub fn fuzz(args: FuzzArgs, out: &mut dyn Write) -> Result<Exit, CliError> {
    use std::io::IsTerminal;
    use std::time::Duration;

    // Seeds: the corpus programs. A missing default corpus is fine; a missing named one, or a
    // broken .tkt file, is not.
    let corpus = match args.corpus {
        Some(paths) => paths,
        None => [PathBuf::from("corpus")]
            .into_iter()
            .filter(|p| p.exists())
            .collect(),
    };
    let seeds = crate::fuzz::seeds::load_seeds(&corpus).map_err(crate::fuzz::FuzzError::from)?;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let time = match (args.time, args.runs) {
        (None, None) => Some(DEFAULT_FUZZ_SECS),
        (t, _) => t,
    };
    for id in args.backend.iter().chain([&args.oracle.id]) {
        crate::worker::check(*id)?;
    }
    prepare_store(&args.out)?;
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let options = crate::fuzz::Options {
        time: time.map(Duration::from_secs),
        runs: args.runs,
        jobs,
        seed,
        oracle: args.oracle.id,
        backends: args.backend,
        out: args.out,
        seeds,
    };
    let stop = crate::signals::stop_flag();
    let tty = std::io::stderr().is_terminal();
    eprintln!(
        "ticketdiff fuzz: seed {seed}, {} jobs, {} seed programs, saving to {}",
        options.jobs,
        options.seeds.len(),
        options.out.display()
    );
    let mut last = std::time::Instant::now();
    let summary = crate::fuzz::fuzz(&options, stop, |shared| {
        let line = crate::fuzz::render_status(shared, options.jobs.max(1));
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else if last.elapsed() >= Duration::from_secs(5) {
            eprintln!("{line}");
            last = std::time::Instant::now();
        }
    });
    if tty {
        eprintln!();
    }
    crate::fuzz::print_summary(out, &summary, args.json)?;
    let found = summary.new_signatures() > 0;
    if !summary.errors.is_empty() {
        // The summary is on its way before the error ends the command (an error's exit drops
        // what is still buffered), and the errors were printed with it, once.
        out.flush()?;
        return Err(CliError::Reported {
            command: "fuzz",
            errors: summary.errors.len(),
        });
    }
    Ok(if found { Exit::Found } else { Exit::Ok })
}

/// `ticketdiff rediscover`: the benchmark's progress goes to standard error, its tables here.
pub fn rediscover(
    options: &crate::rediscover::Options,
    out: &mut dyn Write,
) -> Result<Exit, CliError> {
    let stop = crate::signals::stop_flag();
    let results = crate::rediscover::run(options, stop)?;
    write!(out, "{}", crate::rediscover::summary::text(&results))?;
    writeln!(out, "written to {}", options.out.display())?;
    Ok(Exit::Ok)
}

/// Checks before a fuzz run that its findings can be saved (so a wrong `--out` fails at once,
/// not after `--time`), removes temporary files a killed run left there, and warns about
/// entries that the store would list twice.
fn prepare_store(dir: &Path) -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::Unsaveable {
        path: dir.to_path_buf(),
        message: format!("cannot save findings there: {e}"),
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    for stale in crate::fsutil::stale_temporaries(dir) {
        match std::fs::remove_file(&stale) {
            Ok(()) => eprintln!(
                "ticketdiff fuzz: removed {}, left by a writer that died",
                stale.display()
            ),
            Err(e) => eprintln!("ticketdiff fuzz: cannot remove {}: {e}", stale.display()),
        }
    }
    if let Ok(entries) = crate::store::read_dir(dir) {
        let findings: Vec<_> = entries.into_iter().filter_map(Result::ok).collect();
        for problem in crate::store::name_problems(crate::store::files_and_signatures(&findings)) {
            eprintln!("ticketdiff fuzz: warning: {problem}");
        }
    }
    Ok(())
}

/// `ticketdiff minimize`. A saved entry is minimized for its own signature and written as an
/// entry (its versions and first-found date kept); any other program keeps the signature of
/// the first backend that diverges (or `--backend`'s) and is written as a program. A saved
/// entry is never overwritten by a program, nor by an entry of another signature.
pub fn minimize(
    file: &Path,
    output: Option<&Path>,
    oracle: BackendId,
    backend: Option<BackendId>,
    out: &mut dyn Write,
) -> Result<Exit, CliError> {
    let loaded = load(file)?;
    let entry = if crate::store::is_entry(&loaded.text) {
        Some(crate::store::read_entry(file, &loaded.text)?)
    } else {
        None
    };
    let backends = match (backend, &entry) {
        (Some(b), _) => vec![b],
        (None, Some(e)) => vec![e.backend()],
        (None, None) => BackendId::DEFAULT.to_vec(),
    };
    let oracle = entry.as_ref().map_or(oracle, |e| e.versions.oracle_backend);
    let program = loaded.program.renumbered();
    let mut runner = Runner::with_oracle(oracle, &backends)?;
    let results = runner.run(&program);
    let wanted = entry.as_ref().map(|e| e.signature());
    let Some((_, d)) = results
        .divergences()
        .find(|(_, d)| wanted.is_none_or(|s| s == d.signature))
    else {
        return Err(CliError::NothingToMinimize(file.to_path_buf()));
    };
    let signature = d.signature;
    let remeasured = crate::minimize::minimize_divergence(&mut runner, &program, d);
    let kept = remeasured.kept();
    let Some((small, divergence)) = remeasured.entry() else {
        return Err(CliError::NotKept {
            path: file.to_path_buf(),
            signature,
            kept,
        });
    };
    let (small, divergence) = (small.clone(), divergence.clone());
    if kept != crate::minimize::Kept::Minimized {
        eprintln!(
            "ticketdiff minimize: {signature} {kept} (a backend that diverges only sometimes)"
        );
    }
    if let Some(path) = output {
        refuse_to_replace_an_entry(path, entry.as_ref().map(|_| signature))?;
    }
    let text = match entry {
        Some(e) => {
            let finding = crate::finding::Finding {
                divergence,
                program: small.clone(),
                ..e
            };
            crate::store::render(&finding, output.unwrap_or(file))
        }
        None => format!("# signature kept: {signature}\n{small}"),
    };
    match output {
        Some(path) => {
            write_atomic(path, text.as_bytes()).map_err(|source| CliError::Write {
                path: path.to_path_buf(),
                source,
            })?;
            eprintln!(
                "{} ops -> {} ops, signature {signature}, written to {}",
                program.len(),
                small.len(),
                path.display()
            );
        }
        None => write!(out, "{text}")?,
    }
    Ok(Exit::Ok)
}

/// An existing saved entry at `path` may only be replaced by an entry of its own signature.
fn refuse_to_replace_an_entry(path: &Path, writing: Option<Signature>) -> Result<(), CliError> {
    let Ok(text) = crate::program::read_text(path, &path.display().to_string()) else {
        return Ok(());
    };
    if !crate::store::is_entry(&text) {
        return Ok(());
    }
    let found = crate::store::read_entry(path, &text).map(|e| e.signature());
    match (found, writing) {
        (Ok(saved), Some(w)) if saved == w => Ok(()),
        (found, _) => Err(CliError::WouldReplaceEntry {
            path: path.to_path_buf(),
            found: found.map_or_else(|_| "unreadable".into(), |s| s.to_string()),
        }),
    }
}

/// `ticketdiff decode`.
pub fn decode(file: &Path, out: &mut dyn Write) -> Result<Exit, CliError> {
    let bytes = read_fuzz_input(file)?;
    let program = crate::fuzz::target::decode(&bytes);
    writeln!(out, "# {} decodes to:", file.display())?;
    write!(out, "{program}")?;
    Ok(Exit::Ok)
}

/// The formats of `ticketdiff report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Json,
}

/// `ticketdiff report`.
pub fn report(
    dir: &Path,
    format: ReportFormat,
    hits: Option<&Path>,
    baseline: Option<&Path>,
    out: &mut dyn Write,
) -> Result<Exit, CliError> {
    let hits = match hits {
        None => None,
        Some(path) => {
            let text =
                crate::program::read_hits_text(path, &crate::files::Shown(path).to_string())?;
            Some(crate::report::parse_hits(&text, path)?)
        }
    };
    let r = crate::report::build(dir, hits.as_ref(), baseline)?;
    let text = match format {
        ReportFormat::Markdown => crate::report::markdown(&r),
        ReportFormat::Json => crate::report::json(&r) + "\n",
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(Exit::Ok)
}
