//! The store of saved divergences, `diff/`: one minimized program per signature, named
//! `<signature>.tkt`, with a header of comments that says what it shows and how to rerun it.
//!
//! Entries are written atomically: a new one is linked into place complete (so of two workers
//! saving the same signature exactly one wins), and a better (shorter) reproducer replaces an
//! existing one by rename, never by writing in place.

use crate::diff::{first_divergence, Divergence};
use crate::fsutil::{create_atomic, write_atomic};
use crate::program::{parse_named, Program};
use crate::replay::FileReport;
use crate::runner::Runner;
use std::path::{Path, PathBuf};

/// The header line that marks a saved divergence.
pub const SIGNATURE_HEADER: &str = "# signature: ";
const BACKEND_HEADER: &str = "# backend: ";

/// Whether a file's text is a saved divergence rather than a corpus program.
pub fn is_entry(text: &str) -> bool {
    text.lines().any(|l| l.starts_with(SIGNATURE_HEADER))
}

/// A saved divergence as read back.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: PathBuf,
    pub signature: String,
    pub backend: String,
    pub program: Program,
    /// The header lines, `#` and all.
    pub header: Vec<String>,
}

impl Entry {
    /// A header value (`# first found: ...` → `first found`).
    pub fn header_value(&self, key: &str) -> Option<&str> {
        let prefix = format!("# {key}: ");
        self.header
            .iter()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
    }
}

/// The parts of a `# divergence:` header:
/// ``line 3 `new_session_ticket`: ret is 1 on the oracle, 0 on rustls``.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DivergenceHeader {
    pub line: u32,
    pub op: String,
    pub field: String,
    pub oracle: String,
    pub other: String,
}

/// Parses a `# divergence:` header value; `backend` is the entry's backend.
pub fn parse_divergence(value: &str, backend: &str) -> Option<DivergenceHeader> {
    let rest = value.strip_prefix("line ")?;
    let (line, rest) = rest.split_once(' ')?;
    let line = line.parse().ok()?;
    let rest = rest.strip_prefix('`')?;
    let (op, rest) = rest.split_once("`: ")?;
    let (field, rest) = rest.split_once(" is ")?;
    let (oracle, rest) = rest.split_once(" on the oracle, ")?;
    let other = rest.strip_suffix(&format!(" on {backend}"))?;
    if op.is_empty() || field.is_empty() || field.contains(' ') {
        return None;
    }
    Some(DivergenceHeader {
        line,
        op: op.to_string(),
        field: field.to_string(),
        oracle: oracle.to_string(),
        other: other.to_string(),
    })
}

/// Reads an entry; errors name the file and line.
pub fn read_entry(path: &Path, text: &str) -> Result<Entry, String> {
    let name = path.display().to_string();
    let header: Vec<String> = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let find = |prefix: &str| -> Result<String, String> {
        text.lines()
            .position(|l| l.starts_with(prefix))
            .map(|i| {
                let l = text.lines().nth(i).unwrap_or("");
                l[prefix.len()..].trim().to_string()
            })
            .ok_or_else(|| {
                format!(
                    "{name}:1: a saved divergence needs a `{}` header line",
                    prefix.trim_end()
                )
            })
    };
    let signature = find(SIGNATURE_HEADER)?;
    let backend = find(BACKEND_HEADER)?;
    let line = text
        .lines()
        .position(|l| l.starts_with(SIGNATURE_HEADER))
        .unwrap_or(0)
        + 1;
    if signature.is_empty() || !signature.starts_with(&format!("{backend}-")) {
        return Err(format!(
            "{name}:{line}: signature `{signature}` does not belong to backend `{backend}`"
        ));
    }
    let program = parse_named(text, &name).map_err(|e| e.to_string())?;
    if program.is_empty() {
        return Err(format!("{name}: a saved divergence has no ops"));
    }
    Ok(Entry {
        path: path.to_path_buf(),
        signature,
        backend,
        program,
        header,
    })
}

/// Every entry in `dir`, sorted; unreadable entries as errors naming the file.
pub fn read_dir(dir: &Path) -> Vec<Result<Entry, String>> {
    let Ok(files) = crate::replay::collect(&[dir.to_path_buf()]) else {
        return Vec::new();
    };
    files
        .iter()
        .map(|f| {
            let text = std::fs::read(f)
                .map_err(|e| format!("{}: cannot read: {e}", f.display()))
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| format!("{}: not valid UTF-8", f.display()))
                })?;
            read_entry(f, &text)
        })
        .collect()
}

/// The path of a signature's entry in `dir`.
pub fn entry_path(dir: &Path, signature: &str) -> PathBuf {
    dir.join(format!("{signature}.tkt"))
}

/// Everything the header of a new entry says.
pub struct NewEntry<'a> {
    pub divergence: &'a Divergence,
    pub program: &'a Program,
    pub oracle_version: &'a str,
    pub backend_version: &'a str,
    /// Where it was found (`ticketdiff fuzz`, `cargo fuzz`, ...).
    pub found_by: &'a str,
}

impl NewEntry<'_> {
    fn render(&self, path: &Path) -> String {
        let d = self.divergence;
        let backend = &d.signature.backend;
        let mut out = String::new();
        out.push_str(&format!("{SIGNATURE_HEADER}{}\n", d.signature));
        out.push_str(&format!("{BACKEND_HEADER}{backend}\n"));
        out.push_str(&format!(
            "# versions: {} (oracle), {} ({backend})\n",
            self.oracle_version, self.backend_version
        ));
        out.push_str(&format!(
            "# divergence: line {} `{}`: {} is {} on the oracle, {} on {backend}\n",
            d.line,
            d.op,
            d.field.name(),
            d.oracle,
            d.other
        ));
        out.push_str(&format!(
            "# first found: {} by {}\n",
            utc_now(),
            self.found_by
        ));
        out.push_str(&format!(
            "# rerun: ticketdiff run --backend {backend} {}\n",
            path.display()
        ));
        out.push_str(&self.program.to_string());
        out
    }
}

/// What saving did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// A new entry.
    New,
    /// An existing entry had a longer program; this one replaced it.
    Improved,
    /// An entry as good or better was there; nothing written.
    Kept,
}

/// Saves a divergence in `dir` (created if need be), never overwriting an entry with a worse
/// one.
pub fn save(dir: &Path, entry: &NewEntry<'_>) -> std::io::Result<Saved> {
    std::fs::create_dir_all(dir)?;
    let path = entry_path(dir, &entry.divergence.signature.key());
    let text = entry.render(&path);
    if create_atomic(&path, text.as_bytes())? {
        return Ok(Saved::New);
    }
    let old = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| read_entry(&path, &t));
    match old {
        Ok(old) if old.program.len() <= entry.program.len() => Ok(Saved::Kept),
        Ok(old) => {
            // Shorter than the saved one: replace it whole, keeping its first-found date.
            let fresh = format!("# first found: {} by {}", utc_now(), entry.found_by);
            let text = match old.header_value("first found") {
                Some(found) => text.replace(&fresh, &format!("# first found: {found}")),
                None => text,
            };
            write_atomic(&path, text.as_bytes())?;
            Ok(Saved::Improved)
        }
        // Never replace what cannot be read: it may be someone's work.
        Err(e) => Err(std::io::Error::other(format!(
            "{} exists but cannot be read back ({e}); not replaced",
            path.display()
        ))),
    }
}

/// Checks that a saved divergence still reproduces its signature; one that no longer does is
/// reported as fixed, with the command that retires it.
pub fn replay_entry(runner: &mut Runner, path: &Path, text: &str, report: &mut FileReport) {
    let entry = match read_entry(path, text) {
        Ok(e) => e,
        Err(e) => {
            report.failures.push(e);
            return;
        }
    };
    let name = path.display();
    let oracle = runner.oracle().run(&entry.program);
    let Some(backend) = runner.backend(&entry.backend) else {
        match crate::backend::by_name(&entry.backend) {
            Some(mut b) => check(&entry, &oracle, b.as_mut(), report),
            None => report.failures.push(format!(
                "{name}: unknown backend `{}` in the header",
                entry.backend
            )),
        }
        return;
    };
    check(&entry, &oracle, backend, report);

    fn check(
        entry: &Entry,
        oracle: &crate::trace::Trace,
        backend: &mut dyn crate::backend::Backend,
        report: &mut FileReport,
    ) {
        let name = entry.path.display();
        if let Some(why) = backend.skip_reason(&entry.program) {
            report
                .failures
                .push(format!("{name}: {} now skips it: {why}", entry.backend));
            return;
        }
        let trace = backend.run(&entry.program);
        match first_divergence(oracle, &trace, backend.name()) {
            Some(d) if d.signature.key() == entry.signature => {
                report.notes.push(format!("reproduces {}", entry.signature))
            }
            found => {
                let now = match found {
                    Some(d) => format!("it now diverges as {}", d.signature),
                    None => format!("{} now agrees with the oracle", entry.backend),
                };
                report.failures.push(format!(
                    "{name}: FIXED: no longer reproduces {} ({now}); retire it with `git rm {name}`",
                    entry.signature
                ));
            }
        }
    }
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
