//! Backends: a server library driven through OpenSSL's ticket API.
//!
//! A backend implements [`Server`] (the `SSL_CTX` side) and [`ServerConn`] (one `SSL`). The
//! [`Harness`](crate::harness::Harness) runs programs against any of them with the same OpenSSL
//! client over the same in-memory wire, so what the client observes is measured the same way
//! everywhere.

mod id;
pub mod native;
pub mod openssl;
pub mod rustls;

pub use id::{BackendId, UnknownBackend};

use crate::program::{CtxConfig, Op, Program};
use crate::trace::EarlyStatus;
use crate::wire::Endpoint;

/// What an I/O-driving call on a TLS object came to: OpenSSL's return value read through
/// `SSL_get_error`. One type for every backend and the client; it is the native server's
/// OpenSSL-shaped API's own, since that module imports nothing from the rest of the crate.
pub use crate::native::api::Outcome;

/// What one `SSL_read_early_data` call came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EarlyRead {
    /// `SSL_READ_EARLY_DATA_SUCCESS` with this many bytes.
    Read(usize),
    /// `SSL_READ_EARLY_DATA_FINISH`: no more early data.
    Finish,
    /// `SSL_READ_EARLY_DATA_ERROR`, would-block included.
    Error,
}

/// Why a backend skips a version 2 op it does not implement yet.
pub const V2_NOT_YET: &str = "this backend does not implement the format's version 2 ops yet";

/// How a backend in a worker process failed to answer a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The worker died: killed by a signal, or exited (the text says which).
    Crashed(String),
    /// The worker did not answer within the time one call may take.
    Hung { after_ms: u64 },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Crashed(how) => write!(f, "its worker crashed ({how})"),
            Failure::Hung { after_ms } => {
                write!(f, "its worker did not answer within {after_ms} ms")
            }
        }
    }
}

/// A run that a backend could not finish: the steps before the op during which it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unfinished {
    pub steps: crate::trace::Trace,
    /// The index of the op it failed in.
    pub at: usize,
    pub failure: Failure,
}

/// The server library under test, at the level of an `SSL_CTX`.
pub trait Server {
    /// Which backend this is.
    fn id(&self) -> BackendId;
    /// The library and its version, e.g. `OpenSSL 3.0.19 27 Jan 2026`.
    fn version(&self) -> &'static str;
    /// Why this backend cannot run `op` faithfully, if it cannot; such programs are skipped.
    fn unsupported(&self, _op: &Op) -> Option<&'static str> {
        None
    }
    /// Makes the context as fresh as a new one: default count, no remembered sessions.
    fn reset(&mut self);
    /// `SSL_CTX_set_num_tickets`.
    fn ctx_set_num_tickets(&mut self, n: u64) -> i64;
    /// `SSL_CTX_get_num_tickets`.
    fn ctx_get_num_tickets(&self) -> u64;
    /// A version 2 context op (`SSL_CTX_set_options`, `SSL_CTX_set_ciphersuites`, ...): its
    /// `ret`.
    fn configure(&mut self, setting: CtxConfig) -> i64;
    /// Calls of the context's new-session callback since the last `reset`.
    fn notified(&self) -> u64;
    /// `SSL_new` on the context, with the server end of a fresh wire as its transport.
    fn accept(&mut self, transport: Endpoint) -> Box<dyn ServerConn>;
    /// Whether the library stopped answering since the last `reset` (a worker that crashed or
    /// hung); calls made after that returned placeholders. In process, never.
    fn failure(&self) -> Option<Failure> {
        None
    }
}

/// A boxed server is a server: the registry hands servers out boxed.
impl<S: Server + ?Sized> Server for Box<S> {
    fn id(&self) -> BackendId {
        (**self).id()
    }
    fn version(&self) -> &'static str {
        (**self).version()
    }
    fn unsupported(&self, op: &Op) -> Option<&'static str> {
        (**self).unsupported(op)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn ctx_set_num_tickets(&mut self, n: u64) -> i64 {
        (**self).ctx_set_num_tickets(n)
    }
    fn ctx_get_num_tickets(&self) -> u64 {
        (**self).ctx_get_num_tickets()
    }
    fn configure(&mut self, setting: CtxConfig) -> i64 {
        (**self).configure(setting)
    }
    fn notified(&self) -> u64 {
        (**self).notified()
    }
    fn accept(&mut self, transport: Endpoint) -> Box<dyn ServerConn> {
        (**self).accept(transport)
    }
    fn failure(&self) -> Option<Failure> {
        (**self).failure()
    }
}

/// One server connection, at the level of an `SSL`.
pub trait ServerConn {
    /// `SSL_set_num_tickets`.
    fn set_num_tickets(&mut self, n: u64) -> i64;
    /// `SSL_get_num_tickets`.
    fn get_num_tickets(&self) -> u64;
    /// `SSL_do_handshake`.
    fn do_handshake(&mut self) -> Outcome;
    /// `SSL_new_session_ticket`.
    fn new_session_ticket(&mut self) -> i64;
    /// `SSL_write_ex` of `data` (possibly empty).
    fn write(&mut self, data: &[u8]) -> Outcome;
    /// One `SSL_read_ex` into `buf`.
    fn read(&mut self, buf: &mut [u8]) -> Outcome;
    /// `SSL_verify_client_post_handshake`.
    fn verify_client_post_handshake(&mut self) -> i64;
    /// One `SSL_read_early_data` into `buf`.
    fn read_early_data(&mut self, buf: &mut [u8]) -> EarlyRead;
    /// `SSL_key_update`, its return value.
    fn key_update(&mut self, requested: bool) -> i64;
    /// `SSL_get_early_data_status`.
    fn early_data_status(&self) -> EarlyStatus;
    /// `SSL_shutdown`, its return value.
    fn shutdown(&mut self) -> i64;
    /// Whether a close_notify has been sent and whether one has been received.
    fn shutdown_state(&self) -> (bool, bool);
    /// Whether the handshake is finished right now (`SSL_is_init_finished`).
    fn handshake_finished(&self) -> bool;
    /// Whether the handshake resumed a session (`SSL_session_reused`).
    fn session_reused(&self) -> bool;
    /// NewSessionTicket messages this connection has written to its transport.
    fn tickets_issued(&self) -> u64;
    /// Ends the connection without I/O, keeping the sessions it issued resumable.
    fn close(&mut self);
}

/// A backend as the differential runner sees it: a program in, a trace out.
pub trait Backend {
    fn id(&self) -> BackendId;
    fn version(&self) -> &'static str;
    /// Why this backend cannot run the program, if it cannot (the program is then skipped for
    /// it, never counted as agreeing).
    fn skip_reason(&self, program: &Program) -> Option<String>;
    /// Runs the program from a fresh context; a backend in a worker that crashes or hangs
    /// leaves it unfinished.
    fn run(&mut self, program: &Program) -> Result<crate::trace::Trace, Unfinished>;
    /// Like [`run`](Backend::run), but ends after the first step for which `last` is true
    /// (that step included): a run compared with the oracle's needs nothing past its first
    /// divergence, whose signature is already fixed.
    fn run_until(
        &mut self,
        program: &Program,
        last: &mut dyn FnMut(&crate::trace::Step) -> bool,
    ) -> Result<crate::trace::Trace, Unfinished> {
        let _ = last;
        self.run(program)
    }
    /// Total time spent inside the TLS libraries' calls over every run so far.
    fn tls_time(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}
