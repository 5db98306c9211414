//! Features of a run, a cheap stand-in for coverage: a program that shows one never seen
//! before is worth keeping and mutating.

use crate::runner::Results;
use crate::trace::Step;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// What one step did, coarsely: the op, its return class and the tickets it moved.
fn step_key(step: &Step, issued_before: u64, received_before: u64) -> impl Hash {
    (
        step.op.kind(),
        step.ret.map(|r| r.clamp(-1, 2)),
        (step.issued - issued_before).min(3),
        (step.received - received_before).min(3),
        step.resumed,
    )
}

/// For each backend's trace: each step's key, and each pair of consecutive steps' keys. The
/// pairs tell apart the orders of the same calls (a write that blocks after a server step,
/// then another), which is where several divergences hide; single steps alone saturate within
/// seconds and stop telling programs apart.
pub fn features(results: &Results) -> Vec<u64> {
    let mut out = Vec::new();
    for (b, trace) in results.traces() {
        let (mut issued, mut received) = (0, 0);
        let mut previous: Option<u64> = None;
        for step in trace {
            let mut h = DefaultHasher::new();
            b.hash(&mut h);
            step_key(step, issued, received).hash(&mut h);
            let single = h.finish();
            out.push(single);
            if let Some(p) = previous {
                let mut h = DefaultHasher::new();
                (p, single).hash(&mut h);
                out.push(h.finish());
            }
            previous = Some(single);
            issued = step.issued;
            received = step.received;
        }
    }
    out
}
