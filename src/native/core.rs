//! The connection's state outside the handshake state machine: keys, buffers, counters, and
//! the record writer. The handshake states (`handshake.rs`) act on it, the connection
//! (`conn.rs`) owns it and drives the states; it uses neither, so the three form no cycle.

use super::config::{ConnSettings, ServerConfig};
use super::error::{AlertDescription, Error};
use super::key_schedule::Secret;
use super::msgs::{self, content};
use super::record::{self, RecordCipher, MAX_FRAGMENT};
use super::rng::SeededRng;
use super::session_cache::SessionId;
use super::suites::{CipherSuite, NamedGroup};
use super::ticket::TicketState;
use super::tickets::{self, TicketKind, TicketPolicy};
use std::sync::Arc;

/// The most early data a server takes in (OpenSSL's default `recv_max_early_data`: one full
/// record).
pub const RECV_MAX_EARLY_DATA: usize = 1 << 14;

/// Bytes of undecryptable (early data) records skipped before giving up: OpenSSL counts each
/// skipped record's ciphertext against `recv_max_early_data` plus six records' overhead
/// (`EARLY_DATA_CIPHERTEXT_OVERHEAD`, 6 * (16 + 1) + 2).
pub const MAX_EARLY_DATA_SKIP: usize = RECV_MAX_EARLY_DATA + 6 * 17 + 2;

/// What the handshake negotiated, and what happened after it.
#[derive(Clone, Debug, Default)]
pub struct HandshakeInfo {
    pub suite: Option<&'static CipherSuite>,
    pub group: Option<NamedGroup>,
    pub resumed: bool,
    pub hrr: bool,
    pub handshake_finished: bool,
    pub client_offered_pha: bool,
    /// The certificate the server authenticated with (its index in the config's `certs`) and
    /// the scheme it signed with; `None` on a PSK handshake.
    pub certificate: Option<usize>,
    pub signature_scheme: Option<u16>,
    pub server_name: Option<Vec<u8>>,
    /// The client's certificate chain from the last post-handshake auth.
    pub peer_certificates: Vec<Vec<u8>>,
    /// Post-handshake authentications completed.
    pub client_auth_completed: u64,
    pub key_updates_received: u64,
    pub key_updates_sent: u64,
    /// The identity of the external PSK the handshake used.
    pub external_psk: Option<Vec<u8>>,
    /// Whether the handshake used a PSK without (EC)DHE (`psk_ke`).
    pub psk_ke: bool,
    /// What became of the client's early data.
    pub early_data: EarlyDataStatus,
}

/// Where the server is in reading the client's early data (OpenSSL's `early_data_state`, the
/// server's values): `SSL_read_early_data` moves it, the handshake reads it. See
/// [`super::api::Ssl::read_early_data`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EarlyState {
    /// `SSL_read_early_data` was never called.
    #[default]
    None,
    /// Its handshake part would block (or failed): the next call goes on with it.
    AcceptRetry,
    /// Inside its handshake part: a ClientHello processed now may have its early data accepted,
    /// and the handshake stops once the server's flight is written.
    Accepting,
    /// Between calls that read accepted early data.
    ReadRetry,
    /// Inside a call that reads accepted early data: records are counted against the limit.
    Reading,
    /// Early data is over (EndOfEarlyData processed, or none accepted).
    FinishedReading,
}

/// What became of the client's early data (OpenSSL's `SSL_get_early_data_status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EarlyDataStatus {
    /// The client sent no early_data extension.
    #[default]
    NotSent,
    Rejected,
    Accepted,
}

/// Everything but the handshake state: keys, buffers, counters.
pub(crate) struct Core {
    pub(crate) config: Arc<ServerConfig>,
    /// What the connection copied from its context when it was made.
    pub(crate) settings: ConnSettings,
    pub(crate) rng: SeededRng,
    pub(crate) now_ms: u64,
    pub(super) read_cipher: Option<RecordCipher>,
    pub(crate) write_cipher: Option<RecordCipher>,
    pub(super) out: Vec<u8>,
    pub(super) inbuf: Vec<u8>,
    pub(crate) hs_buf: Vec<u8>,
    pub(super) app_in: Vec<u8>,
    pub(crate) early_data_skip_budget: usize,
    pub(crate) skip_plain_app_data: bool,
    /// Where `SSL_read_early_data` is.
    pub(crate) early: EarlyState,
    /// Accepted early data: the most the client may send (OpenSSL: the lower of
    /// `recv_max_early_data` and the session's `max_early_data`) and what was counted so far.
    pub(crate) early_limit: u64,
    pub(crate) early_count: u64,
    /// Early data is read as it comes ([`super::ServerConnection::accept_early_data`]): the
    /// handshake moves `early` past `Accepting` itself.
    pub(crate) early_auto: bool,
    /// Server flights written (a HelloRetryRequest, then ServerHello to Finished): the API
    /// layer stops after one when it reads early data.
    pub(crate) server_flights: u8,
    /// The suite of the session a resumption uses, which may differ from the negotiated one in
    /// everything but its hash: accepted early data is protected with it, as OpenSSL does
    /// (the tickets the connection makes carry the negotiated suite, on both OpenSSL sides).
    pub(crate) session_suite: Option<&'static CipherSuite>,
    pub(crate) tickets: TicketPolicy,
    /// The id of the session the connection holds (OpenSSL's `s->session`): the one it resumed
    /// from the cache, then that of each stateful ticket it makes.
    pub(crate) session_id: Option<SessionId>,
    pub(crate) info: HandshakeInfo,
    pub(super) peer_closed: bool,
    pub(super) sent_close: bool,
    /// `SSL_shutdown` was called (its close_notify may wait behind an application record).
    pub(super) shutdown_sent: bool,
    /// Tickets are issued one at a time by the caller (`ServerConnection::issue_owed_ticket`)
    /// instead of all at once when they become due.
    pub(super) manual_tickets: bool,
}

impl Core {
    /// A core before the ClientHello: no keys, nothing buffered, `config`'s ticket count.
    pub(super) fn new(
        config: Arc<ServerConfig>,
        settings: ConnSettings,
        seed: [u8; 32],
        now_ms: u64,
    ) -> Core {
        let num_tickets = settings.num_tickets;
        Core {
            config,
            settings,
            rng: SeededRng::new(seed),
            now_ms,
            read_cipher: None,
            write_cipher: None,
            out: Vec::new(),
            inbuf: Vec::new(),
            hs_buf: Vec::new(),
            app_in: Vec::new(),
            early_data_skip_budget: 0,
            skip_plain_app_data: false,
            early: EarlyState::None,
            early_limit: 0,
            early_count: 0,
            early_auto: false,
            server_flights: 0,
            session_suite: None,
            tickets: TicketPolicy::new(num_tickets),
            session_id: None,
            info: HandshakeInfo::default(),
            peer_closed: false,
            sent_close: false,
            shutdown_sent: false,
            manual_tickets: false,
        }
    }

    pub(crate) fn set_read_cipher(&mut self, c: RecordCipher) -> Result<(), Error> {
        if !self.hs_buf.is_empty() {
            return Err(Error::UnexpectedMessage(
                "key change not at a record boundary",
            ));
        }
        self.read_cipher = Some(c);
        Ok(())
    }

    pub(crate) fn read_secret(&self) -> Option<&Secret> {
        self.read_cipher.as_ref().map(|c| c.secret())
    }

    pub(super) fn send(&mut self, typ: u8, data: &[u8]) -> Result<(), Error> {
        match &mut self.write_cipher {
            None => record::write_plain(typ, data, &mut self.out),
            Some(c) => {
                if data.is_empty() {
                    c.seal(typ, data, &mut self.out)?;
                }
                for chunk in data.chunks(MAX_FRAGMENT) {
                    c.seal(typ, chunk, &mut self.out)?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn send_handshake(&mut self, msg: &[u8]) -> Result<(), Error> {
        self.send(content::HANDSHAKE, msg)
    }

    pub(crate) fn send_ccs(&mut self) {
        record::write_plain(content::CHANGE_CIPHER_SPEC, &[1], &mut self.out);
    }

    pub(super) fn send_alert(&mut self, desc: AlertDescription) {
        let level = if desc == AlertDescription::CloseNotify {
            1
        } else {
            2
        };
        // An alert that cannot be sealed is dropped: the connection is over anyway.
        let _ = self.send(content::ALERT, &[level, desc.to_u8()]);
    }

    /// Writes one NewSessionTicket (one record) for the resumption secret `res_master`.
    pub(crate) fn write_ticket(&mut self, res_master: &Secret) -> Result<(), Error> {
        let suite = res_master.suite();
        let nonce = self.tickets.written.to_be_bytes();
        let psk = res_master.expand_label(b"resumption", &nonce, suite.hash_len());
        let age_add = self.rng.u32();
        // RFC 8446 4.6.1: at most seven days.
        let lifetime_s = self.config.ticket_lifetime_s.min(604_800);
        let state = TicketState {
            suite: suite.id,
            psk,
            age_add,
            issued_ms: self.now_ms,
            lifetime_s,
            peer_cert: self.info.peer_certificates.first().cloned(),
            max_early_data: self.settings.max_early_data,
        };
        // The ticket's session replaces the connection's before the generate callback runs
        // (OpenSSL dups it and gives it a new id first): a failing callback's fatal alert
        // takes that new session, never in the cache, not the one the connection resumed.
        let kind = self.settings.ticket_kind();
        let session_id: SessionId = match kind {
            TicketKind::Stateless => [0; 32],
            TicketKind::Stateful => self.rng.array(),
        };
        self.session_id = (kind == TicketKind::Stateful).then_some(session_id);
        if let Some(cbs) = self.config.ticket_callbacks() {
            if !(cbs.generate)() {
                return Err(Error::Internal("the ticket generate callback failed"));
            }
        }
        let ticket = match kind {
            TicketKind::Stateless => self.config.ticket_key.seal(&state, self.rng.array()),
            TicketKind::Stateful => session_id.to_vec(),
        };
        let msg = msgs::new_session_ticket(
            lifetime_s,
            age_add,
            &nonce,
            &ticket,
            self.settings.max_early_data,
        );
        self.send_handshake(&msg)?;
        self.tickets.note_written();
        let cache_server = self.config.cache_server();
        if tickets::cached(kind, cache_server) {
            self.config.session_cache().add(session_id, state);
        }
        if tickets::notifies(cache_server) {
            self.config.notify_new_session();
        }
        Ok(())
    }

    pub(super) fn send_key_update(&mut self, request_peer: bool) -> Result<(), Error> {
        self.send_handshake(&msgs::key_update(request_peer))?;
        let next = self
            .write_cipher
            .as_ref()
            .ok_or(Error::Internal("no write key"))?
            .updated();
        self.write_cipher = Some(next);
        self.info.key_updates_sent += 1;
        Ok(())
    }
}
