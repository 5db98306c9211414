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

use crate::store::{self, parse_divergence, Entry};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One saved divergence, as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub signature: String,
    pub backend: String,
    /// The `# versions:` header, as written (`OpenSSL 3.0.19 ... (oracle), rustls 0.23.46 (rustls)`).
    pub versions: String,
    /// The line of the first divergent op in the saved program.
    pub line: u32,
    /// That op, in canonical text form.
    pub op: String,
    /// The trace field that differs first (`ret`, `issued`, `received`, `resumed`).
    pub field: String,
    /// The oracle's value of that field.
    pub oracle: String,
    /// The backend's value of that field.
    pub other: String,
    /// Programs that showed the signature, when known.
    pub hits: Option<u64>,
    /// `# first found:` (time and finder), when the entry says.
    pub first_found: Option<String>,
    /// Whether the signature is absent from the baseline (only with a baseline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
    pub file: PathBuf,
    /// Ops in the minimized program.
    pub ops: usize,
    /// The minimized program, one op per line.
    pub program: String,
}

/// The summary of one directory.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<PathBuf>,
    pub signatures: Vec<Row>,
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

/// The 1-based line of a header line (`# KEY: ...`) in an entry; the header is the file's
/// leading comment block, so its index is the line number.
fn header_line(entry: &Entry, key: &str) -> usize {
    let prefix = format!("# {key}:");
    entry
        .header
        .iter()
        .position(|l| l.starts_with(&prefix))
        .map_or(1, |i| i + 1)
}

/// A row from an entry; errors name the file and line.
pub fn row(entry: &Entry) -> Result<Row, String> {
    let name = entry.path.display();
    let divergence = entry.header_value("divergence").ok_or_else(|| {
        format!("{name}:1: a saved divergence needs a `# divergence:` header line")
    })?;
    let d = parse_divergence(divergence.trim(), &entry.backend).ok_or_else(|| {
        format!(
            "{name}:{}: cannot read the `# divergence:` header (expected ``line N `OP`: FIELD is A on the oracle, B on {}``)",
            header_line(entry, "divergence"),
            entry.backend
        )
    })?;
    let hits = match entry.header_value("hits") {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
            format!(
                "{name}:{}: `# hits:` must be a whole number, not `{}`",
                header_line(entry, "hits"),
                v.trim()
            )
        })?),
    };
    Ok(Row {
        signature: entry.signature.clone(),
        backend: entry.backend.clone(),
        versions: entry
            .header_value("versions")
            .unwrap_or("")
            .trim()
            .to_string(),
        line: d.line,
        op: d.op,
        field: d.field,
        oracle: d.oracle,
        other: d.other,
        hits,
        first_found: entry
            .header_value("first found")
            .map(|s| s.trim().to_string()),
        new: None,
        file: entry.path.clone(),
        ops: entry.program.len(),
        program: entry.program.to_string(),
    })
}

/// Hits per signature from a file: the `ticketdiff fuzz --json` summary, or `{"SIG": N}`.
pub fn parse_hits(text: &str, name: &str) -> Result<BTreeMap<String, u64>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{name}: not valid JSON: {e}"))?;
    let shape = || {
        format!(
            "{name}: expected the JSON summary of `ticketdiff fuzz --json` (with `signatures`) or an object of signature to hit count"
        )
    };
    let mut hits = BTreeMap::new();
    match value.get("signatures") {
        Some(serde_json::Value::Array(rows)) => {
            for (i, r) in rows.iter().enumerate() {
                let sig = r.get("signature").and_then(|s| s.as_str());
                let n = r.get("hits").and_then(|n| n.as_u64());
                match (sig, n) {
                    (Some(s), Some(n)) => *hits.entry(s.to_string()).or_insert(0) += n,
                    _ => {
                        return Err(format!(
                            "{name}: signatures[{i}] needs a string `signature` and a whole-number `hits`"
                        ))
                    }
                }
            }
        }
        Some(_) => return Err(shape()),
        None => {
            let obj = value.as_object().ok_or_else(shape)?;
            for (sig, n) in obj {
                let n = n
                    .as_u64()
                    .ok_or_else(|| format!("{name}: the hits of `{sig}` must be a whole number"))?;
                hits.insert(sig.clone(), n);
            }
        }
    }
    Ok(hits)
}

/// Signatures of the entries in a baseline directory (a missing directory has none).
fn baseline_signatures(dir: &Path) -> Result<BTreeSet<String>, String> {
    if !dir.exists() {
        return Ok(BTreeSet::new());
    }
    if !dir.is_dir() {
        return Err(format!("{}: not a directory", dir.display()));
    }
    store::read_dir(dir)
        .into_iter()
        .map(|e| e.map(|e| e.signature))
        .collect()
}

/// Reads `dir` into a report. The first unreadable entry is the error, naming file and line.
pub fn build(
    dir: &Path,
    hits: Option<&BTreeMap<String, u64>>,
    baseline: Option<&Path>,
) -> Result<Report, String> {
    if !dir.is_dir() {
        return Err(format!("{}: no such directory", dir.display()));
    }
    let base = baseline.map(baseline_signatures).transpose()?;
    let mut rows = Vec::new();
    for entry in store::read_dir(dir) {
        let mut r = row(&entry?)?;
        if let Some(hits) = hits {
            r.hits = Some(hits.get(&r.signature).copied().unwrap_or(0));
        }
        if let Some(base) = &base {
            r.new = Some(!base.contains(&r.signature));
        }
        rows.push(r);
    }
    // New ones first, then by signature.
    rows.sort_by(|a, b| {
        b.new
            .unwrap_or(false)
            .cmp(&a.new.unwrap_or(false))
            .then_with(|| a.signature.cmp(&b.signature))
    });
    Ok(Report {
        dir: dir.to_path_buf(),
        baseline: baseline.map(Path::to_path_buf),
        signatures: rows,
    })
}

/// A Markdown table cell: no line breaks, `|` escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Inline code that survives backticks inside.
fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {} ``", s)
    } else {
        format!("`{s}`")
    }
}

/// The report as Markdown: a heading, one table row per signature, then each minimized program.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let n = report.signatures.len();
    let plural = if n == 1 { "" } else { "s" };
    out.push_str(&format!(
        "## ticketdiff: {n} signature{plural} in `{}`",
        report.dir.display()
    ));
    if let Some(base) = &report.baseline {
        out.push_str(&format!(
            ", {} not in `{}`",
            report.new_signatures(),
            base.display()
        ));
    }
    out.push_str("\n\n");
    if n == 0 {
        out.push_str("No saved divergences.\n");
        return out;
    }
    let with_new = report.baseline.is_some();
    if with_new {
        out.push_str("| | signature | backend and versions | first divergent op | oracle vs other | hits | first found |\n");
        out.push_str("|---|---|---|---|---|--:|---|\n");
    } else {
        out.push_str("| signature | backend and versions | first divergent op | oracle vs other | hits | first found |\n");
        out.push_str("|---|---|---|---|--:|---|\n");
    }
    for r in &report.signatures {
        if with_new {
            out.push_str(if r.new == Some(true) {
                "| **NEW** "
            } else {
                "| known "
            });
        }
        let versions = if r.versions.is_empty() {
            r.backend.clone()
        } else {
            format!("{}: {}", r.backend, r.versions)
        };
        out.push_str(&format!(
            "| {} | {} | line {} {} | {}: {} vs {} | {} | {} |\n",
            cell(&code(&r.signature)),
            cell(&versions),
            r.line,
            cell(&code(&r.op)),
            cell(&r.field),
            cell(&r.oracle),
            cell(&r.other),
            r.hits.map_or_else(|| "-".to_string(), |h| h.to_string()),
            cell(r.first_found.as_deref().unwrap_or("-")),
        ));
    }
    out.push_str("\n### Minimized programs\n\n");
    for r in &report.signatures {
        let ops = if r.ops == 1 { "op" } else { "ops" };
        out.push_str(&format!(
            "<details><summary><code>{}</code>{}: {} {ops}, <code>{}</code></summary>\n\n",
            html(&r.signature),
            if r.new == Some(true) { " (new)" } else { "" },
            r.ops,
            html(&r.file.display().to_string()),
        ));
        out.push_str("```\n");
        out.push_str(&r.program);
        if !r.program.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("```\n\n");
        out.push_str(&format!(
            "Rerun: `ticketdiff run --backend {} {}`\n\n</details>\n\n",
            r.backend,
            r.file.display()
        ));
    }
    out
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The report as pretty JSON.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("serializable")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DivergenceHeader;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ticketdiff-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const ENTRY: &str = "\
# signature: rustls-new_session_ticket-ret-1-vs-0
# backend: rustls
# versions: OpenSSL 3.0.19 27 Jan 2026 (oracle), rustls 0.23.46 (rustls)
# divergence: line 3 `new_session_ticket`: ret is 1 on the oracle, 0 on rustls
# first found: 2026-11-27T06:15:01Z by ticketdiff fuzz
# rerun: ticketdiff run --backend rustls diff/rustls-new_session_ticket-ret-1-vs-0.tkt
connect
handshake
new_session_ticket
";

    #[test]
    fn parses_the_divergence_header() {
        let d = parse_divergence(
            "line 3 `new_session_ticket`: ret is 1 on the oracle, 0 on rustls",
            "rustls",
        )
        .unwrap();
        assert_eq!(
            d,
            DivergenceHeader {
                line: 3,
                op: "new_session_ticket".into(),
                field: "ret".into(),
                oracle: "1".into(),
                other: "0".into(),
            }
        );
        let d = parse_divergence(
            "line 11 `connect resume`: resumed is false on the oracle, true on rustls",
            "rustls",
        )
        .unwrap();
        assert_eq!(
            (d.op.as_str(), d.other.as_str()),
            ("connect resume", "true")
        );
        assert!(
            parse_divergence("line x `a`: ret is 1 on the oracle, 0 on rustls", "rustls").is_none()
        );
        assert!(
            parse_divergence("line 3 `a`: ret is 1 on the oracle, 0 on other", "rustls").is_none()
        );
        assert!(parse_divergence("something else", "rustls").is_none());
    }

    #[test]
    fn a_row_has_everything_the_entry_says() {
        let dir = scratch("row");
        std::fs::write(dir.join("a.tkt"), ENTRY).unwrap();
        let report = build(&dir, None, None).unwrap();
        assert_eq!(report.signatures.len(), 1);
        let r = &report.signatures[0];
        assert_eq!(r.signature, "rustls-new_session_ticket-ret-1-vs-0");
        assert_eq!(r.backend, "rustls");
        assert!(r.versions.starts_with("OpenSSL 3.0.19"));
        assert_eq!(
            (r.line, r.op.as_str(), r.field.as_str()),
            (3, "new_session_ticket", "ret")
        );
        assert_eq!((r.oracle.as_str(), r.other.as_str()), ("1", "0"));
        assert_eq!(r.hits, None);
        assert_eq!(
            r.first_found.as_deref(),
            Some("2026-11-27T06:15:01Z by ticketdiff fuzz")
        );
        assert_eq!(r.new, None);
        assert_eq!(r.ops, 3);
        assert_eq!(r.program, "connect\nhandshake\nnew_session_ticket\n");
    }

    #[test]
    fn hits_from_the_header_and_from_a_file() {
        let dir = scratch("hits");
        let with_hits = ENTRY.replace("# rerun:", "# hits: 42\n# rerun:");
        std::fs::write(dir.join("a.tkt"), &with_hits).unwrap();
        let report = build(&dir, None, None).unwrap();
        assert_eq!(report.signatures[0].hits, Some(42));

        let fuzz_json = r#"{"elapsed_secs": 1.0, "signatures": [
            {"signature": "rustls-new_session_ticket-ret-1-vs-0", "hits": 7, "new": false}]}"#;
        let hits = parse_hits(fuzz_json, "h.json").unwrap();
        let report = build(&dir, Some(&hits), None).unwrap();
        assert_eq!(report.signatures[0].hits, Some(7));

        // A signature the file does not mention was not hit.
        let hits = parse_hits(r#"{"rustls-other": 3}"#, "h.json").unwrap();
        let report = build(&dir, Some(&hits), None).unwrap();
        assert_eq!(report.signatures[0].hits, Some(0));

        let e = parse_hits("[1]", "h.json").unwrap_err();
        assert!(e.starts_with("h.json: expected"), "{e}");
        let e = parse_hits(r#"{"signatures": [{"signature": "x"}]}"#, "h.json").unwrap_err();
        assert!(e.contains("signatures[0]"), "{e}");
        let e = parse_hits("{", "h.json").unwrap_err();
        assert!(e.starts_with("h.json: not valid JSON"), "{e}");
    }

    #[test]
    fn broken_entries_are_errors_naming_file_and_line() {
        let dir = scratch("broken");
        let path = dir.join("a.tkt");
        std::fs::write(&path, ENTRY.replace("ret is 1 on the oracle", "ret was 1")).unwrap();
        let e = build(&dir, None, None).unwrap_err();
        assert!(e.starts_with(&format!("{}:4: ", path.display())), "{e}");

        let with_hits = ENTRY.replace("# rerun:", "# hits: many\n# rerun:");
        std::fs::write(&path, with_hits).unwrap();
        let e = build(&dir, None, None).unwrap_err();
        assert!(e.starts_with(&format!("{}:6: ", path.display())), "{e}");

        std::fs::write(
            &path,
            ENTRY.replace("new_session_ticket\n", "new_session_tickt\n"),
        )
        .unwrap();
        let e = build(&dir, None, None).unwrap_err();
        assert!(e.contains("a.tkt:9"), "{e}");

        std::fs::write(&path, "connect\n").unwrap();
        let e = build(&dir, None, None).unwrap_err();
        assert!(e.contains("a.tkt:1"), "{e}");

        let e = build(&dir.join("missing"), None, None).unwrap_err();
        assert!(e.ends_with("missing: no such directory"), "{e}");
    }

    #[test]
    fn a_baseline_marks_new_signatures_first() {
        let dir = scratch("base-out");
        let base = scratch("base-repo");
        std::fs::write(dir.join("a.tkt"), ENTRY).unwrap();
        std::fs::write(base.join("a.tkt"), ENTRY).unwrap();
        let other = ENTRY
            .replace(
                "new_session_ticket-ret-1-vs-0",
                "verify_client_post_handshake-ret-1-vs-0",
            )
            .replace("`new_session_ticket`", "`verify_client_post_handshake`")
            .replace("\nnew_session_ticket\n", "\nverify_client_post_handshake\n");
        std::fs::write(dir.join("b.tkt"), other).unwrap();
        let report = build(&dir, None, Some(&base)).unwrap();
        assert_eq!(report.new_signatures(), 1);
        assert_eq!(
            report.signatures[0].signature,
            "rustls-verify_client_post_handshake-ret-1-vs-0"
        );
        assert_eq!(report.signatures[0].new, Some(true));
        assert_eq!(report.signatures[1].new, Some(false));
        let md = markdown(&report);
        assert!(md.contains(", 1 not in `"), "{md}");
        assert!(
            md.contains("| **NEW** | `rustls-verify_client_post_handshake-ret-1-vs-0` |"),
            "{md}"
        );
    }

    #[test]
    fn markdown_has_one_row_per_signature_and_the_programs() {
        let dir = scratch("md");
        std::fs::write(dir.join("a.tkt"), ENTRY).unwrap();
        let report = build(&dir, None, None).unwrap();
        let md = markdown(&report);
        assert!(md.starts_with("## ticketdiff: 1 signature in `"), "{md}");
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| `rustls")).collect();
        assert_eq!(rows.len(), 1, "{md}");
        assert_eq!(
            rows[0],
            "| `rustls-new_session_ticket-ret-1-vs-0` | rustls: OpenSSL 3.0.19 27 Jan 2026 (oracle), rustls 0.23.46 (rustls) | line 3 `new_session_ticket` | ret: 1 vs 0 | - | 2026-11-27T06:15:01Z by ticketdiff fuzz |"
        );
        assert!(
            md.contains("```\nconnect\nhandshake\nnew_session_ticket\n```"),
            "{md}"
        );
        assert!(
            md.contains("Rerun: `ticketdiff run --backend rustls "),
            "{md}"
        );

        let empty = scratch("md-empty");
        let md = markdown(&build(&empty, None, None).unwrap());
        assert!(
            md.contains("0 signatures") && md.contains("No saved divergences."),
            "{md}"
        );
    }

    #[test]
    fn json_round_trips_the_rows() {
        let dir = scratch("json");
        std::fs::write(dir.join("a.tkt"), ENTRY).unwrap();
        let report = build(&dir, None, None).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        let row = &v["signatures"][0];
        assert_eq!(row["signature"], "rustls-new_session_ticket-ret-1-vs-0");
        assert_eq!(row["hits"], serde_json::Value::Null);
        assert_eq!(row["oracle"], "1");
        assert_eq!(row["program"], "connect\nhandshake\nnew_session_ticket\n");
        assert!(row.get("new").is_none());
    }
}
