//! Expected results recorded in `.tkt` comments, so a corpus file carries the oracle's answers:
//!
//! ```text
//! handshake   # expect ret=1 issued=2 received=2 resumed=false
//! ```
//!
//! The annotation is an ordinary comment to the program format. `ticketdiff bless` writes them
//! from a run of the oracle; `ticketdiff replay` checks them.

use crate::program::{Escaped, ParseError};
use crate::trace::Field;
use crate::trace::{Step, Trace};
use std::collections::HashMap;

const MARK: &str = "# expect";

/// What one op line expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    pub line: u32,
    /// `(field, value as text)` for each field named; unnamed fields are not checked.
    pub values: Vec<(Field, String)>,
}

/// The expectations in a program's text, with errors naming the file and line.
pub fn read_expectations(text: &str, file: &str) -> Result<Vec<Expectation>, ParseError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index as u32 + 1;
        let Some(at) = raw.find(MARK) else { continue };
        let err = |column: usize, message: String| ParseError {
            file: file.to_string(),
            line,
            column: raw[..column].chars().count() as u32 + 1,
            message,
        };
        let mut values = Vec::new();
        let mut offset = at + MARK.len();
        for token in raw[offset..].split([' ', '\t']) {
            let column = offset;
            offset += token.len() + 1;
            if token.is_empty() {
                continue;
            }
            let Some((key, value)) = token.split_once('=') else {
                return Err(err(
                    column,
                    format!("expected `field=value`, found `{}`", Escaped(token)),
                ));
            };
            let Some(field) = Field::ALL.into_iter().find(|f| f.name() == key) else {
                return Err(err(
                    column,
                    format!(
                        "unknown field `{}` (expected ret, issued, received or resumed)",
                        Escaped(key)
                    ),
                ));
            };
            values.push((field, value.to_string()));
        }
        out.push(Expectation { line, values });
    }
    Ok(out)
}

/// A step that does not match its expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub line: u32,
    pub op: String,
    pub field: Field,
    pub expected: String,
    pub observed: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: `{}`: expected {}={}, observed {}={}",
            self.line,
            self.op,
            self.field.name(),
            self.expected,
            self.field.name(),
            self.observed
        )
    }
}

/// Checks a trace against expectations; an expectation on a line with no op is a mismatch too.
pub fn check(trace: &Trace, expectations: &[Expectation]) -> Vec<Mismatch> {
    let steps = by_line(trace);
    let mut out = Vec::new();
    for e in expectations {
        let Some(step) = steps.get(&e.line) else {
            out.push(Mismatch {
                line: e.line,
                op: String::new(),
                field: Field::Ret,
                expected: "an op on this line".into(),
                observed: "none".into(),
            });
            continue;
        };
        for (field, expected) in &e.values {
            let observed = field.of(step).to_string();
            if &observed != expected {
                out.push(Mismatch {
                    line: e.line,
                    op: step.op.to_string(),
                    field: *field,
                    expected: expected.clone(),
                    observed,
                });
            }
        }
    }
    out
}

/// The annotation for one step.
pub fn annotation(step: &Step) -> String {
    let fields: Vec<String> = Field::ALL
        .iter()
        .map(|f| format!("{}={}", f.name(), f.of(step)))
        .collect();
    format!("{MARK} {}", fields.join(" "))
}

/// The steps of a trace by line, so that matching lines to steps stays linear on a long file.
fn by_line(trace: &Trace) -> HashMap<u32, &Step> {
    trace.iter().map(|s| (s.line, s)).collect()
}

/// `text` with every op line's annotation replaced by the one `trace` gives. Each line keeps
/// its own ending (`\r\n` or `\n`), and a last line without one stays without.
pub fn bless(text: &str, trace: &Trace) -> String {
    let steps = by_line(trace);
    let mut out = String::with_capacity(text.len() + trace.len() * 64);
    for (index, chunk) in text.split_inclusive('\n').enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (raw, ending) = split_ending(chunk);
        match steps.get(&line) {
            Some(step) => {
                let code = raw.find(MARK).map_or(raw, |at| &raw[..at]).trim_end();
                let pad = 32usize.saturating_sub(code.chars().count()).max(1);
                out.push_str(code);
                out.push_str(&" ".repeat(pad));
                out.push_str(&annotation(step));
            }
            None => out.push_str(raw),
        }
        out.push_str(ending);
    }
    out
}

/// A line without its ending, and the ending; the lines are those of `str::lines`.
fn split_ending(chunk: &str) -> (&str, &str) {
    let end = match chunk.strip_suffix('\n') {
        Some(rest) => rest.strip_suffix('\r').map_or(rest.len(), str::len),
        None => chunk.len(),
    };
    chunk.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(line: u32, op: &str, ret: i32) -> Step {
        serde_json::from_str(&format!(
            r#"{{"line": {line}, "op": "{op}", "ret": {ret}, "issued": 2, "received": 2, "resumed": false}}"#
        ))
        .expect("a step")
    }

    #[test]
    fn bless_keeps_each_line_ending_and_a_missing_final_newline() {
        let trace = vec![step(2, "connect", 0), step(3, "handshake", 1)];
        let note = "expect ret=0 issued=2 received=2 resumed=false";
        let blessed = bless("# crlf\r\nconnect\r\nhandshake", &trace);
        let lines: Vec<&str> = blessed.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "{blessed:?}");
        assert_eq!(lines[0], "# crlf");
        assert!(
            lines[1].starts_with("connect ") && lines[1].ends_with(note),
            "{blessed:?}"
        );
        assert!(lines[2].starts_with("handshake ") && lines[2].ends_with("resumed=false"));
        assert!(!blessed.ends_with('\n'), "{blessed:?}");

        // Mixed endings stay mixed; a final newline stays.
        let blessed = bless("# lf\nconnect # expect ret=9\r\nhandshake\n", &trace);
        assert!(blessed.starts_with("# lf\nconnect "), "{blessed:?}");
        assert_eq!(blessed.matches("\r\n").count(), 1, "{blessed:?}");
        assert!(blessed.ends_with("resumed=false\n"), "{blessed:?}");
        assert!(!blessed.contains("ret=9"), "{blessed:?}");
    }

    #[test]
    fn blessing_blessed_text_changes_nothing() {
        let trace = vec![step(1, "connect", 0), step(3, "handshake", 1)];
        for text in ["connect\r\n\r\nhandshake\r\n", "connect\n\nhandshake"] {
            let once = bless(text, &trace);
            assert_eq!(bless(&once, &trace), once);
            assert_eq!(once.lines().count(), 3);
        }
    }

    #[test]
    fn expectation_errors_show_tokens_escaped() {
        let e = read_expectations("connect # expect \u{feff}ret=1\n", "t.tkt").unwrap_err();
        assert!(e.message.contains("unknown field `\\u{feff}ret`"), "{e}");
        assert_eq!(e.column, 18);
    }
}
