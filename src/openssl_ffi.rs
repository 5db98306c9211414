//! OpenSSL functions the `openssl` crate does not bind, and safe wrappers around the raw calls
//! whose return codes the harness must see unfiltered. The only module with `unsafe`.
//!
//! Every wrapper clears the thread's error queue first: `SSL_get_error` looks at that queue, and
//! a leftover entry from an earlier call would turn a would-block into a failure.

#![allow(unsafe_code)]

use crate::backend::{EarlyRead, Outcome};
use crate::program::{CacheMode, Options, SslOption, TicketDec, TicketGen};
use crate::trace::EarlyStatus;
use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslContextRef, SslRef, SslSession, SslSessionRef,
};
use openssl_sys as sys;
use std::ffi::{c_int, c_long, c_uchar, c_void, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

pub mod repeatable_rand;

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
    fn SSL_CTX_set_session_ticket_cb(
        ctx: *mut sys::SSL_CTX,
        gen_cb: Option<GenerateTicketCallback>,
        dec_cb: Option<DecryptTicketCallback>,
        arg: *mut c_void,
    ) -> c_int;
    fn SSL_key_update(s: *mut sys::SSL, updatetype: c_int) -> c_int;
    fn SSL_get_early_data_status(s: *const sys::SSL) -> c_int;
    fn SSL_SESSION_dup(src: *const sys::SSL_SESSION) -> *mut sys::SSL_SESSION;
    fn SSL_set_options(s: *mut sys::SSL, op: u64) -> u64;
}

type GenerateTicketCallback = unsafe extern "C" fn(s: *mut sys::SSL, arg: *mut c_void) -> c_int;
type DecryptTicketCallback = unsafe extern "C" fn(
    s: *mut sys::SSL,
    ss: *mut sys::SSL_SESSION,
    keyname: *const c_uchar,
    keyname_length: usize,
    status: c_int,
    arg: *mut c_void,
) -> c_int;

// `SSL_OP_*` as OpenSSL 3 defines them (64-bit; the crate's type follows the version).
const SSL_OP_ALLOW_NO_DHE_KEX: u64 = 1 << 10;
const SSL_OP_NO_TICKET: u64 = 1 << 14;
const SSL_OP_NO_ANTI_REPLAY: u64 = 1 << 24;
const SSL_SESS_CACHE_OFF: c_long = 0;
const SSL_SESS_CACHE_SERVER: c_long = 2;
const SSL_KEY_UPDATE_NOT_REQUESTED: c_int = 0;
const SSL_KEY_UPDATE_REQUESTED: c_int = 1;
const SSL_EARLY_DATA_REJECTED: c_int = 1;
const SSL_EARLY_DATA_ACCEPTED: c_int = 2;
const SSL_TICKET_SUCCESS: c_int = 5;
const SSL_TICKET_SUCCESS_RENEW: c_int = 6;
const SSL_TICKET_RETURN_ABORT: c_int = 0;
const SSL_TICKET_RETURN_IGNORE: c_int = 1;
const SSL_TICKET_RETURN_IGNORE_RENEW: c_int = 2;
const SSL_TICKET_RETURN_USE: c_int = 3;
const SSL_TICKET_RETURN_USE_RENEW: c_int = 4;

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

/// `SSL_write_ex` and `SSL_write_early_data`, which take the same arguments.
type WriteCall = unsafe extern "C" fn(*mut sys::SSL, *const c_void, usize, *mut usize) -> c_int;

fn write_with(call: WriteCall, ssl: &SslRef, buf: &[u8]) -> Outcome {
    clear_errors();
    let mut written = 0usize;
    // SAFETY: live SSL; `buf` is valid for `buf.len()` bytes; `written` outlives the call.
    let ret = unsafe {
        call(
            ssl.as_ptr(),
            buf.as_ptr() as *const c_void,
            buf.len(),
            &mut written,
        )
    };
    outcome(ssl, ret, written)
}

/// `SSL_write_ex`, including with an empty buffer (which the crate's `ssl_write` skips).
pub fn write_ex(ssl: &SslRef, buf: &[u8]) -> Outcome {
    write_with(sys::SSL_write_ex, ssl, buf)
}

/// `SSL_read_ex` and `SSL_read_early_data`, which take the same arguments.
type ReadCall = unsafe extern "C" fn(*mut sys::SSL, *mut c_void, usize, *mut usize) -> c_int;

/// The call's return value and the bytes it read.
fn read_with(call: ReadCall, ssl: &SslRef, buf: &mut [u8]) -> (c_int, usize) {
    clear_errors();
    let mut read = 0usize;
    // SAFETY: live SSL; `buf` is writable for `buf.len()` bytes; `read` outlives the call.
    let ret = unsafe {
        call(
            ssl.as_ptr(),
            buf.as_mut_ptr() as *mut c_void,
            buf.len(),
            &mut read,
        )
    };
    (ret, read)
}

/// `SSL_read_ex`.
pub fn read_ex(ssl: &SslRef, buf: &mut [u8]) -> Outcome {
    let (ret, read) = read_with(sys::SSL_read_ex, ssl, buf);
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

/// The `SSL_OP_*` bits of these options.
fn option_bits(options: Options) -> u64 {
    options
        .iter()
        .map(|o| match o {
            SslOption::NoTicket => SSL_OP_NO_TICKET,
            SslOption::NoAntiReplay => SSL_OP_NO_ANTI_REPLAY,
            SslOption::AllowNoDheKex => SSL_OP_ALLOW_NO_DHE_KEX,
        })
        .fold(0, |bits, bit| bits | bit)
}

// The context setters below change a built context in place, like `ctx_set_num_tickets` and
// for the same reason (the program's context keeps its session cache and ticket keys between
// ops); they are crate-private and take `&mut` on the same terms.

/// `SSL_CTX_set_options`.
pub(crate) fn ctx_set_options(ctx: &mut SslContextRef, options: Options) {
    // SAFETY: live SSL_CTX; a plain bit-or in OpenSSL; sole user (see `ctx_set_num_tickets`).
    unsafe { sys::SSL_CTX_set_options(ctx.as_ptr(), option_bits(options) as _) };
}

/// `SSL_CTX_clear_options`.
pub(crate) fn ctx_clear_options(ctx: &mut SslContextRef, options: Options) {
    // SAFETY: as `ctx_set_options`.
    unsafe { sys::SSL_CTX_clear_options(ctx.as_ptr(), option_bits(options) as _) };
}

/// `SSL_CTX_set_ciphersuites`, its return value.
pub(crate) fn ctx_set_ciphersuites(ctx: &mut SslContextRef, list: &str) -> i32 {
    let Ok(list) = CString::new(list) else {
        return 0;
    };
    clear_errors();
    // SAFETY: live SSL_CTX, NUL-terminated string that outlives the call; sole user.
    unsafe { sys::SSL_CTX_set_ciphersuites(ctx.as_ptr(), list.as_ptr()) }
}

/// `SSL_CTX_set_max_early_data`, its return value.
pub(crate) fn ctx_set_max_early_data(ctx: &mut SslContextRef, n: u32) -> i32 {
    // SAFETY: live SSL_CTX; a plain assignment; sole user.
    unsafe { sys::SSL_CTX_set_max_early_data(ctx.as_ptr(), n) }
}

/// `SSL_CTX_set_session_cache_mode`.
pub(crate) fn ctx_set_session_cache_mode(ctx: &mut SslContextRef, mode: CacheMode) {
    let mode = match mode {
        CacheMode::Off => SSL_SESS_CACHE_OFF,
        CacheMode::Server => SSL_SESS_CACHE_SERVER,
    };
    // SAFETY: live SSL_CTX; a plain assignment; sole user.
    unsafe { sys::SSL_CTX_set_session_cache_mode(ctx.as_ptr(), mode) };
}

/// The program's two ticket callback results, carried in the callbacks' `arg` pointer itself
/// (no allocation whose lifetime would have to match the context's): the decrypt result's
/// `SSL_TICKET_RETURN_*` in the low byte, whether generation succeeds in the next one.
fn ticket_cb_arg(gen: TicketGen, dec: TicketDec) -> *mut c_void {
    let ret = match dec {
        TicketDec::Use => SSL_TICKET_RETURN_USE,
        TicketDec::UseRenew => SSL_TICKET_RETURN_USE_RENEW,
        TicketDec::Ignore => SSL_TICKET_RETURN_IGNORE,
        TicketDec::IgnoreRenew => SSL_TICKET_RETURN_IGNORE_RENEW,
        TicketDec::Abort => SSL_TICKET_RETURN_ABORT,
    } as usize;
    let ok = usize::from(gen == TicketGen::Ok);
    // The value is never dereferenced: an integer in pointer clothing.
    (ok << 8 | ret) as *mut c_void
}

unsafe extern "C" fn generate_ticket(_s: *mut sys::SSL, arg: *mut c_void) -> c_int {
    ((arg as usize) >> 8 & 1) as c_int
}

unsafe extern "C" fn decrypt_ticket(
    _s: *mut sys::SSL,
    _ss: *mut sys::SSL_SESSION,
    _keyname: *const c_uchar,
    _keyname_length: usize,
    status: c_int,
    arg: *mut c_void,
) -> c_int {
    match status {
        SSL_TICKET_SUCCESS | SSL_TICKET_SUCCESS_RENEW => (arg as usize & 0xff) as c_int,
        _ => SSL_TICKET_RETURN_IGNORE_RENEW,
    }
}

/// `SSL_CTX_set_session_ticket_cb` with callbacks returning what the program chose.
pub(crate) fn ctx_set_ticket_cb(ctx: &mut SslContextRef, gen: TicketGen, dec: TicketDec) -> i32 {
    // SAFETY: live SSL_CTX; sole user; the callbacks never dereference `arg` (see
    // `ticket_cb_arg`) and only read their integer arguments.
    unsafe {
        SSL_CTX_set_session_ticket_cb(
            ctx.as_ptr(),
            Some(generate_ticket),
            Some(decrypt_ticket),
            ticket_cb_arg(gen, dec),
        )
    }
}

/// One `SSL_read_early_data` (server side).
pub fn read_early_data(ssl: &SslRef, buf: &mut [u8]) -> EarlyRead {
    match read_with(sys::SSL_read_early_data, ssl, buf) {
        (sys::SSL_READ_EARLY_DATA_SUCCESS, read) => EarlyRead::Read(read),
        (sys::SSL_READ_EARLY_DATA_FINISH, _) => EarlyRead::Finish,
        _ => EarlyRead::Error,
    }
}

/// One `SSL_write_early_data` (client side).
pub fn write_early_data(ssl: &SslRef, buf: &[u8]) -> Outcome {
    write_with(sys::SSL_write_early_data, ssl, buf)
}

/// `SSL_key_update`, its return value.
pub fn key_update(ssl: &SslRef, requested: bool) -> i32 {
    let kind = if requested {
        SSL_KEY_UPDATE_REQUESTED
    } else {
        SSL_KEY_UPDATE_NOT_REQUESTED
    };
    clear_errors();
    // SAFETY: live SSL.
    unsafe { SSL_key_update(ssl.as_ptr(), kind) }
}

/// `SSL_get_early_data_status`.
pub fn early_data_status(ssl: &SslRef) -> EarlyStatus {
    // SAFETY: live SSL; a plain read.
    match unsafe { SSL_get_early_data_status(ssl.as_ptr()) } {
        SSL_EARLY_DATA_ACCEPTED => EarlyStatus::Accepted,
        SSL_EARLY_DATA_REJECTED => EarlyStatus::Rejected,
        _ => EarlyStatus::NotSent,
    }
}

/// `SSL_set_options` on one `SSL`.
pub fn set_options(ssl: &SslRef, options: Options) {
    // SAFETY: live SSL; a plain bit-or.
    unsafe { SSL_set_options(ssl.as_ptr(), option_bits(options)) };
}

/// `SSL_set_ciphersuites`, whether it succeeded (on failure the `SSL` keeps its list).
pub fn set_ciphersuites(ssl: &SslRef, list: &str) -> bool {
    let Ok(list) = CString::new(list) else {
        return false;
    };
    clear_errors();
    // SAFETY: live SSL; NUL-terminated string that outlives the call.
    unsafe { sys::SSL_set_ciphersuites(ssl.as_ptr(), list.as_ptr()) == 1 }
}

/// `SSL_set1_groups_list`, whether it succeeded (on failure the `SSL` keeps its list).
pub fn set_groups_list(ssl: &SslRef, list: &str) -> bool {
    let Ok(list) = CString::new(list) else {
        return false;
    };
    clear_errors();
    // SAFETY: live SSL; NUL-terminated string that outlives the call (OpenSSL copies it).
    unsafe { sys::SSL_set1_groups_list(ssl.as_ptr(), list.as_ptr()) == 1 }
}

impl ClientSession {
    /// `SSL_SESSION_dup`: a copy that later use of `self` does not touch, for the same
    /// context.
    pub fn dup(&self) -> ClientSession {
        // SAFETY: a live session; `SSL_SESSION_dup` returns a new session we own, or null.
        let copy = unsafe { SSL_SESSION_dup(self.session.as_ptr()) };
        assert!(!copy.is_null(), "SSL_SESSION_dup: out of memory");
        ClientSession {
            // SAFETY: `copy` is a non-null session with one reference, now owned here.
            session: unsafe { SslSession::from_ptr(copy) },
            ctx: self.ctx.clone(),
        }
    }
}
