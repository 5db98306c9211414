//! The commands behind the `ticketdiff` binary. Exit codes: 0 all agree (or all passed), 1 a
//! divergence (or a failure), 2 a usage or input error, 141 standard output closed early.

use crate::backend::BACKEND_NAMES;
use crate::expect::bless as bless_text;
use crate::fsutil::write_atomic;
use crate::program::{parse_named, Program};
use crate::replay;
use crate::runner::{Outcome, Runner};
use crate::table;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const EXIT_OK: u8 = 0;
pub const EXIT_DIVERGENCE: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
/// Standard output closed by its reader: what a shell reports for a process ended by SIGPIPE.
pub const EXIT_BROKEN_PIPE: u8 = 141;

/// Ends the process after a failed write of command output: quietly when the reader has gone
/// away (`ticketdiff run ... | head`), with a message and exit 2 otherwise. Files being saved are
/// written elsewhere, atomically, so nothing is left half-written.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(EXIT_BROKEN_PIPE));
    }
    eprintln!("ticketdiff: cannot write to standard output: {e}");
    std::process::exit(i32::from(EXIT_ERROR));
}

/// Every backend, for `--backend`'s default.
pub fn default_backends() -> Vec<String> {
    BACKEND_NAMES.iter().map(|s| s.to_string()).collect()
}

/// Reads and parses a program file; the error names the file and line.
pub fn load(path: &Path) -> Result<(String, Program), String> {
    let name = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| format!("{name}: not valid UTF-8"))?,
        Err(e) => return Err(format!("{name}: cannot read: {e}")),
    };
    let program = parse_named(&text, &name).map_err(|e| e.to_string())?;
    Ok((text, program))
}

#[derive(Serialize)]
struct JsonRun<'a> {
    file: &'a str,
    backend: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    steps: &'a [crate::trace::Step],
}

/// `ticketdiff run`.
pub fn run(files: &[PathBuf], backends: &[String], json: bool) -> u8 {
    let mut runner = match Runner::new(backends) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ticketdiff: {e}");
            return EXIT_ERROR;
        }
    };
    // Every file is checked before any runs, so an input error costs no partial output.
    let mut programs = Vec::new();
    for f in files {
        match load(f) {
            Ok((_, p)) => programs.push((f.display().to_string(), p)),
            Err(e) => {
                eprintln!("ticketdiff: {e}");
                return EXIT_ERROR;
            }
        }
    }
    let mut code = EXIT_OK;
    for (name, program) in &programs {
        let results = runner.run(program);
        if results.iter().any(|r| r.divergence.is_some()) {
            code = EXIT_DIVERGENCE;
        }
        if json {
            for r in &results {
                let line = JsonRun {
                    file: name,
                    backend: r.backend,
                    version: r.version,
                    skipped: match &r.outcome {
                        Outcome::Skipped(why) => Some(why),
                        Outcome::Ran(_) => None,
                    },
                    steps: r.trace().map_or(&[], |t| t.as_slice()),
                };
                outln!("{}", serde_json::to_string(&line).expect("serializable"));
            }
        } else {
            outln!("{}", table::render(name, program, &results));
        }
    }
    code
}

/// `ticketdiff replay`.
pub fn replay(paths: &[PathBuf]) -> u8 {
    let paths: Vec<PathBuf> = if paths.is_empty() {
        ["corpus", "diff"]
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.exists())
            .collect()
    } else {
        paths.to_vec()
    };
    let reports = match replay::replay(&paths) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ticketdiff: {e}");
            return EXIT_ERROR;
        }
    };
    let failed = reports.iter().filter(|r| !r.passed()).count();
    for r in &reports {
        for f in &r.failures {
            outln!("FAIL {f}");
        }
        for n in &r.notes {
            outln!("note {}: {n}", r.path.display());
        }
    }
    outln!(
        "replayed {} files: {} passed, {} failed",
        reports.len(),
        reports.len() - failed,
        failed
    );
    if failed > 0 {
        EXIT_DIVERGENCE
    } else {
        EXIT_OK
    }
}

/// `ticketdiff bless`: rewrites each file's `# expect` comments from a run of the oracle.
pub fn bless(files: &[PathBuf]) -> u8 {
    let mut runner = match Runner::new::<&str>(&[]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ticketdiff: {e}");
            return EXIT_ERROR;
        }
    };
    let mut code = EXIT_OK;
    for f in files {
        let (text, program) = match load(f) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("ticketdiff: {e}");
                code = EXIT_ERROR;
                continue;
            }
        };
        let trace = runner.oracle().run(&program);
        let blessed = bless_text(&text, &trace);
        if blessed != text {
            if let Err(e) = write_atomic(f, blessed.as_bytes()) {
                eprintln!("ticketdiff: {}: cannot write: {e}", f.display());
                code = EXIT_ERROR;
                continue;
            }
            outln!("blessed {}", f.display());
        }
    }
    code
}

/// The arguments of `ticketdiff fuzz`.
pub struct FuzzArgs {
    pub time: Option<u64>,
    pub runs: Option<u64>,
    pub jobs: usize,
    pub seed: Option<u64>,
    pub backends: Vec<String>,
    pub out: PathBuf,
    pub corpus: Vec<PathBuf>,
    pub json: bool,
}

/// Default fuzzing time when neither `--time` nor `--runs` is given.
pub const DEFAULT_FUZZ_SECS: u64 = 60;

/// `ticketdiff fuzz`.
pub fn fuzz(args: FuzzArgs) -> u8 {
    use std::io::IsTerminal;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    // Seeds: the corpus programs. A missing default corpus is fine; a broken file is not.
    let mut seeds = Vec::new();
    let existing: Vec<PathBuf> = args.corpus.iter().filter(|p| p.exists()).cloned().collect();
    match replay::collect(&existing) {
        Ok(files) => {
            for f in files {
                match load(&f) {
                    Ok((_, p)) => seeds.push(p),
                    Err(e) => {
                        eprintln!("ticketdiff: {e}");
                        return EXIT_ERROR;
                    }
                }
            }
        }
        Err(e) => {
            eprintln!("ticketdiff: {e}");
            return EXIT_ERROR;
        }
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let time = match (args.time, args.runs) {
        (None, None) => Some(DEFAULT_FUZZ_SECS),
        (t, _) => t,
    };
    let options = crate::fuzz::Options {
        time: time.map(Duration::from_secs),
        runs: args.runs,
        jobs: args.jobs,
        seed,
        backends: args.backends,
        out: args.out,
        seeds,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, stop.clone());
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, stop.clone());
    let tty = std::io::stderr().is_terminal();
    eprintln!(
        "ticketdiff fuzz: seed {seed}, {} jobs, {} seed programs, saving to {}",
        options.jobs,
        options.seeds.len(),
        options.out.display()
    );
    let mut last = std::time::Instant::now();
    let result = crate::fuzz::fuzz(&options, stop, |shared| {
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
    match result {
        Ok(summary) => {
            crate::fuzz::print_summary(&summary, args.json);
            if !summary.errors.is_empty() {
                EXIT_ERROR
            } else if summary.new_signatures() > 0 {
                EXIT_DIVERGENCE
            } else {
                EXIT_OK
            }
        }
        Err(e) => {
            eprintln!("ticketdiff: {e}");
            EXIT_ERROR
        }
    }
}

/// `ticketdiff minimize`.
pub fn minimize(file: &Path, output: Option<&Path>, backend: Option<&str>) -> u8 {
    let (_, program) = match load(file) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("ticketdiff: {e}");
            return EXIT_ERROR;
        }
    };
    let names: Vec<String> = match backend {
        Some(b) => vec![b.to_string()],
        None => default_backends(),
    };
    let mut runner = match Runner::new(&names) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ticketdiff: {e}");
            return EXIT_ERROR;
        }
    };
    let results = runner.run(&program);
    let Some(d) = results.iter().find_map(|r| r.divergence.clone()) else {
        eprintln!(
            "ticketdiff: {}: no backend diverges; nothing to minimize",
            file.display()
        );
        return EXIT_ERROR;
    };
    let key = d.signature.key();
    let (small, _) = crate::minimize::minimize_divergence(&mut runner, &program, &d);
    let text = format!("# signature kept: {key}\n{small}");
    match output {
        Some(path) => {
            if let Err(e) = write_atomic(path, text.as_bytes()) {
                eprintln!("ticketdiff: {}: cannot write: {e}", path.display());
                return EXIT_ERROR;
            }
            eprintln!(
                "{} ops -> {} ops, signature {key}, written to {}",
                program.len(),
                small.len(),
                path.display()
            );
        }
        None => out!("{text}"),
    }
    EXIT_OK
}

/// `ticketdiff decode`.
pub fn decode(file: &Path) -> u8 {
    match std::fs::read(file) {
        Ok(bytes) => {
            let program = crate::fuzz::target::decode(&bytes);
            outln!("# {} decodes to:", file.display());
            out!("{program}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("ticketdiff: {}: cannot read: {e}", file.display());
            EXIT_ERROR
        }
    }
}

/// The formats of `ticketdiff report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Json,
}

/// `ticketdiff report`: 0 on success, 2 on an input error (naming the file).
pub fn report(
    dir: &Path,
    format: ReportFormat,
    hits: Option<&Path>,
    baseline: Option<&Path>,
) -> u8 {
    let hits = match hits {
        None => None,
        Some(path) => {
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))
                .and_then(|text| crate::report::parse_hits(&text, &path.display().to_string()));
            match parsed {
                Ok(h) => Some(h),
                Err(e) => {
                    eprintln!("ticketdiff: {e}");
                    return EXIT_ERROR;
                }
            }
        }
    };
    match crate::report::build(dir, hits.as_ref(), baseline) {
        Ok(r) => {
            use std::io::Write;
            let text = match format {
                ReportFormat::Markdown => crate::report::markdown(&r),
                ReportFormat::Json => crate::report::json(&r) + "\n",
            };
            // A closed pipe (`| head`) is not an error of the report.
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("ticketdiff: {e}");
            EXIT_ERROR
        }
    }
}
