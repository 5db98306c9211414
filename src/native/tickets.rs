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
//! - When requests may be made and when the state machine flushes them (write, read,
//!   `SSL_do_handshake`; not while an application write is pending) is OpenSSL's state
//!   machine, not a ticket count: see [`super::api`].

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
}

impl TicketPolicy {
    pub fn new(num_tickets: u64) -> Self {
        TicketPolicy {
            num_tickets,
            ..Default::default()
        }
    }

    /// The client's Finished (of the handshake, or of post-handshake auth) was processed.
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

/// Whether a ticket just made calls the new-session callback (see the module comment).
pub fn notifies() -> bool {
    true
}
