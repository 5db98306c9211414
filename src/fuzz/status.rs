//! The fuzzer's live status line and its closing summary.

use super::Shared;
use crate::diff::Divergence;
use crate::store::Entry;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// One signature in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureRow {
    pub signature: String,
    pub backend: String,
    pub line: u32,
    pub op: String,
    pub field: String,
    pub oracle: String,
    pub other: String,
    /// Programs that showed it this run.
    pub hits: u64,
    /// First seen in this run (and saved by it).
    pub new: bool,
    /// Ops in the saved reproducer.
    pub ops: usize,
    pub file: Option<PathBuf>,
}

impl SignatureRow {
    pub fn from_divergence(d: &Divergence, new: bool, file: Option<PathBuf>) -> SignatureRow {
        SignatureRow {
            signature: d.signature.key(),
            backend: d.signature.backend.clone(),
            line: d.line,
            op: d.op.clone(),
            field: d.field.name().into(),
            oracle: d.oracle.clone(),
            other: d.other.clone(),
            hits: 0,
            new,
            ops: 0,
            file,
        }
    }

    /// A signature already saved, as read from its entry's header.
    pub fn from_entry(e: &Entry) -> SignatureRow {
        let d = e
            .header_value("divergence")
            .and_then(|v| crate::store::parse_divergence(v, &e.backend));
        let (line, op, field, oracle, other) = match d {
            Some(d) => (d.line, d.op, d.field, d.oracle, d.other),
            None => (
                0,
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
        };
        SignatureRow {
            signature: e.signature.clone(),
            backend: e.backend.clone(),
            line,
            op,
            field,
            oracle,
            other,
            hits: 0,
            new: false,
            ops: e.program.len(),
            file: Some(e.path.clone()),
        }
    }
}

/// What a fuzz run did.
#[derive(Clone, Debug)]
pub struct Summary {
    pub elapsed: Duration,
    pub programs: u64,
    /// Programs on which some backend diverged.
    pub divergent: u64,
    /// Backend runs skipped (the program used something a backend cannot run).
    pub skipped: u64,
    pub jobs: usize,
    /// Share of the workers' time spent inside the TLS libraries.
    pub tls_share: f64,
    pub signatures: Vec<SignatureRow>,
    pub errors: Vec<String>,
}

impl Summary {
    pub fn programs_per_sec(&self) -> f64 {
        self.programs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn new_signatures(&self) -> usize {
        self.signatures.iter().filter(|s| s.new).count()
    }
}

/// The one-line status.
pub fn render_status(shared: &Shared, jobs: usize) -> String {
    let secs = shared.elapsed().as_secs_f64();
    let programs = shared.programs.load(Ordering::Relaxed);
    let (signatures, new) = shared.signature_counts();
    let tls =
        shared.tls_nanos.load(Ordering::Relaxed) as f64 / 1e9 / (secs * jobs as f64).max(1e-9);
    format!(
        "[{secs:6.1}s] programs {programs}  ({:.0}/s, {:.0}% in TLS)  divergent {}  new {new}  known hits {}  signatures {signatures}",
        programs as f64 / secs.max(1e-9),
        tls * 100.0,
        shared.divergent.load(Ordering::Relaxed),
        shared.known_hits(),
    )
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    elapsed_secs: f64,
    programs: u64,
    programs_per_sec: f64,
    jobs: usize,
    tls_share: f64,
    divergent_programs: u64,
    skipped_runs: u64,
    new_signatures: usize,
    signatures: &'a [SignatureRow],
    errors: &'a [String],
}

/// Prints the summary: a table, or JSON.
pub fn print_summary(s: &Summary, json: bool) {
    if json {
        let j = JsonSummary {
            elapsed_secs: s.elapsed.as_secs_f64(),
            programs: s.programs,
            programs_per_sec: s.programs_per_sec(),
            jobs: s.jobs,
            tls_share: s.tls_share,
            divergent_programs: s.divergent,
            skipped_runs: s.skipped,
            new_signatures: s.new_signatures(),
            signatures: &s.signatures,
            errors: &s.errors,
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&j).expect("serializable")
        );
        return;
    }
    outln!(
        "{} programs in {:.1}s ({:.0} programs/s, {} jobs, {:.0}% of worker time inside the TLS libraries); {} divergent; {} backend runs skipped; {} new signatures",
        s.programs,
        s.elapsed.as_secs_f64(),
        s.programs_per_sec(),
        s.jobs,
        s.tls_share * 100.0,
        s.divergent,
        s.skipped,
        s.new_signatures()
    );
    if !s.signatures.is_empty() {
        let rows: Vec<[String; 6]> = s
            .signatures
            .iter()
            .map(|r| {
                [
                    format!("{}{}", if r.new { "NEW " } else { "" }, r.backend),
                    format!("{} {} {}", r.line, r.op, r.field),
                    format!("{} vs {}", r.oracle, r.other),
                    r.hits.to_string(),
                    r.file
                        .as_ref()
                        .map_or_else(|| "-".into(), |f| f.display().to_string()),
                    r.signature.clone(),
                ]
            })
            .collect();
        let heads = [
            "backend",
            "line/op/field",
            "oracle vs other",
            "hits",
            "file",
            "signature",
        ];
        let widths: Vec<usize> = (0..5)
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].len())
                    .chain([heads[c].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: [&str; 5]| {
            let mut out = String::new();
            for (c, w) in cells.iter().zip(&widths) {
                out.push_str(&format!("{c:<w$}  "));
            }
            out.trim_end().to_string()
        };
        outln!(
            "{}",
            line([heads[0], heads[1], heads[2], heads[3], heads[4]])
        );
        for r in &rows {
            outln!("{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
        }
    }
    for e in &s.errors {
        eprintln!("error: {e}");
    }
}
