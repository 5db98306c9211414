//! OpenSSL's `SSL_CTX`/`SSL` API over the native server, with OpenSSL 3's observable
//! behaviour: return conventions, when calls are allowed, when queued things are written.
//!
//! [`SslContext`] is an `SSL_CTX` (the context's ticket count; new connections copy it).
//! [`Ssl`] is an `SSL` on a transport `T: Read + Write` (a non-blocking socket or anything
//! that returns `WouldBlock`): it owns a [`ServerConnection`], which stays free of I/O, and
//! implements `SSL_do_handshake`, `SSL_read_ex`, `SSL_write_ex`, `SSL_shutdown`,
//! `SSL_new_session_ticket`, `SSL_verify_client_post_handshake` and `SSL_get_shutdown`.
//!
//! How many tickets go out is decided in one place, [`super::tickets`]; this layer only decides
//! *when* the connection may write (OpenSSL's state machine), following OpenSSL 3.0's
//! `ssl/statem` and `ssl/record/rec_layer_s3.c`:
//!
//! - `in_init` is OpenSSL's `SSL_in_init`: true until the handshake (with its tickets) is
//!   written, and again while something post-handshake waits to be written (a
//!   CertificateRequest, queued tickets), or after a fatal error. `SSL_do_handshake`, and
//!   `SSL_read`/`SSL_write` when `in_init` is set, run the state machine, which writes what
//!   waits.
//! - Records are read one at a time, header then body, exactly as OpenSSL reads them without
//!   read-ahead: bytes that belong to later records stay on the transport.
//! - Application data goes out in records of at most 2^14 bytes; a record the transport does
//!   not take whole stays in the write buffer, and the write returns would-block. The retry must
//!   pass at least the bytes already committed (else: fatal, "bad length").

use super::config::{ConnSettings, ServerConfig};
use super::conn::{EarlyDataStatus, EarlyState, ServerConnection};
use super::error::Error;
use super::msgs::content::HANDSHAKE;
use super::record::{HEADER_LEN, MAX_CIPHERTEXT, MAX_FRAGMENT};
use super::suites::ALL_SUITES;
use super::tickets::TicketCallbacks;
use std::io::{self, Read, Write};
use std::sync::Arc;

/// What an I/O-driving call came to (OpenSSL's return value plus `SSL_get_error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success, with the application bytes moved (0 for a finished handshake).
    Done(usize),
    /// `SSL_ERROR_WANT_READ`/`SSL_ERROR_WANT_WRITE`.
    WouldBlock,
    /// `SSL_ERROR_ZERO_RETURN`: the peer's close_notify was read.
    Closed,
    /// `SSL_ERROR_SSL` (or `SSL_ERROR_SYSCALL`).
    Failed,
}

/// An `SSL_CTX`: the configuration every connection shares, with what `SSL_new` copies (the
/// ticket count, options, `max_early_data`) and what connections read when they use it (the
/// suites, the session cache and its mode, the ticket and new-session callbacks).
#[derive(Clone)]
pub struct SslContext {
    config: Arc<ServerConfig>,
    settings: ConnSettings,
}

/// `SSL_OP_*` options this server acts on, as OpenSSL's bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SslOptions(pub u64);

impl SslOptions {
    /// `SSL_OP_NO_TICKET`: stateful TLS 1.3 tickets.
    pub const NO_TICKET: SslOptions = SslOptions(1 << 14);
    /// `SSL_OP_NO_ANTI_REPLAY`: sessions that allow early data resume more than once.
    pub const NO_ANTI_REPLAY: SslOptions = SslOptions(1 << 24);
    /// `SSL_OP_ALLOW_NO_DHE_KEX`: psk_ke resumption.
    pub const ALLOW_NO_DHE_KEX: SslOptions = SslOptions(1 << 10);

    pub fn contains(self, o: SslOptions) -> bool {
        self.0 & o.0 == o.0
    }
}

impl std::ops::BitOr for SslOptions {
    type Output = SslOptions;
    fn bitor(self, o: SslOptions) -> SslOptions {
        SslOptions(self.0 | o.0)
    }
}

/// The two session cache modes this server has (`SSL_SESS_CACHE_OFF`, `SSL_SESS_CACHE_SERVER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionCacheMode {
    Off,
    Server,
}

impl SslContext {
    pub fn new(config: Arc<ServerConfig>) -> SslContext {
        let settings = config.settings();
        SslContext { config, settings }
    }

    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// `SSL_CTX_set_num_tickets`: a plain assignment; 1 for any value.
    pub fn set_num_tickets(&mut self, n: u64) -> i32 {
        self.settings.num_tickets = n;
        1
    }

    /// `SSL_CTX_get_num_tickets`: the configured value.
    pub fn num_tickets(&self) -> u64 {
        self.settings.num_tickets
    }

    /// The options set now (`SSL_CTX_get_options`, for the bits this server knows).
    pub fn options(&self) -> SslOptions {
        let s = &self.settings;
        let bit = |on: bool, o: SslOptions| if on { o.0 } else { 0 };
        SslOptions(
            bit(s.stateful_tickets, SslOptions::NO_TICKET)
                | bit(!s.anti_replay, SslOptions::NO_ANTI_REPLAY)
                | bit(s.allow_psk_ke, SslOptions::ALLOW_NO_DHE_KEX),
        )
    }

    fn store_options(&mut self, o: SslOptions) -> SslOptions {
        self.settings.stateful_tickets = o.contains(SslOptions::NO_TICKET);
        self.settings.anti_replay = !o.contains(SslOptions::NO_ANTI_REPLAY);
        self.settings.allow_psk_ke = o.contains(SslOptions::ALLOW_NO_DHE_KEX);
        self.options()
    }

    /// `SSL_CTX_set_options`: the options afterwards.
    pub fn set_options(&mut self, o: SslOptions) -> SslOptions {
        self.store_options(SslOptions(self.options().0 | o.0))
    }

    /// `SSL_CTX_clear_options`: the options afterwards.
    pub fn clear_options(&mut self, o: SslOptions) -> SslOptions {
        self.store_options(SslOptions(self.options().0 & !o.0))
    }

    /// `SSL_CTX_set_ciphersuites`: colon-separated standard names; 1, or 0 (nothing changed)
    /// if one is not a suite this server has. Connections read the list when the ClientHello
    /// arrives, so it reaches those already made (measured on OpenSSL 3.0.19).
    pub fn set_ciphersuites(&self, list: &str) -> i32 {
        let mut suites = Vec::new();
        for name in list.split(':').filter(|n| !n.is_empty()) {
            match ALL_SUITES.iter().find(|s| s.name == name) {
                Some(s) if !suites.contains(s) => suites.push(*s),
                Some(_) => {}
                None => return 0,
            }
        }
        self.config.set_suites(Some(suites));
        1
    }

    /// `SSL_CTX_set_max_early_data`: 1.
    pub fn set_max_early_data(&mut self, n: u32) -> i32 {
        self.settings.max_early_data = n;
        1
    }

    /// `SSL_CTX_get_max_early_data`.
    pub fn max_early_data(&self) -> u32 {
        self.settings.max_early_data
    }

    /// `SSL_CTX_set_session_cache_mode`: the mode before. Connections read it when they make
    /// a ticket, not at `SSL_new`.
    pub fn set_session_cache_mode(&self, mode: SessionCacheMode) -> SessionCacheMode {
        let before = self.session_cache_mode();
        self.config
            .set_cache_server(mode == SessionCacheMode::Server);
        before
    }

    /// `SSL_CTX_get_session_cache_mode`.
    pub fn session_cache_mode(&self) -> SessionCacheMode {
        match self.config.cache_server() {
            true => SessionCacheMode::Server,
            false => SessionCacheMode::Off,
        }
    }

    /// `SSL_CTX_set_session_ticket_cb` (`None`: no callbacks): 1. Connections call them when
    /// they make or open a ticket.
    pub fn set_session_ticket_cb(&self, cbs: Option<TicketCallbacks>) -> i32 {
        self.config.set_ticket_callbacks(cbs);
        1
    }

    /// Puts back what the context's configuration says for everything connections read from
    /// the context when they use it: suites, cache mode, no ticket callbacks, an empty cache.
    pub fn reset_shared(&self) {
        self.config.set_suites(None);
        self.set_session_cache_mode(SessionCacheMode::Server);
        self.set_session_ticket_cb(None);
        self.flush_sessions();
    }

    /// `SSL_CTX_flush_sessions` with every session expired: the session cache is emptied.
    pub fn flush_sessions(&self) {
        self.config.session_cache().clear();
    }

    /// `SSL_CTX_sess_set_new_cb`: `cb` is called once per ticket made, when it is made (see
    /// [`super::tickets`]).
    pub fn set_new_session_callback(&self, cb: impl Fn() + Send + Sync + 'static) {
        self.config.set_new_session_callback(Some(Arc::new(cb)));
    }

    /// `SSL_new` + `SSL_set_accept_state` + `SSL_set_bio`: copies the context's settings now.
    pub fn new_ssl<T: Read + Write>(&self, transport: T, seed: [u8; 32], now_ms: u64) -> Ssl<T> {
        let mut conn = ServerConnection::with_settings(
            self.config.clone(),
            self.settings.clone(),
            seed,
            now_ms,
        );
        // Each ticket goes to the transport before the next is decided, as in OpenSSL.
        conn.set_manual_tickets(true);
        Ssl {
            conn,
            io: transport,
            wbuf: Vec::new(),
            wbuf_pos: 0,
            wbuf_kind: Pending::None,
            rbuf: Vec::new(),
            held: None,
            app: Vec::new(),
            app_pos: 0,
            in_init: true,
            pha: Pha::Unrequested,
            key_update: None,
            fatal: false,
            sent_shutdown: false,
            received_shutdown: false,
            alert_dispatch: false,
            rwstate: RwState::Nothing,
            tickets_issued: 0,
            started: false,
            flights_seen: 0,
            early_stop_due: false,
            discarded_record: false,
        }
    }
}

/// Where post-handshake authentication is (OpenSSL's `post_handshake_auth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pha {
    /// No request outstanding (`SSL_PHA_EXT_RECEIVED`, or `SSL_PHA_NONE` if not offered).
    Unrequested,
    /// `SSL_verify_client_post_handshake` returned 1; the CertificateRequest is not written yet.
    RequestPending,
    /// The CertificateRequest was written; the client's answer has not been processed.
    Requested,
}

/// What the last transport operation came to (OpenSSL's `rwstate`): after a fatal error,
/// `SSL_get_error` reports a stale want-read/want-write from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RwState {
    Nothing,
    Reading,
    Writing,
}

/// What the write buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    None,
    /// An application-data record of `len` plaintext bytes of a write that had already sent
    /// `committed` bytes in whole records (OpenSSL's `wpend_tot` and `wnum`).
    App {
        committed: usize,
        len: usize,
    },
    /// Handshake records (tickets, CertificateRequest): the state machine finishes them.
    Handshake,
    /// An alert (close_notify, or a fatal one).
    Alert,
}

/// An `SSL` (server side) on transport `T`.
pub struct Ssl<T> {
    conn: ServerConnection,
    io: T,
    /// Bytes already sealed into records and not yet taken by the transport.
    wbuf: Vec<u8>,
    wbuf_pos: usize,
    wbuf_kind: Pending,
    /// The record being read (header, then body).
    rbuf: Vec<u8>,
    /// A whole record read but not processed yet (the state machine had to write first).
    held: Option<Vec<u8>>,
    /// Application data of the last record read, not yet returned.
    app: Vec<u8>,
    app_pos: usize,
    /// OpenSSL's `SSL_in_init`.
    in_init: bool,
    pha: Pha,
    /// A key update waits to be written (`SSL_key_update`): whether it asks the client for one.
    key_update: Option<bool>,
    /// A fatal error ended the connection.
    fatal: bool,
    sent_shutdown: bool,
    received_shutdown: bool,
    /// A close_notify waits to be written.
    alert_dispatch: bool,
    rwstate: RwState,
    /// NewSessionTicket messages handed to the record layer (OpenSSL's message callback runs
    /// then); a ticket the record layer refused (fatal "bad write retry") is not counted.
    tickets_issued: u64,
    /// The state machine has run (OpenSSL: `!SSL_in_before`).
    started: bool,
    /// Server flights seen written by the state machine (see `early_stop_due`).
    flights_seen: u8,
    /// A server flight was made and the state machine has not yet gone past it: OpenSSL's
    /// pre-work of `TLS_ST_EARLY_DATA`, where a handshake run inside `SSL_read_early_data`
    /// stops once the flight is on the transport.
    early_stop_due: bool,
    /// A record read after the client's close_notify was thrown away (see
    /// `read_for_state_machine`).
    discarded_record: bool,
}

/// What one `SSL_read_early_data` call came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EarlyRead {
    /// `SSL_READ_EARLY_DATA_SUCCESS` with this many bytes.
    Success(usize),
    /// `SSL_READ_EARLY_DATA_FINISH`: no (more) early data.
    Finish,
    /// `SSL_READ_EARLY_DATA_ERROR`, would-block included.
    Error,
}

impl<T: Read + Write> Ssl<T> {
    /// The protocol core.
    pub fn connection(&self) -> &ServerConnection {
        &self.conn
    }

    pub fn transport(&self) -> &T {
        &self.io
    }

    /// `SSL_set_num_tickets`: a plain assignment; 1 for any value.
    pub fn set_num_tickets(&mut self, n: u64) -> i32 {
        self.conn.set_num_tickets(n);
        1
    }

    /// `SSL_get_num_tickets`: the configured value.
    pub fn num_tickets(&self) -> u64 {
        self.conn.num_tickets()
    }

    /// NewSessionTicket messages written on this connection.
    pub fn tickets_written(&self) -> u64 {
        self.tickets_issued
    }

    /// `SSL_get_early_data_status`.
    pub fn early_data_status(&self) -> EarlyDataStatus {
        self.conn.info().early_data
    }

    /// `SSL_session_reused`.
    pub fn session_reused(&self) -> bool {
        self.conn.is_resumed()
    }

    /// `SSL_in_init`: also true while the client's answer to a CertificateRequest is only
    /// partly read, and while a run of tickets waits for the transport.
    pub fn in_init(&self) -> bool {
        self.in_init || self.conn.is_client_auth_answer_partial() || self.conn.tickets_owed()
    }

    /// `SSL_is_init_finished`.
    pub fn is_init_finished(&self) -> bool {
        !self.in_init() && self.conn.is_handshake_finished()
    }

    /// `SSL_get_shutdown`: (close_notify sent, close_notify received).
    pub fn get_shutdown(&self) -> (bool, bool) {
        (self.sent_shutdown, self.received_shutdown)
    }

    /// Whether the initial handshake is complete (OpenSSL: `!SSL_IS_FIRST_HANDSHAKE`, the
    /// client's Finished processed).
    fn first_handshake_done(&self) -> bool {
        self.conn.is_handshake_finished()
    }

    fn app_write_pending(&self) -> bool {
        matches!(self.wbuf_kind, Pending::App { .. })
    }

    // --- transport -------------------------------------------------------------------------

    /// Writes the write buffer to the transport. `true` once it is empty.
    fn flush_wbuf(&mut self) -> bool {
        if self.wbuf_pos < self.wbuf.len() {
            self.rwstate = RwState::Writing;
        }
        while self.wbuf_pos < self.wbuf.len() {
            match self.io.write(&self.wbuf[self.wbuf_pos..]) {
                Ok(0) => return false,
                Ok(n) => self.wbuf_pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
            if self.wbuf_pos == self.wbuf.len() {
                self.rwstate = RwState::Nothing;
            }
        }
        self.wbuf.clear();
        self.wbuf_pos = 0;
        self.wbuf_kind = Pending::None;
        true
    }

    /// Moves what the core has for the client into the write buffer and writes it. Handshake
    /// output while an application record waits in the buffer is fatal, as in OpenSSL
    /// ("bad write retry"). `Ok(false)`: it waits for the transport.
    fn emit(&mut self, kind: Pending) -> Result<bool, ()> {
        if !self.conn.has_output() {
            return Ok(self.wbuf_kind != Pending::Handshake || self.flush_wbuf());
        }
        if self.app_write_pending() || self.wbuf_kind == Pending::Alert {
            self.bad_write_retry();
            return Err(());
        }
        self.conn.write_tls(&mut self.wbuf);
        self.tickets_issued = self.conn.tickets_written();
        self.wbuf_kind = kind;
        Ok(self.flush_wbuf())
    }

    /// A fatal error: the alert goes out if it can, and the connection is over.
    fn fail(&mut self, e: Error) {
        self.conn.abort(e);
        self.after_core_error();
    }

    fn after_core_error(&mut self) {
        self.fatal = true;
        self.in_init = true;
        if self.conn.has_output() && !self.app_write_pending() {
            self.conn.write_tls(&mut self.wbuf);
            self.wbuf_kind = Pending::Alert;
            self.flush_wbuf();
        }
    }

    /// Reads one whole record from the transport, header first, then its body; `None` if the
    /// transport has no more bytes for it yet (what was read stays for the next call).
    fn pull_record(&mut self) -> Option<Vec<u8>> {
        if let Some(record) = self.held.take() {
            return Some(record);
        }
        loop {
            let want = if self.rbuf.len() < HEADER_LEN {
                HEADER_LEN
            } else {
                let len = usize::from(u16::from_be_bytes([self.rbuf[3], self.rbuf[4]]));
                if len > MAX_CIPHERTEXT {
                    // The core rejects the header alone (`record_overflow`).
                    return Some(std::mem::take(&mut self.rbuf));
                }
                HEADER_LEN + len
            };
            if self.rbuf.len() >= HEADER_LEN && self.rbuf.len() == want {
                self.rwstate = RwState::Nothing;
                return Some(std::mem::take(&mut self.rbuf));
            }
            let start = self.rbuf.len();
            self.rbuf.resize(want, 0);
            match self.io.read(&mut self.rbuf[start..]) {
                Ok(n) if n > 0 => self.rbuf.truncate(start + n),
                _ => {
                    self.rbuf.truncate(start);
                    self.rwstate = RwState::Reading;
                    return None;
                }
            }
        }
    }

    /// Before a post-handshake message read outside the handshake is processed, the state
    /// machine runs from its idle state and writes what waits: requests queued while an
    /// application write was pending (OpenSSL's `TLS_ST_OK` transition:
    /// `extra_tickets_expected > 0`). `Some(result)` if that did not complete: the record is
    /// kept for the next call.
    fn before_post_handshake_message(&mut self, record: Vec<u8>) -> Result<Vec<u8>, Outcome> {
        if self.in_init()
            || !self.first_handshake_done()
            || self.conn.ticket_policy().queued == 0
            || self.conn.peek_record_type(&record) != Some(HANDSHAKE)
        {
            return Ok(record);
        }
        self.held = Some(record);
        // With an application write pending, the first ticket is made (a request consumed)
        // and refused by the record layer: fatal (see `emit`).
        self.conn.start_ticket_flush();
        match self.write_ticket_run() {
            Outcome::Done(_) => Ok(self.held.take().expect("held above")),
            other => Err(other),
        }
    }

    /// Reads and processes one record for the state machine. The client's close_notify ends
    /// the call with 0 (`Closed`), and so does any record read after it, which is thrown away
    /// (OpenSSL's `ssl3_read_bytes`; an OpenSSL client sends its close_notify in plaintext while
    /// it writes early data, so it can arrive in the middle of the handshake).
    fn read_for_state_machine(&mut self) -> Result<(), Outcome> {
        if self.discarded_record {
            self.rwstate = RwState::Nothing;
            return Err(Outcome::Closed);
        }
        let Some(record) = self.pull_record() else {
            return Err(Outcome::WouldBlock);
        };
        if self.received_shutdown {
            // OpenSSL 3.0 empties the record but never releases it: every later read meets it
            // again, and returns 0 again.
            self.discarded_record = true;
            self.rwstate = RwState::Nothing;
            return Err(Outcome::Closed);
        }
        if self.feed(&record).is_err() {
            return Err(Outcome::Failed);
        }
        if self.received_shutdown {
            return Err(Outcome::Closed);
        }
        Ok(())
    }

    /// Gives one record to the core. `Err` if that failed the connection.
    fn feed(&mut self, record: &[u8]) -> Result<(), ()> {
        match self.conn.read_tls(record) {
            Ok(()) => {
                if self.pha == Pha::Requested && !self.conn.is_client_auth_pending() {
                    self.pha = Pha::Unrequested;
                }
                if self.conn.peer_closed() {
                    self.received_shutdown = true;
                }
                Ok(())
            }
            Err(e) => {
                // A fatal alert received ends the peer's side as a close_notify would
                // (OpenSSL's `ssl3_read_bytes` sets SSL_RECEIVED_SHUTDOWN): this read fails,
                // and every later `SSL_read` returns 0.
                if matches!(e, Error::PeerAlert(_)) {
                    self.received_shutdown = true;
                }
                self.after_core_error();
                Err(())
            }
        }
    }

    // --- the state machine -----------------------------------------------------------------

    /// OpenSSL's `handshake_func` (`ossl_statem_accept`): runs the handshake, or writes what
    /// waits after it, then leaves `in_init`.
    fn state_machine(&mut self) -> Outcome {
        self.started = true;
        if self.fatal {
            // "Shouldn't have been called if we're already in the error state": -1 with no
            // error queued, so `SSL_get_error` goes by the last transport operation.
            return match self.rwstate {
                RwState::Nothing => Outcome::Failed,
                RwState::Reading | RwState::Writing => Outcome::WouldBlock,
            };
        }
        if self.wbuf_kind == Pending::Handshake && !self.flush_wbuf() {
            return Outcome::WouldBlock;
        }
        if !self.first_handshake_done() {
            while !self.first_handshake_done() {
                if std::mem::take(&mut self.early_stop_due)
                    && self.conn.early_state() == EarlyState::Accepting
                {
                    // The flight is out: inside `SSL_read_early_data`, the handshake leaves
                    // init here so that early data can be read (OpenSSL's `TLS_ST_EARLY_DATA`
                    // pre-work, `tls_finish_handshake`); the next run goes on reading.
                    self.in_init = false;
                    return Outcome::Done(0);
                }
                if let Err(outcome) = self.read_for_state_machine() {
                    return outcome;
                }
                if self.conn.has_application_data() {
                    // Accepted early data where the handshake expects a message.
                    self.fail(Error::UnexpectedMessage(
                        "application data in the handshake",
                    ));
                    return Outcome::Failed;
                }
                if self.conn.server_flights() > self.flights_seen {
                    self.flights_seen = self.conn.server_flights();
                    self.early_stop_due = true;
                }
                // The server's flight.
                match self.emit(Pending::Handshake) {
                    Err(()) => return Outcome::Failed,
                    Ok(false) => return Outcome::WouldBlock,
                    Ok(true) => {}
                }
            }
            // The client's Finished was processed: the tickets it calls for.
            return self.write_ticket_run();
        }
        if self.conn.is_client_auth_answer_partial() {
            // The rest of the client's answer to the CertificateRequest.
            while self.conn.is_client_auth_answer_partial() {
                if let Err(outcome) = self.read_for_state_machine() {
                    return outcome;
                }
            }
        }
        if self.conn.tickets_owed() {
            // A run of tickets (after the client's post-handshake Finished, or one the
            // transport interrupted) ends this run of the state machine.
            return self.write_ticket_run();
        }
        if let Some(requested) = self.key_update.take() {
            // OpenSSL's `TLS_ST_OK` transition writes a pending key update first; like a
            // CertificateRequest it ends this run of the state machine.
            let written = self.conn.write_key_update(requested);
            return self.write_post_handshake_message(written);
        }
        if self.pha == Pha::RequestPending {
            // The CertificateRequest ends this run of the state machine; queued tickets wait
            // for the next trigger that sets `in_init` (a write).
            if self.app_write_pending() {
                self.bad_write_retry();
                return Outcome::Failed;
            }
            let written = self.conn.request_client_auth();
            if written.is_ok() {
                self.pha = Pha::Requested;
            }
            return self.write_post_handshake_message(written);
        }
        if self.conn.ticket_policy().queued > 0 {
            self.conn.start_ticket_flush();
            return self.write_ticket_run();
        }
        self.in_init = false;
        Outcome::Done(0)
    }

    /// Ends a run of the state machine that made one post-handshake message (`made`: a
    /// KeyUpdate or a CertificateRequest, or the error that made it fail): it leaves `in_init`
    /// once the message is on the transport.
    fn write_post_handshake_message(&mut self, made: Result<(), Error>) -> Outcome {
        if let Err(e) = made {
            self.fail(e);
            return Outcome::Failed;
        }
        self.in_init = false;
        match self.emit(Pending::Handshake) {
            Err(()) => Outcome::Failed,
            Ok(false) => {
                self.in_init = true;
                Outcome::WouldBlock
            }
            Ok(true) => Outcome::Done(0),
        }
    }

    /// Writes the tickets due, one at a time, each handed to the transport before the policy
    /// is asked for the next (so N is read again after each, and a full transport stops the
    /// run until the next call); then leaves `in_init`.
    fn write_ticket_run(&mut self) -> Outcome {
        loop {
            match self.conn.issue_owed_ticket() {
                Err(_) => {
                    self.after_core_error();
                    return Outcome::Failed;
                }
                Ok(false) => break,
                Ok(true) => {}
            }
            match self.emit(Pending::Handshake) {
                Err(()) => return Outcome::Failed,
                Ok(false) => return Outcome::WouldBlock,
                Ok(true) => {}
            }
        }
        self.in_init = false;
        Outcome::Done(0)
    }

    /// A handshake record while an application record waits in the write buffer: OpenSSL's
    /// record layer fails fatally ("bad write retry"/"bad length", from `ssl3_write_bytes`,
    /// which first clears `rwstate`).
    fn bad_write_retry(&mut self) {
        self.rwstate = RwState::Nothing;
        self.fail(Error::Internal("bad write retry"));
    }

    // --- the API ---------------------------------------------------------------------------

    /// OpenSSL's `ossl_statem_check_finish_init` (server side): at `TLS_ST_EARLY_DATA`, out of
    /// init after `SSL_read_early_data` stopped the handshake there, `SSL_do_handshake` (`any`)
    /// always goes back into init; `SSL_read`/`SSL_write` only once early data is over.
    fn check_finish_init(&mut self, any: bool) {
        if self.conn.awaits_client_flight()
            && (any || self.conn.early_state() == EarlyState::FinishedReading)
        {
            self.in_init = true;
        }
    }

    /// Whether `SSL_read` (and `SSL_write`) must refuse: the handshake part of
    /// `SSL_read_early_data` is unfinished (OpenSSL: "should not have been called").
    fn early_accept_unfinished(&self) -> bool {
        self.conn.early_state() == EarlyState::AcceptRetry
    }

    /// `SSL_read_early_data` into `buf` (OpenSSL 3.0's `SSL_read_early_data`, server side).
    ///
    /// Before the state machine has ever run, the first call runs the handshake until the
    /// server's flight is out (a ClientHello processed now may have its early data accepted,
    /// see [`super::early_data`]), then leaves init; until that completes, each call retries it
    /// (`Error` while it would block). Then, with early data accepted, each call is one
    /// `SSL_read` of early data: `Success(n)`, or `Error` while it would block, until the
    /// client's EndOfEarlyData arrives: the handshake then goes on inside that read (its
    /// tickets go out) and the call returns `Finish`. With none accepted: `Finish` at once.
    /// After `Finish`, and if the state machine ran before the first call: `Error`.
    pub fn read_early_data(&mut self, buf: &mut [u8]) -> EarlyRead {
        let mut state = self.conn.early_state();
        if state == EarlyState::None {
            if self.started {
                return EarlyRead::Error;
            }
            state = EarlyState::AcceptRetry;
        }
        if state == EarlyState::AcceptRetry {
            self.conn.set_early_state(EarlyState::Accepting);
            if !matches!(self.do_handshake(), Outcome::Done(_)) {
                self.conn.set_early_state(EarlyState::AcceptRetry);
                return EarlyRead::Error;
            }
            state = EarlyState::ReadRetry;
        }
        if state != EarlyState::ReadRetry {
            return EarlyRead::Error;
        }
        if self.early_data_status() != EarlyDataStatus::Accepted {
            self.conn.set_early_state(EarlyState::FinishedReading);
            return EarlyRead::Finish;
        }
        self.conn.set_early_state(EarlyState::Reading);
        let read = self.read(buf);
        let over = self.conn.early_state() == EarlyState::FinishedReading;
        match read {
            Outcome::Done(n) => {
                self.conn.set_early_state(EarlyState::ReadRetry);
                EarlyRead::Success(n)
            }
            _ if over => EarlyRead::Finish,
            _ => {
                self.conn.set_early_state(EarlyState::ReadRetry);
                EarlyRead::Error
            }
        }
    }

    /// `SSL_do_handshake`: 1 when not in init; otherwise runs the state machine.
    pub fn do_handshake(&mut self) -> Outcome {
        self.check_finish_init(true);
        if !self.in_init() {
            return Outcome::Done(0);
        }
        self.state_machine()
    }

    /// `SSL_new_session_ticket`.
    ///
    /// 0 while in init with no request queued (before or during the handshake, while a
    /// CertificateRequest waits to be written, after a fatal error), 0 before the client's
    /// Finished was processed. Otherwise the request is queued (1); it puts the connection in
    /// init, so the next `SSL_do_handshake`, `SSL_read` or `SSL_write` writes it, unless a
    /// record waits in the write buffer: then only the `SSL_write` after the one that completes
    /// it.
    pub fn new_session_ticket(&mut self) -> i32 {
        let queued = self.conn.ticket_policy().queued;
        if (self.in_init() && queued == 0) || !self.first_handshake_done() {
            return 0;
        }
        self.conn.queue_ticket_request();
        // OpenSSL: `!RECORD_LAYER_write_pending(&s->rlayer)`: any record waiting in the write
        // buffer (application data, or a close_notify the transport did not take).
        if self.wbuf_pos == self.wbuf.len() && !self.in_init() {
            self.in_init = true;
        }
        1
    }

    /// `SSL_verify_client_post_handshake`: 1 if the client offered post-handshake auth, the
    /// handshake is finished and no request is outstanding; the CertificateRequest is written
    /// by the next `SSL_do_handshake`, `SSL_read` or `SSL_write`.
    pub fn verify_client_post_handshake(&mut self) -> i32 {
        if !self.is_init_finished()
            || !self.conn.info().client_offered_pha
            || self.pha != Pha::Unrequested
        {
            return 0;
        }
        self.pha = Pha::RequestPending;
        self.in_init = true;
        1
    }

    /// `SSL_key_update`: 1 if the handshake is finished (`SSL_is_init_finished`: nothing else
    /// waits to be written, no ticket request, no CertificateRequest) and no record waits in
    /// the write buffer; the KeyUpdate is then written by the next `SSL_do_handshake`,
    /// `SSL_read` or `SSL_write`, and until then the connection is in init, so
    /// `SSL_new_session_ticket` and `SSL_verify_client_post_handshake` return 0.
    pub fn key_update(&mut self, requested: bool) -> i32 {
        if !self.is_init_finished() || self.wbuf_pos < self.wbuf.len() {
            return 0;
        }
        self.key_update = Some(requested);
        self.in_init = true;
        1
    }

    /// `SSL_write_ex` of `data` (OpenSSL without partial writes: all or would-block).
    pub fn write(&mut self, data: &[u8]) -> Outcome {
        self.rwstate = RwState::Nothing;
        if self.sent_shutdown || self.fatal {
            return Outcome::Failed;
        }
        if self.early_accept_unfinished() || self.conn.early_state() == EarlyState::ReadRetry {
            return Outcome::Failed;
        }
        self.check_finish_init(false);
        let len = data.len();
        let (committed, pending_len) = match self.wbuf_kind {
            Pending::App { committed, len } => (committed, Some(len)),
            _ => (0, None),
        };
        if len < committed || pending_len.is_some_and(|p| len < committed + p) {
            self.fail(Error::Internal("bad length"));
            return Outcome::Failed;
        }
        if pending_len.is_none() && self.conn.ticket_policy().queued > 0 {
            self.in_init = true;
        }
        if self.in_init() {
            match self.state_machine() {
                Outcome::Done(_) => {}
                other => return other,
            }
        }
        let mut tot = committed;
        if let Some(p) = pending_len {
            if !self.flush_wbuf() {
                return Outcome::WouldBlock;
            }
            tot += p;
        }
        while tot < len {
            let n = (len - tot).min(MAX_FRAGMENT);
            if let Err(e) = self.conn.send_application_data_only(&data[tot..tot + n]) {
                self.fail(e);
                return Outcome::Failed;
            }
            self.conn.write_tls(&mut self.wbuf);
            self.wbuf_kind = Pending::App {
                committed: tot,
                len: n,
            };
            if !self.flush_wbuf() {
                return Outcome::WouldBlock;
            }
            tot += n;
        }
        Outcome::Done(len)
    }

    /// `SSL_read_ex` into `buf`: the data of one record at most.
    pub fn read(&mut self, buf: &mut [u8]) -> Outcome {
        if self.received_shutdown {
            self.rwstate = RwState::Nothing;
            return Outcome::Closed;
        }
        if self.fatal || self.early_accept_unfinished() {
            return Outcome::Failed;
        }
        self.check_finish_init(false);
        if self.app_pos < self.app.len() {
            return Outcome::Done(self.take_app(buf));
        }
        if self.in_init() {
            match self.state_machine() {
                Outcome::Done(_) => {}
                other => return other,
            }
        }
        self.rwstate = RwState::Nothing;
        // Reading inside `SSL_read_early_data`: a handshake message ends the call.
        let reading_early = self.conn.early_state() == EarlyState::Reading;
        loop {
            let Some(record) = self.pull_record() else {
                return Outcome::WouldBlock;
            };
            let record = match self.before_post_handshake_message(record) {
                Ok(record) => record,
                Err(result) => return result,
            };
            if self.feed(&record).is_err() {
                return Outcome::Failed;
            }
            if self.conn.peer_closed() {
                self.received_shutdown = true;
                return Outcome::Closed;
            }
            let data = self.conn.recv_application_data();
            if !data.is_empty() {
                self.app = data;
                self.app_pos = 0;
                return Outcome::Done(self.take_app(buf));
            }
            if !self.first_handshake_done() {
                if self.conn.early_state() != EarlyState::FinishedReading {
                    // A change_cipher_spec or a warning alert among the early data.
                    continue;
                }
                // EndOfEarlyData, read with the early data: the state machine takes the
                // handshake on from it (the client's Finished, the tickets).
                self.in_init = true;
                match self.state_machine() {
                    Outcome::Done(_) if !reading_early => continue,
                    Outcome::Done(_) => return Outcome::WouldBlock,
                    other => return other,
                }
            }
            // A post-handshake message: the state machine runs (the rest of the client's answer
            // to a CertificateRequest, then the tickets it calls for).
            match self.emit(Pending::Handshake) {
                Err(()) => return Outcome::Failed,
                Ok(false) => return Outcome::WouldBlock,
                Ok(true) => {}
            }
            if self.conn.is_client_auth_answer_partial() || self.conn.tickets_owed() {
                match self.state_machine() {
                    Outcome::Done(_) => {}
                    other => return other,
                }
            }
        }
    }

    fn take_app(&mut self, buf: &mut [u8]) -> usize {
        let n = (self.app.len() - self.app_pos).min(buf.len());
        buf[..n].copy_from_slice(&self.app[self.app_pos..self.app_pos + n]);
        self.app_pos += n;
        n
    }

    /// `SSL_shutdown`: -1 in init (nothing done); the first call sends close_notify (0), a
    /// later one reads the client's (1 once both went, -1 while it has not arrived).
    /// Application data where the client's close_notify should be is fatal.
    pub fn shutdown(&mut self) -> i32 {
        if self.in_init() {
            return -1;
        }
        if !self.sent_shutdown {
            self.sent_shutdown = true;
            self.conn.note_shutdown();
            if self.app_write_pending() {
                // Written "some time in the future", which never comes.
                self.alert_dispatch = true;
                return -1;
            }
            self.conn.send_close_notify();
            match self.emit(Pending::Alert) {
                Ok(true) => {}
                Ok(false) => {
                    self.alert_dispatch = true;
                    return -1;
                }
                Err(()) => return -1,
            }
        } else if self.alert_dispatch {
            if self.app_write_pending() {
                self.fail(Error::Internal("bad write retry"));
                return -1;
            }
            if !self.flush_wbuf() {
                return -1;
            }
            self.alert_dispatch = false;
        } else if !self.received_shutdown {
            self.rwstate = RwState::Nothing;
            while let Some(record) = self.pull_record() {
                let Ok(record) = self.before_post_handshake_message(record) else {
                    break;
                };
                if self.feed(&record).is_err() {
                    break;
                }
                if self.conn.peer_closed() {
                    self.received_shutdown = true;
                    break;
                }
                if !self.conn.recv_application_data().is_empty() {
                    self.fail(Error::UnexpectedMessage(
                        "application data instead of close_notify",
                    ));
                    break;
                }
                // A post-handshake message (the client's answer to a CertificateRequest): it is
                // processed, and what it makes the server write goes out, after close_notify.
                if self.emit(Pending::Handshake) != Ok(true) {
                    break;
                }
                if (self.conn.is_client_auth_answer_partial() || self.conn.tickets_owed())
                    && self.state_machine() != Outcome::Done(0)
                {
                    break;
                }
            }
            if !self.received_shutdown {
                return -1;
            }
        }
        i32::from(self.sent_shutdown && self.received_shutdown && !self.alert_dispatch)
    }

    /// `SSL_set_shutdown(SENT | RECEIVED)`: ends the connection without I/O.
    pub fn mark_shut_down(&mut self) {
        self.sent_shutdown = true;
        self.received_shutdown = true;
    }
}
