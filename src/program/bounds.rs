//! The static bound check of the format: a program that could make a server send more than
//! [`MAX_TICKETS_IN_EFFECT`] tickets at once is rejected before it runs.
//!
//! Counts are known exactly before a run (a program has no branches), so the check follows the
//! ctx count and the current connection's count op by op, the way `SSL_new` copies them. At
//! every op that may send tickets (the format's table from `handshake` down), both must be at
//! most 256: the ctx's because it is in effect for the next `connect`.

use super::{CtxConfig, Op, Program, MAX_EARLY_DATA, MAX_EARLY_WRITE};
use std::fmt;

/// Most ops in one program.
pub const MAX_OPS: usize = 1000;
/// Highest ticket count that may be in effect when the server can send tickets.
pub const MAX_TICKETS_IN_EFFECT: u64 = 256;
/// Longest `server_write`/`client_write` (an addition to the format: a write must fit in memory).
pub const MAX_WRITE_LEN: u64 = 1 << 20;
/// The count a fresh `SSL_CTX` starts with.
pub const DEFAULT_NUM_TICKETS: u64 = 2;

/// Why a program was rejected, and the line of the op at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundError {
    pub line: u32,
    pub message: String,
    pub(crate) tickets: Option<TooManyTickets>,
}

impl fmt::Display for BoundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Where a ticket count came from, for the error message.
#[derive(Clone, Copy)]
struct Count {
    value: u64,
    set_on: Option<u32>,
}

impl Count {
    fn origin(&self) -> String {
        match self.set_on {
            Some(line) => format!(" (set on line {line})"),
            None => String::new(),
        }
    }
}

/// A ticket count above the bound in effect when tickets may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooManyTickets {
    /// The op that may send tickets.
    pub line: u32,
    /// The `set` op the count came from (`None`: never set, so the default; cannot exceed).
    pub set_on: Option<u32>,
}

/// The first op that may send tickets with a count above the bound in effect, if any.
pub(crate) fn first_ticket_violation(program: &Program) -> Option<TooManyTickets> {
    match check_bounds(program) {
        Err(e) => e.tickets,
        Ok(()) => None,
    }
}

/// Checks the op limit, the ticket-count bound and the write-length bound.
pub fn check_bounds(program: &Program) -> Result<(), BoundError> {
    if program.len() > MAX_OPS {
        return Err(BoundError {
            line: program.stmts[MAX_OPS].line,
            message: format!("too many ops: a program has at most {MAX_OPS}"),
            tickets: None,
        });
    }
    let mut ctx = Count {
        value: DEFAULT_NUM_TICKETS,
        set_on: None,
    };
    let mut conn: Option<Count> = None;
    for stmt in &program.stmts {
        let line = stmt.line;
        match stmt.op {
            Op::Configure(CtxConfig::MaxEarlyData(n)) if n > MAX_EARLY_DATA => {
                return Err(BoundError {
                    line,
                    message: format!(
                        "`ctx_set_max_early_data {n}`: the maximum is at most {MAX_EARLY_DATA}"
                    ),
                    tickets: None,
                });
            }
            Op::Connect(flags) if flags.early.is_some_and(|n| n > MAX_EARLY_WRITE) => {
                return Err(BoundError {
                    line,
                    message: format!(
                        "`connect early={}`: early data is at most {MAX_EARLY_WRITE} bytes",
                        flags.early.unwrap_or(0)
                    ),
                    tickets: None,
                });
            }
            Op::CtxSetNumTickets(n) => {
                ctx = Count {
                    value: n,
                    set_on: Some(line),
                }
            }
            Op::Connect(_) => conn = Some(ctx),
            Op::SetNumTickets(n) if conn.is_some() => {
                conn = Some(Count {
                    value: n,
                    set_on: Some(line),
                });
            }
            Op::ServerWrite(n) | Op::ClientWrite(n) if n > MAX_WRITE_LEN => {
                return Err(BoundError {
                    line,
                    message: format!(
                        "`{}` writes {n} bytes; a write is at most {MAX_WRITE_LEN} bytes",
                        stmt.op.name()
                    ),
                    tickets: None,
                });
            }
            _ => {}
        }
        if !stmt.op.may_send_tickets() {
            continue;
        }
        // Literally as the format says: the count on ctx (for the next `connect`) and the
        // current connection's count both count, whether or not a connection exists.
        let in_effect = [("the ctx", Some(ctx)), ("the connection", conn)];
        for (whose, count) in in_effect {
            let Some(count) = count.filter(|c| c.value > MAX_TICKETS_IN_EFFECT) else {
                continue;
            };
            return Err(BoundError {
                line,
                message: format!(
                    "`{}` may send tickets while {whose}'s ticket count is {}{}; \
                     counts above {MAX_TICKETS_IN_EFFECT} are valid only for set/get round trips",
                    stmt.op.name(),
                    count.value,
                    count.origin()
                ),
                tickets: Some(TooManyTickets {
                    line,
                    set_on: count.set_on,
                }),
            });
        }
    }
    Ok(())
}
