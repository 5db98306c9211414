//! Minimization: the smallest program that keeps a divergence's signature.
//!
//! Delta debugging over ops first; then contraction (a run of ops that together only drive the
//! handshake, such as `client_write 0; server_read; client_read`, replaced by one `handshake`);
//! then simplification of what is left (smaller counts, fewer `connect` flags, shorter writes);
//! repeated until nothing changes. The result is 1-minimal: removing any single op loses the
//! signature.

use crate::finding::{Divergence, Signature};
use crate::program::{
    check_bounds, ConnectFlags, CtxConfig, GroupList, Op, Options, Program, Resume, SuiteList,
};
use crate::runner::Runner;

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
            // Each flag dropped on its own, `resume=again` also as plain `resume`.
            let plain = ConnectFlags::default();
            let mut v: Vec<ConnectFlags> = Vec::new();
            if f.resume == Resume::Again {
                v.push(ConnectFlags {
                    resume: Resume::Newest,
                    ..f
                });
            }
            let drops = [
                ConnectFlags {
                    resume: Resume::No,
                    early: None,
                    ..f
                },
                ConnectFlags { tls12: false, ..f },
                ConnectFlags { pha: false, ..f },
                ConnectFlags { psk_ke: false, ..f },
                ConnectFlags { suites: None, ..f },
                ConnectFlags { groups: None, ..f },
                ConnectFlags { early: None, ..f },
            ];
            v.extend(drops.into_iter().filter(|g| *g != f));
            if let Some(n) = f.early {
                v.extend(smaller(n).into_iter().map(|m| ConnectFlags {
                    early: Some(m),
                    ..f
                }));
            }
            if let Some(suites) = f.suites.filter(|l| l.iter().count() > 1) {
                v.push(ConnectFlags {
                    suites: SuiteList::new(&[suites.first()]),
                    ..f
                });
            }
            if let Some(groups) = f.groups.filter(|g| g.iter().count() > 1) {
                v.push(ConnectFlags {
                    groups: GroupList::new(&[groups.first()]),
                    ..f
                });
            }
            if f != plain {
                v.insert(0, plain);
            }
            v.dedup();
            v.into_iter().map(Op::Connect).collect()
        }
        Op::Configure(CtxConfig::MaxEarlyData(n)) => smaller(n)
            .into_iter()
            .map(|m| Op::Configure(CtxConfig::MaxEarlyData(m)))
            .collect(),
        Op::Configure(CtxConfig::SetOptions(o) | CtxConfig::ClearOptions(o))
            if o.iter().count() > 1 =>
        {
            let set = matches!(op, Op::Configure(CtxConfig::SetOptions(_)));
            o.iter()
                .map(|one| {
                    let fewer = o.minus(Options::default().with(one));
                    Op::Configure(if set {
                        CtxConfig::SetOptions(fewer)
                    } else {
                        CtxConfig::ClearOptions(fewer)
                    })
                })
                .collect()
        }
        Op::Configure(CtxConfig::Ciphersuites(l)) if l.iter().count() > 1 => {
            SuiteList::new(&[l.first()])
                .map(|one| Op::Configure(CtxConfig::Ciphersuites(one)))
                .into_iter()
                .collect()
        }
        Op::KeyUpdate { requested: true } => vec![Op::KeyUpdate { requested: false }],
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

/// Replaces the longest run of ops it can with a single `handshake`; whether it did.
fn contract(ops: &mut Vec<Op>, oracle: &mut dyn Oracle) -> bool {
    for len in (2..=ops.len()).rev() {
        for start in 0..=ops.len() - len {
            let candidate: Vec<Op> = ops[..start]
                .iter()
                .copied()
                .chain([Op::Handshake])
                .chain(ops[start + len..].iter().copied())
                .collect();
            if test(&candidate, oracle) {
                *ops = candidate;
                return true;
            }
        }
    }
    false
}

/// The minimized program (lines renumbered 1, 2, ...). `program` must reproduce.
pub fn minimize(program: &Program, oracle: &mut dyn Oracle) -> Program {
    let mut ops: Vec<Op> = program.ops().collect();
    loop {
        ops = ddmin(ops, oracle);
        if contract(&mut ops, oracle) {
            continue;
        }
        if !simplify(&mut ops, oracle) {
            break;
        }
    }
    Program::from_ops(ops)
}

/// A divergence re-measured on the program to keep: what an entry says always holds for its
/// program, even with a backend that diverges only sometimes.
#[derive(Clone, Debug)]
pub enum Remeasured {
    /// The minimized program, with the divergence its own rerun gave.
    Minimized(Program, Divergence),
    /// The program as found (renumbered), with the divergence its rerun gave: the minimized
    /// program's rerun showed another signature (`minimized_gave`) or none.
    AsFound {
        program: Program,
        divergence: Divergence,
        minimized_gave: Option<Signature>,
    },
    /// The program as found did not show the signature again (`again` is what it showed):
    /// nothing holds to keep.
    NotAgain { again: Option<Signature> },
}

/// What of a new signature is kept, without the program: [`Remeasured`] in short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    Minimized,
    /// The program as found; the minimized one gave this on its rerun.
    AsFound {
        minimized_gave: Option<Signature>,
    },
    /// Nothing; the program as found gave this on its rerun.
    Nothing {
        again: Option<Signature>,
    },
}

/// Says what a rerun gave, for a person: why a program was kept as found or not at all.
impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gave = |f: &mut std::fmt::Formatter<'_>, g: &Option<Signature>| match g {
            Some(s) => write!(f, "gave {s} instead on a rerun"),
            None => write!(f, "did not diverge on a rerun"),
        };
        match self {
            Kept::Minimized => write!(f, "minimized"),
            Kept::AsFound { minimized_gave } => {
                write!(f, "kept unminimized: its minimized program ")?;
                gave(f, minimized_gave)
            }
            Kept::Nothing { again } => {
                write!(f, "not kept: the program it was seen on ")?;
                gave(f, again)
            }
        }
    }
}

impl Remeasured {
    pub fn kept(&self) -> Kept {
        match *self {
            Remeasured::Minimized(..) => Kept::Minimized,
            Remeasured::AsFound { minimized_gave, .. } => Kept::AsFound { minimized_gave },
            Remeasured::NotAgain { again } => Kept::Nothing { again },
        }
    }

    /// The program and divergence to keep, if any.
    pub fn entry(&self) -> Option<(&Program, &Divergence)> {
        match self {
            Remeasured::Minimized(p, d)
            | Remeasured::AsFound {
                program: p,
                divergence: d,
                ..
            } => Some((p, d)),
            Remeasured::NotAgain { .. } => None,
        }
    }
}

/// Minimizes a program on which `divergence` was seen, keeping its signature, running only the
/// oracle and the diverging backend. The program is run again first: a divergence that does
/// not show again (a worker killed from outside, say) would fail every candidate, and
/// searching them all only costs time.
pub fn minimize_divergence(
    runner: &mut Runner,
    program: &Program,
    divergence: &Divergence,
) -> Remeasured {
    let backend = divergence.backend();
    let signature = divergence.signature;
    let rerun = |runner: &mut Runner, p: &Program| {
        let d = runner.divergence_on(p, backend);
        match d {
            Some(d) if d.signature == signature => Ok(d),
            other => Err(other.map(|d| d.signature)),
        }
    };
    let as_found = program.renumbered();
    let again = match rerun(runner, &as_found) {
        Ok(d) => d,
        Err(again) => return Remeasured::NotAgain { again },
    };
    let small = minimize(&as_found, &mut |p: &Program| rerun(runner, p).is_ok());
    match rerun(runner, &small) {
        Ok(found) => Remeasured::Minimized(small, found),
        Err(minimized_gave) => Remeasured::AsFound {
            program: as_found,
            divergence: again,
            minimized_gave,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::parse;

    fn ops(text: &str) -> Program {
        parse(text).unwrap()
    }

    /// A predicate with no TLS behind it: the divergence "needs" a `new_session_ticket` after a
    /// `connect`, and a `server_write` of at least 100 bytes anywhere after that.
    fn needs(p: &Program) -> bool {
        let ops: Vec<Op> = p.ops().collect();
        let Some(c) = ops.iter().position(|o| matches!(o, Op::Connect(_))) else {
            return false;
        };
        let Some(t) = ops[c..].iter().position(|o| *o == Op::NewSessionTicket) else {
            return false;
        };
        ops[c + t..]
            .iter()
            .any(|o| matches!(o, Op::ServerWrite(n) if *n >= 100))
    }

    #[test]
    fn ddmin_finds_the_ops_a_synthetic_predicate_needs() {
        let p = ops(
            "ctx_set_num_tickets 5\nconnect resume pha\nget_num_tickets\nhandshake\n\
             new_session_ticket\nserver_read\nserver_write 70000\nclient_read\nshutdown\n",
        );
        let mut calls = 0;
        let small = minimize(&p, &mut |q: &Program| {
            calls += 1;
            needs(q)
        });
        // The flags go, the count is halved down to the smallest that still holds.
        assert_eq!(
            small.to_string(),
            "connect\nnew_session_ticket\nserver_write 136\n"
        );
        assert!(needs(&small));
        assert!(calls > 0);
        // 1-minimal: no single op can go.
        for i in 0..small.len() {
            let mut fewer: Vec<Op> = small.ops().collect();
            fewer.remove(i);
            assert!(!needs(&Program::from_ops(fewer)), "op {i} could go");
        }
    }

    #[test]
    fn a_run_of_handshake_steps_contracts_to_one_handshake() {
        let p = ops("connect\nclient_step\nserver_step\nclient_step\nserver_step\nshutdown\n");
        // Connected, shut down, and in between a whole handshake: one op or both sides twice.
        let small = minimize(&p, &mut |q: &Program| {
            let ops: Vec<Op> = q.ops().collect();
            let count = |op: Op| ops.iter().filter(|o| **o == op).count();
            ops.first() == Some(&Op::Connect(ConnectFlags::default()))
                && ops.last() == Some(&Op::Shutdown)
                && (count(Op::Handshake) == 1
                    || count(Op::ClientStep) >= 2 && count(Op::ServerStep) >= 2)
        });
        assert_eq!(small.to_string(), "connect\nhandshake\nshutdown\n");
    }

    #[test]
    fn invalid_candidates_are_never_offered() {
        // Without its second line, 1000 tickets would be in effect at the handshake.
        let p = ops("connect\nset_num_tickets 1000\nset_num_tickets 1\nhandshake\n");
        let mut offered = 0;
        let small = minimize(&p, &mut |q: &Program| {
            offered += 1;
            assert!(check_bounds(q).is_ok(), "offered {q}");
            q.ops().any(|o| o == Op::Handshake)
        });
        assert_eq!(small.to_string(), "handshake\n");
        assert!(offered > 0);
    }
}
