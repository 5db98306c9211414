//! Features of a run, a cheap stand-in for coverage: a program that shows one never seen
//! before is worth keeping and mutating.

use crate::program::Op;
use crate::runner::Results;
use crate::trace::Step;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// The running counts (tickets issued and received, new-session notifications) before a step:
/// what the step moved is measured from them.
#[derive(Clone, Copy, Default)]
struct Counts {
    issued: u64,
    received: u64,
    notified: u64,
}

/// What one step did, coarsely: the op, its return class, the tickets and notifications it
/// moved, and how the connection was resumed and its early data went.
fn step_key(step: &Step, before: Counts) -> impl Hash {
    (
        step.op.kind(),
        step.ret.map(|r| r.clamp(-1, 2)),
        (step.issued - before.issued).min(3),
        (step.received - before.received).min(3),
        step.notified.saturating_sub(before.notified).min(3),
        step.resumed,
        step.early,
    )
}

/// The side of a write, and its length.
fn write_of(op: Op) -> Option<(Side, u64)> {
    match op {
        Op::ClientWrite(n) => Some((Side::Client, n)),
        Op::ServerWrite(n) => Some((Side::Server, n)),
        _ => None,
    }
}

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// For each backend's trace: each step's key, each pair of consecutive steps' keys, and each
/// write retried after a write on its side that would block. The pairs tell apart the orders
/// of the same calls (a write that blocks after a server step, then another), which is where
/// several divergences hide; single steps alone saturate within seconds and stop telling
/// programs apart. A retried write is OpenSSL's own state (`SSL_write` must be called again
/// with at least what it took; a shorter or moved buffer is an error), however many ops lie
/// between: whether the retry is shorter, as long or longer tells its cases apart.
pub fn features(results: &Results) -> Vec<u64> {
    let mut out = Vec::new();
    for (b, trace) in results.traces() {
        let mut before = Counts::default();
        let mut previous: Option<u64> = None;
        let mut blocked: [Option<u64>; 2] = [None, None];
        for step in trace {
            if let Op::Connect(_) = step.op {
                blocked = [None, None];
            }
            if let Some((side, n)) = write_of(step.op) {
                let pending = &mut blocked[side as usize];
                if let Some(before) = *pending {
                    let mut h = DefaultHasher::new();
                    (
                        b,
                        "retry",
                        side,
                        n.cmp(&before),
                        step.ret.map(|r| r.clamp(-1, 2)),
                    )
                        .hash(&mut h);
                    out.push(h.finish());
                }
                *pending = match step.ret {
                    Some(-1) => Some(n),
                    _ => None,
                };
            }
            let mut h = DefaultHasher::new();
            b.hash(&mut h);
            step_key(step, before).hash(&mut h);
            let single = h.finish();
            out.push(single);
            if let Some(p) = previous {
                let mut h = DefaultHasher::new();
                (p, single).hash(&mut h);
                out.push(h.finish());
            }
            previous = Some(single);
            before = Counts {
                issued: step.issued,
                received: step.received,
                notified: step.notified,
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::parse;
    use crate::runner::Runner;

    fn features_of(runner: &mut Runner, text: &str) -> Vec<u64> {
        let mut f = features(&runner.run(&parse(text).unwrap()));
        f.sort_unstable();
        f.dedup();
        f
    }

    #[test]
    fn a_retried_write_is_told_apart_by_its_length_against_the_blocked_one() {
        let mut runner = Runner::new(&[]).unwrap();
        let head = "connect\nhandshake\nclient_write 65536\nserver_step\n";
        let longer = features_of(&mut runner, &format!("{head}client_write 131072\n"));
        let same = features_of(&mut runner, &format!("{head}client_write 65536\n"));
        let trace = runner.run(&parse(&format!("{head}client_write 131072\n")).unwrap());
        // Both retries block on the oracle: every step and pair is alike, the retry is not.
        assert_eq!(trace.oracle.trace[2].ret, Some(-1));
        assert_eq!(trace.oracle.trace[4].ret, Some(-1));
        assert_eq!(longer.len(), same.len());
        assert_ne!(longer, same);
    }
}
