//! OpenSSL functions the `openssl` crate does not bind, and safe wrappers around the raw calls
//! whose return codes the harness must see unfiltered. The only module with `unsafe`.
//!
//! Every wrapper clears the thread's error queue first: `SSL_get_error` looks at that queue, and
//! a leftover entry from an earlier call would turn a would-block into a failure.

#![allow(unsafe_code)]

use crate::backend::Outcome;
use foreign_types::ForeignTypeRef;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslContextRef, SslRef, SslSession, SslSessionRef,
};
use openssl_sys as sys;
use std::ffi::{c_int, c_long, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

type MsgCallback = unsafe extern "C" fn(
    write_p: c_int,
    version: c_int,
    content_type: c_int,
    buf: *const c_void,
    len: usize,
    ssl: *mut sys::SSL,
    arg: *mut c_void,
);

extern "C" {
    fn SSL_new_session_ticket(s: *mut sys::SSL) -> c_int;
    fn SSL_verify_client_post_handshake(s: *mut sys::SSL) -> c_int;
    fn SSL_set_post_handshake_auth(s: *mut sys::SSL, val: c_int);
    fn SSL_set_msg_callback(s: *mut sys::SSL, cb: Option<MsgCallback>);
    fn SSL_CTX_flush_sessions(ctx: *mut sys::SSL_CTX, tm: c_long);
}

const SSL3_RT_HANDSHAKE: c_int = 22;
const NEW_SESSION_TICKET: u8 = 4;
const SSL_SENT_SHUTDOWN: c_int = 1;
const SSL_RECEIVED_SHUTDOWN: c_int = 2;

fn outcome(ssl: &SslRef, ret: c_int, moved: usize) -> Outcome {
    if ret == 1 {
        return Outcome::Done(moved);
    }
    // SAFETY: `ssl` is a live SSL for the duration of the borrow.
    match unsafe { sys::SSL_get_error(ssl.as_ptr(), ret) } {
        sys::SSL_ERROR_WANT_READ | sys::SSL_ERROR_WANT_WRITE => Outcome::WouldBlock,
        sys::SSL_ERROR_ZERO_RETURN => Outcome::Closed,
        _ => Outcome::Failed,
    }
}

fn clear_errors() {
    // SAFETY: no preconditions; clears this thread's error queue.
    unsafe { sys::ERR_clear_error() };
}

/// `SSL_do_handshake`.
pub fn do_handshake(ssl: &SslRef) -> Outcome {
    clear_errors();
    // SAFETY: live SSL.
    let ret = unsafe { sys::SSL_do_handshake(ssl.as_ptr()) };
    outcome(ssl, ret, 0)
}

/// `SSL_write_ex`, including with an empty buffer (which the crate's `ssl_write` skips).
pub fn write_ex(ssl: &SslRef, buf: &[u8]) -> Outcome {
    clear_errors();
    let mut written = 0usize;
    // SAFETY: live SSL; `buf` is valid for `buf.len()` bytes; `written` outlives the call.
    let ret = unsafe {
        sys::SSL_write_ex(
            ssl.as_ptr(),
            buf.as_ptr() as *const c_void,
            buf.len(),
            &mut written,
        )
    };
    outcome(ssl, ret, written)
}

/// `SSL_read_ex`.
pub fn read_ex(ssl: &SslRef, buf: &mut [u8]) -> Outcome {
    clear_errors();
    let mut read = 0usize;
    // SAFETY: live SSL; `buf` is writable for `buf.len()` bytes; `read` outlives the call.
    let ret = unsafe {
        sys::SSL_read_ex(
            ssl.as_ptr(),
            buf.as_mut_ptr() as *mut c_void,
            buf.len(),
            &mut read,
        )
    };
    outcome(ssl, ret, read)
}

/// `SSL_shutdown`, its raw return value.
pub fn shutdown(ssl: &SslRef) -> i32 {
    clear_errors();
    // SAFETY: live SSL.
    unsafe { sys::SSL_shutdown(ssl.as_ptr()) }
}

/// Whether this side has sent and has received a close_notify (`SSL_get_shutdown`).
pub fn shutdown_state(ssl: &SslRef) -> (bool, bool) {
    // SAFETY: live SSL.
    let bits = unsafe { sys::SSL_get_shutdown(ssl.as_ptr()) };
    (
        bits & SSL_SENT_SHUTDOWN != 0,
        bits & SSL_RECEIVED_SHUTDOWN != 0,
    )
}

/// Marks both directions shut down without any I/O, so freeing the `SSL` keeps its session
/// resumable (OpenSSL marks a session not resumable when an `SSL` is freed unshut).
pub fn mark_shut_down(ssl: &SslRef) {
    // SAFETY: live SSL.
    unsafe { sys::SSL_set_shutdown(ssl.as_ptr(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN) }
}

/// A session a client received, with the context of that client: `SSL_set_session` may only
/// offer a session on an `SSL` made from the same context. Made only by the callback that
/// [`on_new_session`] installs, where OpenSSL names the receiving `SSL`, so the pair is right by
/// construction.
#[derive(Clone)]
pub struct ClientSession {
    session: SslSession,
    ctx: SslContext,
}

impl ClientSession {
    pub fn session(&self) -> &SslSessionRef {
        &self.session
    }
}

/// Installs the client's new-session callback: `on_session` gets the receiving `SSL` and each
/// session a ticket brings.
pub fn on_new_session(
    builder: &mut SslContextBuilder,
    on_session: impl Fn(&mut SslRef, ClientSession) + Send + Sync + 'static,
) {
    builder.set_new_session_callback(move |ssl, session| {
        let ctx = ssl.ssl_context().to_owned();
        on_session(ssl, ClientSession { session, ctx });
    });
}

/// `SSL_set_session`: the client offers `session` when it connects. False when the session
/// belongs to another context (nothing is called then) or OpenSSL refuses it.
pub fn set_session(ssl: &mut SslRef, session: &ClientSession) -> bool {
    if ssl.ssl_context().as_ptr() != session.ctx.as_ptr() {
        return false;
    }
    // SAFETY: the session was received by a client of `session.ctx` (see `ClientSession`),
    // which is `ssl`'s context, as `SSL_set_session` requires; `session.ctx` is kept alive with
    // it, so the comparison is not fooled by a freed context's address.
    unsafe { ssl.set_session(&session.session).is_ok() }
}

/// `SSL_new_session_ticket`.
pub fn new_session_ticket(ssl: &SslRef) -> i32 {
    clear_errors();
    // SAFETY: live SSL.
    unsafe { SSL_new_session_ticket(ssl.as_ptr()) }
}

/// `SSL_verify_client_post_handshake`.
pub fn verify_client_post_handshake(ssl: &SslRef) -> i32 {
    clear_errors();
    // SAFETY: live SSL.
    unsafe { SSL_verify_client_post_handshake(ssl.as_ptr()) }
}

/// `SSL_set_post_handshake_auth(ssl, 1)`: a client offers post-handshake authentication.
pub fn enable_post_handshake_auth(ssl: &SslRef) {
    // SAFETY: live SSL.
    unsafe { SSL_set_post_handshake_auth(ssl.as_ptr(), 1) }
}

/// `SSL_set_num_tickets`, its raw return value (the crate turns it into a `Result`).
pub fn set_num_tickets(ssl: &SslRef, n: u64) -> i32 {
    // SAFETY: live SSL; a plain assignment in OpenSSL.
    unsafe { sys::SSL_set_num_tickets(ssl.as_ptr(), n as usize) }
}

/// `SSL_CTX_set_num_tickets` on a built context: the program's ctx is reused between programs,
/// so its count is changed in place rather than through a builder. Crate-private: a context is
/// `Sync` and reference-counted, so the write is only sound where, as in the oracle backend,
/// the context was built by its one owner and never shared with another thread.
pub(crate) fn ctx_set_num_tickets(ctx: &mut SslContextRef, n: u64) -> i32 {
    // SAFETY: live SSL_CTX; a plain assignment in OpenSSL; the caller holds the only handle
    // that another thread could use (see above).
    unsafe { sys::SSL_CTX_set_num_tickets(ctx.as_ptr(), n as usize) }
}

/// `SSL_CTX_flush_sessions(ctx, 0)`: forgets every cached session, for a fresh program.
pub fn ctx_flush_sessions(ctx: &SslContextRef) {
    // SAFETY: live SSL_CTX.
    unsafe { SSL_CTX_flush_sessions(ctx.as_ptr(), 0) }
}

/// Counts of NewSessionTicket messages seen by an `SSL`'s message callback.
#[derive(Debug, Default)]
pub struct TicketCounter {
    written: AtomicU64,
    read: AtomicU64,
}

impl TicketCounter {
    /// NewSessionTicket messages this side wrote.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// NewSessionTicket messages this side read and processed.
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

fn counter_index() -> openssl::ex_data::Index<Ssl, Arc<TicketCounter>> {
    static INDEX: OnceLock<openssl::ex_data::Index<Ssl, Arc<TicketCounter>>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index().expect("SSL ex_data index"))
}

unsafe extern "C" fn count_tickets(
    write_p: c_int,
    _version: c_int,
    content_type: c_int,
    buf: *const c_void,
    len: usize,
    ssl: *mut sys::SSL,
    _arg: *mut c_void,
) {
    if content_type != SSL3_RT_HANDSHAKE || len == 0 || buf.is_null() {
        return;
    }
    // SAFETY: OpenSSL passes a buffer of `len` > 0 bytes holding the handshake message.
    if unsafe { *(buf as *const u8) } != NEW_SESSION_TICKET {
        return;
    }
    // SAFETY: OpenSSL passes the live SSL the callback was installed on.
    let ssl = unsafe { SslRef::from_ptr(ssl) };
    if let Some(counter) = ssl.ex_data(counter_index()) {
        let slot = if write_p != 0 {
            &counter.written
        } else {
            &counter.read
        };
        slot.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts every NewSessionTicket handshake message this `SSL` writes or reads, exactly, from
/// OpenSSL's message callback.
pub fn count_new_session_tickets(ssl: &mut SslRef) -> Arc<TicketCounter> {
    let counter = Arc::new(TicketCounter::default());
    ssl.set_ex_data(counter_index(), counter.clone());
    // SAFETY: live SSL; the callback only reads its arguments and the ex_data set above.
    unsafe { SSL_set_msg_callback(ssl.as_ptr(), Some(count_tickets)) };
    counter
}
