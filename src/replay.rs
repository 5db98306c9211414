//! `ticketdiff replay`: the regression corpus and the saved divergences, checked.
//!
//! A corpus file records the oracle's expected results (see [`crate::expect`]); replay runs it
//! on the oracle and checks them, so a change in the OpenSSL linked shows up as a failure naming
//! the step, then runs it on every backend that claims to conform and checks it agrees. A saved
//! divergence is checked to still reproduce its signature.

use crate::backend::BackendId;
use crate::expect::{check, read_expectations, Release};
use crate::files::{tkt_files_listed, FilesError, Shown};
use crate::finding::Signature;
use crate::fsutil::stale_temporaries;
use crate::program::{parse_named, read_text};
use crate::runner::Runner;
use crate::store::{self, EntryError};
use std::path::{Path, PathBuf};

/// The result of replaying one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: PathBuf,
    /// Problems found; empty when the file passed.
    pub failures: Vec<String>,
    /// Notes that are not failures (a backend skipped the program, an entry reproduces, ...).
    pub notes: Vec<String>,
    /// The signature, when the file is a saved entry.
    pub signature: Option<Signature>,
    /// Whether the file was replayed; a stray file (a dead writer's temporary) is only noted.
    pub replayed: bool,
    /// Why a saved entry could not be checked here (its worker is not built, its oracle is
    /// another release): neither passed nor failed.
    pub not_checked: Option<String>,
}

impl FileReport {
    /// No failures; a file that was not checked has none, see [`FileReport::checked`].
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    pub fn checked(&self) -> bool {
        self.not_checked.is_none()
    }
}

/// Replays one file with `runner`.
pub fn replay_file(runner: &mut Runner, path: &Path) -> FileReport {
    replay_one(runner, path, false)
}

/// Replays one file; one `listed` in a directory is a store's and never read through a link.
fn replay_one(runner: &mut Runner, path: &Path, listed: bool) -> FileReport {
    let mut report = FileReport {
        path: path.to_path_buf(),
        failures: Vec::new(),
        notes: Vec::new(),
        signature: None,
        replayed: true,
        not_checked: None,
    };
    let name = Shown(path).to_string();
    let text = if listed {
        store::read_store_text(path).map_err(|e| e.to_string())
    } else {
        read_text(path, &name).map_err(|e| e.to_string())
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            report.failures.push(e);
            return report;
        }
    };
    if store::is_entry(&text) {
        replay_entry(runner, path, &text, &mut report);
    } else {
        replay_corpus_file(runner, &name, &text, &mut report);
    }
    report
}

fn replay_corpus_file(runner: &mut Runner, name: &str, text: &str, report: &mut FileReport) {
    let program = match parse_named(text, name) {
        Ok(p) => p,
        Err(e) => return report.failures.push(e.to_string()),
    };
    let expectations = match read_expectations(text, name) {
        Ok(e) => e,
        Err(e) => return report.failures.push(e.to_string()),
    };
    if expectations.is_empty() {
        return report.failures.push(format!(
            "{name}: records no expected results; run `ticketdiff bless {name}`"
        ));
    }
    let results = runner.run(&program);
    let oracle_release = Release::of_version(results.oracle.version);
    for m in check(
        &results.oracle.trace,
        &expectations,
        oracle_release.as_ref(),
    ) {
        report.failures.push(format!(
            "{name}:{}: {m} ({})",
            m.line, results.oracle.version
        ));
    }
    for r in &results.others {
        // A backend that is no OpenSSL models the base release.
        let release = Release::of_version(r.version).unwrap_or_else(Release::base);
        let same_release = oracle_release.as_ref().is_none_or(|o| *o == release);
        match (r.skipped(), &r.divergence, r.trace()) {
            (Some(why), _, _) => report.notes.push(format!("{}: skipped: {why}", r.backend)),
            (None, Some(d), _) if same_release => report.failures.push(format!(
                "{name}:{}: {} diverges from the oracle: {d} [{}]",
                d.line, r.backend, d.signature
            )),
            // The oracle is another release: the backend is held to its own release's
            // recorded results, so a release difference is not its bug.
            (None, _, Some(trace)) if !same_release => {
                for m in check(trace, &expectations, Some(&release)) {
                    report.failures.push(format!(
                        "{name}:{}: {} does not do what OpenSSL {release} recorded: {m}",
                        m.line, r.backend
                    ));
                }
            }
            (None, Some(d), None) => report.failures.push(format!(
                "{name}:{}: {}: {d} [{}]",
                d.line, r.backend, d.signature
            )),
            (None, _, _) => {}
        }
    }
}

/// Checks that a saved divergence still reproduces its signature; one that no longer does is
/// reported as fixed, with the command that retires it.
fn replay_entry(runner: &mut Runner, path: &Path, text: &str, report: &mut FileReport) {
    let (entry, header) = match store::read_entry_header(path, text) {
        Ok(e) => e,
        Err(e) => return report.failures.push(e.to_string()),
    };
    let name = Shown(path);
    let signature = entry.signature();
    report.signature = Some(signature);
    let backend = entry.backend();
    report
        .failures
        .extend(store::rerun_mismatch(&header, backend, path));
    let oracle = entry.versions.oracle_backend;
    let result = if oracle == runner.oracle_id() {
        let version = runner.oracle().version();
        runner
            .compare(&entry.program, backend)
            .map(|r| (r, version))
    } else {
        Runner::with_oracle(oracle, &[]).and_then(|mut r| {
            let version = r.oracle().version();
            r.compare(&entry.program, backend).map(|r| (r, version))
        })
    };
    let (result, oracle_version) = match result {
        Ok(r) => r,
        // A worker backend that is not built here (a fresh checkout): said and counted apart;
        // CI builds the workers and requires every entry checked.
        Err(e) => return report.not_checked = Some(e.to_string()),
    };
    if let Some(why) = result.skipped() {
        return report
            .failures
            .push(format!("{name}: {backend} now skips it: {why}"));
    }
    let found_with = Release::of_version(&entry.versions.oracle);
    let here = Release::of_version(oracle_version);
    match result.divergence {
        Some(d) if d.signature == signature => {
            let wrong = store::claim_mismatches(&header, &entry, &d, path);
            if wrong.is_empty() {
                report.notes.push(format!("reproduces {signature}"));
            }
            report.failures.extend(wrong);
        }
        // Found against another OpenSSL release than the oracle here: not comparable.
        _ if found_with.is_some() && here.is_some() && found_with != here => {
            report.not_checked = Some(format!(
                "found with OpenSSL {}, the oracle here is OpenSSL {}",
                found_with.as_ref().map_or("", |r| r.as_str()),
                here.as_ref().map_or("", |r| r.as_str())
            ))
        }
        found => {
            let now = match found {
                Some(d) => format!("it now diverges as {}", d.signature),
                None => format!("{backend} now agrees with the oracle"),
            };
            report.failures.push(format!(
                "{name}: FIXED: no longer reproduces {signature} ({now}); retire it with `git rm {name}`"
            ));
        }
    }
}

/// What `ticketdiff replay` prints: each failure, note and entry not checked, then
/// `replayed N files: P passed, F failed, U not checked`.
pub fn summary(reports: &[FileReport]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in reports {
        let name = Shown(&r.path);
        for f in &r.failures {
            let _ = writeln!(out, "FAIL {f}");
        }
        for n in &r.notes {
            let _ = writeln!(out, "note {name}: {n}");
        }
        if let (true, Some(why)) = (r.passed(), &r.not_checked) {
            let _ = writeln!(out, "not checked {name}: {why}");
        }
    }
    let replayed = reports.iter().filter(|r| r.replayed);
    let (mut passed, mut failed, mut unchecked) = (0, 0, 0);
    for r in replayed {
        match (r.passed(), r.checked()) {
            (false, _) => failed += 1,
            (true, false) => unchecked += 1,
            (true, true) => passed += 1,
        }
    }
    let _ = writeln!(
        out,
        "replayed {} files: {passed} passed, {failed} failed, {unchecked} not checked",
        passed + failed + unchecked
    );
    out
}

/// Replays every file under `paths` on the default oracle and the conforming backends that
/// are available here (see [`replay_with`]).
pub fn replay(paths: &[PathBuf]) -> Result<Vec<FileReport>, ReplayError> {
    replay_with(paths, BackendId::ORACLE)
}

/// Why nothing could be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Files(#[from] FilesError),
    #[error(transparent)]
    Unavailable(#[from] crate::worker::Unavailable),
}

/// The conforming backends that can run here (a worker that is not built cannot).
pub fn conforming_available() -> Vec<BackendId> {
    BackendId::ALL
        .into_iter()
        .filter(|b| b.conforms() && crate::worker::check(*b).is_ok())
        .collect()
}

/// Replays every file under `paths` on `oracle` and the conforming backends available here.
/// A saved entry under a name that is not its signature's, or a second entry of one
/// signature, fails; a temporary file a dead writer left in a directory is noted.
pub fn replay_with(paths: &[PathBuf], oracle: BackendId) -> Result<Vec<FileReport>, ReplayError> {
    let files = tkt_files_listed(paths)?;
    let mut runner = Runner::with_oracle(oracle, &conforming_available())?;
    let mut reports: Vec<FileReport> = files
        .iter()
        .map(|(f, listed)| replay_one(&mut runner, f, *listed))
        .collect();
    let entries: Vec<(PathBuf, Signature)> = reports
        .iter()
        .filter_map(|r| Some((r.path.clone(), r.signature?)))
        .collect();
    for problem in store::name_problems(entries.iter().map(|(p, s)| (p.as_path(), *s))) {
        if let EntryError::Header { path, .. } = &problem {
            if let Some(r) = reports.iter_mut().find(|r| r.path == *path) {
                r.failures.push(problem.to_string());
            }
        }
    }
    for dir in paths.iter().filter(|p| p.is_dir()) {
        for stale in stale_temporaries(dir) {
            reports.push(FileReport {
                path: stale,
                failures: Vec::new(),
                notes: vec![
                    "a temporary file left by a writer that died; nothing reads it, remove it"
                        .into(),
                ],
                signature: None,
                replayed: false,
                not_checked: None,
            });
        }
    }
    Ok(reports)
}
