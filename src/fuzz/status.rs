//! The fuzzer's live status line and its closing summary.

use super::Shared;
use crate::finding::Finding;
use crate::program::usage::Usage;
use crate::table::Table;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What a fuzz run did.
#[derive(Debug)]
pub struct Summary {
    pub elapsed: Duration,
    pub programs: u64,
    /// Programs on which some backend diverged.
    pub divergent: u64,
    /// Backend runs skipped (the program used something a backend cannot run).
    pub skipped: u64,
    pub jobs: usize,
    /// How often programs used each version 2 op and flag.
    pub usage: Usage,
    /// Share of the workers' time spent inside the TLS libraries.
    pub tls_share: f64,
    /// Signatures found or hit in this run, new ones first.
    pub signatures: Vec<Finding>,
    pub errors: Vec<super::FuzzError>,
    /// New signatures whose divergence a rerun did not confirm: saved unminimized, or not at
    /// all.
    pub unconfirmed: Vec<(crate::finding::Signature, crate::minimize::Kept)>,
}

impl Summary {
    pub fn programs_per_sec(&self) -> f64 {
        self.programs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One line per unconfirmed signature.
    fn unconfirmed_lines(&self) -> Vec<String> {
        self.unconfirmed
            .iter()
            .map(|(s, kept)| format!("{s}: {kept} (a backend that diverges only sometimes)"))
            .collect()
    }

    pub fn new_signatures(&self) -> usize {
        self.signatures
            .iter()
            .filter(|s| s.new == Some(true))
            .count()
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
    v2_programs: u64,
    v2_uses: BTreeMap<String, u64>,
    signatures: &'a [Finding],
    unconfirmed: Vec<String>,
    errors: Vec<String>,
}

/// Prints the summary: a table, or JSON.
pub fn print_summary(out: &mut dyn Write, s: &Summary, json: bool) -> std::io::Result<()> {
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
            v2_programs: s.usage.v2_programs,
            v2_uses: s
                .usage
                .by_use
                .iter()
                .map(|(u, n)| (u.to_string(), *n))
                .collect(),
            signatures: &s.signatures,
            unconfirmed: s.unconfirmed_lines(),
            errors: s.errors.iter().map(|e| e.to_string()).collect(),
        };
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&j).expect("serializable")
        );
    }
    writeln!(
        out,
        "{} programs in {:.1}s ({:.0} programs/s, {} jobs, {:.0}% of worker time inside the TLS libraries); {} divergent; {} backend runs skipped; {} new signatures",
        s.programs,
        s.elapsed.as_secs_f64(),
        s.programs_per_sec(),
        s.jobs,
        s.tls_share * 100.0,
        s.divergent,
        s.skipped,
        s.new_signatures()
    )?;
    if s.usage.v2_programs > 0 {
        let share = |n: u64| 100.0 * n as f64 / s.programs.max(1) as f64;
        let uses: Vec<String> = s
            .usage
            .by_use
            .iter()
            .map(|(u, n)| format!("{u} {n} ({:.1}%)", share(*n)))
            .collect();
        writeln!(
            out,
            "version 2: {} programs ({:.1}%) used a version 2 op or flag: {}",
            s.usage.v2_programs,
            share(s.usage.v2_programs),
            uses.join(", ")
        )?;
    }
    if !s.signatures.is_empty() {
        let mut table = Table::new(&[
            "backend",
            "line/op/field",
            "oracle vs other",
            "hits",
            "file",
        ]);
        for f in &s.signatures {
            let d = &f.divergence;
            let new = if f.new == Some(true) { "NEW " } else { "" };
            table.row(vec![
                format!("{new}{}", d.backend()),
                format!("{} {} {}", d.line, d.op, d.what()),
                d.comparison(),
                f.hits.unwrap_or(0).to_string(),
                f.file
                    .as_ref()
                    .map_or_else(|| "-".into(), |p| p.display().to_string()),
            ]);
        }
        write!(out, "{}", table.text())?;
    }
    for line in s.unconfirmed_lines() {
        writeln!(out, "unconfirmed: {line}")?;
    }
    for e in &s.errors {
        eprintln!("error: {e}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minimize::Kept;

    #[test]
    fn the_summary_says_which_signatures_a_rerun_did_not_confirm() {
        let crash = "native-crash-in-new_session_ticket".parse().unwrap();
        let hang = "native-hang-in-shutdown".parse().unwrap();
        let summary = Summary {
            elapsed: Duration::from_secs(1),
            programs: 1,
            divergent: 1,
            skipped: 0,
            jobs: 1,
            usage: Usage::default(),
            tls_share: 0.0,
            signatures: Vec::new(),
            errors: Vec::new(),
            unconfirmed: vec![
                (
                    crash,
                    Kept::AsFound {
                        minimized_gave: Some(hang),
                    },
                ),
                (hang, Kept::Nothing { again: None }),
            ],
        };
        let mut text = Vec::new();
        print_summary(&mut text, &summary, false).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains(
                "unconfirmed: native-crash-in-new_session_ticket: kept unminimized: its minimized \
             program gave native-hang-in-shutdown instead on a rerun (a backend that diverges \
             only sometimes)\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "unconfirmed: native-hang-in-shutdown: not kept: the program it was seen on did not \
             diverge on a rerun"
        ), "{text}");
        let mut json = Vec::new();
        print_summary(&mut json, &summary, true).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(json["unconfirmed"].as_array().unwrap().len(), 2);
    }
}
