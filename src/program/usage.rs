//! Which version 2 ops and flags a program uses, for the fuzzer's summary: a generator that
//! never reaches a rule cannot find anything there, so a run says how often it reached each.

use super::{CacheMode, CtxConfig, Op, OpKind, Program, Resume, SslOption, Word};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One version 2 op, option or flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum V2Use {
    /// A version 2 op, by keyword.
    Op(OpKind),
    /// `ctx_set_options` with this option.
    SetOption(SslOption),
    /// `ctx_set_session_cache_mode off`.
    CacheOff,
    /// `key_update requested`.
    KeyUpdateRequested,
    /// `connect resume=again`.
    ResumeAgain,
    /// `connect psk_ke`.
    PskKe,
    /// `connect suites=`.
    Suites,
    /// `connect groups=`.
    Groups,
    /// `connect early=`.
    Early,
}

impl fmt::Display for V2Use {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V2Use::Op(kind) => write!(f, "{kind}"),
            V2Use::SetOption(o) => write!(f, "ctx_set_options {}", o.name()),
            V2Use::CacheOff => f.write_str("ctx_set_session_cache_mode off"),
            V2Use::KeyUpdateRequested => f.write_str("key_update requested"),
            V2Use::ResumeAgain => f.write_str("connect resume=again"),
            V2Use::PskKe => f.write_str("connect psk_ke"),
            V2Use::Suites => f.write_str("connect suites="),
            V2Use::Groups => f.write_str("connect groups="),
            V2Use::Early => f.write_str("connect early="),
        }
    }
}

/// The version 2 ops, options and flags a program uses (empty for a version 1 program).
pub fn v2_uses(program: &Program) -> BTreeSet<V2Use> {
    let mut uses = BTreeSet::new();
    for op in program.ops() {
        match op {
            Op::Configure(c) => {
                uses.insert(V2Use::Op(op.kind()));
                match c {
                    CtxConfig::SetOptions(o) => uses.extend(o.iter().map(V2Use::SetOption)),
                    CtxConfig::SessionCacheMode(CacheMode::Off) => {
                        uses.insert(V2Use::CacheOff);
                    }
                    _ => {}
                }
            }
            Op::ServerReadEarly => {
                uses.insert(V2Use::Op(op.kind()));
            }
            Op::KeyUpdate { requested } => {
                uses.insert(V2Use::Op(op.kind()));
                if requested {
                    uses.insert(V2Use::KeyUpdateRequested);
                }
            }
            Op::Connect(f) => {
                for (on, name) in [
                    (f.resume == Resume::Again, V2Use::ResumeAgain),
                    (f.psk_ke, V2Use::PskKe),
                    (f.suites.is_some(), V2Use::Suites),
                    (f.groups.is_some(), V2Use::Groups),
                    (f.early.is_some(), V2Use::Early),
                ] {
                    if on {
                        uses.insert(name);
                    }
                }
            }
            _ => {}
        }
    }
    uses
}

/// How many programs of a run used version 2 at all, and each op, option and flag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub programs: u64,
    pub v2_programs: u64,
    pub by_use: BTreeMap<V2Use, u64>,
}

impl Usage {
    /// Counts one program.
    pub fn add(&mut self, program: &Program) {
        self.programs += 1;
        let uses = v2_uses(program);
        if !uses.is_empty() {
            self.v2_programs += 1;
        }
        for u in uses {
            *self.by_use.entry(u).or_insert(0) += 1;
        }
    }

    /// Adds another count into this one.
    pub fn merge(&mut self, other: &Usage) {
        self.programs += other.programs;
        self.v2_programs += other.v2_programs;
        for (u, n) in &other.by_use {
            *self.by_use.entry(*u).or_insert(0) += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_counts_each_use_once() {
        let p = super::super::parse(
            "ctx_set_options no_ticket\nctx_set_options no_ticket allow_no_dhe_kex\n\
             ctx_set_session_cache_mode off\nconnect resume=again early=5\nkey_update requested\n\
             key_update\nconnect\n",
        )
        .unwrap();
        let mut usage = Usage::default();
        usage.add(&p);
        usage.add(&super::super::parse("connect\nhandshake\n").unwrap());
        assert_eq!((usage.programs, usage.v2_programs), (2, 1));
        let names: Vec<String> = usage.by_use.keys().map(|u| u.to_string()).collect();
        assert_eq!(
            names,
            [
                "ctx_set_options",
                "ctx_set_session_cache_mode",
                "key_update",
                "ctx_set_options no_ticket",
                "ctx_set_options allow_no_dhe_kex",
                "ctx_set_session_cache_mode off",
                "key_update requested",
                "connect resume=again",
                "connect early="
            ]
        );
        assert!(usage.by_use.values().all(|n| *n == 1));
    }
}
