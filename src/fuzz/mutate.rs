//! Structure-aware mutation of programs: insert, delete, duplicate or swap ops, change a count,
//! toggle a `connect` flag. Every result is made valid again before it runs.

use super::rng::Rng;
use crate::program::generate::{
    arbitrary_count, arbitrary_len, arbitrary_op, make_valid, MAX_GENERATED_OPS,
};
use crate::program::{Op, Program};
use arbitrary::Unstructured;

/// A fresh op or value drawn the way the generator draws them.
fn with_unstructured<T>(rng: &mut Rng, f: impl FnOnce(&mut Unstructured<'_>) -> T) -> T {
    let bytes = rng.bytes(16);
    f(&mut Unstructured::new(&bytes))
}

fn random_op(rng: &mut Rng) -> Op {
    with_unstructured(rng, |u| arbitrary_op(u).unwrap_or(Op::Handshake))
}

/// One mutation of `ops` in place.
fn mutate_once(ops: &mut Vec<Op>, rng: &mut Rng) {
    let n = ops.len();
    match rng.below(7) {
        0 | 1 => {
            let at = rng.below(n + 1);
            ops.insert(at, random_op(rng));
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
            if let Op::Connect(mut flags) = ops[at] {
                match rng.below(3) {
                    0 => flags.resume = !flags.resume,
                    1 => flags.tls12 = !flags.tls12,
                    _ => flags.pha = !flags.pha,
                }
                ops[at] = Op::Connect(flags);
            } else {
                ops[at] = random_op(rng);
            }
        }
        _ => ops.push(random_op(rng)),
    }
}

/// `program` after one to four mutations, valid and at most [`MAX_GENERATED_OPS`] long.
pub fn mutate(program: &Program, rng: &mut Rng) -> Program {
    let mut ops: Vec<Op> = program.ops().collect();
    for _ in 0..=rng.below(4) {
        mutate_once(&mut ops, rng);
    }
    ops.truncate(MAX_GENERATED_OPS);
    make_valid(Program::from_ops(ops))
}
