//! A backend that diverges only sometimes: what is saved must still hold for its program.
//!
//! The stand-in is at the harness level, not a TLS library: it runs the real in-process OpenSSL
//! backend and, on the runs its schedule picks, fails in the program's `new_session_ticket` as
//! a crashed or hung worker would (the steps before it as OpenSSL made them). The oracle is the
//! real OpenSSL, so every other run agrees with it.

use std::cell::Cell;
use std::rc::Rc;
use ticketdiff::backend::{Backend, BackendId, Failure, Unfinished};
use ticketdiff::finding::Signature;
use ticketdiff::minimize::Kept;
use ticketdiff::program::{parse, Op, Program};
use ticketdiff::runner::Runner;
use ticketdiff::store;
use ticketdiff::trace::Trace;
use ticketdiff::triage::{triage, Destination, NewFinding};

/// For the n-th run (from 1), how it fails, if it does.
type Schedule = Box<dyn FnMut(u64) -> Option<Failure>>;

struct Flaky {
    inner: Box<dyn Backend>,
    runs: Rc<Cell<u64>>,
    schedule: Schedule,
}

impl Backend for Flaky {
    fn id(&self) -> BackendId {
        BackendId::Native
    }
    fn version(&self) -> &'static str {
        "flaky stand-in over OpenSSL"
    }
    fn skip_reason(&self, program: &Program) -> Option<String> {
        self.inner.skip_reason(program)
    }
    fn run(&mut self, program: &Program) -> Result<Trace, Unfinished> {
        self.runs.set(self.runs.get() + 1);
        let trace = self.inner.run(program)?;
        let at = program
            .stmts
            .iter()
            .position(|s| s.op == Op::NewSessionTicket);
        match (at, (self.schedule)(self.runs.get())) {
            (Some(at), Some(failure)) => {
                let line = program.stmts[at].line;
                Err(Unfinished {
                    steps: trace.into_iter().filter(|s| s.line < line).collect(),
                    at,
                    failure,
                })
            }
            _ => Ok(trace),
        }
    }
}

/// Nine ops, the ticket request last: a crash there is line 9 of the program as found and
/// line 1 or 2 of the minimized one.
const PROGRAM: &str = "ctx_set_num_tickets 3\nconnect\nhandshake\nserver_write 10\n\
    client_read\nclient_write 5\nserver_read\nget_num_tickets\nnew_session_ticket\n";

fn crash() -> Option<Failure> {
    Some(Failure::Crashed("killed by signal 9 (stand-in)".into()))
}

/// Triages the program's first run with `schedule` into a fresh store; returns what triage
/// said, the store, and how many runs the stand-in made.
fn triage_with(schedule: Schedule) -> (Vec<NewFinding>, tempfile::TempDir, u64) {
    let runs = Rc::new(Cell::new(0));
    let flaky = Flaky {
        inner: ticketdiff::registry::backend(BackendId::Openssl).unwrap(),
        runs: runs.clone(),
        schedule,
    };
    let oracle = ticketdiff::registry::backend(BackendId::Openssl).unwrap();
    let mut runner = Runner::from_backends(oracle, vec![Box::new(flaky)]);
    let program = parse(PROGRAM).unwrap();
    let results = runner.run(&program);
    assert!(results.any_divergence(), "the first run crashes");
    let dir = tempfile::tempdir().unwrap();
    let to = Destination {
        dir: dir.path(),
        save: true,
        found_by: "test",
    };
    let found = triage(&mut runner, &program, &results, |_| true, &to);
    (found, dir, runs.get())
}

const SIGNATURE: &str = "native-crash-in-new_session_ticket";

/// Every entry in `dir`, read back; each one's divergence must hold for its own program.
fn saved_entries(dir: &std::path::Path) -> Vec<ticketdiff::finding::Finding> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let entry = store::read_entry(&path, &text).unwrap();
        let d = &entry.divergence;
        let at = entry.program.stmts.iter().find(|s| s.line == d.line);
        assert_eq!(
            at.map(|s| s.op),
            Some(d.op),
            "`# line: {}` / `# op: {}` do not point at that op of its program:\n{text}",
            d.line,
            d.op
        );
        assert_eq!(d.signature.to_string(), SIGNATURE, "{text}");
        entries.push(entry);
    }
    entries
}

#[test]
fn a_steady_divergence_is_saved_minimized() {
    let (found, dir, _) = triage_with(Box::new(|_| crash()));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kept, Kept::Minimized);
    let entries = saved_entries(dir.path());
    assert_eq!(entries.len(), 1);
    assert!(entries[0].program.len() < 9, "{}", entries[0].program);
}

#[test]
fn a_minimized_program_that_does_not_diverge_on_its_rerun_is_not_what_is_saved() {
    let (_, _, runs) = triage_with(Box::new(|_| crash()));
    // The same answers make the same minimization: the last run is the final rerun.
    let (found, dir, again) = triage_with(Box::new(move |n| crash().filter(|_| n != runs)));
    assert_eq!(again, runs);
    let entries = saved_entries(dir.path());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].program.to_string(), PROGRAM);
    assert_eq!(entries[0].divergence.line, 9);
    assert_eq!(
        found[0].kept,
        Kept::AsFound {
            minimized_gave: None
        }
    );
}

#[test]
fn a_rerun_of_another_signature_is_not_saved_as_this_one() {
    let (_, _, runs) = triage_with(Box::new(|_| crash()));
    // The final rerun hangs where the others crashed: another signature.
    let (found, dir, _) = triage_with(Box::new(move |n| match n == runs {
        true => Some(Failure::Hung { after_ms: 10 }),
        false => crash(),
    }));
    let entries = saved_entries(dir.path());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].program.to_string(), PROGRAM);
    let hang: Signature = "native-hang-in-new_session_ticket".parse().unwrap();
    assert_eq!(
        found[0].kept,
        Kept::AsFound {
            minimized_gave: Some(hang)
        }
    );
}

#[test]
fn a_divergence_that_does_not_show_again_is_not_saved_and_says_so() {
    let (found, dir, _) = triage_with(Box::new(|n| crash().filter(|_| n == 1)));
    assert!(saved_entries(dir.path()).is_empty(), "saved");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kept, Kept::Nothing { again: None });
    assert!(found[0].saved.is_none());
    assert_eq!(
        found[0].kept.to_string(),
        "not kept: the program it was seen on did not diverge on a rerun"
    );
}
