//! Structure-aware mutation of programs: insert, delete, duplicate or swap ops, change a count
//! or a length, toggle a `connect` flag, move an op to the other side, repeat a run of ops, and
//! splice two programs. Every result is made valid again before it runs.

use super::rng::Rng;
use crate::program::generate::{
    arbitrary_config, arbitrary_count, arbitrary_early, arbitrary_len, arbitrary_list,
    arbitrary_op, make_valid, MAX_GENERATED_OPS,
};
use crate::program::{
    ConnectFlags, CtxConfig, Group, Op, Program, Resume, Suite, MAX_EARLY_WRITE, MAX_WRITE_LEN,
};
use arbitrary::Unstructured;

/// A fresh op or value drawn the way the generator draws them.
fn with_unstructured<T>(rng: &mut Rng, f: impl FnOnce(&mut Unstructured<'_>) -> T) -> T {
    let bytes = rng.bytes(16);
    f(&mut Unstructured::new(&bytes))
}

fn random_op(rng: &mut Rng) -> Op {
    with_unstructured(rng, |u| arbitrary_op(u).unwrap_or(Op::Handshake))
}

/// Lengths past the generator's interesting ones: a write that fills the 64 KiB transport
/// and more still pending behind it is where the I/O divergences hide, and a uniform draw
/// reaches them rarely.
const LARGE_LENGTHS: [u64; 5] = [65536, 100000, 131072, 262144, MAX_WRITE_LEN];

/// A new length for a write of `n` bytes: drawn afresh, doubled, halved, or a large one.
fn new_length(n: u64, rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => with_unstructured(rng, |u| arbitrary_len(u).unwrap_or(0)),
        1 => (n.max(1) * 2).min(MAX_WRITE_LEN),
        2 => n / 2,
        _ => LARGE_LENGTHS[rng.below(LARGE_LENGTHS.len())],
    }
}

/// The same call on the other side of the connection, where there is one.
fn other_side(op: Op) -> Option<Op> {
    Some(match op {
        Op::ServerWrite(n) => Op::ClientWrite(n),
        Op::ClientWrite(n) => Op::ServerWrite(n),
        Op::ServerRead => Op::ClientRead,
        Op::ClientRead => Op::ServerRead,
        Op::ServerStep => Op::ClientStep,
        Op::ClientStep => Op::ServerStep,
        _ => return None,
    })
}

/// Half the time, an op already in this program or in `other`, a write sometimes with a new
/// length: the calls a program is made of are rare among all ops (a client write is one in
/// 32), and the deeper divergences need several of them in a row.
fn borrowed_op(ops: &[Op], other: Option<&Program>, rng: &mut Rng) -> Option<Op> {
    if rng.chance(1, 2) {
        return None;
    }
    let from_other = other.filter(|o| !o.is_empty() && (ops.is_empty() || rng.chance(1, 2)));
    let op = match from_other {
        Some(o) => o.stmts[rng.below(o.len())].op,
        None if !ops.is_empty() => ops[rng.below(ops.len())],
        None => return None,
    };
    Some(match op {
        Op::ServerWrite(len) if rng.chance(1, 2) => Op::ServerWrite(new_length(len, rng)),
        Op::ClientWrite(len) if rng.chance(1, 2) => Op::ClientWrite(new_length(len, rng)),
        op => op,
    })
}

/// One mutation of `ops` in place; `other` is a second program to splice with.
fn mutate_once(ops: &mut Vec<Op>, other: Option<&Program>, rng: &mut Rng) {
    let n = ops.len();
    match rng.below(12) {
        11 if n > 0 => retry_write(ops, rng),
        7 if n > 0 => {
            let at = rng.below(n);
            ops[at] = match ops[at] {
                Op::ServerWrite(len) => Op::ServerWrite(new_length(len, rng)),
                Op::ClientWrite(len) => Op::ClientWrite(new_length(len, rng)),
                op => other_side(op).unwrap_or_else(|| random_op(rng)),
            };
        }
        8 if n > 0 => {
            let at = rng.below(n);
            if let Some(op) = other_side(ops[at]) {
                ops[at] = op;
            }
        }
        9 if n > 0 => {
            // A run of ops repeated right after itself: writes that pile up, rounds of
            // connect and handshake.
            let from = rng.below(n);
            let len = 1 + rng.below((n - from).min(4));
            let run: Vec<Op> = ops[from..from + len].to_vec();
            ops.splice(from + len..from + len, run);
        }
        10 => match other {
            // This program's head and the other's tail, cut at random points.
            Some(o) if !o.is_empty() => {
                let keep = rng.below(n + 1);
                let tail: Vec<Op> = o.ops().skip(rng.below(o.len())).collect();
                ops.truncate(keep);
                ops.extend(tail);
            }
            _ => ops.push(random_op(rng)),
        },
        0 | 1 => {
            // Half the time at the end: the pool holds heads of programs cut before a known
            // divergence, and what comes after a head is what is left to explore.
            let at = if rng.chance(1, 2) {
                n
            } else {
                rng.below(n + 1)
            };
            let op = borrowed_op(ops, other, rng).unwrap_or_else(|| random_op(rng));
            ops.insert(at, op);
        }
        2 if n > 0 => {
            ops.remove(rng.below(n));
        }
        3 if n > 0 => {
            let at = rng.below(n);
            ops.insert(at, ops[at]);
        }
        4 if n > 1 => {
            let (a, b) = (rng.below(n), rng.below(n));
            ops.swap(a, b);
        }
        5 if n > 0 => {
            let at = rng.below(n);
            ops[at] = match ops[at] {
                Op::CtxSetNumTickets(_) => Op::CtxSetNumTickets(with_unstructured(rng, |u| {
                    arbitrary_count(u).unwrap_or(0)
                })),
                Op::SetNumTickets(_) => {
                    Op::SetNumTickets(with_unstructured(rng, |u| arbitrary_count(u).unwrap_or(0)))
                }
                Op::ServerWrite(_) => {
                    Op::ServerWrite(with_unstructured(rng, |u| arbitrary_len(u).unwrap_or(0)))
                }
                Op::ClientWrite(_) => {
                    Op::ClientWrite(with_unstructured(rng, |u| arbitrary_len(u).unwrap_or(0)))
                }
                _ => random_op(rng),
            };
        }
        6 if n > 0 => {
            let at = rng.below(n);
            if let Op::Connect(flags) = ops[at] {
                ops[at] = Op::Connect(toggle_flag(flags, rng));
            } else if let Op::Configure(_) = ops[at] {
                ops[at] = Op::Configure(with_unstructured(rng, |u| {
                    arbitrary_config(u).unwrap_or(CtxConfig::MaxEarlyData(16384))
                }));
            } else {
                ops[at] = random_op(rng);
            }
        }
        _ => ops.push(random_op(rng)),
    }
}

/// After a write (one that may block), the same side writes again with another length, half
/// the time once the other side has moved: OpenSSL's retry rules for a blocked `SSL_write`
/// (same buffer, at least what it took) are reached only by such a pair, which a uniform
/// insertion makes one time in thousands.
fn retry_write(ops: &mut Vec<Op>, rng: &mut Rng) {
    let writes: Vec<usize> = (0..ops.len())
        .filter(|&i| matches!(ops[i], Op::ClientWrite(_) | Op::ServerWrite(_)))
        .collect();
    let Some(&at) = writes.get(rng.below(writes.len().max(1))) else {
        ops.push(random_op(rng));
        return;
    };
    let (retry, peer) = match ops[at] {
        Op::ClientWrite(n) => (
            Op::ClientWrite(other_length(n, rng)),
            [Op::ServerStep, Op::ServerRead],
        ),
        Op::ServerWrite(n) => (
            Op::ServerWrite(other_length(n, rng)),
            [Op::ClientStep, Op::ClientRead],
        ),
        _ => unreachable!("a write"),
    };
    let mut run = Vec::with_capacity(2);
    if rng.chance(1, 2) {
        run.push(peer[rng.below(peer.len())]);
    }
    run.push(retry);
    ops.splice(at + 1..at + 1, run);
}

/// A new length for a write of `n` bytes that is not `n`.
fn other_length(n: u64, rng: &mut Rng) -> u64 {
    for _ in 0..4 {
        let m = new_length(n, rng);
        if m != n {
            return m;
        }
    }
    if n == 0 {
        1
    } else {
        n - 1
    }
}

/// `flags` with one flag turned on, off or to another value.
fn toggle_flag(mut flags: ConnectFlags, rng: &mut Rng) -> ConnectFlags {
    match rng.below(7) {
        0 => {
            flags.resume = match flags.resume {
                Resume::No => Resume::Newest,
                Resume::Newest if rng.chance(1, 3) => Resume::Again,
                Resume::Again => Resume::Newest,
                _ => Resume::No,
            }
        }
        1 => flags.tls12 = !flags.tls12,
        2 => flags.pha = !flags.pha,
        3 => flags.psk_ke = !flags.psk_ke,
        4 => {
            flags.suites = match flags.suites {
                Some(_) => None,
                None => with_unstructured(rng, |u| arbitrary_list::<Suite>(u).ok()),
            }
        }
        5 => {
            flags.groups = match flags.groups {
                Some(_) => None,
                None => with_unstructured(rng, |u| arbitrary_list::<Group>(u).ok()),
            }
        }
        _ => {
            flags.early = match flags.early {
                Some(_) => None,
                None => Some(with_unstructured(rng, |u| {
                    arbitrary_early(u, MAX_EARLY_WRITE).unwrap_or(1)
                })),
            };
            if flags.early.is_some() && flags.resume == Resume::No {
                flags.resume = Resume::Newest;
            }
        }
    }
    flags
}

/// The op at `at` changed so that it may no longer diverge where it did: a write with another
/// length, an op moved to the other side, dropped, or replaced.
fn change_at(ops: &mut Vec<Op>, at: usize, rng: &mut Rng) {
    match ops[at] {
        Op::ServerWrite(len) => ops[at] = Op::ServerWrite(new_length(len, rng)),
        Op::ClientWrite(len) => ops[at] = Op::ClientWrite(new_length(len, rng)),
        op => match (rng.below(3), other_side(op)) {
            (0, Some(moved)) => ops[at] = moved,
            (1, _) => {
                ops.remove(at);
            }
            _ => ops[at] = random_op(rng),
        },
    }
}

/// `program` after one to four mutations, valid and at most [`MAX_GENERATED_OPS`] long;
/// `other` (another program of the pool) may be spliced in. With a `focus` (the op where the
/// program diverged on a known signature), that op is changed first, and half the time alone:
/// what follows it was never compared.
pub fn mutate(
    program: &Program,
    focus: Option<usize>,
    other: Option<&Program>,
    rng: &mut Rng,
) -> Program {
    let mut ops: Vec<Op> = program.ops().collect();
    let mut more = rng.below(4) + 1;
    if let Some(at) = focus.filter(|&at| at < ops.len()) {
        change_at(&mut ops, at, rng);
        more = if rng.chance(1, 2) { 0 } else { more - 1 };
    }
    for _ in 0..more {
        mutate_once(&mut ops, other, rng);
    }
    ops.truncate(MAX_GENERATED_OPS);
    make_valid(Program::from_ops(ops))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_follows_a_write_with_another_length_on_the_same_side() {
        let start = [Op::Handshake, Op::ClientWrite(100000), Op::ClientRead];
        let mut rng = Rng::new(5);
        for _ in 0..100 {
            let mut ops = start.to_vec();
            retry_write(&mut ops, &mut rng);
            let added: Vec<Op> = ops[2..ops.len() - 1].to_vec();
            match added[..] {
                [Op::ClientWrite(n)] | [Op::ServerStep | Op::ServerRead, Op::ClientWrite(n)] => {
                    assert_ne!(n, 100000)
                }
                _ => panic!("not a retry: {ops:?}"),
            }
        }
    }
}
