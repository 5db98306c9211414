//! Expected results recorded in `.tkt` comments, so a corpus file carries the oracle's answers:
//!
//! ```text
//! handshake   # expect ret=1 issued=2 received=2 resumed=false
//! ```
//!
//! The annotation is an ordinary comment to the program format. `ticketdiff bless` writes them
//! from a run of the oracle; `ticketdiff replay` checks them.

use crate::program::ParseError;
use crate::trace::Field;
use crate::trace::{Step, Trace};

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
                    format!("expected `field=value`, found `{token}`"),
                ));
            };
            let Some(field) = Field::ALL.into_iter().find(|f| f.name() == key) else {
                return Err(err(
                    column,
                    format!("unknown field `{key}` (expected ret, issued, received or resumed)"),
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
    let mut out = Vec::new();
    for e in expectations {
        let Some(step) = trace.iter().find(|s| s.line == e.line) else {
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

/// `text` with every op line's annotation replaced by the one `trace` gives.
pub fn bless(text: &str, trace: &Trace) -> String {
    let mut out = String::with_capacity(text.len() + trace.len() * 64);
    for (index, raw) in text.lines().enumerate() {
        let line = index as u32 + 1;
        match trace.iter().find(|s| s.line == line) {
            Some(step) => {
                let code = raw.find(MARK).map_or(raw, |at| &raw[..at]).trim_end();
                let pad = 32usize.saturating_sub(code.chars().count()).max(1);
                out.push_str(code);
                out.push_str(&" ".repeat(pad));
                out.push_str(&annotation(step));
            }
            None => out.push_str(raw),
        }
        out.push('\n');
    }
    out
}
