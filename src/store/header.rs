//! The registry of header keys: every `# key: value` line an entry may hold, with the type
//! and range of its value. The reader takes values through it and `replay` names the lines
//! it finds wrong through it; a new key (a cause, a client) is a new row here.
//!
//! The header is the run of `#` lines at the top of the file. A `# key: value` line there whose
//! key is not registered is refused, and so is a key given twice: either could make one file
//! read as two different entries depending on which reader looked. Other `#` lines (no `: `)
//! are comments.

use super::escape::unescape;
use super::EntryError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A header key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Signature,
    Backend,
    OracleBackend,
    OracleVersion,
    BackendVersion,
    Line,
    Op,
    Field,
    Oracle,
    Other,
    Crashed,
    HungAfterMs,
    FirstFound,
    FoundBy,
    Hits,
    Rerun,
    /// The first format's sentence.
    Divergence,
    /// The first format's versions.
    Versions,
}

/// One key: its name in the file and what its value must be (the text `docs/store.md` lists).
pub struct Spec {
    pub key: Key,
    pub name: &'static str,
    pub value: &'static str,
}

/// Every key, in the order entries are written.
pub const KEYS: &[Spec] = &[
    Spec { key: Key::Signature, name: "signature", value: "a signature of the backend named by `# backend:`" },
    Spec { key: Key::Backend, name: "backend", value: "a backend name" },
    Spec { key: Key::OracleBackend, name: "oracle backend", value: "an OpenSSL backend that is not the entry's backend (default `openssl`)" },
    Spec { key: Key::OracleVersion, name: "oracle version", value: "text" },
    Spec { key: Key::BackendVersion, name: "backend version", value: "text" },
    Spec { key: Key::Line, name: "line", value: "1 to the number of ops" },
    Spec { key: Key::Op, name: "op", value: "the op at `# line:`, as written in the program" },
    Spec { key: Key::Field, name: "field", value: "the trace field the signature is about" },
    Spec { key: Key::Oracle, name: "oracle", value: "a value of `# field:`" },
    Spec { key: Key::Other, name: "other", value: "a value of `# field:`" },
    Spec { key: Key::Crashed, name: "crashed", value: "text: how the worker died" },
    Spec { key: Key::HungAfterMs, name: "hung after ms", value: "0 to 18446744073709551615" },
    Spec { key: Key::FirstFound, name: "first found", value: "a UTC time like 2026-11-27T06:15:01Z" },
    Spec { key: Key::FoundBy, name: "found by", value: "text" },
    Spec { key: Key::Hits, name: "hits", value: "0 to 18446744073709551615" },
    Spec { key: Key::Rerun, name: "rerun", value: "`ticketdiff run --backend BACKEND DIR/NAME.tkt`, the entry's own backend, directory name and file name" },
    Spec { key: Key::Divergence, name: "divergence", value: "first format: ``line N `OP`: FIELD is A on the oracle, B on BACKEND``" },
    Spec { key: Key::Versions, name: "versions", value: "first format: `A (oracle), B (BACKEND)`" },
];

impl Key {
    pub fn name(self) -> &'static str {
        KEYS.iter().find(|s| s.key == self).map_or("", |s| s.name)
    }

    fn named(name: &str) -> Option<Key> {
        KEYS.iter().find(|s| s.name == name).map(|s| s.key)
    }
}

/// The header's values, unescaped, with their 1-based line numbers.
pub struct Header {
    path: PathBuf,
    values: HashMap<Key, (u32, String)>,
    /// Keys on `#` lines below the header, and what ends the header, for the message that
    /// says why a key is missing.
    below: HashMap<Key, u32>,
    end: (u32, String),
}

impl Header {
    /// Reads the header of `text`: an unknown or repeated key, or a value with a bad escape, is
    /// an error naming its line.
    pub fn read(path: &Path, text: &str) -> Result<Header, EntryError> {
        let mut header = Header {
            path: path.to_path_buf(),
            values: HashMap::new(),
            below: HashMap::new(),
            end: (0, String::new()),
        };
        if text.starts_with('\u{feff}') {
            return Err(header.error(
                1,
                "the file starts with a UTF-8 byte-order mark (bytes EF BB BF) before \
                 `# signature:`; an entry starts with its `# signature:` line: save it without",
            ));
        }
        for (i, l) in text
            .lines()
            .enumerate()
            .take_while(|(_, l)| l.starts_with('#'))
        {
            let line = i as u32 + 1;
            let Some((name, value)) = l.strip_prefix("# ").and_then(|r| r.split_once(": ")) else {
                continue;
            };
            let Some(key) = Key::named(name) else {
                let known: Vec<&str> = KEYS.iter().map(|s| s.name).collect();
                return Err(header.error(
                    line,
                    format!(
                        "`# {name}:` is not a header key (known: {})",
                        known.join(", ")
                    ),
                ));
            };
            if let Some((first, _)) = header.values.get(&key) {
                return Err(header.error(
                    line,
                    format!("`# {name}:` is given twice: also on line {first}"),
                ));
            }
            let value = unescape(value.trim())
                .map_err(|m| header.error(line, format!("`# {name}:` {m}")))?;
            header.values.insert(key, (line, value));
        }
        let mut rest = text
            .lines()
            .enumerate()
            .skip_while(|(_, l)| l.starts_with('#'));
        if let Some((i, l)) = rest.next() {
            let what = if l.trim().is_empty() {
                "blank".to_string()
            } else {
                format!("`{l}`")
            };
            header.end = (i as u32 + 1, what);
        }
        for (i, l) in rest {
            let key = l
                .strip_prefix("# ")
                .and_then(|r| r.split_once(": "))
                .and_then(|(name, _)| Key::named(name));
            if let Some(key) = key {
                header.below.entry(key).or_insert(i as u32 + 1);
            }
        }
        Ok(header)
    }

    /// An error on `line`. A message quotes values and lines of the file, which are unescaped
    /// by now: a control character in one is shown escaped again here, never sent raw to a
    /// terminal or log.
    pub fn error(&self, line: u32, message: impl Into<String>) -> EntryError {
        EntryError::Header {
            path: self.path.clone(),
            line,
            message: crate::program::Escaped(&message.into()).to_string(),
        }
    }

    pub fn get(&self, key: Key) -> Option<(u32, &str)> {
        self.values.get(&key).map(|(n, v)| (*n, v.as_str()))
    }

    /// The line of `key`, or 1 (the header as a whole) when it is not there.
    pub fn line(&self, key: Key) -> u32 {
        self.get(key).map_or(1, |(n, _)| n)
    }

    pub fn require(&self, key: Key) -> Result<(u32, &str), EntryError> {
        self.get(key).ok_or_else(|| self.missing(key))
    }

    /// Says where a missing key's line is, when it is in the file but not in the header.
    fn missing(&self, key: Key) -> EntryError {
        let name = key.name();
        let Some(at) = self.below.get(&key) else {
            return self.error(
                1,
                format!("a saved divergence needs a `# {name}:` header line"),
            );
        };
        let (end, what) = &self.end;
        self.error(
            *end,
            format!(
                "line {end} is {what}, so the header ends above it and `# {name}:` on line {at} \
                 is not in it: the header is the `#` lines at the top of the file"
            ),
        )
    }

    /// A value read with `parse`, its error naming the line.
    pub fn parse<T>(
        &self,
        key: Key,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, EntryError> {
        let (line, value) = self.require(key)?;
        parse(value).map_err(|m| self.error(line, format!("`# {}:` {m}", key.name())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/store.md lists every key of the registry with its value, and no other key.
    #[test]
    fn the_docs_table_is_the_registry() {
        let docs = include_str!("../../docs/store.md");
        let rows: Vec<(&str, &str)> = docs
            .lines()
            .filter_map(|l| {
                let mut cells = l.strip_prefix("| `")?.split(" | ");
                let name = cells.next()?.strip_suffix('`')?;
                Some((name, cells.next()?))
            })
            .collect();
        let keys: Vec<(&str, &str)> = KEYS.iter().map(|s| (s.name, s.value)).collect();
        assert_eq!(rows, keys);
    }
}
