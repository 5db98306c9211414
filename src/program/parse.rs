//! The `.tkt` parser. Errors carry the file, line and column and name the bad token.

use super::config::List;
use super::escape::Escaped;
use super::{
    check_bounds, CacheMode, ConnectFlags, CtxConfig, Op, Options, Program, Resume, SslOption,
    Stmt, TicketDec, TicketGen, Word, MAX_OPS,
};
use std::fmt;

/// Why a program could not be read. `Display` gives `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file the text came from (`<input>` when it did not come from a file).
    pub file: String,
    /// 1-based line; 0 when the error is about the file as a whole.
    pub line: u32,
    /// 1-based column of the bad token; 0 when there is none.
    pub column: u32,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (line, 0) => write!(f, "{}:{}: {}", self.file, line, self.message),
            (line, col) => write!(f, "{}:{}:{}: {}", self.file, line, col, self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses program text, then applies the op limit and the static bound check.
pub fn parse(text: &str) -> Result<Program, ParseError> {
    parse_named(text, "<input>")
}

/// Parses text that came from `file` (used in error messages only).
pub fn parse_named(text: &str, file: &str) -> Result<Program, ParseError> {
    let err = |line: u32, column: u32, message: String| ParseError {
        file: file.to_string(),
        line,
        column,
        message,
    };
    let mut stmts = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let code = raw.split('#').next().unwrap_or("");
        let mut tokens = Tokens::new(code);
        let Some((col, word)) = tokens.next() else {
            continue;
        };
        let op = parse_op(word, &mut tokens).map_err(|(column, message)| {
            err(line, if column == 0 { col } else { column }, message)
        })?;
        if stmts.len() == MAX_OPS {
            return Err(err(
                line,
                col,
                format!("too many ops: a program has at most {MAX_OPS}"),
            ));
        }
        stmts.push(Stmt { line, op });
    }
    let program = Program { stmts };
    check_bounds(&program).map_err(|b| err(b.line, 0, b.message))?;
    Ok(program)
}

/// The tokens of one line's code with their 1-based character columns, found one at a time: the
/// column is carried forward from the previous token rather than counted from the start of the
/// line (which made a long line quadratic), and an op that is already wrong stops the work there.
/// Separators are spaces and tabs, and `\r` so that CRLF files read like LF ones.
struct Tokens<'a> {
    rest: &'a str,
    /// The column of `rest`'s first character.
    column: u32,
}

impl<'a> Tokens<'a> {
    fn new(code: &'a str) -> Self {
        Tokens {
            rest: code,
            column: 1,
        }
    }
}

fn is_separator(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\r'
}

impl<'a> Iterator for Tokens<'a> {
    type Item = (u32, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let Some(start) = self.rest.find(|c| !is_separator(c)) else {
            self.rest = "";
            return None;
        };
        // Separators are ASCII: as many columns as bytes.
        self.column = self.column.saturating_add(start as u32);
        let rest = &self.rest[start..];
        let end = rest.find(is_separator).unwrap_or(rest.len());
        let (token, after) = rest.split_at(end);
        let column = self.column;
        self.column = column.saturating_add(token.chars().count() as u32);
        self.rest = after;
        Some((column, token))
    }
}

type OpError = (u32, String);

fn parse_op(word: &str, args: &mut Tokens<'_>) -> Result<Op, OpError> {
    match word {
        "ctx_set_num_tickets" => counted(Op::CtxSetNumTickets, word, args),
        "ctx_get_num_tickets" => plain(Op::CtxGetNumTickets, args),
        "connect" => parse_connect(args),
        "set_num_tickets" => counted(Op::SetNumTickets, word, args),
        "get_num_tickets" => plain(Op::GetNumTickets, args),
        "handshake" => plain(Op::Handshake, args),
        "client_step" => plain(Op::ClientStep, args),
        "server_step" => plain(Op::ServerStep, args),
        "new_session_ticket" => plain(Op::NewSessionTicket, args),
        "server_write" => counted(Op::ServerWrite, word, args),
        "server_read" => plain(Op::ServerRead, args),
        "server_do_handshake" => plain(Op::ServerDoHandshake, args),
        "client_read" => plain(Op::ClientRead, args),
        "client_write" => counted(Op::ClientWrite, word, args),
        "verify_client_post_handshake" => plain(Op::VerifyClientPostHandshake, args),
        "shutdown" => plain(Op::Shutdown, args),
        "ctx_set_options" => options(word, args).map(|o| Op::Configure(CtxConfig::SetOptions(o))),
        "ctx_clear_options" => {
            options(word, args).map(|o| Op::Configure(CtxConfig::ClearOptions(o)))
        }
        "ctx_set_ciphersuites" => {
            let (col, list) = one_arg(word, "a colon-separated list of cipher suites", args)?;
            let list = List::parse(list).map_err(|m| (col, m))?;
            Ok(Op::Configure(CtxConfig::Ciphersuites(list)))
        }
        "ctx_set_max_early_data" => {
            counted(|n| Op::Configure(CtxConfig::MaxEarlyData(n)), word, args)
        }
        "ctx_set_session_cache_mode" => {
            let (col, mode) = one_arg(word, "`off` or `server`", args)?;
            let mode = word_of::<CacheMode>(mode).map_err(|m| (col, m))?;
            Ok(Op::Configure(CtxConfig::SessionCacheMode(mode)))
        }
        "ctx_set_ticket_cb" => ticket_cb(word, args),
        "server_read_early" => plain(Op::ServerReadEarly, args),
        "key_update" => match args.next() {
            None => Ok(Op::KeyUpdate { requested: false }),
            Some((_, "requested")) => plain(Op::KeyUpdate { requested: true }, args),
            Some((col, other)) => Err((
                col,
                format!(
                    "unexpected argument `{}`: `key_update` takes nothing or `requested`",
                    Escaped(other)
                ),
            )),
        },
        _ => Err((0, format!("unknown op `{}`", Escaped(word)))),
    }
}

/// An op that takes no argument.
fn plain(op: Op, args: &mut Tokens<'_>) -> Result<Op, OpError> {
    match args.next() {
        None => Ok(op),
        Some((col, extra)) => Err((
            col,
            format!(
                "unexpected argument `{}`: `{}` takes none",
                Escaped(extra),
                op.name()
            ),
        )),
    }
}

/// An op that takes one number.
fn counted(make: impl Fn(u64) -> Op, word: &str, args: &mut Tokens<'_>) -> Result<Op, OpError> {
    let Some((col, arg)) = args.next() else {
        return Err((
            0,
            format!("`{word}` needs a number argument (a decimal u64)"),
        ));
    };
    if let Some((col, extra)) = args.next() {
        return Err((
            col,
            format!(
                "unexpected argument `{}`: `{word}` takes one number",
                Escaped(extra)
            ),
        ));
    }
    parse_u64(arg).map(make).map_err(|m| (col, m))
}

/// `connect` and its flags; a flag may appear once, so a long line stops at the first repeat.
fn parse_connect(args: &mut Tokens<'_>) -> Result<Op, OpError> {
    let mut flags = ConnectFlags::default();
    let mut seen: Vec<&str> = Vec::new();
    for (col, arg) in args {
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (arg, None),
        };
        // `resume` and `resume=again` are one flag written two ways.
        if seen.contains(&name) {
            return Err((
                col,
                format!("`connect` flag `{}` given twice", Escaped(name)),
            ));
        }
        let bad_value = |what: String| (col, format!("`connect` flag `{}`: {what}", Escaped(arg)));
        match (name, value) {
            ("resume", None) => flags.resume = Resume::Newest,
            ("resume", Some("again")) => flags.resume = Resume::Again,
            ("resume", Some(_)) => {
                return Err(bad_value("expected `resume` or `resume=again`".into()))
            }
            ("tls12", None) => flags.tls12 = true,
            ("pha", None) => flags.pha = true,
            ("psk_ke", None) => flags.psk_ke = true,
            ("suites", Some(list)) => flags.suites = Some(List::parse(list).map_err(bad_value)?),
            ("groups", Some(list)) => flags.groups = Some(List::parse(list).map_err(bad_value)?),
            ("early", Some(n)) => flags.early = Some(parse_u64(n).map_err(bad_value)?),
            ("tls12" | "pha" | "psk_ke", Some(_)) => {
                return Err(bad_value("takes no value".into()))
            }
            ("suites" | "groups" | "early", None) => {
                return Err(bad_value(format!("needs a value: `{name}=...`")))
            }
            _ => {
                return Err((
                    col,
                    format!(
                        "unknown `connect` flag `{}` (expected resume, resume=again, tls12, pha, \
                         psk_ke, suites=LIST, groups=LIST or early=N)",
                        Escaped(arg)
                    ),
                ))
            }
        }
        seen.push(name);
    }
    Ok(Op::Connect(flags))
}

/// The one argument of an op that takes exactly one.
fn one_arg<'a>(word: &str, what: &str, args: &mut Tokens<'a>) -> Result<(u32, &'a str), OpError> {
    let Some((col, arg)) = args.next() else {
        return Err((0, format!("`{word}` needs an argument: {what}")));
    };
    if let Some((col, extra)) = args.next() {
        return Err((
            col,
            format!(
                "unexpected argument `{}`: `{word}` takes one argument",
                Escaped(extra)
            ),
        ));
    }
    Ok((col, arg))
}

fn word_of<W: Word>(text: &str) -> Result<W, String> {
    W::from_name(text).ok_or_else(|| {
        format!(
            "`{}` is not a {} (expected {})",
            Escaped(text),
            W::WHAT,
            W::expected()
        )
    })
}

/// One or more options, each at most once.
fn options(word: &str, args: &mut Tokens<'_>) -> Result<Options, OpError> {
    let mut options = Options::default();
    for (col, arg) in args {
        let o: SslOption = word_of(arg).map_err(|m| (col, m))?;
        if options.has(o) {
            return Err((col, format!("option `{arg}` given twice")));
        }
        options = options.with(o);
    }
    if options.is_empty() {
        return Err((
            0,
            format!(
                "`{word}` needs one or more options ({})",
                SslOption::expected()
            ),
        ));
    }
    Ok(options)
}

/// `ctx_set_ticket_cb GEN DEC`.
fn ticket_cb(word: &str, args: &mut Tokens<'_>) -> Result<Op, OpError> {
    let usage = || {
        format!(
            "`{word}` takes two arguments: GEN ({}) and DEC ({})",
            TicketGen::expected(),
            TicketDec::expected()
        )
    };
    let (gcol, gen) = args.next().ok_or_else(|| (0, usage()))?;
    let (dcol, dec) = args.next().ok_or_else(|| (0, usage()))?;
    if let Some((col, extra)) = args.next() {
        return Err((
            col,
            format!("unexpected argument `{}`: {}", Escaped(extra), usage()),
        ));
    }
    let gen: TicketGen = word_of(gen).map_err(|m| (gcol, m))?;
    let dec: TicketDec = word_of(dec).map_err(|m| (dcol, m))?;
    Ok(Op::Configure(CtxConfig::TicketCb(gen, dec)))
}

fn parse_u64(token: &str) -> Result<u64, String> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{}` is not a decimal number", Escaped(token)));
    }
    token
        .parse::<u64>()
        .map_err(|_| format!("`{token}` does not fit in a u64 (at most 18446744073709551615)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns `Tokens` gives on a line of `count` tokens, each `token` (one character wide
    /// per char) after one separator, checked against the arithmetic.
    fn check_columns(token: &str, count: usize) {
        let width = token.chars().count() as u32;
        let line: String = std::iter::repeat_n(format!("\t{token}"), count).collect();
        let mut seen = 0u32;
        for (i, (column, t)) in Tokens::new(&line).enumerate() {
            assert_eq!(t, token);
            assert_eq!(column, 2 + i as u32 * (width + 1), "token {i}");
            seen += 1;
        }
        assert_eq!(seen as usize, count);
    }

    #[test]
    fn columns_count_characters_across_a_million_tokens() {
        // Multi-byte tokens: a column that counted bytes would drift at the second token.
        check_columns("é€x", 1_000_000);
        check_columns("x", 1_000_000);
    }

    #[test]
    fn a_million_token_line_errors_at_the_first_bad_token_with_its_column() {
        let line = format!("connect{}\n", " x".repeat(1_000_000));
        let e = parse_named(&line, "long.tkt").unwrap_err();
        assert_eq!((e.line, e.column), (1, 9));
        assert!(e.message.contains("unknown `connect` flag `x`"), "{e}");

        // The bad token far into the line, after valid flags and wide runs of separators: its
        // column is carried across three million characters.
        let gap = " \t".repeat(500_000);
        let line = format!("connect{gap}resume\r{gap}pha{gap}éé\n");
        let e = parse_named(&line, "long.tkt").unwrap_err();
        let expected = 7 + 1_000_000 + 6 + 1 + 1_000_000 + 3 + 1_000_000 + 1;
        assert_eq!((e.line, e.column), (1, expected));
        assert!(e.message.contains("unknown `connect` flag `éé`"), "{e}");
    }

    #[test]
    fn tokens_in_messages_are_escaped() {
        let e = parse("\u{feff}connect\n").unwrap_err();
        assert_eq!(e.message, "unknown op `\\u{feff}connect`");
        let e = parse("handshake \0\n").unwrap_err();
        assert!(e.message.contains("unexpected argument `\\0`"), "{e}");
        let e = parse("server_write 1\u{202e}2\n").unwrap_err();
        assert!(e.message.contains("`1\\u{202e}2` is not a decimal"), "{e}");
    }
}
