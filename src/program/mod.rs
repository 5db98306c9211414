//! Ticket programs: the `.tkt` language of `shared/PROGRAM-FORMAT.md`.
//!
//! A [`Program`] is a list of [`Stmt`]s, each an [`Op`] with the 1-based line it came from.
//! `parse` reads the text form, `Display` prints the canonical text form, `bounds` holds the
//! static check that rejects programs able to put more than 256 tickets in effect, `load` reads
//! program files and fuzz inputs from disk within limits, and `generate` holds the
//! structure-aware `Arbitrary` implementation used by the fuzzers.

mod bounds;
pub mod config;
mod escape;
pub mod generate;
mod kind;
mod load;
mod parse;
pub mod usage;

pub use bounds::{
    check_bounds, BoundError, DEFAULT_NUM_TICKETS, MAX_OPS, MAX_TICKETS_IN_EFFECT, MAX_WRITE_LEN,
};
pub use config::{
    CacheMode, CtxConfig, Group, GroupList, Options, Resume, SslOption, Suite, SuiteList,
    TicketDec, TicketGen, Word, MAX_EARLY_DATA, MAX_EARLY_WRITE,
};
pub use escape::{escape_bytes, Escaped};
pub use kind::{OpKind, UnknownOp};
pub use load::{
    load, load_named, read_fuzz_input, read_hits_text, read_text, InputKind, LoadError,
    ProgramFile, SpecialFile, MAX_FUZZ_INPUT_BYTES, MAX_HITS_FILE_BYTES, MAX_PROGRAM_FILE_BYTES,
};
pub use parse::{parse, parse_named, ParseError};

use std::fmt;

/// Flags of a `connect` op, printed in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectFlags {
    /// Which ticket the client offers, if any (`resume`, `resume=again`).
    pub resume: Resume,
    /// The client allows TLS 1.2 at most.
    pub tls12: bool,
    /// The client enables post-handshake authentication and holds a client certificate.
    pub pha: bool,
    /// The client offers psk_ke besides psk_dhe_ke (`SSL_OP_ALLOW_NO_DHE_KEX`).
    pub psk_ke: bool,
    /// `SSL_set_ciphersuites` on the client.
    pub suites: Option<SuiteList>,
    /// `SSL_set1_groups_list` on the client; it sends a key share for the first.
    pub groups: Option<GroupList>,
    /// With a resumed session that allows early data, the client's first handshake step writes
    /// min(N, the session's maximum) bytes of early data; at most [`MAX_EARLY_WRITE`].
    pub early: Option<u64>,
}

impl ConnectFlags {
    /// Whether any version 2 flag is set.
    pub fn is_v2(&self) -> bool {
        self.resume == Resume::Again
            || self.psk_ke
            || self.suites.is_some()
            || self.groups.is_some()
            || self.early.is_some()
    }
}

impl fmt::Display for ConnectFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.resume {
            Resume::No => {}
            Resume::Newest => f.write_str(" resume")?,
            Resume::Again => f.write_str(" resume=again")?,
        }
        for (on, word) in [
            (self.tls12, "tls12"),
            (self.pha, "pha"),
            (self.psk_ke, "psk_ke"),
        ] {
            if on {
                write!(f, " {word}")?;
            }
        }
        if let Some(suites) = self.suites {
            write!(f, " suites={suites}")?;
        }
        if let Some(groups) = self.groups {
            write!(f, " groups={groups}")?;
        }
        if let Some(n) = self.early {
            write!(f, " early={n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CtxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CtxConfig::SetOptions(o) | CtxConfig::ClearOptions(o) => write!(f, " {o}"),
            CtxConfig::Ciphersuites(l) => write!(f, " {l}"),
            CtxConfig::MaxEarlyData(n) => write!(f, " {n}"),
            CtxConfig::SessionCacheMode(m) => write!(f, " {}", m.name()),
            CtxConfig::TicketCb(g, d) => write!(f, " {} {}", g.name(), d.name()),
        }
    }
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
    /// A version 2 server context op.
    Configure(CtxConfig),
    /// `SSL_read_early_data(server)`.
    ServerReadEarly,
    /// `SSL_key_update(server, requested ? REQUESTED : NOT_REQUESTED)`.
    KeyUpdate {
        requested: bool,
    },
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
            Op::CtxSetNumTickets(_) | Op::CtxGetNumTickets | Op::Connect(_) | Op::Configure(_)
        )
    }

    /// Whether the op is one of the format's version 2 additions, or a `connect` with a
    /// version 2 flag.
    pub fn is_v2(&self) -> bool {
        match self {
            Op::Configure(_) | Op::ServerReadEarly | Op::KeyUpdate { .. } => true,
            Op::Connect(flags) => flags.is_v2(),
            _ => false,
        }
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
            Op::Connect(flags) => write!(f, "{flags}"),
            Op::Configure(c) => write!(f, "{c}"),
            Op::KeyUpdate { requested: true } => f.write_str(" requested"),
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
