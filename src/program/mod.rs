//! Ticket programs: the `.tkt` language of `shared/PROGRAM-FORMAT.md`.
//!
//! A [`Program`] is a list of [`Stmt`]s, each an [`Op`] with the 1-based line it came from.
//! `parse` reads the text form, `Display` prints the canonical text form, `bounds` holds the
//! static check that rejects programs able to put more than 256 tickets in effect, `load` reads
//! program files and fuzz inputs from disk within limits, and `generate` holds the
//! structure-aware `Arbitrary` implementation used by the fuzzers.

mod bounds;
mod escape;
pub mod generate;
mod kind;
mod load;
mod parse;

pub use bounds::{
    check_bounds, BoundError, DEFAULT_NUM_TICKETS, MAX_OPS, MAX_TICKETS_IN_EFFECT, MAX_WRITE_LEN,
};
pub use escape::{escape_bytes, Escaped};
pub use kind::{OpKind, UnknownOp};
pub use load::{
    load, load_named, read_fuzz_input, read_text, InputKind, LoadError, ProgramFile, SpecialFile,
    MAX_FUZZ_INPUT_BYTES, MAX_PROGRAM_FILE_BYTES,
};
pub use parse::{parse, parse_named, ParseError};

use std::fmt;

/// Flags of a `connect` op, printed in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectFlags {
    /// The client offers the newest ticket it has received and not offered yet.
    pub resume: bool,
    /// The client allows TLS 1.2 at most.
    pub tls12: bool,
    /// The client enables post-handshake authentication and holds a client certificate.
    pub pha: bool,
}

/// One op of the program table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    CtxSetNumTickets(u64),
    CtxGetNumTickets,
    Connect(ConnectFlags),
    SetNumTickets(u64),
    GetNumTickets,
    Handshake,
    ClientStep,
    ServerStep,
    NewSessionTicket,
    ServerWrite(u64),
    ServerRead,
    ServerDoHandshake,
    ClientRead,
    ClientWrite(u64),
    VerifyClientPostHandshake,
    Shutdown,
}

impl Op {
    /// The op's keyword.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Whether the op acts on the current connection (and so reports `ret: null` without one).
    pub fn needs_connection(&self) -> bool {
        !matches!(
            self,
            Op::CtxSetNumTickets(_) | Op::CtxGetNumTickets | Op::Connect(_)
        )
    }

    /// Whether the server may send tickets during this op (the ops from `handshake` down in the
    /// format's table).
    pub fn may_send_tickets(&self) -> bool {
        self.needs_connection() && !matches!(self, Op::SetNumTickets(_) | Op::GetNumTickets)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Op::CtxSetNumTickets(n)
            | Op::SetNumTickets(n)
            | Op::ServerWrite(n)
            | Op::ClientWrite(n) => write!(f, " {n}"),
            Op::Connect(flags) => {
                for (on, word) in [
                    (flags.resume, "resume"),
                    (flags.tls12, "tls12"),
                    (flags.pha, "pha"),
                ] {
                    if on {
                        write!(f, " {word}")?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// An op and the 1-based line of the file it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stmt {
    pub line: u32,
    pub op: Op,
}

/// A ticket program.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Program {
    pub stmts: Vec<Stmt>,
}

impl Program {
    /// A program of these ops on lines 1, 2, 3, ...
    pub fn from_ops(ops: impl IntoIterator<Item = Op>) -> Program {
        Program {
            stmts: ops
                .into_iter()
                .enumerate()
                .map(|(i, op)| Stmt {
                    line: i as u32 + 1,
                    op,
                })
                .collect(),
        }
    }

    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.stmts.iter().map(|s| s.op)
    }

    pub fn len(&self) -> usize {
        self.stmts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stmts.is_empty()
    }

    /// The same ops renumbered 1, 2, 3, ... (the lines the canonical text gives them).
    pub fn renumbered(&self) -> Program {
        Program::from_ops(self.ops())
    }
}

/// The canonical text form: one op per line, no comments.
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for stmt in &self.stmts {
            writeln!(f, "{}", stmt.op)?;
        }
        Ok(())
    }
}
