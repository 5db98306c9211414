//! Expected results recorded in `.tkt` comments, so a corpus file carries the oracle's answers:
//!
//! ```text
//! handshake   # expect ret=1 issued=2 received=2 resumed=false
//! ```
//!
//! The annotation is an ordinary comment to the program format. `ticketdiff bless` writes them
//! from a run of the oracle; `ticketdiff replay` checks them.
//!
//! A plain `# expect` records what OpenSSL [`BASE_RELEASE`] does. Where another release does
//! otherwise on purpose, the line also carries that release's results:
//!
//! ```text
//! server_do_handshake   # expect ret=-1 issued=0 received=0 resumed=false # expect[3.6] ret=1 issued=0 received=0 resumed=false
//! ```
//!
//! A run checks each line against its own release's annotation when there is one, else the
//! plain one.

use crate::program::{Escaped, ParseError};
use crate::trace::Field;
use crate::trace::{Step, Trace};
use std::collections::HashMap;

const MARK: &str = "# expect";

/// The OpenSSL release a plain `# expect` records, and the one the native server models.
pub const BASE_RELEASE: &str = "3.0";

/// An OpenSSL release line, `MAJOR.MINOR` (`3.0`, `3.6`, `4.0`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Release(String);

impl Release {
    /// The release of a library version string (`OpenSSL 3.6.3 27 Jan 2026` is 3.6); `None`
    /// for a library that is not OpenSSL.
    pub fn of_version(version: &str) -> Option<Release> {
        let number = version.strip_prefix("OpenSSL ")?.split(' ').next()?;
        let mut parts = number.split('.');
        let (major, minor) = (parts.next()?, parts.next()?);
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        (digits(major) && digits(minor)).then(|| Release(format!("{major}.{minor}")))
    }

    pub fn base() -> Release {
        Release(BASE_RELEASE.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parse(text: &str) -> Option<Release> {
        Release::of_version(&format!("OpenSSL {text}")).filter(|r| r.0 == text)
    }
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one op line expects, on one release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    pub line: u32,
    /// `None` for a plain `# expect` (the base release), else the release of `# expect[R]`.
    pub release: Option<Release>,
    /// `(field, value as text)` for each field named; unnamed fields are not checked.
    pub values: Vec<(Field, String)>,
}

/// The annotations on one line: where each starts (byte offset) and its release tag.
fn annotations(raw: &str) -> Vec<(usize, usize, Option<&str>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = raw[from..].find(MARK).map(|i| i + from) {
        let after = at + MARK.len();
        let (tag, body) = match raw[after..].strip_prefix('[') {
            Some(rest) => match rest.find(']') {
                Some(close) => (Some(&rest[..close]), after + 1 + close + 1),
                None => (None, after),
            },
            None => (None, after),
        };
        out.push((at, body, tag));
        from = body;
    }
    out
}

/// The expectations in a program's text, with errors naming the file and line.
pub fn read_expectations(text: &str, file: &str) -> Result<Vec<Expectation>, ParseError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index as u32 + 1;
        let found = annotations(raw);
        for (k, &(at, body, tag)) in found.iter().enumerate() {
            let end = found.get(k + 1).map_or(raw.len(), |next| next.0);
            let err = |column: usize, message: String| ParseError {
                file: file.to_string(),
                line,
                column: raw[..column].chars().count() as u32 + 1,
                message,
            };
            let release = match tag {
                None => None,
                Some(t) => Some(Release::parse(t).ok_or_else(|| {
                    err(at, format!("`{}` is not a release like 3.6", Escaped(t)))
                })?),
            };
            let mut values = Vec::new();
            let mut offset = body;
            for token in raw[body..end].split([' ', '\t']) {
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
                            "unknown field `{}` (expected ret, issued, received, resumed, notified or early)",
                            Escaped(key)
                        ),
                    ));
                };
                values.push((field, value.to_string()));
            }
            out.push(Expectation {
                line,
                release,
                values,
            });
        }
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

/// Checks a trace of `release` (`None`: not an OpenSSL, held to the plain annotations) against
/// expectations: each line against its release's annotation when it has one, else the plain
/// one. An expectation on a line with no op is a mismatch too.
pub fn check(
    trace: &Trace,
    expectations: &[Expectation],
    release: Option<&Release>,
) -> Vec<Mismatch> {
    let steps = by_line(trace);
    let mut out = Vec::new();
    let tagged: std::collections::HashSet<u32> = expectations
        .iter()
        .filter(|e| e.release.is_some() && e.release.as_ref() == release)
        .map(|e| e.line)
        .collect();
    let chosen = expectations.iter().filter(|e| match &e.release {
        None => !tagged.contains(&e.line),
        Some(r) => Some(r) == release,
    });
    for e in chosen {
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

/// The annotation for one step, of these fields.
pub fn annotation(step: &Step, fields: &[Field]) -> String {
    let fields: Vec<String> = fields
        .iter()
        .map(|f| format!("{}={}", f.name(), f.of(step)))
        .collect();
    format!("{MARK} {}", fields.join(" "))
}

/// The steps of a trace by line, so that matching lines to steps stays linear on a long file.
fn by_line(trace: &Trace) -> HashMap<u32, &Step> {
    trace.iter().map(|s| (s.line, s)).collect()
}

/// `text` with every op line's annotation for `release` set to what `trace` gives. For the
/// base release (or no release) that is the plain annotation; for another, a `# expect[R]`
/// where its results differ from the plain ones, and none where they agree. Annotations of
/// other releases stay. Each line keeps its own ending (`\r\n` or `\n`), and a last line
/// without one stays without.
pub fn bless(text: &str, trace: &Trace, release: Option<&Release>) -> String {
    let steps = by_line(trace);
    let fields = crate::trace::shown_fields([trace.as_slice()]);
    let release = release.filter(|r| r.as_str() != BASE_RELEASE);
    let mut out = String::with_capacity(text.len() + trace.len() * 64);
    for (index, chunk) in text.split_inclusive('\n').enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (raw, ending) = split_ending(chunk);
        match steps.get(&line) {
            Some(step) => {
                let found = annotations(raw);
                let code = found.first().map_or(raw, |a| &raw[..a.0]).trim_end();
                // Each annotation as written, by its tag.
                let mut notes: Vec<(Option<String>, String)> = found
                    .iter()
                    .enumerate()
                    .map(|(k, &(at, _, tag))| {
                        let end = found.get(k + 1).map_or(raw.len(), |next| next.0);
                        (tag.map(str::to_string), raw[at..end].trim_end().to_string())
                    })
                    .collect();
                let new = annotation(step, &fields);
                match release {
                    None => {
                        notes.retain(|(tag, _)| tag.is_some());
                        notes.insert(0, (None, new));
                    }
                    Some(r) => {
                        let tag = Some(r.as_str().to_string());
                        notes.retain(|(t, _)| *t != tag);
                        let plain = notes.iter().find(|(t, _)| t.is_none());
                        if plain.is_none_or(|(_, p)| *p != new) {
                            let tagged = new.replacen(MARK, &format!("{MARK}[{r}]"), 1);
                            notes.push((tag, tagged));
                        }
                    }
                }
                let pad = 32usize.saturating_sub(code.chars().count()).max(1);
                out.push_str(code);
                out.push_str(&" ".repeat(pad));
                let texts: Vec<&str> = notes.iter().map(|(_, n)| n.as_str()).collect();
                out.push_str(&texts.join(" "));
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
            r#"{{"line": {line}, "op": "{op}", "ret": {ret}, "issued": 2, "received": 2, "resumed": false, "notified": 2}}"#
        ))
        .expect("a step")
    }

    #[test]
    fn bless_keeps_each_line_ending_and_a_missing_final_newline() {
        let trace = vec![step(2, "connect", 0), step(3, "handshake", 1)];
        let note = "expect ret=0 issued=2 received=2 resumed=false";
        let blessed = bless("# crlf\r\nconnect\r\nhandshake", &trace, None);
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
        let blessed = bless("# lf\nconnect # expect ret=9\r\nhandshake\n", &trace, None);
        assert!(blessed.starts_with("# lf\nconnect "), "{blessed:?}");
        assert_eq!(blessed.matches("\r\n").count(), 1, "{blessed:?}");
        assert!(blessed.ends_with("resumed=false\n"), "{blessed:?}");
        assert!(!blessed.contains("ret=9"), "{blessed:?}");
    }

    #[test]
    fn blessing_blessed_text_changes_nothing() {
        let trace = vec![step(1, "connect", 0), step(3, "handshake", 1)];
        for text in ["connect\r\n\r\nhandshake\r\n", "connect\n\nhandshake"] {
            let once = bless(text, &trace, None);
            assert_eq!(bless(&once, &trace, None), once);
            assert_eq!(once.lines().count(), 3);
        }
    }

    #[test]
    fn another_release_is_recorded_only_where_it_differs_and_checked_with_its_own() {
        let base = vec![step(1, "connect", 0), step(2, "handshake", -1)];
        let text = bless("connect\nhandshake\n", &base, None);
        let r36 = Release::of_version("OpenSSL 3.6.3 27 Jan 2026").unwrap();
        assert_eq!(r36.as_str(), "3.6");
        let other = vec![step(1, "connect", 0), step(2, "handshake", 1)];
        let both = bless(&text, &other, Some(&r36));
        let lines: Vec<&str> = both.lines().collect();
        assert!(!lines[0].contains("[3.6]"), "{both}");
        assert!(
            lines[1].contains("# expect ret=-1") && lines[1].contains("# expect[3.6] ret=1"),
            "{both}"
        );
        // Blessing either release again changes nothing; the base keeps the 3.6 annotation.
        assert_eq!(bless(&both, &other, Some(&r36)), both);
        assert_eq!(bless(&both, &base, None), both);
        let e = read_expectations(&both, "t.tkt").unwrap();
        assert!(check(&base, &e, Some(&Release::base())).is_empty());
        assert!(check(&other, &e, Some(&r36)).is_empty());
        assert_eq!(check(&other, &e, Some(&Release::base())).len(), 1);
        assert_eq!(check(&base, &e, Some(&r36)).len(), 1);
        // 4.0 has no annotation of its own here: the plain one holds.
        let r40 = Release::of_version("OpenSSL 4.0.3 1 Apr 2026").unwrap();
        assert!(check(&base, &e, Some(&r40)).is_empty());
        // When 3.6 agrees again, its annotation goes.
        assert_eq!(bless(&both, &base, Some(&r36)), text);
        let bad = read_expectations("connect # expect[3.x] ret=0\n", "t.tkt").unwrap_err();
        assert!(bad.message.contains("`3.x` is not a release"), "{bad}");
    }

    #[test]
    fn expectation_errors_show_tokens_escaped() {
        let e = read_expectations("connect # expect \u{feff}ret=1\n", "t.tkt").unwrap_err();
        assert!(e.message.contains("unknown field `\\u{feff}ret`"), "{e}");
        assert_eq!(e.column, 18);
    }
}
