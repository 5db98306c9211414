//! The `.tkt` parser. Errors carry the file, line and column and name the bad token.

use super::{check_bounds, ConnectFlags, Op, Program, Stmt, MAX_OPS};
use std::fmt;
use std::path::Path;

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

/// Reads and parses a `.tkt` file; errors name the file.
pub fn parse_file(path: &Path) -> Result<Program, ParseError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ParseError {
        file: name.clone(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        let column = upto.iter().rev().take_while(|&&b| b != b'\n').count() as u32 + 1;
        ParseError {
            file: name.clone(),
            line,
            column,
            message: "the file is not valid UTF-8".into(),
        }
    })?;
    parse_named(&text, &name)
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
        let line = index as u32 + 1;
        let code = raw.split('#').next().unwrap_or("");
        let tokens = tokenize(code);
        let Some(&(col, word)) = tokens.first() else {
            continue;
        };
        let args = &tokens[1..];
        let op = parse_op(word, args).map_err(|(column, message)| {
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

/// Tokens with their 1-based character columns; separators are spaces and tabs.
fn tokenize(code: &str) -> Vec<(u32, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let column_of = |byte: usize| code[..byte].chars().count() as u32 + 1;
    for (i, c) in code.char_indices() {
        let sep = c == ' ' || c == '\t' || c == '\r';
        match (sep, start) {
            (true, Some(s)) => {
                out.push((column_of(s), &code[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((column_of(s), &code[s..]));
    }
    out
}

type OpError = (u32, String);

fn parse_op(word: &str, args: &[(u32, &str)]) -> Result<Op, OpError> {
    let plain = |op: Op| -> Result<Op, OpError> {
        match args.first() {
            None => Ok(op),
            Some(&(col, extra)) => Err((
                col,
                format!("unexpected argument `{extra}`: `{word}` takes none"),
            )),
        }
    };
    let counted = |make: fn(u64) -> Op| -> Result<Op, OpError> {
        let Some(&(col, arg)) = args.first() else {
            return Err((
                0,
                format!("`{word}` needs a number argument (a decimal u64)"),
            ));
        };
        if let Some(&(col, extra)) = args.get(1) {
            return Err((
                col,
                format!("unexpected argument `{extra}`: `{word}` takes one number"),
            ));
        }
        parse_u64(arg).map(make).map_err(|m| (col, m))
    };
    match word {
        "ctx_set_num_tickets" => counted(Op::CtxSetNumTickets),
        "ctx_get_num_tickets" => plain(Op::CtxGetNumTickets),
        "connect" => parse_connect(args),
        "set_num_tickets" => counted(Op::SetNumTickets),
        "get_num_tickets" => plain(Op::GetNumTickets),
        "handshake" => plain(Op::Handshake),
        "client_step" => plain(Op::ClientStep),
        "server_step" => plain(Op::ServerStep),
        "new_session_ticket" => plain(Op::NewSessionTicket),
        "server_write" => counted(Op::ServerWrite),
        "server_read" => plain(Op::ServerRead),
        "server_do_handshake" => plain(Op::ServerDoHandshake),
        "client_read" => plain(Op::ClientRead),
        "client_write" => counted(Op::ClientWrite),
        "verify_client_post_handshake" => plain(Op::VerifyClientPostHandshake),
        "shutdown" => plain(Op::Shutdown),
        _ => Err((0, format!("unknown op `{word}`"))),
    }
}

fn parse_connect(args: &[(u32, &str)]) -> Result<Op, OpError> {
    let mut flags = ConnectFlags::default();
    for &(col, arg) in args {
        let slot = match arg {
            "resume" => &mut flags.resume,
            "tls12" => &mut flags.tls12,
            "pha" => &mut flags.pha,
            _ => {
                return Err((
                    col,
                    format!("unknown `connect` flag `{arg}` (expected resume, tls12 or pha)"),
                ))
            }
        };
        if *slot {
            return Err((col, format!("`connect` flag `{arg}` given twice")));
        }
        *slot = true;
    }
    Ok(Op::Connect(flags))
}

fn parse_u64(token: &str) -> Result<u64, String> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{token}` is not a decimal number"));
    }
    token
        .parse::<u64>()
        .map_err(|_| format!("`{token}` does not fit in a u64 (at most 18446744073709551615)"))
}
