//! The store of saved divergences, `diff/`: one minimized program per signature, named
//! `SIGNATURE.tkt`, with a header of `# key: value` comment lines that says what it shows and
//! how to rerun it:
//!
//! ```text
//! # signature: rustls-new_session_ticket-ret-1-vs-0
//! # backend: rustls
//! # oracle version: OpenSSL 3.0.19 27 Jan 2026
//! # backend version: rustls 0.23.46
//! # line: 3
//! # op: new_session_ticket
//! # field: ret
//! # oracle: 1
//! # other: 0
//! # first found: 2026-11-27T06:15:01Z
//! # found by: ticketdiff fuzz
//! # rerun: ticketdiff run --backend rustls diff/rustls-new_session_ticket-ret-1-vs-0.tkt
//! connect
//! handshake
//! new_session_ticket
//! ```
//!
//! `line` is the op's line in the program as saved without its header (the canonical text);
//! an optional `# hits: N` line is read by `ticketdiff report`. The keys, their values and
//! what is checked of them are the registry's (`header.rs`); values are escaped (`escape.rs`);
//! `replay` holds the header to the run (`claims.rs`). See `docs/store.md`. Entries of the
//! first format (a `# divergence:` sentence, `# versions:` and `# first found: TIME by
//! FINDER`) are still read.
//!
//! Writers hold the directory's lock from reading the saved entry to replacing it, so of many
//! writers (threads or processes) the shortest reproducer wins; every file is written whole
//! and then linked or renamed into place.

mod claims;
mod escape;
mod header;

pub use claims::claim_mismatches;
pub use claims::rerun_mismatch;
pub use header::{Header, Key, Spec, KEYS};

use crate::backend::BackendId;
use crate::files::Shown;
use crate::finding::{Difference, Divergence, Finding, Found, Signature, Versions};
use crate::fsutil::{create_atomic, write_atomic};
use crate::program::{parse_named, read_text, LoadError, Op};
use crate::trace::Field;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The header line that marks a saved divergence.
pub const SIGNATURE_HEADER: &str = "# signature: ";

/// Whether a file's text is a saved divergence rather than a corpus program.
/// (A byte-order mark before the header does not hide it: reading says what is wrong.)
pub fn is_entry(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines().any(|l| l.starts_with(SIGNATURE_HEADER))
}

/// A saved entry that cannot be read; the message names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// The header: `line` is 1-based, 1 for what concerns the header as a whole.
    #[error("{}:{line}: {message}", Shown(path))]
    Header {
        path: PathBuf,
        line: u32,
        message: String,
    },
    /// The file itself, or its program.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A link in the store: never followed.
    #[error("{}: is a symbolic link; a store entry must be a regular file (links are not followed)", Shown(.0))]
    Link(PathBuf),
}

impl EntryError {
    /// The line the error is on, when it is about one.
    pub fn line(&self) -> Option<u32> {
        match self {
            EntryError::Header { line, .. } => Some(*line),
            EntryError::Load(e) => e.line(),
            EntryError::Link(_) => None,
        }
    }
}

/// What went wrong with the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: cannot read directory: {source}", Shown(dir))]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", Shown(path))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An entry in the store that cannot be read.
    #[error(transparent)]
    Broken(EntryError),
    /// Never replace what cannot be read: it may be someone's work.
    #[error("{0}; the entry there is not replaced")]
    Unreadable(EntryError),
    /// What would be written does not read back as the finding.
    #[error("{0}; not saved: the finding contradicts itself")]
    WouldNotRead(EntryError),
}

/// Reads a saved entry from its text; errors name the file and line.
pub fn read_entry(path: &Path, text: &str) -> Result<Finding, EntryError> {
    read_entry_header(path, text).map(|(f, _)| f)
}

/// [`read_entry`], with the header, whose lines `replay` names.
pub fn read_entry_header(path: &Path, text: &str) -> Result<(Finding, Header), EntryError> {
    let h = Header::read(path, text)?;
    let signature: Signature =
        h.parse(Key::Signature, |v| v.parse().map_err(|e| format!("{e}")))?;
    let backend: BackendId = h.parse(Key::Backend, |v| v.parse().map_err(|e| format!("{e}")))?;
    if signature.backend() != backend {
        return Err(h.error(
            h.line(Key::Signature),
            format!("signature `{signature}` does not belong to backend `{backend}`"),
        ));
    }
    let legacy = h.get(Key::Divergence).is_some() && h.get(Key::Field).is_none();
    let (divergence, versions, found) = if legacy {
        read_legacy(&h, signature, backend)?
    } else {
        read_current(&h, signature)?
    };
    if signature.field() != divergence.field() {
        let line = h
            .get(Key::Field)
            .or(h.get(Key::Divergence))
            .map_or(1, |(n, _)| n);
        return Err(h.error(
            line,
            format!(
                "the entry records `{}` but signature `{signature}` is about {}",
                divergence.what(),
                signature
                    .field()
                    .map_or("a worker that failed".into(), |f| format!("`{f}`"))
            ),
        ));
    }
    let oracle = versions.oracle_backend;
    if !oracle.is_openssl() || oracle == backend {
        let why = if oracle == backend {
            "is the entry's own backend: a backend is never compared with itself"
        } else {
            "is not an OpenSSL: the oracle is an OpenSSL release"
        };
        return Err(h.error(
            h.line(Key::OracleBackend),
            format!("`# oracle backend:` `{oracle}` {why}"),
        ));
    }
    let hits =
        match h.get(Key::Hits) {
            None => None,
            Some((line, v)) => Some(v.parse::<u64>().map_err(|_| {
                h.error(line, format!("`# hits:` must be a whole number, not `{v}`"))
            })?),
        };
    let name = Shown(path).to_string();
    let program = parse_named(text, &name).map_err(LoadError::from)?;
    if program.is_empty() {
        return Err(h.error(1, "a saved divergence has no ops"));
    }
    // The divergence's line counts the program's ops from 1, as the canonical text does.
    let program = program.renumbered();
    let ops = program.len();
    let at = usize::try_from(divergence.line)
        .ok()
        .filter(|l| (1..=ops).contains(l))
        .map(|l| &program.stmts[l - 1].op);
    let line_key = if legacy { Key::Divergence } else { Key::Line };
    match at {
        None => {
            return Err(h.error(
                h.line(line_key),
                format!(
                    "`# {}:` {} is not a line of the program, which has {ops} op{}",
                    line_key.name(),
                    divergence.line,
                    if ops == 1 { "" } else { "s" }
                ),
            ))
        }
        Some(op) if *op != divergence.op => {
            let key = if legacy { Key::Divergence } else { Key::Op };
            return Err(h.error(
                h.line(key),
                format!(
                    "`# {}:` says `{}` but line {} of the program is `{op}`",
                    key.name(),
                    divergence.op,
                    divergence.line
                ),
            ));
        }
        Some(_) => {}
    }
    let finding = Finding {
        divergence,
        program,
        versions,
        found,
        hits,
        file: Some(path.to_path_buf()),
        new: None,
    };
    Ok((finding, h))
}

fn read_current(
    h: &Header,
    signature: Signature,
) -> Result<(Divergence, Versions, Option<Found>), EntryError> {
    let difference = if let Some((_, how)) = h.get(Key::Crashed) {
        Difference::Crashed {
            how: how.to_string(),
        }
    } else if h.get(Key::HungAfterMs).is_some() {
        Difference::Hung {
            after_ms: h.parse(Key::HungAfterMs, |v| {
                v.parse()
                    .map_err(|_| format!("`{v}` is not a number of milliseconds"))
            })?,
        }
    } else {
        let field: Field = h.parse(Key::Field, |v| v.parse())?;
        Difference::Field {
            field,
            oracle: h.parse(Key::Oracle, |v| field.parse_value(v))?,
            other: h.parse(Key::Other, |v| field.parse_value(v))?,
        }
    };
    let divergence = Divergence {
        signature,
        line: h.parse(Key::Line, |v| {
            v.parse().map_err(|_| format!("`{v}` is not a line number"))
        })?,
        op: h.parse(Key::Op, |v| v.parse::<Op>())?,
        difference,
    };
    let versions = Versions {
        oracle_backend: match h.get(Key::OracleBackend) {
            None => BackendId::ORACLE,
            Some(_) => h.parse(Key::OracleBackend, |v| {
                v.parse().map_err(|e| format!("{e}"))
            })?,
        },
        oracle: h.require(Key::OracleVersion)?.1.to_string(),
        backend: h.require(Key::BackendVersion)?.1.to_string(),
    };
    let found = match h.get(Key::FirstFound) {
        None => None,
        Some((line, at)) => Some(Found {
            at: parse_time(at).map_err(|m| h.error(line, m))?,
            by: h.get(Key::FoundBy).map_or("", |(_, by)| by).to_string(),
        }),
    };
    Ok((divergence, versions, found))
}

fn parse_time(text: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339(text).map_err(|e| {
        format!("`# first found:` `{text}` is not a UTC time like 2026-11-27T06:15:01Z ({e})")
    })
}

/// The first format: ``# divergence: line 3 `new_session_ticket`: ret is 1 on the oracle, 0 on
/// rustls``, `# versions: A (oracle), B (rustls)`, `# first found: TIME by FINDER`.
fn read_legacy(
    h: &Header,
    signature: Signature,
    backend: BackendId,
) -> Result<(Divergence, Versions, Option<Found>), EntryError> {
    let (line, value) = h.require(Key::Divergence)?;
    let expected = format!(
        "cannot read the `# divergence:` header (expected ``line N `OP`: FIELD is A on the oracle, B on {backend}``)"
    );
    let divergence =
        parse_divergence_sentence(value, signature).ok_or_else(|| h.error(line, expected))?;
    let versions = match h.get(Key::Versions) {
        Some((_, v)) => {
            let (oracle, rest) = v.split_once(" (oracle), ").unwrap_or((v, ""));
            let backend_version = rest.strip_suffix(&format!(" ({backend})")).unwrap_or(rest);
            Versions {
                oracle_backend: BackendId::ORACLE,
                oracle: oracle.to_string(),
                backend: backend_version.to_string(),
            }
        }
        None => Versions {
            oracle_backend: BackendId::ORACLE,
            oracle: String::new(),
            backend: String::new(),
        },
    };
    let found = match h.get(Key::FirstFound) {
        None => None,
        Some((line, v)) => {
            let (at, by) = v.split_once(" by ").unwrap_or((v, ""));
            Some(Found {
                at: parse_time(at).map_err(|m| h.error(line, m))?,
                by: by.to_string(),
            })
        }
    };
    Ok((divergence, versions, found))
}

fn parse_divergence_sentence(value: &str, signature: Signature) -> Option<Divergence> {
    let rest = value.strip_prefix("line ")?;
    let (line, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix('`')?;
    let (op, rest) = rest.split_once("`: ")?;
    let (field, rest) = rest.split_once(" is ")?;
    let (oracle, rest) = rest.split_once(" on the oracle, ")?;
    let other = rest.strip_suffix(&format!(" on {}", signature.backend()))?;
    let field: Field = field.parse().ok()?;
    Some(Divergence {
        signature,
        line: line.parse().ok()?,
        op: op.parse().ok()?,
        difference: Difference::Field {
            field,
            oracle: field.parse_value(oracle).ok()?,
            other: field.parse_value(other).ok()?,
        },
    })
}

/// An entry's text: the header, then the program in canonical form.
pub fn render(finding: &Finding, path: &Path) -> String {
    let d = &finding.divergence;
    let backend = d.backend();
    let mut out = String::new();
    // Every value escaped: a worker's text or a library's version is not ours to trust.
    let mut line = |key: Key, value: &dyn std::fmt::Display| {
        let _ = writeln!(
            out,
            "# {}: {}",
            key.name(),
            escape::escape(&value.to_string())
        );
    };
    line(Key::Signature, &d.signature);
    line(Key::Backend, &backend);
    if finding.versions.oracle_backend != BackendId::ORACLE {
        line(Key::OracleBackend, &finding.versions.oracle_backend);
    }
    line(Key::OracleVersion, &finding.versions.oracle);
    line(Key::BackendVersion, &finding.versions.backend);
    line(Key::Line, &d.line);
    line(Key::Op, &d.op);
    match &d.difference {
        Difference::Field {
            field,
            oracle,
            other,
        } => {
            line(Key::Field, field);
            line(Key::Oracle, oracle);
            line(Key::Other, other);
        }
        Difference::Crashed { how } => line(Key::Crashed, how),
        Difference::Hung { after_ms } => line(Key::HungAfterMs, after_ms),
    }
    if let Some(found) = &finding.found {
        line(Key::FirstFound, &found.time());
        line(Key::FoundBy, &found.by);
    }
    if let Some(hits) = finding.hits {
        line(Key::Hits, &hits);
    }
    line(Key::Rerun, &crate::finding::rerun_command(backend, path));
    out.push_str(&finding.program.to_string());
    out
}

/// The path of a signature's entry in `dir`.
pub fn entry_path(dir: &Path, signature: &Signature) -> PathBuf {
    dir.join(format!("{signature}.tkt"))
}

/// Every `.tkt` file of `dir` read as an entry, sorted by name; each unreadable entry as its
/// own error.
pub fn read_dir(dir: &Path) -> Result<Vec<Result<Finding, EntryError>>, StoreError> {
    let files = crate::files::tkt_files_in(dir).map_err(|source| StoreError::ReadDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    Ok(files.iter().map(|f| read_file(f)).collect())
}

/// Reads one entry file of a store: a link is refused, and so is anything but a regular file
/// (a FIFO is never opened for reading: see [`read_text`]).
pub fn read_file(path: &Path) -> Result<Finding, EntryError> {
    let text = read_store_text(path)?;
    read_entry(path, &text)
}

/// The text of a store's file, not through a link.
pub fn read_store_text(path: &Path) -> Result<String, EntryError> {
    if crate::files::is_link(path) {
        return Err(EntryError::Link(path.to_path_buf()));
    }
    Ok(read_text(path, &Shown(path).to_string())?)
}

/// Entries saved under a name that is not their signature's, and signatures saved more than
/// once: each such file as an error. Of a signature's files the one named for it is kept, else
/// the first by name.
pub fn name_problems<'a>(
    entries: impl IntoIterator<Item = (&'a Path, Signature)>,
) -> Vec<EntryError> {
    let mut seen: std::collections::HashMap<Signature, &Path> = std::collections::HashMap::new();
    let mut problems = Vec::new();
    let named = |path: &Path, signature: &Signature| {
        path.file_name()
            .is_some_and(|n| *n == *format!("{signature}.tkt"))
    };
    let mut sorted: Vec<(&Path, Signature)> = entries.into_iter().collect();
    sorted.sort_by_key(|(path, signature)| (!named(path, signature), *path));
    for (path, signature) in sorted {
        let error = |message: String| EntryError::Header {
            path: path.to_path_buf(),
            line: 1,
            message,
        };
        let expected = format!("{signature}.tkt");
        if !named(path, &signature) {
            problems.push(error(format!(
                "holds signature `{signature}` but is not named `{expected}`"
            )));
        }
        if let Some(first) = seen.get(&signature) {
            problems.push(error(format!(
                "signature `{signature}` is saved twice: also in {}",
                Shown(first)
            )));
        } else {
            seen.insert(signature, path);
        }
    }
    problems
}

/// What saving did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// A new entry.
    New,
    /// An existing entry had a longer program; this one replaced it, keeping its first-found
    /// date.
    Improved,
    /// An entry as good or better was there; nothing written.
    Kept,
}

/// Saves a finding in `dir` (created if need be), never replacing an entry with a longer one
/// or one that cannot be read.
pub fn save(dir: &Path, finding: &Finding) -> Result<Saved, StoreError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // Held until this function returns: the read, the comparison and the rename are one step
    // for every writer that saves through here.
    let lock = std::fs::File::open(dir).map_err(io(dir))?;
    lock.lock().map_err(io(dir))?;
    let path = entry_path(dir, &finding.signature());
    let mut finding = finding.clone();
    finding.hits = None;
    finding.new = None;
    if !path.exists() {
        let text = render_checked(&finding, &path)?;
        if create_atomic(&path, text.as_bytes()).map_err(io(&path))? {
            return Ok(Saved::New);
        }
    }
    let old = read_file(&path).map_err(StoreError::Unreadable)?;
    if old.program.len() <= finding.program.len() {
        return Ok(Saved::Kept);
    }
    finding.found = old.found.or(finding.found);
    let text = render_checked(&finding, &path)?;
    write_atomic(&path, text.as_bytes()).map_err(io(&path))?;
    Ok(Saved::Improved)
}

/// The entry's text, once it is known to read back as the finding: an entry that contradicts
/// itself (a line that is not its op's) would be unreadable, so never replaced, and so is not
/// written at all.
fn render_checked(finding: &Finding, path: &Path) -> Result<String, StoreError> {
    let text = render(finding, path);
    let back = read_entry(path, &text).map_err(StoreError::WouldNotRead)?;
    let same = back.divergence == finding.divergence
        && back.program == finding.program.renumbered()
        && back.versions == finding.versions;
    if !same {
        return Err(StoreError::WouldNotRead(EntryError::Header {
            path: path.to_path_buf(),
            line: 1,
            message: "the entry would read back as another finding".into(),
        }));
    }
    Ok(text)
}

/// The file and signature of each entry that has a file.
pub fn files_and_signatures(findings: &[Finding]) -> impl Iterator<Item = (&Path, Signature)> {
    findings
        .iter()
        .filter_map(|f| Some((f.file.as_deref()?, f.signature())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{RetClass, RetOther};
    use crate::program::{parse, OpKind};
    use crate::trace::Value;
    use std::time::Duration;

    fn finding(ops: usize, found_secs: u64) -> Finding {
        let mut text = String::from("connect\nhandshake\n");
        for _ in 2..ops.saturating_sub(1) {
            text.push_str("get_num_tickets\n");
        }
        text.push_str("new_session_ticket\n");
        let program = parse(&text).unwrap();
        Finding {
            divergence: Divergence {
                signature: Signature::Ret {
                    backend: BackendId::Rustls,
                    op: OpKind::NewSessionTicket,
                    oracle: RetClass::One,
                    other: RetOther::Class(RetClass::Zero),
                },
                line: program.len() as u32,
                op: Op::NewSessionTicket,
                difference: Difference::Field {
                    field: Field::Ret,
                    oracle: Value::Ret(Some(1)),
                    other: Value::Ret(Some(0)),
                },
            },
            program,
            versions: Versions {
                oracle_backend: BackendId::ORACLE,
                oracle: "OpenSSL 3.0.19 27 Jan 2026".into(),
                backend: "rustls 0.23.46".into(),
            },
            found: Some(Found {
                at: SystemTime::UNIX_EPOCH + Duration::from_secs(found_secs),
                by: "a test".into(),
            }),
            hits: None,
            file: None,
            new: None,
        }
    }

    /// A 3-op entry's path in a fresh store and its text.
    fn rendered() -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().unwrap();
        let f = finding(3, 1);
        let path = entry_path(dir.path(), &f.signature());
        let text = render(&f, &path);
        (dir, path, text)
    }

    #[test]
    fn an_entry_reads_back_as_the_finding_it_was_written_from() {
        let dir = tempfile::tempdir().unwrap();
        let f = finding(5, 1_764_224_101);
        assert_eq!(save(dir.path(), &f).unwrap(), Saved::New);
        let path = entry_path(dir.path(), &f.signature());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# first found: 2025-11-27T06:15:01Z\n"),
            "{text}"
        );
        let back = read_file(&path).unwrap();
        assert_eq!(
            back,
            Finding {
                file: Some(path),
                ..f
            }
        );
    }

    #[test]
    fn an_improvement_keeps_the_first_found_date() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &finding(6, 1_000_000_000)).unwrap();
        assert_eq!(
            save(dir.path(), &finding(6, 2_000_000_000)).unwrap(),
            Saved::Kept
        );
        assert_eq!(
            save(dir.path(), &finding(4, 2_000_000_000)).unwrap(),
            Saved::Improved
        );
        let f = finding(4, 0);
        let back = read_file(&entry_path(dir.path(), &f.signature())).unwrap();
        assert_eq!(back.program.len(), 4);
        let found = back.found.unwrap();
        assert_eq!(found.time(), "2001-09-09T01:46:40Z");
        assert_eq!(found.by, "a test");
    }

    #[test]
    fn of_many_concurrent_writers_the_shortest_wins() {
        let dir = tempfile::tempdir().unwrap();
        // Longest first within each thread's turn, so that every order of the threads offers
        // improvements that race with each other.
        let lengths: Vec<usize> = (3..=26).rev().collect();
        std::thread::scope(|s| {
            for chunk in lengths.chunks(3) {
                let dir = dir.path();
                s.spawn(move || {
                    for &n in chunk {
                        save(dir, &finding(n, 1)).unwrap();
                    }
                });
            }
        });
        let f = finding(3, 1);
        let back = read_file(&entry_path(dir.path(), &f.signature())).unwrap();
        assert_eq!(back.program.len(), 3);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn an_unreadable_entry_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let f = finding(4, 1);
        let path = entry_path(dir.path(), &f.signature());
        std::fs::write(
            &path,
            "# signature: rustls-new_session_ticket-ret-1-vs-0\nconnect\n",
        )
        .unwrap();
        let e = save(dir.path(), &f).unwrap_err();
        assert!(e.to_string().contains("not replaced"), "{e}");
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .ends_with("connect\n"));
    }

    #[test]
    fn misnamed_and_duplicate_entries_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = finding(3, 1);
        save(dir.path(), &f).unwrap();
        let good = entry_path(dir.path(), &f.signature());
        let copy = dir.path().join("copy.tkt");
        std::fs::copy(&good, &copy).unwrap();
        let entries: Vec<Finding> = read_dir(dir.path())
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let problems = name_problems(files_and_signatures(&entries));
        let text: Vec<String> = problems.iter().map(|e| e.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        let copy = copy.display();
        assert!(
            text[0].starts_with(&format!("{copy}:1: holds signature")),
            "{text:?}"
        );
        assert!(
            text[1].starts_with(&format!("{copy}:1: signature `rustls-new_session_ticket-ret-1-vs-0` is saved twice: also in {}", good.display())),
            "{text:?}"
        );
        std::fs::remove_file(dir.path().join("copy.tkt")).unwrap();
        let entries: Vec<Finding> = read_dir(dir.path())
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert!(name_problems(files_and_signatures(&entries)).is_empty());
    }

    #[test]
    fn first_format_entries_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.tkt");
        let text = "\
# signature: rustls-session-resumed-false-vs-true
# backend: rustls
# versions: OpenSSL 3.0.19 27 Jan 2026 (oracle), rustls 0.23.46 (rustls)
# divergence: line 3 `connect resume`: resumed is false on the oracle, true on rustls
# first found: 2026-11-27T06:15:01Z by ticketdiff fuzz
# rerun: ticketdiff run --backend rustls diff/old.tkt
connect
handshake
connect resume
";
        std::fs::write(&path, text).unwrap();
        let f = read_file(&path).unwrap();
        assert_eq!(
            f.divergence.to_string(),
            "line 3: `connect resume`: resumed is false on the oracle, true on rustls"
        );
        assert_eq!(f.versions.backend, "rustls 0.23.46");
        assert_eq!(
            f.found.unwrap().to_string(),
            "2026-11-27T06:15:01Z by ticketdiff fuzz"
        );
        assert_eq!(f.program.stmts[0].line, 1);
    }

    #[test]
    fn broken_headers_name_the_line() {
        let (_dir, path, good) = rendered();
        for (from, to, line) in [
            ("# oracle: 1", "# oracle: one", 8),
            ("# field: ret", "# field: issued", 7),
            ("# backend: rustls", "# backend: native", 1),
            ("# op: new_session_ticket", "# op: new_session_tickt", 6),
            (
                "# first found: 1970-01-01T00:00:01Z",
                "# first found: yesterday",
                10,
            ),
        ] {
            assert!(good.contains(from), "{good}");
            let e = read_entry(&path, &good.replace(from, to)).unwrap_err();
            assert_eq!(e.line(), Some(line), "{e}");
            assert!(
                e.to_string().starts_with(&path.display().to_string()),
                "{e}"
            );
        }
        let e = read_entry(&path, &good.replace("# op: new_session_ticket\n", "")).unwrap_err();
        assert!(e.to_string().contains("`# op:`"), "{e}");
    }

    #[test]
    fn a_repeated_or_unknown_key_is_refused_with_its_line() {
        let (_dir, path, good) = rendered();
        let twice = good.replace(
            "# op: new_session_ticket\n",
            "# op: new_session_ticket\n# line: 1\n",
        );
        let e = read_entry(&path, &twice).unwrap_err();
        assert_eq!(e.line(), Some(7), "{e}");
        assert!(
            e.to_string()
                .contains("`# line:` is given twice: also on line 5"),
            "{e}"
        );
        let unknown = good.replace("# op:", "# cause: a guess\n# op:");
        let e = read_entry(&path, &unknown).unwrap_err();
        assert_eq!(e.line(), Some(6), "{e}");
        assert!(
            e.to_string().contains("`# cause:` is not a header key"),
            "{e}"
        );
        // A comment line that is no `key: value` is still a comment.
        assert!(read_entry(&path, &good.replace("# op:", "# a note\n# op:")).is_ok());
    }

    #[test]
    fn the_line_and_op_must_be_the_programs() {
        let (_dir, path, good) = rendered();
        for (line, says) in [
            (
                "0",
                "`# line:` 0 is not a line of the program, which has 3 ops",
            ),
            (
                "4294967295",
                "`# line:` 4294967295 is not a line of the program",
            ),
            ("4", "`# line:` 4 is not a line of the program"),
            (
                "2",
                "`# op:` says `new_session_ticket` but line 2 of the program is `handshake`",
            ),
        ] {
            let text = good.replace("# line: 3\n", &format!("# line: {line}\n"));
            let e = read_entry(&path, &text).unwrap_err();
            assert!(e.to_string().contains(says), "{line}: {e}");
        }
    }

    #[test]
    fn the_oracle_backend_is_an_openssl_and_not_the_entrys_own() {
        let (_dir, path, good) = rendered();
        for (oracle, says) in [
            ("rustls", "is the entry's own backend"),
            ("native", "is not an OpenSSL"),
        ] {
            let text = good.replace(
                "# oracle version:",
                &format!("# oracle backend: {oracle}\n# oracle version:"),
            );
            let e = read_entry(&path, &text).unwrap_err();
            assert_eq!(e.line(), Some(3), "{e}");
            assert!(e.to_string().contains(says), "{oracle}: {e}");
        }
        let text = good.replace(
            "# oracle version:",
            "# oracle backend: openssl-3.6\n# oracle version:",
        );
        assert_eq!(
            read_entry(&path, &text).unwrap().versions.oracle_backend,
            BackendId::Openssl36
        );
    }
}
