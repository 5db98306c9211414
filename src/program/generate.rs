//! Structure-aware generation of programs for the fuzzers.
//!
//! Raw bytes are read as choices of ops and of counts, so every input decodes to a valid program:
//! counts come mostly from the values where OpenSSL's rules change (0, 1, 2, around 2^8), and a
//! program whose counts break the static bound is repaired rather than thrown away.

use super::bounds::first_ticket_violation;
use super::{
    CacheMode, ConnectFlags, CtxConfig, Group, Op, Options, Program, Resume, SslOption, Suite,
    TicketDec, TicketGen, Word, MAX_EARLY_DATA, MAX_EARLY_WRITE, MAX_WRITE_LEN,
};
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

/// Early-data sizes around the limits that matter: none, one byte, a record, OpenSSL's default
/// recv_max_early_data (16384) and past it.
pub const INTERESTING_EARLY: [u64; 7] = [0, 1, 100, 16384, 16385, 65536, MAX_EARLY_WRITE];

/// An early-data size: mostly an interesting value.
pub fn arbitrary_early(u: &mut Unstructured<'_>, max: u64) -> Result<u64> {
    Ok(match u.int_in_range(0u8..=5)? {
        0 => u.int_in_range(0..=max)?,
        _ => *u.choose(&INTERESTING_EARLY)?,
    })
}

/// A list of one to three words, mostly of one.
pub fn arbitrary_list<W: Word>(u: &mut Unstructured<'_>) -> Result<super::config::List<W>> {
    let n = *u.choose(&[1usize, 1, 1, 2, 2, 3])?;
    let mut words = Vec::with_capacity(n);
    for _ in 0..n {
        let w = *u.choose(W::ALL)?;
        if !(W::DISTINCT && words.contains(&w)) {
            words.push(w);
        }
    }
    Ok(super::config::List::new(&words).expect("one to three words"))
}

/// `connect` flags, mostly plain or `resume`; a version 2 flag in about one in three.
pub fn arbitrary_flags(u: &mut Unstructured<'_>) -> Result<ConnectFlags> {
    let bits = u.int_in_range(0u8..=15)?;
    let mut flags = ConnectFlags {
        resume: if bits & 1 != 0 {
            Resume::Newest
        } else {
            Resume::No
        },
        tls12: bits & 6 == 6,
        pha: bits & 8 != 0,
        ..ConnectFlags::default()
    };
    if u.ratio(1u8, 3u8)? {
        let more = u.int_in_range(0u8..=63)?;
        if more & 1 != 0 {
            flags.resume = Resume::Again;
        }
        flags.psk_ke = more & 2 != 0;
        if more & 4 != 0 {
            flags.suites = Some(arbitrary_list::<Suite>(u)?);
        }
        if more & 8 != 0 {
            flags.groups = Some(arbitrary_list::<Group>(u)?);
        }
        if more & 48 != 0 {
            if flags.resume == Resume::No {
                flags.resume = Resume::Newest;
            }
            flags.early = Some(arbitrary_early(u, MAX_EARLY_WRITE)?);
        }
    }
    Ok(flags)
}

/// One or more options, mostly one.
fn arbitrary_options(u: &mut Unstructured<'_>) -> Result<Options> {
    let mut options = Options::default().with(*u.choose(SslOption::ALL)?);
    if u.ratio(1u8, 4u8)? {
        options = options.with(*u.choose(SslOption::ALL)?);
    }
    Ok(options)
}

/// A `ctx_set_max_early_data` value: mostly one where the rules change.
fn arbitrary_max_early(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => u.int_in_range(0..=MAX_EARLY_DATA)?,
        1 => MAX_EARLY_DATA,
        2 => 0,
        _ => *u.choose(&INTERESTING_EARLY)?,
    })
}

/// A version 2 server context op.
pub fn arbitrary_config(u: &mut Unstructured<'_>) -> Result<CtxConfig> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=1 => CtxConfig::SetOptions(arbitrary_options(u)?),
        2 => CtxConfig::ClearOptions(arbitrary_options(u)?),
        3..=4 => CtxConfig::Ciphersuites(arbitrary_list::<Suite>(u)?),
        5..=6 => CtxConfig::MaxEarlyData(arbitrary_max_early(u)?),
        7 => CtxConfig::SessionCacheMode(*u.choose(CacheMode::ALL)?),
        _ => CtxConfig::TicketCb(*u.choose(TicketGen::ALL)?, *u.choose(TicketDec::ALL)?),
    })
}

/// One op from the whole table, weighted toward the ops that move tickets.
pub fn arbitrary_op(u: &mut Unstructured<'_>) -> Result<Op> {
    Ok(match u.int_in_range(0u8..=39)? {
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
        31 => Op::Shutdown,
        32..=34 => Op::Configure(arbitrary_config(u)?),
        35..=36 => Op::ServerReadEarly,
        _ => Op::KeyUpdate {
            requested: u.arbitrary()?,
        },
    })
}

impl<'a> Arbitrary<'a> for Program {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut ops = Vec::new();
        // Configuration is set before the connection it is for: half the programs start with
        // one to three context ops, so that combinations (no_ticket with the cache off, early
        // data with anti-replay) are common.
        if u.ratio(1u8, 2u8)? {
            for _ in 0..u.int_in_range(1u8..=3)? {
                ops.push(Op::Configure(arbitrary_config(u)?));
            }
        }
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

/// Brings every ticket count and size that breaks a bound down into range, so the program is
/// valid.
pub fn make_valid(mut program: Program) -> Program {
    for stmt in &mut program.stmts {
        match &mut stmt.op {
            Op::Configure(CtxConfig::MaxEarlyData(n)) => *n %= MAX_EARLY_DATA + 1,
            Op::Connect(flags) => {
                if let Some(n) = flags.early.as_mut() {
                    *n %= MAX_EARLY_WRITE + 1;
                }
            }
            Op::ServerWrite(n) | Op::ClientWrite(n) => *n %= MAX_WRITE_LEN + 1,
            _ => {}
        }
    }
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
