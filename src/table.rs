//! Tables: one renderer for the side-by-side trace of `ticketdiff run`, the fuzzer's summary
//! and `ticketdiff report`'s Markdown.

use crate::program::Program;
use crate::runner::Results;
use crate::trace::{first_difference, shown_fields, Field, Step};
use std::fmt::Write;

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Rows of cells under headers.
#[derive(Clone, Debug)]
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    /// Narrowest width of each column in text.
    min_width: Vec<usize>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers, every column left-aligned.
    pub fn new<S: ToString>(headers: &[S]) -> Table {
        Table {
            headers: headers.iter().map(S::to_string).collect(),
            align: vec![Align::Left; headers.len()],
            min_width: vec![0; headers.len()],
            rows: Vec::new(),
        }
    }

    /// Lines up column `column` this way, at least `min_width` characters wide in text.
    pub fn column(mut self, column: usize, align: Align, min_width: usize) -> Table {
        self.align[column] = align;
        self.min_width[column] = min_width;
        self
    }

    /// Adds a row; missing cells are empty.
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert!(cells.len() <= self.headers.len());
        self.rows.push(cells);
    }

    fn cell(&self, row: usize, column: usize) -> &str {
        self.rows[row].get(column).map_or("", String::as_str)
    }

    /// Aligned plain text: columns two spaces apart, no trailing spaces.
    pub fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|c| {
                (0..self.rows.len())
                    .map(|r| self.cell(r, c).chars().count())
                    .chain([self.headers[c].chars().count(), self.min_width[c]])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (c, cell) in cells.enumerate() {
                if c > 0 {
                    text.push_str("  ");
                }
                let w = widths[c];
                let _ = match self.align[c] {
                    Align::Left => write!(text, "{cell:<w$}"),
                    Align::Right => write!(text, "{cell:>w$}"),
                };
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().map(String::as_str));
        for r in 0..self.rows.len() {
            line(&mut (0..self.headers.len()).map(|c| self.cell(r, c)));
        }
        out
    }

    /// A Markdown table; cells are escaped (`|`, line breaks).
    pub fn markdown(&self) -> String {
        fn line(cells: impl Iterator<Item = String>) -> String {
            let cells: Vec<String> = cells
                .map(|c| {
                    let c = c.replace('|', "\\|").replace(['\n', '\r'], " ");
                    if c.is_empty() {
                        " ".to_string()
                    } else {
                        format!(" {c} ")
                    }
                })
                .collect();
            format!("|{}|\n", cells.join("|"))
        }
        let mut out = line(self.headers.iter().cloned());
        let rule: Vec<&str> = self
            .align
            .iter()
            .map(|a| match a {
                Align::Left => "---",
                Align::Right => "--:",
            })
            .collect();
        out.push_str(&format!("|{}|\n", rule.join("|")));
        for r in 0..self.rows.len() {
            out.push_str(&line(
                (0..self.headers.len()).map(|c| self.cell(r, c).to_string()),
            ));
        }
        out
    }
}

fn step_cell(step: &Step, fields: &[Field]) -> String {
    let ret = step.ret.map_or_else(|| "-".into(), |r| r.to_string());
    let resumed = match step.resumed {
        None => "-",
        Some(false) => "full",
        Some(true) => "resumed",
    };
    let mut cell = format!("{ret:>3} {}/{} {resumed}", step.issued, step.received);
    if fields.contains(&Field::Notified) {
        let _ = write!(cell, " n{}", step.notified);
    }
    if fields.contains(&Field::Early) {
        let _ = write!(cell, " {}", step.early.map_or("-", |e| e.name()));
    }
    cell
}

/// `ticketdiff run`'s table for one program: one row per op, one column per backend that ran,
/// the oracle first, then a line per backend saying how it compares.
pub fn render(file: &str, program: &Program, results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{file}");
    let ran: Vec<(String, &[Step])> = results
        .traces()
        .map(|(b, t)| (b.to_string(), t.as_slice()))
        .collect();
    let mut headers = vec!["line".to_string(), "op".to_string()];
    headers.extend(ran.iter().map(|(b, _)| b.clone()));
    let mut table = Table::new(&headers)
        .column(0, Align::Right, 5)
        .column(1, Align::Left, 2);
    let oracle = &results.oracle.trace;
    let fields = shown_fields(ran.iter().map(|(_, t)| *t));
    for (i, stmt) in program.stmts.iter().enumerate() {
        let mut row = vec![stmt.line.to_string(), stmt.op.to_string()];
        for (_, trace) in &ran {
            let step = &trace[i];
            let mark = if first_difference(&oracle[i], step).is_some() {
                "*"
            } else {
                " "
            };
            row.push(format!("{mark}{}", step_cell(step, &fields)));
        }
        table.row(row);
    }
    out.push_str(&table.text());
    let mut legend = "cells: ret issued/received resumed".to_string();
    if fields.contains(&Field::Notified) {
        legend.push_str(" n(otified)");
    }
    if fields.contains(&Field::Early) {
        legend.push_str(" early");
    }
    let _ = writeln!(out, "{legend}; * marks a cell that differs from the oracle");
    let _ = writeln!(
        out,
        "{} ({}): oracle",
        crate::backend::BackendId::ORACLE,
        results.oracle.version
    );
    for r in &results.others {
        let status = match (r.skipped(), &r.divergence) {
            (Some(why), _) => format!("skipped: {why}"),
            (None, Some(d)) => format!("DIVERGES: {d}  [{}]", d.signature),
            (None, None) => "agrees with the oracle".into(),
        };
        let _ = writeln!(out, "{} ({}): {status}", r.backend, r.version);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_up_columns_and_trims_the_ends() {
        let mut t = Table::new(&["n", "name", "x"]).column(0, Align::Right, 3);
        t.row(vec!["7".into(), "a".into(), String::new()]);
        t.row(vec!["12".into(), "longer".into(), "y".into()]);
        assert_eq!(t.text(), "  n  name    x\n  7  a\n 12  longer  y\n");
    }

    #[test]
    fn markdown_escapes_cells_and_marks_right_columns() {
        let mut t = Table::new(&["a", "b"]).column(1, Align::Right, 0);
        t.row(vec!["x|y".into(), "1\n2".into()]);
        t.row(vec![String::new(), "2".into()]);
        assert_eq!(
            t.markdown(),
            "| a | b |\n|---|--:|\n| x\\|y | 1 2 |\n| | 2 |\n"
        );
    }
}
