//! How many programs use version 2 of the language: as many as new features come from.
//!
//! The generator makes most programs use a version 2 op or flag, and a version 2 op placed at
//! random early in a program changes everything after it; left alone, version 2 would take
//! most of the run even when the new features are coming from version 1 programs. The share
//! follows the features each kind of program found per program run, over a decaying window.

use super::rng::Rng;
use crate::program::generate::make_valid;
use crate::program::{Op, Program, Resume};

/// Bounds of the share of version 2 programs: neither kind is ever starved.
const LEAST: f64 = 0.35;
const MOST: f64 = 0.85;
/// Programs after which what was counted weighs half.
const HALF_LIFE: u32 = 2048;

/// Per kind of program (version 1, version 2): runs and new features, decayed.
#[derive(Clone, Debug, Default)]
pub struct VersionShare {
    runs: [f64; 2],
    fresh: [f64; 2],
    since_decay: u32,
}

impl VersionShare {
    /// Counts a program run and how many features it showed first.
    pub fn record(&mut self, v2: bool, fresh: usize) {
        self.runs[usize::from(v2)] += 1.0;
        self.fresh[usize::from(v2)] += fresh as f64;
        self.since_decay += 1;
        if self.since_decay >= HALF_LIFE {
            self.since_decay = 0;
            for x in self.runs.iter_mut().chain(self.fresh.iter_mut()) {
                *x /= 2.0;
            }
        }
    }

    /// The share of version 2 programs wanted: each kind's new features per program run, the
    /// version 2 one's part of their sum (a half before anything is counted).
    pub fn v2(&self) -> f64 {
        // One new feature in a hundred programs, assumed for each kind before it has run:
        // a kind that was never tried is tried.
        let rate = |k: usize| (self.fresh[k] + 1.0) / (self.runs[k] + 100.0);
        let (v1, v2) = (rate(0), rate(1));
        (v2 / (v1 + v2)).clamp(LEAST, MOST)
    }

    /// `program` as it is, or, as often as the share wants version 1 programs, without its
    /// version 2 ops and flags.
    pub fn apply(&self, program: Program, rng: &mut Rng) -> Program {
        let wants_v1 = rng.next_u64() as f64 / (u64::MAX as f64) >= self.v2();
        if wants_v1 && uses_v2(&program) {
            to_v1(&program)
        } else {
            program
        }
    }
}

pub fn uses_v2(program: &Program) -> bool {
    program.ops().any(|op| op.is_v2())
}

/// `program` without its version 2 ops, its `connect`s without version 2 flags (`resume=again`
/// becomes `resume`).
pub fn to_v1(program: &Program) -> Program {
    let ops = program.ops().filter_map(|op| match op {
        Op::Connect(mut flags) => {
            if flags.resume == Resume::Again {
                flags.resume = Resume::Newest;
            }
            flags.psk_ke = false;
            flags.suites = None;
            flags.groups = None;
            flags.early = None;
            Some(Op::Connect(flags))
        }
        op if op.is_v2() => None,
        op => Some(op),
    });
    make_valid(Program::from_ops(ops.collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::parse;

    #[test]
    fn a_version_1_copy_keeps_every_version_1_op() {
        let p = parse(
            "ctx_set_max_early_data 100\nconnect\nhandshake\nconnect resume=again psk_ke early=5 tls12\nserver_read_early\nkey_update requested\nclient_write 7\n",
        )
        .unwrap();
        assert!(uses_v2(&p));
        let v1 = to_v1(&p);
        assert!(!uses_v2(&v1));
        assert_eq!(
            v1.to_string(),
            "connect\nhandshake\nconnect resume tls12\nclient_write 7\n"
        );
    }

    #[test]
    fn the_share_moves_toward_the_kind_that_finds_more() {
        let mut share = VersionShare::default();
        assert!((share.v2() - 0.5).abs() < 1e-9);
        for _ in 0..1000 {
            share.record(false, 1);
            share.record(true, 0);
        }
        assert_eq!(share.v2(), LEAST);
        for _ in 0..20_000 {
            share.record(false, 0);
            share.record(true, 1);
        }
        assert_eq!(share.v2(), MOST);
    }
}
