//! What the libFuzzer and honggfuzz targets do with one input, so that each target is a few
//! lines of glue.
//!
//! An input that is a valid `.tkt` program is taken as that program (so `corpus/` seeds the
//! fuzzers directly); anything else is decoded structure-aware with `Arbitrary`. A divergence
//! whose signature is not in the store yet is minimized and saved, then the target panics from
//! a chain of functions chosen by the signature's parts, so crash deduplication by stack (as
//! libFuzzer and OSS-Fuzz do) tells different causes apart. Known signatures do not panic: the
//! fuzzer keeps looking for new ones.

use crate::backend::BackendId;
use crate::finding::{Direction, Finding, Phase, RetOther, Signature, TicketField};
use crate::minimize::Kept;
use crate::program::{parse, OpKind, Program};
use crate::runner::Runner;
use crate::store::{self, Saved};
use crate::triage::{triage, Destination};
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
    if let Some(dir) = or_exit(crate::env::diff_dir()) {
        return (dir, true);
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
fn backends() -> Vec<BackendId> {
    or_exit(crate::env::backends()).unwrap_or_else(|| BackendId::DEFAULT.to_vec())
}

/// A target that cannot start says why in one line and exits 2, as the command line does: a
/// panic would be taken for a finding, and its text is debug output.
fn or_exit<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| {
        eprintln!("ticketdiff fuzz target: {e}");
        std::process::exit(2)
    })
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
    known: HashSet<Signature>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let state = slot.get_or_insert_with(|| {
            or_exit(crate::env::check_all());
            let (dir, save) = store_dir();
            let known = store::read_dir(&dir)
                .unwrap_or_default()
                .into_iter()
                .filter_map(Result::ok)
                .map(|f| f.signature())
                .collect();
            State {
                runner: or_exit(Runner::new(&backends())),
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
        if !results.any_divergence() {
            return None;
        }
        let (known, dir) = (&mut state.known, &state.dir);
        let claim = |signature: Signature| {
            // Another process may have saved it meanwhile.
            known.insert(signature) && !store::entry_path(dir, &signature).exists()
        };
        let to = Destination {
            dir: &state.dir,
            save: state.save,
            found_by,
        };
        let found = triage(&mut state.runner, &program, &results, claim, &to);
        // A divergence that did not show again is not reported: a crash must reproduce.
        let mut kept = found
            .into_iter()
            .filter(|new| !matches!(new.kept, Kept::Nothing { .. }));
        kept.find_map(|new| match new.saved {
            None | Some(Ok(Saved::New | Saved::Improved)) => Some(new.finding),
            Some(Ok(Saved::Kept)) => None,
            Some(Err(e)) => {
                eprintln!("ticketdiff: saving {}: {e}", new.finding.signature());
                None
            }
        })
    });
    if let Some(finding) = new {
        report(&finding);
    }
}

/// Panics through a chain of functions named for the signature's backend, its kind, its op and
/// its relation, with the signature and reproducer in the message: the top frames differ between
/// signatures. Every choice is an exhaustive `match`, so a new backend, op or kind of signature
/// does not compile until it has its frame.
fn report(finding: &Finding) -> ! {
    let saved = match &finding.file {
        Some(file) => format!("saved as {}", file.display()),
        None => "(not saved: this target reads a packed diff/)".to_string(),
    };
    let s = finding.signature();
    let message = format!(
        "ticketdiff: new divergence {s}\n{}\nminimized reproducer {saved}:\n{}",
        finding.divergence, finding.program
    );
    #[allow(clippy::unused_unit)]
    let next = |m: &str| -> () { by_kind(s, m) };
    match s.backend() {
        BackendId::Openssl => backend_openssl(&message, next),
        BackendId::Native => backend_native(&message, next),
        BackendId::Rustls => backend_rustls(&message, next),
        BackendId::OpensslWorker => backend_openssl_worker(&message, next),
        BackendId::Openssl36 => backend_openssl_3_6(&message, next),
        BackendId::Openssl40 => backend_openssl_4_0(&message, next),
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
    backend_openssl,
    backend_native,
    backend_rustls,
    backend_openssl_worker,
    backend_openssl_3_6,
    backend_openssl_4_0,
    kind_ret,
    kind_issued,
    kind_received,
    kind_session,
    kind_notified,
    kind_early,
    kind_crash,
    kind_hang,
    op_ctx_set_num_tickets,
    op_ctx_get_num_tickets,
    op_connect,
    op_set_num_tickets,
    op_get_num_tickets,
    op_handshake,
    op_client_step,
    op_server_step,
    op_new_session_ticket,
    op_server_write,
    op_server_read,
    op_server_do_handshake,
    op_client_read,
    op_client_write,
    op_verify_client_post_handshake,
    op_shutdown,
    op_ctx_set_options,
    op_ctx_clear_options,
    op_ctx_set_ciphersuites,
    op_ctx_set_max_early_data,
    op_ctx_set_session_cache_mode,
    op_ctx_set_ticket_cb,
    op_server_read_early,
    op_key_update,
);

fn by_kind(s: Signature, message: &str) -> ! {
    #[allow(clippy::unused_unit)]
    let last = |m: &str| -> () { by_relation(s, m) };
    match s {
        Signature::Ret { op, .. } => kind_ret(message, |m| by_op(op, s, m)),
        Signature::Tickets {
            field: TicketField::Issued,
            ..
        } => kind_issued(message, last),
        Signature::Tickets {
            field: TicketField::Received,
            ..
        } => kind_received(message, last),
        Signature::Session { .. } => kind_session(message, last),
        Signature::Notified { .. } => kind_notified(message, last),
        Signature::Early { .. } => kind_early(message, last),
        Signature::Crash { op, .. } => kind_crash(message, |m| by_op(op, s, m)),
        Signature::Hang { op, .. } => kind_hang(message, |m| by_op(op, s, m)),
    }
}

fn by_op(op: OpKind, s: Signature, message: &str) -> ! {
    #[allow(clippy::unused_unit)]
    let last = |m: &str| -> () { by_relation(s, m) };
    match op {
        OpKind::CtxSetNumTickets => op_ctx_set_num_tickets(message, last),
        OpKind::CtxGetNumTickets => op_ctx_get_num_tickets(message, last),
        OpKind::Connect => op_connect(message, last),
        OpKind::SetNumTickets => op_set_num_tickets(message, last),
        OpKind::GetNumTickets => op_get_num_tickets(message, last),
        OpKind::Handshake => op_handshake(message, last),
        OpKind::ClientStep => op_client_step(message, last),
        OpKind::ServerStep => op_server_step(message, last),
        OpKind::NewSessionTicket => op_new_session_ticket(message, last),
        OpKind::ServerWrite => op_server_write(message, last),
        OpKind::ServerRead => op_server_read(message, last),
        OpKind::ServerDoHandshake => op_server_do_handshake(message, last),
        OpKind::ClientRead => op_client_read(message, last),
        OpKind::ClientWrite => op_client_write(message, last),
        OpKind::VerifyClientPostHandshake => op_verify_client_post_handshake(message, last),
        OpKind::Shutdown => op_shutdown(message, last),
        OpKind::CtxSetOptions => op_ctx_set_options(message, last),
        OpKind::CtxClearOptions => op_ctx_clear_options(message, last),
        OpKind::CtxSetCiphersuites => op_ctx_set_ciphersuites(message, last),
        OpKind::CtxSetMaxEarlyData => op_ctx_set_max_early_data(message, last),
        OpKind::CtxSetSessionCacheMode => op_ctx_set_session_cache_mode(message, last),
        OpKind::CtxSetTicketCb => op_ctx_set_ticket_cb(message, last),
        OpKind::ServerReadEarly => op_server_read_early(message, last),
        OpKind::KeyUpdate => op_key_update(message, last),
    }
}

macro_rules! last_frames {
    ($($name:ident),* $(,)?) => {$(
        #[inline(never)]
        #[cold]
        fn $name(message: &str) -> ! {
            // honggfuzz groups crashes by the top frames, which for a panic are the panic
            // machinery: aborting here keeps this function on top, one crash per signature.
            if or_exit(crate::env::abort_on_new()) {
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
    returned_more,
    returned_fewer,
    returned_otherwise,
    resumed_otherwise,
    notified_more,
    notified_fewer,
    early_otherwise,
    crashed,
    hung,
);

fn by_relation(s: Signature, message: &str) -> ! {
    use {Direction::*, Phase::*};
    match s {
        Signature::Tickets {
            direction,
            phase,
            over_resumed_cap,
            ..
        } => match (direction, phase, over_resumed_cap) {
            (More, InHandshake, false) => more_in_handshake(message),
            (More, InHandshake, true) => more_in_handshake_resumed(message),
            (More, AfterHandshake, false) => more_after_handshake(message),
            (More, AfterHandshake, true) => more_after_handshake_resumed(message),
            // Fewer tickets never break the cap.
            (Fewer, InHandshake, _) => fewer_in_handshake(message),
            (Fewer, AfterHandshake, _) => fewer_after_handshake(message),
        },
        Signature::Ret { other, .. } => match other {
            RetOther::More => returned_more(message),
            RetOther::Fewer => returned_fewer(message),
            RetOther::Class(_) => returned_otherwise(message),
        },
        Signature::Session { .. } => resumed_otherwise(message),
        Signature::Notified { direction, .. } => match direction {
            More => notified_more(message),
            Fewer => notified_fewer(message),
        },
        Signature::Early { .. } => early_otherwise(message),
        Signature::Crash { .. } => crashed(message),
        Signature::Hang { .. } => hung(message),
    }
}
