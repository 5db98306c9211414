//! Minimization: the smallest program that keeps a divergence's signature.
//!
//! Delta debugging over ops first, then simplification of what is left (smaller counts, fewer
//! `connect` flags, shorter writes), repeated until nothing changes. The result is 1-minimal:
//! removing any single op loses the signature.

use crate::program::{check_bounds, ConnectFlags, Op, Program};

/// Whether a candidate still shows the divergence; invalid candidates never do.
pub trait Oracle {
    fn reproduces(&mut self, program: &Program) -> bool;
}

impl<F: FnMut(&Program) -> bool> Oracle for F {
    fn reproduces(&mut self, program: &Program) -> bool {
        self(program)
    }
}

fn test(ops: &[Op], oracle: &mut dyn Oracle) -> bool {
    let p = Program::from_ops(ops.iter().copied());
    check_bounds(&p).is_ok() && oracle.reproduces(&p)
}

/// ddmin over the op list: removes chunks, halving the chunk size down to single ops.
fn ddmin(mut ops: Vec<Op>, oracle: &mut dyn Oracle) -> Vec<Op> {
    let mut chunk = ops.len().div_ceil(2).max(1);
    loop {
        let mut removed = false;
        let mut start = 0;
        while start < ops.len() {
            let end = (start + chunk).min(ops.len());
            let candidate: Vec<Op> = ops[..start].iter().chain(&ops[end..]).copied().collect();
            if !candidate.is_empty() && test(&candidate, oracle) {
                ops = candidate;
                removed = true;
            } else {
                start = end;
            }
        }
        if chunk == 1 && !removed {
            return ops;
        }
        if !removed {
            chunk = chunk.div_ceil(2);
        }
    }
}

/// Simpler variants of one op, simplest first.
fn simpler(op: Op) -> Vec<Op> {
    fn smaller(n: u64) -> Vec<u64> {
        let mut v: Vec<u64> = [0, 1, 2, n / 2].into_iter().filter(|&m| m < n).collect();
        v.dedup();
        v
    }
    match op {
        Op::CtxSetNumTickets(n) => smaller(n).into_iter().map(Op::CtxSetNumTickets).collect(),
        Op::SetNumTickets(n) => smaller(n).into_iter().map(Op::SetNumTickets).collect(),
        Op::ServerWrite(n) => smaller(n).into_iter().map(Op::ServerWrite).collect(),
        Op::ClientWrite(n) => smaller(n).into_iter().map(Op::ClientWrite).collect(),
        Op::Connect(f) => {
            let mut v = Vec::new();
            for clear in 0..3 {
                let mut g = f;
                let flag = match clear {
                    0 => &mut g.resume,
                    1 => &mut g.tls12,
                    _ => &mut g.pha,
                };
                if *flag {
                    *flag = false;
                    v.push(Op::Connect(g));
                }
            }
            if f != ConnectFlags::default() {
                v.insert(0, Op::Connect(ConnectFlags::default()));
            }
            v
        }
        _ => Vec::new(),
    }
}

/// One pass of simplification; whether anything changed.
fn simplify(ops: &mut [Op], oracle: &mut dyn Oracle) -> bool {
    let mut changed = false;
    for i in 0..ops.len() {
        for candidate in simpler(ops[i]) {
            let original = ops[i];
            ops[i] = candidate;
            if test(ops, oracle) {
                changed = true;
                break;
            }
            ops[i] = original;
        }
    }
    changed
}

/// The minimized program (lines renumbered 1, 2, ...). `program` must reproduce.
pub fn minimize(program: &Program, oracle: &mut dyn Oracle) -> Program {
    let mut ops: Vec<Op> = program.ops().collect();
    loop {
        ops = ddmin(ops, oracle);
        if !simplify(&mut ops, oracle) {
            break;
        }
    }
    Program::from_ops(ops)
}
