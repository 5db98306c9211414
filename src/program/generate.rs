//! Structure-aware generation of programs for the fuzzers.
//!
//! Raw bytes are read as choices of ops and of counts, so every input decodes to a valid program:
//! counts come mostly from the values where OpenSSL's rules change (0, 1, 2, around 2^8), and a
//! program whose counts break the static bound is repaired rather than thrown away.

use super::bounds::first_ticket_violation;
use super::{ConnectFlags, Op, Program, MAX_WRITE_LEN};
use arbitrary::{Arbitrary, Result, Unstructured};

/// Most ops in a generated program.
pub const MAX_GENERATED_OPS: usize = 64;

/// Ticket counts where behaviour changes.
pub const INTERESTING_COUNTS: [u64; 10] = [0, 1, 2, 3, 4, 5, 8, 16, 255, 256];

/// Write lengths around record and transport boundaries.
pub const INTERESTING_LENGTHS: [u64; 9] = [0, 1, 2, 100, 1000, 16384, 16385, 65536, 100000];

/// A ticket count: mostly an interesting value, sometimes any `u64`.
pub fn arbitrary_count(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => u.arbitrary()?,
        1 => u.int_in_range(0..=300)?,
        _ => *u.choose(&INTERESTING_COUNTS)?,
    })
}

/// A write length: mostly an interesting value, sometimes any length up to the bound.
pub fn arbitrary_len(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => u.int_in_range(0..=MAX_WRITE_LEN)?,
        _ => *u.choose(&INTERESTING_LENGTHS)?,
    })
}

/// `connect` flags, mostly plain or `resume`.
pub fn arbitrary_flags(u: &mut Unstructured<'_>) -> Result<ConnectFlags> {
    let bits = u.int_in_range(0u8..=15)?;
    Ok(ConnectFlags {
        resume: bits & 1 != 0,
        tls12: bits & 6 == 6,
        pha: bits & 8 != 0,
    })
}

/// One op from the whole table, weighted toward the ops that move tickets.
pub fn arbitrary_op(u: &mut Unstructured<'_>) -> Result<Op> {
    Ok(match u.int_in_range(0u8..=31)? {
        0..=1 => Op::CtxSetNumTickets(arbitrary_count(u)?),
        2 => Op::CtxGetNumTickets,
        3..=6 => Op::Connect(arbitrary_flags(u)?),
        7..=9 => Op::SetNumTickets(arbitrary_count(u)?),
        10 => Op::GetNumTickets,
        11..=14 => Op::Handshake,
        15 => Op::ClientStep,
        16 => Op::ServerStep,
        17..=20 => Op::NewSessionTicket,
        21..=22 => Op::ServerWrite(arbitrary_len(u)?),
        23 => Op::ServerRead,
        24..=25 => Op::ServerDoHandshake,
        26..=27 => Op::ClientRead,
        28 => Op::ClientWrite(arbitrary_len(u)?),
        29..=30 => Op::VerifyClientPostHandshake,
        _ => Op::Shutdown,
    })
}

impl<'a> Arbitrary<'a> for Program {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut ops = Vec::new();
        // Most useful programs start by connecting; let the first choice say so.
        if u.ratio(3u8, 4u8)? {
            ops.push(Op::Connect(ConnectFlags::default()));
        }
        let n = u.int_in_range(0..=MAX_GENERATED_OPS - ops.len())?;
        for _ in 0..n {
            if u.is_empty() {
                break;
            }
            ops.push(arbitrary_op(u)?);
        }
        Ok(make_valid(Program::from_ops(ops)))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, None)
    }
}

/// Brings every ticket count that breaks the bound down into range, so the program is valid.
pub fn make_valid(mut program: Program) -> Program {
    while let Some(v) = first_ticket_violation(&program) {
        let Some(set_on) = v.set_on else {
            // Cannot happen: the default count is within the bound.
            break;
        };
        for stmt in program.stmts.iter_mut().filter(|s| s.line == set_on) {
            stmt.op = match stmt.op {
                Op::CtxSetNumTickets(n) => Op::CtxSetNumTickets(n % 257),
                Op::SetNumTickets(n) => Op::SetNumTickets(n % 257),
                other => other,
            };
        }
    }
    program
}
