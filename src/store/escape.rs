//! Header values as written: a value is one line, so a newline in a worker's crash text or a
//! library's version string would end it and start a line of the entry's own (a header key
//! or an op). Every character that could do that or hide what the value says (a control, a
//! bidi override, a byte-order mark) is written as a Rust escape, and the backslash itself as
//! `\\`, so that reading undoes exactly what writing did.

use std::fmt::Write as _;

/// A value with its backslashes, control and invisible characters escaped; also a space at
/// either end, which reading would otherwise trim.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let at_an_end = i == 0 || i == last;
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || (c.escape_debug().count() > 1 && !matches!(c, '\'' | '"')) {
            let _ = write!(out, "{}", c.escape_debug());
        } else if c.is_whitespace() && (c != ' ' || at_an_end) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// The value `escape` was given; an error says which escape is not one of its own.
pub fn unescape(text: &str) -> Result<String, String> {
    let bad = |what: &str| {
        format!("`{what}` is not an escape of a header value (`\\\\`, `\\n`, `\\r`, `\\t`, `\\0`, `\\u{{HEX}}`)")
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let rest = chars.as_str();
                let code = rest
                    .strip_prefix('{')
                    .and_then(|r| r.split_once('}'))
                    .filter(|(hex, _)| !hex.is_empty() && hex.len() <= 6)
                    .and_then(|(hex, _)| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                let Some(decoded) = code else {
                    let shown: String = rest.chars().take(8).collect();
                    return Err(bad(&format!("\\u{shown}")));
                };
                out.push(decoded);
                let close = rest.find('}').map_or(0, |i| i + 1);
                chars = rest[close..].chars();
            }
            Some(other) => return Err(bad(&format!("\\{other}"))),
            None => return Err(bad("\\")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_reads_back_and_writes_one_line() {
        for value in [
            "OpenSSL 3.0.19 27 Jan 2026",
            "a\nb\r\n# op: client_write 5\nclient_write 5",
            "tab\there \u{1b}[31m red \u{7f} \u{85} \u{202e}rtl \u{feff}bom",
            " leading and trailing ",
            "back\\slash \\n not a newline",
            "\0",
            "",
        ] {
            let written = escape(value);
            assert!(
                !written.contains(['\n', '\r']) && !written.chars().any(char::is_control),
                "{written}"
            );
            assert_eq!(written.trim(), written, "{written}");
            assert_eq!(unescape(&written).unwrap(), value, "{written}");
        }
        assert_eq!(escape("a\nb"), "a\\nb");
        assert_eq!(escape("plain 'q' \"q\""), "plain 'q' \"q\"");
    }

    #[test]
    fn a_backslash_that_is_no_escape_is_refused() {
        for bad in ["\\q", "end\\", "\\u{110000}", "\\u{}", "\\u41"] {
            let e = unescape(bad).unwrap_err();
            assert!(e.contains("is not an escape"), "{bad}: {e}");
        }
    }
}
