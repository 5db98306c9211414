//! `ticketdiff replay`: the regression corpus and the saved divergences, checked.
//!
//! A corpus file records the oracle's expected results (see [`crate::expect`]); replay runs it
//! on the oracle and checks them, so a change in the OpenSSL linked shows up as a failure naming
//! the step, then runs it on every backend that claims to conform and checks it agrees. A saved
//! divergence is checked to still reproduce its signature.

use crate::backend::CONFORMING;
use crate::expect::{check, read_expectations};
use crate::program::parse_named;
use crate::runner::{Outcome, Runner};
use crate::store;
use std::path::{Path, PathBuf};

/// The result of replaying one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    /// Problems found; empty when the file passed.
    pub failures: Vec<String>,
    /// Notes that are not failures (a backend skipped the program, an entry is fixed, ...).
    pub notes: Vec<String>,
}

impl FileReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The `.tkt` files named by `paths`: files as given, directories' `.tkt` files sorted by name.
/// A missing path is an error; an empty directory is not.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: cannot read directory: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "tkt") && p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(files)
}

/// Replays one file with `runner`.
pub fn replay_file(runner: &mut Runner, path: &Path) -> FileReport {
    let mut report = FileReport {
        path: path.to_path_buf(),
        failures: Vec::new(),
        notes: Vec::new(),
    };
    let name = path.display().to_string();
    let text = match std::fs::read(path).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(_)) => {
            report
                .failures
                .push(format!("{name}: the file is not valid UTF-8"));
            return report;
        }
        Err(e) => {
            report.failures.push(format!("{name}: cannot read: {e}"));
            return report;
        }
    };
    if store::is_entry(&text) {
        store::replay_entry(runner, path, &text, &mut report);
        return report;
    }
    let program = match parse_named(&text, &name) {
        Ok(p) => p,
        Err(e) => {
            report.failures.push(e.to_string());
            return report;
        }
    };
    let expectations = match read_expectations(&text, &name) {
        Ok(e) => e,
        Err(e) => {
            report.failures.push(e.to_string());
            return report;
        }
    };
    if expectations.is_empty() {
        report.failures.push(format!(
            "{name}: records no expected results; run `ticketdiff bless {name}`"
        ));
        return report;
    }
    let results = runner.run(&program);
    let oracle = results[0].trace().expect("the oracle always runs");
    for m in check(oracle, &expectations) {
        report
            .failures
            .push(format!("{name}:{}: {} ({})", m.line, m, results[0].version));
    }
    for r in &results[1..] {
        match (&r.outcome, &r.divergence) {
            (Outcome::Skipped(why), _) => {
                report.notes.push(format!("{}: skipped: {why}", r.backend))
            }
            (Outcome::Ran(_), Some(d)) => report.failures.push(format!(
                "{name}:{}: {} diverges from the oracle: {d} [{}]",
                d.line, r.backend, d.signature
            )),
            (Outcome::Ran(_), None) => {}
        }
    }
    report
}

/// Replays every file under `paths` on the oracle and the conforming backends.
pub fn replay(paths: &[PathBuf]) -> Result<Vec<FileReport>, String> {
    let files = collect(paths)?;
    let mut runner = Runner::new(CONFORMING).map_err(|e| e.to_string())?;
    Ok(files.iter().map(|f| replay_file(&mut runner, f)).collect())
}
