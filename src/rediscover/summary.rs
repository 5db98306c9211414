//! The benchmark's tables: per mode, one row per reference signature and one column per
//! engine, each cell the median time to the first save over the seeds, the spread (fastest to
//! slowest) and how many runs found it at all.

use super::results::{Mode, Results, Run};
use crate::finding::Signature;
use crate::table::{Align, Table};

/// The median of times where `None` (not found within the budget) counts as later than any
/// time; `None` when half the runs or more did not find it.
pub fn median(times: &[Option<f64>]) -> Option<f64> {
    if times.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = times.iter().map(|t| t.unwrap_or(f64::INFINITY)).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let m = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    m.is_finite().then_some(m)
}

fn secs(t: f64) -> String {
    if t < 10.0 {
        format!("{t:.1}")
    } else {
        format!("{t:.0}")
    }
}

/// A cell: `median (min–max) k/n`; `>budget` for a median that is not reached.
pub fn cell(times: &[Option<f64>], budget: f64) -> String {
    let found: Vec<f64> = times.iter().flatten().copied().collect();
    let n = times.len();
    if found.is_empty() {
        return format!(">{} 0/{n}", secs(budget));
    }
    let lo = found.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = found.iter().copied().fold(0f64, f64::max);
    let med = median(times).map_or_else(|| format!(">{}", secs(budget)), secs);
    let spread = if found.len() < n {
        format!("{}–>{}", secs(lo), secs(budget))
    } else {
        format!("{}–{}", secs(lo), secs(hi))
    };
    format!("{med} ({spread}) {}/{n}", found.len())
}

/// Times of one signature (or of all, with `None`) over the runs.
fn times_of(
    runs: &[&Run],
    reference: &[Signature],
    signature: Option<Signature>,
) -> Vec<Option<f64>> {
    runs.iter()
        .map(|r| match signature {
            Some(s) => r.found.get(&s).copied(),
            None => r.all_found_at(reference),
        })
        .collect()
}

/// One table per mode that has runs.
pub fn tables(results: &Results) -> Vec<(Mode, Table)> {
    let series = results.series();
    let mut out = Vec::new();
    for mode in Mode::ALL {
        let columns: Vec<(&str, Vec<&Run>)> = series
            .iter()
            .filter(|(_, _, m)| *m == mode)
            .map(|(_, label, _)| (label.as_str(), results.runs_of(label, mode).collect()))
            .collect();
        if columns.is_empty() {
            continue;
        }
        let mut headers = vec![format!("signature ({})", mode.describe())];
        headers.extend(columns.iter().map(|(label, _)| label.to_string()));
        let mut table = Table::new(&headers);
        for c in 1..headers.len() {
            table = table.column(c, Align::Right, 0);
        }
        let budget = |runs: &[&Run]| runs.iter().map(|r| r.budget_secs).fold(0f64, f64::max);
        let row = |name: String, signature: Option<Signature>| {
            let mut cells = vec![name];
            for (_, runs) in &columns {
                cells.push(cell(
                    &times_of(runs, &results.reference, signature),
                    budget(runs),
                ));
            }
            cells
        };
        for s in &results.reference {
            table.row(row(s.to_string(), Some(*s)));
        }
        table.row(row(
            format!("all {} signatures", results.reference.len()),
            None,
        ));
        let mut cpu = vec!["CPU seconds per run (median)".to_string()];
        let mut load = vec!["load average at start (median)".to_string()];
        for (_, runs) in &columns {
            let med = |f: fn(&Run) -> f64| {
                median(&runs.iter().map(|r| Some(f(r))).collect::<Vec<_>>()).unwrap_or(0.0)
            };
            cpu.push(format!("{:.0}", med(|r| r.cpu_secs)));
            load.push(format!("{:.2}", med(|r| r.load_at_start)));
        }
        table.row(cpu);
        table.row(load);
        out.push((mode, table));
    }
    out
}

/// What a cell says.
pub const LEGEND: &str = "Cells: median seconds to the first save over the seeds (a run that did \
not find it counts as slower than any that did), fastest–slowest, and how many runs found it.";

/// The tables rendered by `render`, the legend, and what was skipped.
fn document(results: &Results, render: fn(&Table) -> String, skip_prefix: &str) -> String {
    let mut out = String::new();
    for (_, table) in tables(results) {
        out.push_str(&render(&table));
        out.push('\n');
    }
    out.push_str(LEGEND);
    out.push('\n');
    for s in &results.skipped {
        out.push_str(&format!("{skip_prefix}{}: {}\n", s.engine.name(), s.reason));
    }
    out
}

/// The tables as Markdown.
pub fn markdown(results: &Results) -> String {
    document(results, Table::markdown, "\nSkipped: ")
}

/// The tables as text, for the terminal.
pub fn text(results: &Results) -> String {
    document(results, Table::text, "skipped: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_did_not_find_counts_as_slowest() {
        assert_eq!(median(&[Some(3.0), Some(1.0), Some(2.0)]), Some(2.0));
        assert_eq!(median(&[Some(3.0), None, Some(1.0)]), Some(3.0));
        assert_eq!(median(&[Some(4.0), Some(2.0)]), Some(3.0));
        assert_eq!(median(&[Some(1.0), None]), None);
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn a_cell_shows_median_spread_and_hits() {
        assert_eq!(
            cell(&[Some(12.4), Some(3.25), Some(40.0)], 60.0),
            "12 (3.2–40) 3/3"
        );
        assert_eq!(cell(&[Some(5.0), None, None], 60.0), ">60 (5.0–>60) 1/3");
        assert_eq!(cell(&[None, None], 600.0), ">600 0/2");
    }
}
