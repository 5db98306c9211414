//! What the libFuzzer and honggfuzz targets do with one input, so that each target is a few
//! lines of glue.
//!
//! An input that is a valid `.tkt` program is taken as that program (so `corpus/` seeds the
//! fuzzers directly); anything else is decoded structure-aware with `Arbitrary`. A divergence
//! whose signature is not in the store yet is minimized and saved, then the target panics from
//! a chain of functions chosen by the signature's parts, so crash deduplication by stack (as
//! libFuzzer and OSS-Fuzz do) tells different causes apart. Known signatures do not panic: the
//! fuzzer keeps looking for new ones.

use crate::diff::{Divergence, Field};
use crate::minimize::minimize_divergence;
use crate::program::{parse, Program};
use crate::runner::Runner;
use crate::store::{self, NewEntry, Saved};
use arbitrary::{Arbitrary, Unstructured};
use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;

/// The directory a packed target's known signatures ship in, next to the executable
/// (`.clusterfuzzlite/build.sh` copies `diff/` there).
pub const PACKED_DIFF_DIR: &str = "ticketdiff-diff";

/// Where a target reads the known signatures from, and whether it saves new ones there:
/// - `TICKETDIFF_DIFF_DIR` when set: read and saved;
/// - else `ticketdiff-diff/` next to the executable when it exists (a target packed for
///   ClusterFuzzLite or OSS-Fuzz): read only. Nothing is saved, so the crash a new signature
///   causes reproduces when the service replays the input; its message carries the minimized
///   program;
/// - else `diff/` of this repository: read and saved.
pub fn store_dir() -> (PathBuf, bool) {
    if let Some(dir) = std::env::var_os("TICKETDIFF_DIFF_DIR") {
        return (PathBuf::from(dir), true);
    }
    let packed = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(PACKED_DIFF_DIR)))
        .filter(|d| d.is_dir());
    match packed {
        Some(dir) => (dir, false),
        None => (PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("diff"), true),
    }
}

/// Where a target reads and saves divergences (see [`store_dir`]).
pub fn diff_dir() -> PathBuf {
    store_dir().0
}

/// The backends a target compares: `TICKETDIFF_BACKENDS` (comma-separated), else all.
fn backend_names() -> Vec<String> {
    match std::env::var("TICKETDIFF_BACKENDS") {
        Ok(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        Err(_) => crate::backend::BACKEND_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// The program an input stands for.
pub fn decode(data: &[u8]) -> Program {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = parse(text) {
            if !p.is_empty() {
                return p;
            }
        }
    }
    Program::arbitrary(&mut Unstructured::new(data)).unwrap_or_default()
}

struct State {
    runner: Runner,
    dir: PathBuf,
    /// Whether new divergences are saved in `dir`.
    save: bool,
    known: HashSet<String>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let state = slot.get_or_insert_with(|| {
            let (dir, save) = store_dir();
            let known = store::read_dir(&dir)
                .into_iter()
                .filter_map(Result::ok)
                .map(|e| e.signature)
                .collect();
            State {
                runner: Runner::new(&backend_names())
                    .expect("TICKETDIFF_BACKENDS names known backends"),
                dir,
                save,
                known,
            }
        });
        f(state)
    })
}

/// Runs one input. Returns normally unless a new signature was found (then it panics).
pub fn run_input(data: &[u8], found_by: &str) {
    let program = decode(data);
    if program.is_empty() {
        return;
    }
    let new = with_state(|state| {
        let results = state.runner.run(&program);
        for r in &results[1..] {
            let Some(d) = &r.divergence else { continue };
            let key = d.signature.key();
            if state.known.contains(&key) {
                continue;
            }
            // Another process may have saved it meanwhile.
            if store::entry_path(&state.dir, &key).exists() {
                state.known.insert(key);
                continue;
            }
            let runner = &mut state.runner;
            let (small, divergence) = minimize_divergence(runner, &program, d);
            if !state.save {
                return Some((divergence, small, None));
            }
            let oracle_version = runner.oracle().version();
            let saved = store::save(
                &state.dir,
                &NewEntry {
                    divergence: &divergence,
                    program: &small,
                    oracle_version,
                    backend_version: r.version,
                    found_by,
                },
            );
            state.known.insert(key.clone());
            match saved {
                Ok(Saved::New | Saved::Improved) => {
                    return Some((divergence, small, Some(state.dir.clone())))
                }
                Ok(Saved::Kept) => {}
                Err(e) => eprintln!("ticketdiff: saving {key}: {e}"),
            }
        }
        None
    });
    if let Some((d, small, saved_in)) = new {
        report(&d, &small, saved_in.as_deref());
    }
}

/// Panics through a function named for the signature's backend and field, then one named for
/// its op (or `tickets`/`session`) and one for its direction, with the signature and reproducer
/// in the message: the top frames differ between signatures.
fn report(d: &Divergence, program: &Program, saved_in: Option<&std::path::Path>) -> ! {
    let saved = match saved_in {
        Some(dir) => format!("saved in {}", dir.display()),
        None => "(not saved: this target reads a packed diff/)".to_string(),
    };
    let message = format!(
        "ticketdiff: new divergence {}\n{d}\nminimized reproducer {saved}:\n{program}",
        d.signature
    );
    let s = &d.signature;
    #[allow(clippy::unused_unit)]
    let next = |m: &str| -> () { by_op(&s.op, &s.relation, m) };
    match (s.backend.as_str(), d.field) {
        ("rustls", Field::Ret) => rustls_ret(&message, next),
        ("rustls", Field::Issued) => rustls_issued(&message, next),
        ("rustls", Field::Received) => rustls_received(&message, next),
        ("rustls", Field::Resumed) => rustls_resumed(&message, next),
        (_, Field::Ret) => native_ret(&message, next),
        (_, Field::Issued) => native_issued(&message, next),
        (_, Field::Received) => native_received(&message, next),
        (_, Field::Resumed) => native_resumed(&message, next),
    }
}

macro_rules! frames {
    ($($name:ident),* $(,)?) => {$(
        #[inline(never)]
        #[cold]
        fn $name(message: &str, next: impl FnOnce(&str)) -> ! {
            next(std::hint::black_box(message));
            unreachable!("the next frame panics")
        }
    )*};
}

frames!(
    rustls_ret,
    rustls_issued,
    rustls_received,
    rustls_resumed,
    native_ret,
    native_issued,
    native_received,
    native_resumed,
    op_ctx_set_num_tickets,
    op_ctx_get_num_tickets,
    op_connect,
    op_set_num_tickets,
    op_get_num_tickets,
    op_handshake,
    op_client_step,
    op_server_do_handshake,
    op_new_session_ticket,
    op_server_write,
    op_server_read,
    op_client_read,
    op_client_write,
    op_verify_client_post_handshake,
    op_shutdown,
    op_tickets,
    op_session,
    op_other,
);

fn by_op(op: &str, relation: &str, message: &str) -> ! {
    #[allow(clippy::unused_unit)]
    let last = |m: &str| -> () { by_relation(relation, m) };
    match op {
        "ctx_set_num_tickets" => op_ctx_set_num_tickets(message, last),
        "ctx_get_num_tickets" => op_ctx_get_num_tickets(message, last),
        "connect" => op_connect(message, last),
        "set_num_tickets" => op_set_num_tickets(message, last),
        "get_num_tickets" => op_get_num_tickets(message, last),
        "handshake" => op_handshake(message, last),
        "client_step" => op_client_step(message, last),
        "server_do_handshake" => op_server_do_handshake(message, last),
        "new_session_ticket" => op_new_session_ticket(message, last),
        "server_write" => op_server_write(message, last),
        "server_read" => op_server_read(message, last),
        "client_read" => op_client_read(message, last),
        "client_write" => op_client_write(message, last),
        "verify_client_post_handshake" => op_verify_client_post_handshake(message, last),
        "shutdown" => op_shutdown(message, last),
        "tickets" => op_tickets(message, last),
        "session" => op_session(message, last),
        _ => op_other(message, last),
    }
}

macro_rules! last_frames {
    ($($name:ident),* $(,)?) => {$(
        #[inline(never)]
        #[cold]
        fn $name(message: &str) -> ! {
            // honggfuzz groups crashes by the top frames, which for a panic are the panic
            // machinery: aborting here keeps this function on top, one crash per signature.
            if std::env::var_os("TICKETDIFF_ABORT_ON_NEW").is_some() {
                eprintln!("{message}");
                std::process::abort();
            }
            panic!("{message}")
        }
    )*};
}

last_frames!(
    more_in_handshake,
    more_in_handshake_resumed,
    more_after_handshake,
    more_after_handshake_resumed,
    fewer_in_handshake,
    fewer_after_handshake,
    returned_otherwise,
);

fn by_relation(relation: &str, message: &str) -> ! {
    match relation {
        "more-in-handshake" => more_in_handshake(message),
        "more-in-handshake-resumed" => more_in_handshake_resumed(message),
        "more-after-handshake" => more_after_handshake(message),
        "more-after-handshake-resumed" => more_after_handshake_resumed(message),
        "fewer-in-handshake" => fewer_in_handshake(message),
        "fewer-after-handshake" => fewer_after_handshake(message),
        _ => returned_otherwise(message),
    }
}
