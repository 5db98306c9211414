//! The side-by-side table `ticketdiff run` prints: one row per op, one column per backend.

use crate::diff::Field;
use crate::program::Program;
use crate::runner::{BackendResult, Outcome};
use crate::trace::Step;
use std::fmt::Write;

fn cell(step: &Step) -> String {
    let ret = step.ret.map_or_else(|| "-".into(), |r| r.to_string());
    let resumed = match step.resumed {
        None => "-",
        Some(false) => "full",
        Some(true) => "resumed",
    };
    format!("{ret:>3} {}/{} {resumed}", step.issued, step.received)
}

/// The table for one program and its results, oracle first.
pub fn render(file: &str, program: &Program, results: &[BackendResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{file}");
    let ran: Vec<&BackendResult> = results.iter().filter(|r| r.trace().is_some()).collect();
    let op_width = program
        .stmts
        .iter()
        .map(|s| s.op.to_string().len())
        .max()
        .unwrap_or(2)
        .max(2);
    let headers: Vec<String> = ran.iter().map(|r| r.backend.to_string()).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let oracle = ran.first().and_then(|r| r.trace());
    for (i, stmt) in program.stmts.iter().enumerate() {
        let mut row = vec![stmt.line.to_string(), stmt.op.to_string()];
        for r in &ran {
            let step = &r.trace().expect("ran")[i];
            let differs =
                oracle.is_some_and(|o| Field::ALL.iter().any(|f| f.value(&o[i]) != f.value(step)));
            row.push(format!("{}{}", if differs { "*" } else { " " }, cell(step)));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..ran.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c + 2].len())
                .chain([headers[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let _ = write!(out, "{:>5}  {:<op_width$}", "line", "op");
    for (h, w) in headers.iter().zip(&widths) {
        let _ = write!(out, "  {h:<w$}");
    }
    out.push('\n');
    for row in &rows {
        let _ = write!(out, "{:>5}  {:<op_width$}", row[0], row[1]);
        for (c, w) in row[2..].iter().zip(&widths) {
            let _ = write!(out, "  {c:<w$}");
        }
        out.push('\n');
    }
    out.push_str(
        "cells: ret issued/received resumed; * marks a cell that differs from the oracle\n",
    );
    for r in results {
        let status = match (&r.outcome, &r.divergence) {
            (Outcome::Skipped(why), _) => format!("skipped: {why}"),
            (Outcome::Ran(_), Some(d)) => format!("DIVERGES: {d}  [{}]", d.signature),
            (Outcome::Ran(_), None) if r.backend == crate::backend::ORACLE => "oracle".into(),
            (Outcome::Ran(_), None) => "agrees with the oracle".into(),
        };
        let _ = writeln!(out, "{} ({}): {status}", r.backend, r.version);
    }
    out
}
