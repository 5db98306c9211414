//! How many NewSessionTicket messages to send, and when: the one place that decides.
//!
//! The connection asks this policy; it never counts on its own. The rules follow OpenSSL 3
//! (see `SEMANTICS.md`): N tickets at the end of a full handshake, min(N, 1) after a resumption,
//! N re-read after each ticket; queued requests flushed as max(k, N - sent) on a full
//! connection and k on a resumed one; the sent count reset by post-handshake authentication.

/// Per-connection ticket counters.
#[derive(Clone, Debug, Default)]
pub struct TicketPolicy {
    /// N: the connection's configured number of tickets (copied from the config at creation).
    pub num_tickets: u64,
    /// NewSessionTicket messages written on this connection, ever.
    pub written: u64,
    /// Tickets sent since the last reset (handshake end or post-handshake auth).
    pub sent: u64,
    /// k: requests queued by `new_session_ticket` and not yet flushed.
    pub queued: u64,
}

impl TicketPolicy {
    pub fn new(num_tickets: u64) -> Self {
        TicketPolicy {
            num_tickets,
            ..Default::default()
        }
    }

    /// The target at the end of a handshake (or post-handshake auth).
    fn handshake_target(&self, resumed: bool) -> u64 {
        if resumed {
            self.num_tickets.min(1)
        } else {
            self.num_tickets
        }
    }

    /// At the end of a handshake: should one more ticket go out now? Asked before each ticket,
    /// so a change of N between tickets takes effect.
    pub fn handshake_wants_another(&self, resumed: bool) -> bool {
        self.sent < self.handshake_target(resumed)
    }

    /// After the handshake, when queued requests are flushed: how many tickets to send.
    pub fn flush_count(&self, resumed: bool) -> u64 {
        if resumed {
            self.queued
        } else {
            self.queued.max(self.num_tickets.saturating_sub(self.sent))
        }
    }

    /// Records that one ticket was written.
    pub fn note_written(&mut self) {
        self.written += 1;
        self.sent += 1;
    }

    /// Post-handshake authentication completed: count again from zero.
    pub fn reset_sent(&mut self) {
        self.sent = 0;
    }
}
