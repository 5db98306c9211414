//! How many NewSessionTicket messages to send, and when a run of them stops: the one place that
//! decides. The connection asks this policy before every ticket; it never counts on its own.
//!
//! Read next to the man page, `SSL_set_num_tickets(3ossl)` (OpenSSL 3.0), and `SEMANTICS.md`.
//! Where the page is vague, the rules are OpenSSL 3.0's server state machine
//! (`ssl/statem/statem_srvr.c`, `ossl_statem_server13_write_transition`), measured against
//! OpenSSL 3.0.19 by the programs in `corpus/`:
//!
//! - "The default number of tickets is 2" and the count is copied by `SSL_new` from the
//!   context: [`TicketPolicy::new`] gets the config's N; `set_num_tickets` is a plain
//!   assignment of [`TicketPolicy::num_tickets`] (no cap, any `u64`).
//! - "set the number of TLSv1.3 session tickets that will be sent to the client after a full
//!   handshake": when the client's Finished has been processed, a run of tickets starts if
//!   `N > sent` ([`TicketPolicy::start_after_finished`]); N is read then, and again after every
//!   ticket (so `SSL_set_num_tickets` between the server's flight and the client's Finished, or
//!   while a run waits for the transport, takes effect).
//! - "Following a resumption the number of tickets issued will never be more than 1": after each
//!   ticket the run stops on a resumed connection (`s->hit`), so a resumed handshake sends
//!   min(N, 1). "If num_tickets is set to 0 then no tickets will be issued for either a normal
//!   connection or a resumption": the run does not start.
//! - "Tickets are also issued on receipt of a post-handshake certificate from the client ...
//!   The number of tickets issued will normally be the same as was used for the initial
//!   handshake": the client's certificate resets `sent` ([`TicketPolicy::reset_sent`],
//!   OpenSSL's "Resend session tickets"), and its Finished starts a run as above: N on a full
//!   connection, min(N, 1) on a resumed one, N read when the client's answer is processed.
//! - "SSL_new_session_ticket() can be called more than once to request additional tickets be
//!   sent; all such requests are queued and written together": `queued` (k, OpenSSL's
//!   `extra_tickets_expected`); when the state machine flushes them a run starts if k > 0
//!   ([`TicketPolicy::start_flush`]). Each ticket takes one request; the run goes on while
//!   requests remain, then, on a connection that was not resumed, while `N > sent`: max(k,
//!   N - sent) tickets in all (the "top-up"); on a resumed connection, k. The man page's "never
//!   more than 1" holds only for the resumed handshake itself.
//! - "To be notified when the ticket itself is sent, a new-session callback can be registered
//!   with SSL_CTX_sess_set_new_cb(3) that will be invoked as the ticket or tickets are
//!   generated": OpenSSL calls it once per TLS 1.3 ticket it *makes*
//!   (`tls_construct_new_session_ticket` → `ssl_update_cache`), before the record layer takes
//!   the message, so a ticket the record layer then refuses (a handshake write during a pending
//!   application write: fatal) has notified all the same ([`notifies`]). TLS 1.2 tickets
//!   notify nothing (measured: 0 calls; the native server has no TLS 1.2).
//! - Which tickets OpenSSL makes (`tls_construct_new_session_ticket`): stateful ones (the
//!   ticket is the session's 32-byte id, the session stays in the server's cache) when
//!   `SSL_OP_NO_TICKET` is set, or when `max_early_data > 0` with anti-replay on ("we are
//!   caching tickets anyway"); else stateless ones ([`ticket_kind`]). Each carries the
//!   connection's `max_early_data` (in an early_data extension when it is not 0). The generate
//!   callback runs before each ticket, stateful or not: 0 is fatal (`internal_error`), no
//!   ticket ([`TicketCallbacks`]).
//! - The session cache (`ssl_update_cache`): a ticket's session goes in when the cache mode
//!   includes `SSL_SESS_CACHE_SERVER` *at that moment* and the ticket is stateful ([`cached`]);
//!   the new-session callback fires under the same mode, for every kind ([`notifies`]). So with
//!   the cache off, stateful tickets go out but cannot resume, and nothing notifies. Lookups do
//!   not depend on the mode. With anti-replay and `max_early_data > 0`, resuming takes the
//!   session out of the cache: a single use ([`single_use`]). A fatal alert, sent or received
//!   (`ssl3_send_alert`, `ssl3_read_bytes`), takes the connection's current session out too:
//!   the one it resumed, then the one of its newest ticket ([`fatal_forgets_session`]; found
//!   by the fuzzer: a stateful ticket from a connection that failed does not resume). Not
//!   after `SSL_shutdown`, though: `ssl3_send_alert` then sends nothing and keeps the session
//!   (found by the fuzzer: a close_notify stuck behind a blocked write, then the fatal "bad
//!   write retry" of the next `SSL_shutdown`, and the ticket still resumes).
//! - Whether a handshake ends with tickets (OpenSSL's `ticket_expected`, [`Resumption`]): yes
//!   unless the client's pre_shared_key was looked at (it offered a usable PSK mode); then no,
//!   until an identity sets it: a stateful lookup always does; a stateless ticket that does not
//!   decrypt does, one that decrypts does (OpenSSL renews TLS 1.3 tickets), except that the
//!   decrypt callback decides: `USE` (resume, no ticket), `USE_RENEW` (resume, tickets),
//!   `IGNORE` (full handshake, *no* tickets), `IGNORE_RENEW` (full handshake, tickets),
//!   `ABORT` (fatal, `internal_error`). A ticket whose hash does not match the negotiated
//!   suite is passed over and clears it (OpenSSL 3.0.19: a full handshake with no tickets;
//!   3.6 sets it instead). Tickets after post-handshake auth and for requests ignore it.
//! - When requests may be made and when the state machine flushes them (write, read,
//!   `SSL_do_handshake`; not while an application write is pending) is OpenSSL's state
//!   machine, not a ticket count: see [`super::api`].

use std::sync::Arc;

/// Where a run of tickets is (OpenSSL's `TLS_ST_SW_SESSION_TICKET` state and how it was
/// entered).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Run {
    /// No ticket due.
    #[default]
    Idle,
    /// The client's Finished was processed: a ticket is due if `N > sent`.
    AfterFinished,
    /// Queued requests are being flushed: a ticket is due if `queued > 0`.
    Flush,
    /// At least one ticket of the run was written: another is due while requests remain, or,
    /// on a connection that was not resumed, while `N > sent`.
    Continuing,
}

/// Per-connection ticket counters.
#[derive(Clone, Debug, Default)]
pub struct TicketPolicy {
    /// N: the connection's configured number of tickets (copied from the config at creation).
    pub num_tickets: u64,
    /// NewSessionTicket messages written on this connection, ever (also the ticket nonce).
    pub written: u64,
    /// Tickets sent since the last reset (OpenSSL's `sent_tickets`: handshake start or the
    /// client's post-handshake certificate).
    pub sent: u64,
    /// k: requests queued by `new_session_ticket` and not yet flushed.
    pub queued: u64,
    /// The run of tickets in progress.
    pub run: Run,
    /// Whether the end of the handshake issues tickets (OpenSSL's `ticket_expected`).
    pub expected: bool,
}

impl TicketPolicy {
    pub fn new(num_tickets: u64) -> Self {
        TicketPolicy {
            num_tickets,
            expected: true,
            ..Default::default()
        }
    }

    /// The client's Finished of the handshake was processed: tickets unless the ClientHello's
    /// PSK processing said none are expected.
    pub fn start_after_handshake(&mut self) {
        if self.expected {
            self.run = Run::AfterFinished;
        }
    }

    /// The client's Finished of post-handshake auth was processed.
    pub fn start_after_finished(&mut self) {
        self.run = Run::AfterFinished;
    }

    /// The state machine flushes queued requests.
    pub fn start_flush(&mut self) {
        if self.run == Run::Idle {
            self.run = Run::Flush;
        }
    }

    /// Is one more ticket due now? Asked before each ticket, so a change of N in between takes
    /// effect. `false` ends the run.
    pub fn wants_ticket(&mut self, resumed: bool) -> bool {
        let due = match self.run {
            Run::Idle => false,
            Run::AfterFinished => self.num_tickets > self.sent,
            Run::Flush => self.queued > 0,
            Run::Continuing => self.queued > 0 || (!resumed && self.num_tickets > self.sent),
        };
        if !due {
            self.run = Run::Idle;
        }
        due
    }

    /// Whether a run of tickets is in progress.
    pub fn in_run(&self) -> bool {
        self.run != Run::Idle
    }

    /// Records that one ticket was written: it counts, and takes one queued request if any.
    pub fn note_written(&mut self) {
        self.written += 1;
        self.sent += 1;
        self.queued = self.queued.saturating_sub(1);
        self.run = Run::Continuing;
    }

    /// The client's post-handshake certificate arrived: count again from zero.
    pub fn reset_sent(&mut self) {
        self.sent = 0;
    }
}

/// How a ticket is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketKind {
    /// The session sealed under the ticket key.
    Stateless,
    /// The session's id; the session stays in the server's cache.
    Stateful,
}

/// The kind of ticket a connection makes (and expects back): stateful with `SSL_OP_NO_TICKET`
/// or when tickets are single use.
pub fn ticket_kind(stateful_tickets: bool, max_early_data: u32, anti_replay: bool) -> TicketKind {
    if stateful_tickets || single_use(max_early_data, anti_replay) {
        TicketKind::Stateful
    } else {
        TicketKind::Stateless
    }
}

/// Whether resuming a cached session takes it out of the cache: early data allowed and
/// anti-replay on.
pub fn single_use(max_early_data: u32, anti_replay: bool) -> bool {
    max_early_data > 0 && anti_replay
}

/// Whether a ticket just made puts its session in the cache.
pub fn cached(kind: TicketKind, cache_server: bool) -> bool {
    cache_server && kind == TicketKind::Stateful
}

/// Whether a fatal error takes the connection's current session out of the cache: when it
/// sends a fatal alert (none goes out once `SSL_shutdown` was called), or is the client's
/// fatal alert.
pub fn fatal_forgets_session(alert_sent: bool, peer_alert: bool) -> bool {
    alert_sent || peer_alert
}

/// Whether a ticket just made calls the new-session callback (see the module comment).
pub fn notifies(cache_server: bool) -> bool {
    cache_server
}

/// What became of a stateless ticket the server tried to open (OpenSSL's `SSL_TICKET_*`), as
/// the decrypt callback is told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketStatus {
    /// `SSL_TICKET_NO_DECRYPT`: not one of this server's, or damaged.
    NoDecrypt,
    /// `SSL_TICKET_SUCCESS_RENEW`: it decrypted (TLS 1.3 tickets are always renewed).
    SuccessRenew,
}

/// What the decrypt callback returns (OpenSSL's `SSL_TICKET_RETURN_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketReturn {
    Abort,
    Ignore,
    IgnoreRenew,
    Use,
    UseRenew,
}

/// The ticket callbacks of a context (OpenSSL's `SSL_CTX_set_session_ticket_cb`).
#[derive(Clone)]
pub struct TicketCallbacks {
    /// Called before each ticket is made; `false` (OpenSSL's 0) is fatal.
    pub generate: Arc<dyn Fn() -> bool + Send + Sync>,
    /// Called for each stateless ticket offered, with what opening it came to.
    pub decrypt: Arc<dyn Fn(TicketStatus) -> TicketReturn + Send + Sync>,
}

/// What one offered identity comes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Resume with it.
    Use,
    /// Pass over it; the next identity is looked at.
    Skip,
    /// Fatal (`internal_error`).
    Abort,
}

/// The PSK processing of one ClientHello: whether the handshake ends with tickets (OpenSSL's
/// `ticket_expected`) as each identity is looked at.
#[derive(Clone, Copy, Debug)]
pub struct Resumption {
    pub tickets_expected: bool,
}

impl Resumption {
    /// Before the pre_shared_key extension: tickets expected.
    pub fn new() -> Self {
        Resumption {
            tickets_expected: true,
        }
    }

    /// The client offers a PSK mode this server can use: its identities decide.
    pub fn start(&mut self) {
        self.tickets_expected = false;
    }

    /// A stateful ticket was looked up in the cache (found or not).
    pub fn stateful_lookup(&mut self, found: bool) -> Lookup {
        self.tickets_expected = true;
        match found {
            true => Lookup::Use,
            false => Lookup::Skip,
        }
    }

    /// A stateless ticket was opened (`status`), then shown to the decrypt callback if any.
    pub fn stateless(&mut self, status: TicketStatus, cb: Option<&TicketCallbacks>) -> Lookup {
        let ret = match cb {
            Some(cb) => (cb.decrypt)(status),
            None => match status {
                TicketStatus::SuccessRenew => TicketReturn::UseRenew,
                TicketStatus::NoDecrypt => TicketReturn::IgnoreRenew,
            },
        };
        match (ret, status) {
            (TicketReturn::Abort, _) => Lookup::Abort,
            // `USE` of a ticket that did not decrypt is fatal in OpenSSL.
            (TicketReturn::Use | TicketReturn::UseRenew, TicketStatus::NoDecrypt) => Lookup::Abort,
            (TicketReturn::Use, _) => Lookup::Use,
            (TicketReturn::UseRenew, _) => {
                self.tickets_expected = true;
                Lookup::Use
            }
            (TicketReturn::Ignore, _) => Lookup::Skip,
            (TicketReturn::IgnoreRenew, _) => {
                self.tickets_expected = true;
                Lookup::Skip
            }
        }
    }

    /// A session found for an identity does not fit the negotiated suite's hash: passed over,
    /// and (OpenSSL 3.0) no tickets unless a later identity says so.
    pub fn hash_mismatch(&mut self) {
        self.tickets_expected = false;
    }
}

impl Default for Resumption {
    fn default() -> Self {
        Self::new()
    }
}
