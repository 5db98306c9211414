//! Text from a file, shown inside a message. A NUL, a byte-order mark, a bidi override or any
//! other control or invisible character would reach the terminal or log raw and make the
//! message lie about what the file holds, so those are written as Rust escapes (`\0`,
//! `\u{feff}`); everything printable, quotes and backslashes included, is shown as it is.

use std::fmt;

/// `Display`s a string with its control and invisible characters escaped.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        for c in self.0.chars() {
            // `escape_debug` would also escape quotes and backslashes, which are printable and
            // read better raw inside the backquotes messages put around tokens.
            if matches!(c, '\'' | '"' | '\\') {
                f.write_char(c)?;
            } else {
                write!(f, "{}", c.escape_debug())?;
            }
        }
        Ok(())
    }
}

/// Bytes that are not UTF-8, as `\xNN` escapes.
pub fn escape_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_are_escaped_printable_ones_are_not() {
        let shown = Escaped("\u{feff}con\0nect\t\u{202e}é \"q\" 'a\\b'").to_string();
        assert_eq!(shown, "\\u{feff}con\\0nect\\t\\u{202e}é \"q\" 'a\\b'");
        assert_eq!(escape_bytes(b"\xff\x00"), "\\xff\\x00");
    }
}
