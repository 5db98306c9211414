//! `ticketdiff report`: the summary of a `diff/` store, as Markdown (a CI job's step summary,
//! or a page to read on its own) or JSON.
//!
//! One row per saved divergence: its signature, the backend and the versions it was found
//! with, the first divergent op, the oracle's value against the other backend's, how many
//! programs hit it (when known), when it was first found, and its minimized program.
//!
//! Hits are not something an entry knows by itself. They come, in this order, from:
//! - `--hits FILE`: the JSON summary of `ticketdiff fuzz --json` (its `signatures[].hits`), or a
//!   plain object `{"SIGNATURE": N, ...}`; a signature missing from the file had 0 hits;
//! - an optional `# hits: N` header line in the entry;
//! - otherwise they are unknown (`-` in Markdown, `null` in JSON).
//!
//! With a baseline directory (`--baseline DIR`, e.g. the repository's `diff/` when `DIR` is a
//! fuzzing run's output), each row says whether its signature is new, i.e. not in the baseline.

use crate::files::Shown;
use crate::finding::{Finding, Signature};
use crate::store::{self, EntryError, StoreError};
use crate::table::{Align, Table};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: no such directory", Shown(.0))]
    NoDir(PathBuf),
    #[error("{}: the baseline is not a directory", Shown(.0))]
    NoBaseline(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Every broken entry, one per line.
    #[error("{}", broken_list(.0))]
    Broken(Vec<EntryError>),
    #[error("{}: {message}", Shown(path))]
    Hits { path: PathBuf, message: String },
}

fn broken_list(errors: &[EntryError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    lines.join("\n")
}

/// The summary of one directory.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<PathBuf>,
    pub signatures: Vec<Finding>,
}

impl Report {
    /// Rows whose signature is not in the baseline.
    pub fn new_signatures(&self) -> usize {
        self.signatures
            .iter()
            .filter(|r| r.new == Some(true))
            .count()
    }
}

/// Hits per signature.
pub type Hits = BTreeMap<Signature, u64>;

/// A hits file: the summary of `ticketdiff fuzz --json`, or `{"SIGNATURE": N}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum HitsFile {
    Summary { signatures: Vec<HitRow> },
    Counts(Hits),
}

#[derive(Deserialize)]
struct HitRow {
    signature: Signature,
    hits: u64,
}

/// Hits per signature from a file's text; `path` names it in errors.
pub fn parse_hits(text: &str, path: &Path) -> Result<Hits, ReportError> {
    let error = |message: String| ReportError::Hits {
        path: path.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| error(format!("not valid JSON: {e}")))?;
    let shape = "expected the JSON summary of `ticketdiff fuzz --json` (with `signatures`) or an object of signature to hit count";
    if let Ok(file) = HitsFile::deserialize(&value) {
        return Ok(match file {
            HitsFile::Counts(hits) => hits,
            HitsFile::Summary { signatures } => {
                let mut hits = Hits::new();
                for r in signatures {
                    *hits.entry(r.signature).or_insert(0) += r.hits;
                }
                hits
            }
        });
    }
    // Say what is wrong with the shape the file seems to have.
    let detail = match value.get("signatures") {
        Some(rows) => Vec::<HitRow>::deserialize(rows)
            .err()
            .map(|e| format!("signatures: {e}")),
        None if value.is_object() => Hits::deserialize(&value).err().map(|e| e.to_string()),
        None => None,
    };
    Err(error(match detail {
        Some(d) => format!("{shape}: {d}"),
        None => shape.to_string(),
    }))
}

/// Signatures of the entries in a baseline directory.
fn baseline_signatures(dir: &Path) -> Result<BTreeSet<Signature>, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::NoBaseline(dir.to_path_buf()));
    }
    let (ok, broken) = split(store::read_dir(dir)?);
    if !broken.is_empty() {
        return Err(ReportError::Broken(broken));
    }
    Ok(ok.iter().map(Finding::signature).collect())
}

fn split(entries: Vec<Result<Finding, EntryError>>) -> (Vec<Finding>, Vec<EntryError>) {
    let mut ok = Vec::new();
    let mut broken = Vec::new();
    for e in entries {
        match e {
            Ok(f) => ok.push(f),
            Err(e) => broken.push(e),
        }
    }
    (ok, broken)
}

/// Reads `dir` into a report. Broken entries are the error, every one of them named with its
/// file and line, and so are entries saved under another signature's name or twice.
pub fn build(
    dir: &Path,
    hits: Option<&Hits>,
    baseline: Option<&Path>,
) -> Result<Report, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::NoDir(dir.to_path_buf()));
    }
    let base = baseline.map(baseline_signatures).transpose()?;
    let (mut rows, mut broken) = split(store::read_dir(dir)?);
    // One signature, one row: a copy or a misnamed entry is a broken store.
    broken.extend(store::name_problems(store::files_and_signatures(&rows)));
    if !broken.is_empty() {
        return Err(ReportError::Broken(broken));
    }
    for r in &mut rows {
        if let Some(hits) = hits {
            r.hits = Some(hits.get(&r.signature()).copied().unwrap_or(0));
        }
        if let Some(base) = &base {
            r.new = Some(!base.contains(&r.signature()));
        }
    }
    // New ones first, then by signature.
    rows.sort_by_cached_key(|r| (r.new != Some(true), r.signature().to_string()));
    Ok(Report {
        dir: dir.to_path_buf(),
        baseline: baseline.map(Path::to_path_buf),
        signatures: rows,
    })
}

/// Text from an entry or a path, made inert in Markdown: HTML, code spans, table cells,
/// links and images all start at a character written here as an entity, and a line break
/// would end a heading or a row, so it becomes a space (emphasis is left: it only restyles). Nightly runs put this in the CI step
/// summary, which renders HTML.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '`' | '|' | '\\' | '[' | ']' | '!' => out.push_str(&format!("&#{};", c as u32)),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Inline code of any text.
fn code(s: &str) -> String {
    format!("<code>{}</code>", md(s))
}

/// The report as Markdown: a heading, one table row per signature, then each minimized program.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let n = report.signatures.len();
    let plural = if n == 1 { "" } else { "s" };
    out.push_str(&format!(
        "## ticketdiff: {n} signature{plural} in {}",
        code(&Shown(&report.dir).to_string())
    ));
    if let Some(base) = &report.baseline {
        out.push_str(&format!(
            ", {} not in {}",
            report.new_signatures(),
            code(&Shown(base).to_string())
        ));
    }
    out.push_str("\n\n");
    if n == 0 {
        out.push_str("No saved divergences.\n");
        return out;
    }
    let with_new = report.baseline.is_some();
    let mut headers = vec![
        "signature",
        "backend and versions",
        "first divergent op",
        "oracle vs other",
        "hits",
        "first found",
    ];
    if with_new {
        headers.insert(0, "");
    }
    let hits_column = headers.len() - 2;
    let mut table = Table::new(&headers).column(hits_column, Align::Right, 0);
    for r in &report.signatures {
        let d = &r.divergence;
        let versions = r.versions_text();
        let versions = if versions.is_empty() {
            d.backend().to_string()
        } else {
            md(&format!("{}: {versions}", d.backend()))
        };
        let mut row = Vec::new();
        if with_new {
            row.push(
                if r.new == Some(true) {
                    "**NEW**"
                } else {
                    "known"
                }
                .to_string(),
            );
        }
        row.extend([
            code(&d.signature.to_string()),
            versions,
            format!("line {} {}", d.line, code(&d.op.to_string())),
            md(&format!("{}: {}", d.what(), d.comparison())),
            r.hits.map_or_else(|| "-".to_string(), |h| h.to_string()),
            r.found
                .as_ref()
                .map_or_else(|| "-".to_string(), |f| md(&f.to_string())),
        ]);
        table.row(row);
    }
    out.push_str(&table.markdown());
    out.push_str("\n### Minimized programs\n\n");
    for r in &report.signatures {
        let ops = if r.program.len() == 1 { "op" } else { "ops" };
        let file = r
            .file
            .as_ref()
            .map_or_else(String::new, |f| Shown(f).to_string());
        out.push_str(&format!(
            "<details><summary>{}{}: {} {ops}, {}</summary>\n\n",
            code(&r.signature().to_string()),
            if r.new == Some(true) { " (new)" } else { "" },
            r.program.len(),
            code(&file),
        ));
        out.push_str("```\n");
        out.push_str(&r.program.to_string());
        out.push_str("```\n\n");
        out.push_str(&format!("Rerun: {}\n\n</details>\n\n", code(&r.rerun())));
    }
    out
}

/// The report as pretty JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("serializable")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const ENTRY: &str = "\
# signature: rustls-new_session_ticket-ret-1-vs-0
# backend: rustls
# oracle version: OpenSSL 3.0.19 27 Jan 2026
# backend version: rustls 0.23.46
# line: 3
# op: new_session_ticket
# field: ret
# oracle: 1
# other: 0
# first found: 2026-11-27T06:15:01Z
# found by: ticketdiff fuzz
# rerun: ticketdiff run --backend rustls diff/rustls-new_session_ticket-ret-1-vs-0.tkt
connect
handshake
new_session_ticket
";

    const NAME: &str = "rustls-new_session_ticket-ret-1-vs-0.tkt";

    fn store_with(entries: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in entries {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn build_err(dir: &Path) -> String {
        build(dir, None, None).unwrap_err().to_string()
    }

    #[test]
    fn a_row_has_everything_the_entry_says() {
        let dir = store_with(&[(NAME, ENTRY)]);
        let report = build(dir.path(), None, None).unwrap();
        assert_eq!(report.signatures.len(), 1);
        let r = &report.signatures[0];
        assert_eq!(
            r.signature().to_string(),
            "rustls-new_session_ticket-ret-1-vs-0"
        );
        assert_eq!(r.backend().to_string(), "rustls");
        assert_eq!(
            r.versions_text(),
            "OpenSSL 3.0.19 27 Jan 2026 (oracle), rustls 0.23.46 (rustls)"
        );
        assert_eq!(
            r.divergence.to_string(),
            "line 3: `new_session_ticket`: ret is 1 on the oracle, 0 on rustls"
        );
        assert_eq!(r.hits, None);
        assert_eq!(
            r.found.as_ref().unwrap().to_string(),
            "2026-11-27T06:15:01Z by ticketdiff fuzz"
        );
        assert_eq!(r.new, None);
        assert_eq!(
            r.program.to_string(),
            "connect\nhandshake\nnew_session_ticket\n"
        );
    }

    #[test]
    fn hits_from_the_header_and_from_a_file() {
        let with_hits = ENTRY.replace("# rerun:", "# hits: 42\n# rerun:");
        let dir = store_with(&[(NAME, &with_hits)]);
        let report = build(dir.path(), None, None).unwrap();
        assert_eq!(report.signatures[0].hits, Some(42));

        let file = Path::new("h.json");
        let fuzz_json = r#"{"elapsed_secs": 1.0, "signatures": [
            {"signature": "rustls-new_session_ticket-ret-1-vs-0", "hits": 7, "new": false}]}"#;
        let hits = parse_hits(fuzz_json, file).unwrap();
        let report = build(dir.path(), Some(&hits), None).unwrap();
        assert_eq!(report.signatures[0].hits, Some(7));

        // A signature the file does not mention was not hit.
        let hits = parse_hits(r#"{"rustls-shutdown-ret-0-vs-1": 3}"#, file).unwrap();
        let report = build(dir.path(), Some(&hits), None).unwrap();
        assert_eq!(report.signatures[0].hits, Some(0));

        let e = parse_hits("[1]", file).unwrap_err().to_string();
        assert!(e.starts_with("h.json: expected"), "{e}");
        let e = parse_hits(
            r#"{"signatures": [{"signature": "rustls-shutdown-ret-0-vs-1"}]}"#,
            file,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("signatures: missing field `hits`"), "{e}");
        let e = parse_hits(r#"{"rustls-nonsense": 3}"#, file)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`rustls-nonsense` is not a signature"), "{e}");
        let e = parse_hits("{", file).unwrap_err().to_string();
        assert!(e.starts_with("h.json: not valid JSON"), "{e}");
    }

    #[test]
    fn every_broken_entry_is_named_with_its_line() {
        let dir = store_with(&[
            ("a.tkt", &ENTRY.replace("# oracle: 1", "# oracle: one")),
            (
                "b.tkt",
                &ENTRY
                    .replace("# hits", "")
                    .replace("# rerun:", "# hits: many\n# rerun:"),
            ),
            (
                "c.tkt",
                &ENTRY.replace(
                    "handshake\nnew_session_ticket\n",
                    "handshake\nnew_session_tickt\n",
                ),
            ),
            ("d.tkt", "connect\n"),
        ]);
        let e = build_err(dir.path());
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 4, "{e}");
        let name = |f: &str| dir.path().join(f).display().to_string();
        assert!(
            lines[0].starts_with(&format!("{}:8: ", name("a.tkt"))),
            "{e}"
        );
        assert!(
            lines[1].starts_with(&format!("{}:12: ", name("b.tkt"))),
            "{e}"
        );
        assert!(
            lines[2].starts_with(&format!("{}:15:", name("c.tkt"))),
            "{e}"
        );
        assert!(
            lines[3].starts_with(&format!("{}:1: ", name("d.tkt"))),
            "{e}"
        );

        let e = build_err(&dir.path().join("missing"));
        assert!(e.ends_with("missing: no such directory"), "{e}");
    }

    #[test]
    fn a_copy_or_a_misnamed_entry_is_an_error_not_a_second_row() {
        let dir = store_with(&[(NAME, ENTRY), ("copy.tkt", ENTRY)]);
        let e = build_err(dir.path());
        assert_eq!(e.lines().count(), 2, "{e}");
        assert!(e.contains("copy.tkt:1: holds signature"), "{e}");
        assert!(
            e.contains(
                "copy.tkt:1: signature `rustls-new_session_ticket-ret-1-vs-0` is saved twice"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_baseline_marks_new_signatures_first() {
        let other = ENTRY
            .replace(
                "new_session_ticket-ret-1-vs-0",
                "verify_client_post_handshake-ret-1-vs-0",
            )
            .replace(
                "# op: new_session_ticket",
                "# op: verify_client_post_handshake",
            )
            .replace("\nnew_session_ticket\n", "\nverify_client_post_handshake\n");
        let dir = store_with(&[
            (NAME, ENTRY),
            ("rustls-verify_client_post_handshake-ret-1-vs-0.tkt", &other),
        ]);
        let base = store_with(&[(NAME, ENTRY)]);
        let report = build(dir.path(), None, Some(base.path())).unwrap();
        assert_eq!(report.new_signatures(), 1);
        assert_eq!(
            report.signatures[0].signature().to_string(),
            "rustls-verify_client_post_handshake-ret-1-vs-0"
        );
        assert_eq!(report.signatures[0].new, Some(true));
        assert_eq!(report.signatures[1].new, Some(false));
        let md = markdown(&report);
        assert!(md.contains(", 1 not in <code>"), "{md}");
        assert!(
            md.contains("| | signature | backend and versions |"),
            "{md}"
        );
        assert!(md.contains("|---|---|---|---|---|--:|---|"), "{md}");
        assert!(
            md.contains(
                "| **NEW** | <code>rustls-verify_client_post_handshake-ret-1-vs-0</code> |"
            ),
            "{md}"
        );

        // A baseline that is not there is an error, not "everything is new".
        let e = build(dir.path(), None, Some(&base.path().join("missing")))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("missing: the baseline is not a directory"),
            "{e}"
        );
    }

    #[test]
    fn markdown_has_one_row_per_signature_and_the_programs() {
        let dir = store_with(&[(NAME, ENTRY)]);
        let report = build(dir.path(), None, None).unwrap();
        let md = markdown(&report);
        assert!(
            md.starts_with("## ticketdiff: 1 signature in <code>"),
            "{md}"
        );
        let rows: Vec<&str> = md
            .lines()
            .filter(|l| l.starts_with("| <code>rustls"))
            .collect();
        assert_eq!(rows.len(), 1, "{md}");
        assert_eq!(
            rows[0],
            "| <code>rustls-new_session_ticket-ret-1-vs-0</code> | rustls: OpenSSL 3.0.19 27 Jan 2026 (oracle), rustls 0.23.46 (rustls) | line 3 <code>new_session_ticket</code> | ret: 1 vs 0 | - | 2026-11-27T06:15:01Z by ticketdiff fuzz |"
        );
        assert!(md.contains("|---|---|---|---|--:|---|"), "{md}");
        assert!(
            md.contains("```\nconnect\nhandshake\nnew_session_ticket\n```"),
            "{md}"
        );
        assert!(
            md.contains("Rerun: <code>ticketdiff run --backend rustls "),
            "{md}"
        );

        let empty = tempfile::tempdir().unwrap();
        let md = markdown(&build(empty.path(), None, None).unwrap());
        assert!(
            md.contains("0 signatures") && md.contains("No saved divergences."),
            "{md}"
        );
    }

    #[test]
    fn json_round_trips_the_rows() {
        let dir = store_with(&[(NAME, ENTRY)]);
        let report = build(dir.path(), None, None).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        let row = &v["signatures"][0];
        assert_eq!(row["signature"], "rustls-new_session_ticket-ret-1-vs-0");
        assert_eq!(row["hits"], serde_json::Value::Null);
        assert_eq!(row["oracle"], "1");
        assert_eq!(row["op"], "new_session_ticket");
        assert_eq!(row["ops"], 3);
        assert_eq!(
            row["first_found"],
            "2026-11-27T06:15:01Z by ticketdiff fuzz"
        );
        assert_eq!(row["program"], "connect\nhandshake\nnew_session_ticket\n");
        assert!(row.get("new").is_none());
    }
}
