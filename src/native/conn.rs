//! The sans-IO server connection: bytes in, bytes out.

use super::config::{ConnSettings, ServerConfig};
use super::core::Core;
use super::error::{AlertDescription, Error};
use super::handshake::{ExpectClientHello, State};
use super::msgs::{self, content, hs};
use super::record::{HEADER_LEN, MAX_CIPHERTEXT, MAX_FRAGMENT};
use super::suites::{CipherSuite, NamedGroup};
use super::tickets::TicketPolicy;
use std::sync::Arc;

pub use super::core::{EarlyDataStatus, EarlyState, HandshakeInfo, MAX_EARLY_DATA_SKIP};

/// Largest ClientHello body accepted: the largest one the encoding allows (OpenSSL's
/// `CLIENT_HELLO_MAX_LENGTH`: version, random, a 32-byte session id, 2^16-2 bytes of suites,
/// 2^8-1 compression methods and 2^16-1 bytes of extensions, with their length fields).
pub const MAX_CLIENT_HELLO: usize = 131_396;
/// Largest client Certificate body (OpenSSL's default `max_cert_list`, 100 KiB).
pub const MAX_CERTIFICATE: usize = 102_400;

/// The largest body a client may send for a handshake message of type `typ`, as OpenSSL's
/// server bounds each message it reads (`ossl_statem_server_max_message_size`); `None` for a
/// type a client never sends to a server. The check is on the header, before the body is
/// buffered, so a client cannot make the server hold more than this.
pub fn max_handshake_message(typ: u8) -> Option<usize> {
    match typ {
        hs::CLIENT_HELLO => Some(MAX_CLIENT_HELLO),
        hs::CERTIFICATE => Some(MAX_CERTIFICATE),
        // One record's worth, as OpenSSL (SSL3_RT_MAX_PLAIN_LENGTH).
        hs::CERTIFICATE_VERIFY => Some(MAX_FRAGMENT),
        // Finished holds one hash: 64 bytes covers SHA-512.
        hs::FINISHED => Some(64),
        hs::KEY_UPDATE => Some(1),
        hs::END_OF_EARLY_DATA => Some(0),
        _ => None,
    }
}
/// Largest amount of unread application data buffered before the connection stops reading.
pub const MAX_BUFFERED_APP_DATA: usize = 1 << 20;

/// A TLS 1.3 server connection without I/O.
///
/// Feed received bytes to [`read_tls`](Self::read_tls), send what
/// [`take_output`](Self::take_output) returns. Randomness comes from the seed (and, for ECDHE
/// keys and ECDSA signatures only, from `ring::rand::SystemRandom`); time from the caller.
pub struct ServerConnection {
    state: State,
    core: Core,
    error: Option<Error>,
}

impl ServerConnection {
    /// A connection using `config`, deterministic randomness from `seed`, and `now_ms`
    /// (milliseconds since the Unix epoch) as the current time.
    pub fn new(config: Arc<ServerConfig>, seed: [u8; 32], now_ms: u64) -> Self {
        let settings = config.settings();
        Self::with_settings(config, settings, seed, now_ms)
    }

    /// A connection with `settings` instead of the ones `config` holds (for an API layer whose
    /// context changes them between connections).
    pub fn with_settings(
        config: Arc<ServerConfig>,
        settings: ConnSettings,
        seed: [u8; 32],
        now_ms: u64,
    ) -> Self {
        ServerConnection {
            state: State::ExpectClientHello(ExpectClientHello),
            core: Core::new(config, settings, seed, now_ms),
            error: None,
        }
    }

    /// Advances the connection's clock (milliseconds since the Unix epoch).
    pub fn set_now_ms(&mut self, now_ms: u64) {
        self.core.now_ms = now_ms;
    }

    /// Takes bytes received from the client and processes every complete record.
    ///
    /// On a protocol fault the connection queues the alert, becomes unusable and returns the
    /// error; later calls return it again. Once more than [`MAX_BUFFERED_APP_DATA`] bytes of
    /// application data wait in the connection, further records stay buffered (unprocessed)
    /// until [`recv_application_data`](Self::recv_application_data) is called: callers that
    /// keep feeding without reading grow that buffer.
    pub fn read_tls(&mut self, data: &[u8]) -> Result<(), Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.core.peer_closed {
            return Ok(());
        }
        self.core.inbuf.extend_from_slice(data);
        self.process()
    }

    /// Processes buffered input (done by `read_tls` already).
    pub fn process(&mut self) -> Result<(), Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        match self.process_records() {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        let shutdown = self.core.shutdown_sent || self.core.sent_close;
        // After close_notify nothing else goes out (OpenSSL's `ssl3_send_alert`).
        let alert = e.alert().filter(|_| !shutdown);
        if let Some(alert) = alert {
            self.core.send_alert(alert);
        }
        let peer_alert = matches!(e, Error::PeerAlert(_));
        if super::tickets::fatal_forgets_session(alert.is_some(), peer_alert) {
            if let Some(id) = self.core.session_id.take() {
                self.core.config.session_cache().remove(&id);
            }
        }
        self.state = State::Failed;
        self.core.inbuf.clear();
        self.core.hs_buf.clear();
        self.error = Some(e.clone());
        e
    }

    fn process_records(&mut self) -> Result<(), Error> {
        // Records are consumed through a cursor and the buffer compacted once, so many tiny
        // records cost linear time.
        let mut pos = 0;
        let result = self.process_records_from(&mut pos);
        self.core.inbuf.drain(..pos.min(self.core.inbuf.len()));
        result
    }

    fn process_records_from(&mut self, pos: &mut usize) -> Result<(), Error> {
        loop {
            if self.core.peer_closed {
                *pos = self.core.inbuf.len();
                return Ok(());
            }
            if self.core.app_in.len() > MAX_BUFFERED_APP_DATA {
                // Back-pressure: leave records buffered until the caller reads.
                return Ok(());
            }
            let buf = &self.core.inbuf[*pos..];
            if buf.len() < HEADER_LEN {
                return Ok(());
            }
            let typ = buf[0];
            if !matches!(
                typ,
                content::CHANGE_CIPHER_SPEC
                    | content::ALERT
                    | content::HANDSHAKE
                    | content::APPLICATION_DATA
            ) {
                return Err(Error::UnexpectedMessage("unknown record type"));
            }
            let len = u16::from_be_bytes([buf[3], buf[4]]) as usize;
            if len > MAX_CIPHERTEXT {
                return Err(Error::RecordOverflow);
            }
            if buf.len() < HEADER_LEN + len {
                return Ok(());
            }
            let mut header = [0u8; HEADER_LEN];
            header.copy_from_slice(&buf[..HEADER_LEN]);
            let payload: Vec<u8> = buf[HEADER_LEN..HEADER_LEN + len].to_vec();
            *pos += HEADER_LEN + len;
            self.handle_record(header, &payload)?;
        }
    }

    fn handle_record(&mut self, header: [u8; 5], payload: &[u8]) -> Result<(), Error> {
        let typ = header[0];
        if typ == content::CHANGE_CIPHER_SPEC {
            if payload != [1] {
                return Err(Error::UnexpectedMessage("bad change_cipher_spec"));
            }
            if !self.state.ccs_allowed() || !self.core.hs_buf.is_empty() {
                return Err(Error::UnexpectedMessage(
                    "change_cipher_spec not allowed now",
                ));
            }
            return Ok(());
        }
        if self.core.read_cipher.is_none() || typ != content::APPLICATION_DATA {
            // Unprotected record.
            if payload.len() > MAX_FRAGMENT {
                return Err(Error::RecordOverflow);
            }
            return match typ {
                content::ALERT if !self.core.info.handshake_finished => self.handle_alert(payload),
                content::HANDSHAKE if self.core.read_cipher.is_none() => {
                    self.handle_handshake_data(payload)
                }
                // Early data after a HelloRetryRequest, which "decrypts" with no key: skipped
                // against the same budget as early data that does not decrypt.
                content::APPLICATION_DATA
                    if self.core.skip_plain_app_data
                        && self.core.early_data_skip_budget >= payload.len() =>
                {
                    self.core.early_data_skip_budget -= payload.len();
                    Ok(())
                }
                _ => Err(Error::UnexpectedMessage(
                    "unprotected record not allowed now",
                )),
            };
        }
        let cipher = self.core.read_cipher.as_mut().expect("checked");
        let (inner, plain) = match cipher.open(header, payload) {
            Ok(x) => x,
            Err(Error::BadRecordMac) if self.core.early_data_skip_budget >= payload.len() => {
                self.core.early_data_skip_budget -= payload.len();
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.core.early_data_skip_budget = 0;
        if inner != content::HANDSHAKE && !self.core.hs_buf.is_empty() {
            return Err(Error::UnexpectedMessage("handshake message interleaved"));
        }
        match inner {
            content::HANDSHAKE => self.handle_handshake_data(&plain),
            content::ALERT => self.handle_alert(&plain),
            content::APPLICATION_DATA => {
                if !self.core.info.handshake_finished && !self.state.reads_early_data() {
                    return Err(Error::UnexpectedMessage("application data before Finished"));
                }
                self.count_early_data(plain.len())?;
                self.core.app_in.extend_from_slice(&plain);
                Ok(())
            }
            _ => Err(Error::UnexpectedMessage("bad inner content type")),
        }
    }

    /// Counts `len` bytes of application data against the early-data limit while
    /// `SSL_read_early_data` reads (see [`super::early_data`]). Like OpenSSL's record layer,
    /// this goes by the reading state alone, not by the handshake: a `SSL_read_early_data` that
    /// follows one which met EndOfEarlyData (and still returned data, as OpenSSL 3.0 does after
    /// an `SSL_do_handshake` put the connection back into init) counts 1-RTT data too.
    fn count_early_data(&mut self, len: usize) -> Result<(), Error> {
        if self.core.early != EarlyState::Reading {
            return Ok(());
        }
        self.core.early_count += len as u64;
        if self.core.early_count > self.core.early_limit {
            return Err(Error::UnexpectedMessage("too much early data"));
        }
        Ok(())
    }

    fn handle_alert(&mut self, payload: &[u8]) -> Result<(), Error> {
        let [_level, desc] = payload else {
            // RFC 8446 5.1: zero-length Alert fragments MUST NOT be sent; like an empty
            // Handshake record, that is a record not allowed, not a message badly encoded.
            if payload.is_empty() {
                return Err(Error::UnexpectedMessage("empty alert record"));
            }
            return Err(Error::Decode("alert must be two bytes"));
        };
        match AlertDescription::from_u8(*desc) {
            AlertDescription::CloseNotify => {
                self.core.peer_closed = true;
                Ok(())
            }
            AlertDescription::UserCanceled => Ok(()),
            other => Err(Error::PeerAlert(other)),
        }
    }

    fn handle_handshake_data(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Err(Error::UnexpectedMessage("empty handshake record"));
        }
        self.core.hs_buf.extend_from_slice(data);
        loop {
            let buf = &self.core.hs_buf;
            if buf.len() < 4 {
                return Ok(());
            }
            let len = ((buf[1] as usize) << 16) | ((buf[2] as usize) << 8) | buf[3] as usize;
            match max_handshake_message(buf[0]) {
                None => return Err(Error::UnexpectedMessage("not a client handshake message")),
                Some(max) if len > max => {
                    return Err(Error::IllegalParameter("handshake message too large"))
                }
                Some(_) => {}
            }
            if buf.len() < 4 + len {
                return Ok(());
            }
            let msg: Vec<u8> = self.core.hs_buf.drain(..4 + len).collect();
            self.handle_message(&msg)?;
        }
    }

    fn handle_message(&mut self, msg: &[u8]) -> Result<(), Error> {
        let typ = msg[0];
        if self.core.early == EarlyState::Reading && self.state.between_exchanges() {
            // OpenSSL's server leaves `TLS_ST_OK` for no handshake message while
            // `SSL_read_early_data` reads ("never ok ... in the middle of early data"), even
            // after the handshake finished inside an earlier call: a KeyUpdate, or the client's
            // answer to a CertificateRequest, is fatal there.
            return Err(Error::UnexpectedMessage(
                "handshake message while reading early data",
            ));
        }
        if typ == hs::KEY_UPDATE && self.core.info.handshake_finished {
            let requested = msgs::decode_key_update(&msg[4..])?;
            let next = self
                .core
                .read_cipher
                .as_ref()
                .ok_or(Error::Internal("no read key"))?
                .updated();
            self.core.set_read_cipher(next)?;
            self.core.info.key_updates_received += 1;
            if requested && !self.core.sent_close {
                self.core.send_key_update(false)?;
            }
            return Ok(());
        }
        let state = std::mem::replace(&mut self.state, State::Failed);
        self.state = state.handle(&mut self.core, typ, msg)?;
        Ok(())
    }

    /// Moves everything queued for the client into `out`.
    pub fn write_tls(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.core.out);
    }

    /// Everything queued for the client.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.core.out)
    }

    pub fn has_output(&self) -> bool {
        !self.core.out.is_empty()
    }

    fn check_usable(&self) -> Result<(), Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if !self.core.info.handshake_finished {
            return Err(Error::InvalidState("handshake not finished"));
        }
        Ok(())
    }

    /// Encrypts application data for the client. Queued ticket requests go out first, as a
    /// write of any length (including 0) flushes them.
    pub fn send_application_data(&mut self, data: &[u8]) -> Result<(), Error> {
        self.check_usable()?;
        if self.core.sent_close {
            return Err(Error::InvalidState("close_notify already sent"));
        }
        self.flush_ticket_requests()?;
        if !data.is_empty() {
            self.core.send(content::APPLICATION_DATA, data)?;
        }
        Ok(())
    }

    /// Takes the application data received so far.
    pub fn recv_application_data(&mut self) -> Vec<u8> {
        let data = std::mem::take(&mut self.core.app_in);
        if !self.core.inbuf.is_empty() && self.error.is_none() {
            // Records held back by the buffering limit.
            let _ = self.process();
        }
        data
    }

    /// Queues a close_notify alert.
    pub fn send_close_notify(&mut self) {
        if !self.core.sent_close && self.error.is_none() {
            self.core.sent_close = true;
            self.core.send_alert(AlertDescription::CloseNotify);
        }
    }

    /// Sends a KeyUpdate and moves to the next sending key; `request_peer` asks the client to
    /// update its sending key too.
    pub fn send_key_update(&mut self, request_peer: bool) -> Result<(), Error> {
        self.check_usable()?;
        if self.core.sent_close {
            return Err(Error::InvalidState("close_notify already sent"));
        }
        self.core.send_key_update(request_peer)
    }

    /// Sends a KeyUpdate whatever was sent before, close_notify included (for an API layer
    /// that decides itself when it may be written, as OpenSSL writes what was queued before
    /// `SSL_shutdown` after the close_notify).
    pub fn write_key_update(&mut self, request_peer: bool) -> Result<(), Error> {
        self.check_usable()?;
        match self.core.send_key_update(request_peer) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Writes one NewSessionTicket now (handshake must be finished).
    pub fn send_ticket_now(&mut self) -> Result<(), Error> {
        self.check_usable()?;
        match &self.state {
            State::Established(est) => est.issue_ticket(&mut self.core),
            _ => Err(Error::InvalidState("not in a state to issue tickets")),
        }
    }

    /// Queues a ticket request (OpenSSL's `SSL_new_session_ticket`); false before the
    /// handshake finished or while post-handshake auth is in progress.
    pub fn new_session_ticket(&mut self) -> bool {
        if self.error.is_some() || !matches!(self.state, State::Established(_)) {
            return false;
        }
        self.core.tickets.queued += 1;
        true
    }

    /// The inner content type of one whole protected record, without processing it (`None`
    /// for a record that is not protected or does not decrypt).
    pub fn peek_record_type(&mut self, record: &[u8]) -> Option<u8> {
        if record.len() < HEADER_LEN || record[0] != content::APPLICATION_DATA {
            return None;
        }
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&record[..HEADER_LEN]);
        self.core
            .read_cipher
            .as_mut()?
            .peek_type(header, &record[HEADER_LEN..])
    }

    /// Queues a ticket request without any check of the connection's state: the caller (an
    /// API layer with its own rules for when requests are accepted) has decided.
    pub fn queue_ticket_request(&mut self) {
        self.core.tickets.queued += 1;
    }

    /// Encrypts application data for the client without flushing queued ticket requests (for
    /// an API layer that decides itself when requests are flushed). Records of at most 2^14
    /// bytes, no padding.
    pub fn send_application_data_only(&mut self, data: &[u8]) -> Result<(), Error> {
        self.check_usable()?;
        if self.core.sent_close {
            return Err(Error::InvalidState("close_notify already sent"));
        }
        self.core.send(content::APPLICATION_DATA, data)
    }

    /// Ends the connection with `e`'s alert, as a protocol fault found by the caller would.
    pub fn abort(&mut self, e: Error) -> Error {
        if let Some(err) = &self.error {
            return err.clone();
        }
        self.fail(e)
    }

    /// Sends the tickets queued requests call for (a run per [`TicketPolicy::start_flush`]).
    /// Works after the handshake, including while post-handshake authentication waits for the
    /// client's certificate.
    pub fn flush_ticket_requests(&mut self) -> Result<u64, Error> {
        self.start_ticket_flush();
        let mut n = 0;
        while self.issue_owed_ticket()? {
            n += 1;
        }
        Ok(n)
    }

    /// Makes tickets be issued one at a time by [`issue_owed_ticket`](Self::issue_owed_ticket)
    /// (for a caller that writes each to a transport before deciding on the next), instead of
    /// all at once when they become due.
    pub fn set_manual_tickets(&mut self, manual: bool) {
        self.core.manual_tickets = manual;
    }

    /// Starts flushing queued ticket requests (with [`issue_owed_ticket`](Self::issue_owed_ticket)).
    pub fn start_ticket_flush(&mut self) {
        if self.state.established().is_some() {
            self.core.tickets.start_flush();
        }
    }

    /// Whether tickets may be due (a run is in progress).
    pub fn tickets_owed(&self) -> bool {
        self.core.tickets.in_run()
    }

    /// Writes one ticket if the policy says one is due now; `false` (and the run ends) if not.
    pub fn issue_owed_ticket(&mut self) -> Result<bool, Error> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let Some(est) = self.state.established() else {
            return Ok(false);
        };
        if !self.core.tickets.wants_ticket(est.resumed) {
            return Ok(false);
        }
        match est.issue_ticket(&mut self.core) {
            Ok(()) => Ok(true),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Starts post-handshake client authentication (client must have offered it).
    pub fn request_client_auth(&mut self) -> Result<(), Error> {
        self.check_usable()?;
        if !self.core.info.client_offered_pha {
            return Err(Error::InvalidState(
                "client did not offer post_handshake_auth",
            ));
        }
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Established(est) => match est.request_client_auth(&mut self.core) {
                Ok(s) => {
                    self.state = s;
                    Ok(())
                }
                Err(e) => Err(self.fail(e)),
            },
            other => {
                self.state = other;
                Err(Error::InvalidState("client auth already in progress"))
            }
        }
    }

    /// OpenSSL-style N for this connection.
    pub fn set_num_tickets(&mut self, n: u64) {
        self.core.tickets.num_tickets = n;
    }

    pub fn num_tickets(&self) -> u64 {
        self.core.tickets.num_tickets
    }

    /// NewSessionTicket messages written on this connection.
    pub fn tickets_written(&self) -> u64 {
        self.core.tickets.written
    }

    pub fn ticket_policy(&self) -> &TicketPolicy {
        &self.core.tickets
    }

    pub fn is_handshake_finished(&self) -> bool {
        self.core.info.handshake_finished
    }

    pub fn is_resumed(&self) -> bool {
        self.core.info.resumed
    }

    /// The configuration this connection was made with.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.core.config
    }

    pub fn info(&self) -> &HandshakeInfo {
        &self.core.info
    }

    pub fn negotiated_suite(&self) -> Option<&'static CipherSuite> {
        self.core.info.suite
    }

    pub fn negotiated_group(&self) -> Option<NamedGroup> {
        self.core.info.group
    }

    /// Whether the client sent close_notify.
    pub fn peer_closed(&self) -> bool {
        self.core.peer_closed
    }

    /// Whether the client's answer to a CertificateRequest has started to arrive (its
    /// Certificate was processed) but is not complete.
    pub fn is_client_auth_answer_partial(&self) -> bool {
        matches!(
            self.state,
            State::ExpectPhaCertificateVerify(_) | State::ExpectPhaFinished(_)
        )
    }

    /// Whether close_notify was queued for the client.
    pub fn sent_close(&self) -> bool {
        self.core.sent_close
    }

    /// Whether post-handshake client auth is waiting for the client.
    pub fn is_client_auth_pending(&self) -> bool {
        matches!(
            self.state,
            State::ExpectPhaCertificate(_)
                | State::ExpectPhaCertificateVerify(_)
                | State::ExpectPhaFinished(_)
        )
    }

    /// `SSL_shutdown` was called (OpenSSL's `SSL_SENT_SHUTDOWN`), though its close_notify may
    /// not be written yet: no alert goes out after it.
    pub fn note_shutdown(&mut self) {
        self.core.shutdown_sent = true;
    }

    /// Makes this connection accept the client's early data where the rules allow it (see
    /// [`super::early_data`]), for a caller that takes application data as it comes: call it
    /// before the ClientHello; early data then arrives through
    /// [`recv_application_data`](Self::recv_application_data) before the handshake finishes,
    /// counted against the limit. (An OpenSSL-shaped caller moves [`EarlyState`] itself.)
    pub fn accept_early_data(&mut self) {
        self.core.early = EarlyState::Accepting;
        self.core.early_auto = true;
    }

    /// Where `SSL_read_early_data` is.
    pub fn early_state(&self) -> EarlyState {
        self.core.early
    }

    /// Moves `SSL_read_early_data` along (the API layer's state machine decides).
    pub fn set_early_state(&mut self, state: EarlyState) {
        self.core.early = state;
    }

    /// Whether the server's flight is out and the client's answer has not started (OpenSSL's
    /// `TLS_ST_EARLY_DATA`).
    pub fn awaits_client_flight(&self) -> bool {
        self.state.awaits_client_flight() && self.core.hs_buf.is_empty()
    }

    /// Server flights written so far (a HelloRetryRequest counts as one).
    pub fn server_flights(&self) -> u8 {
        self.core.server_flights
    }

    /// Whether application data waits to be taken.
    pub fn has_application_data(&self) -> bool {
        !self.core.app_in.is_empty()
    }

    /// The fatal error that ended the connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}
