//! The commands behind the `ticketdiff` binary. Exit codes: 0 all agree (or all passed), 1 a
//! divergence (or a failure), 2 a usage or input error.

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
                    version: &r.version,
                    skipped: match &r.outcome {
                        Outcome::Skipped(why) => Some(why),
                        Outcome::Ran(_) => None,
                    },
                    steps: r.trace().map_or(&[], |t| t.as_slice()),
                };
                println!("{}", serde_json::to_string(&line).expect("serializable"));
            }
        } else {
            println!("{}", table::render(name, program, &results));
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
            println!("FAIL {f}");
        }
        for n in &r.notes {
            println!("note {}: {n}", r.path.display());
        }
    }
    println!(
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
            println!("blessed {}", f.display());
        }
    }
    code
}
