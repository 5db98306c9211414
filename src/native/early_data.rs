//! When the server accepts the client's early data (0-RTT), and how much it takes: OpenSSL
//! 3.0's rules (`final_early_data`, `tls_parse_ctos_psk`, `early_data_count_ok` in
//! `ssl/record/ssl3_record.c`), measured against OpenSSL 3.0.19 by the `early-data-*` programs
//! in `corpus/`. When `SSL_read_early_data` moves the connection along is OpenSSL's state
//! machine, in [`super::api`].
//!
//! - Accepted only when all hold ([`accepts`]): the ClientHello carries early_data; it is
//!   processed inside `SSL_read_early_data` (a server that goes straight to `SSL_do_handshake`
//!   rejects it, and skips the client's early records, see [`super::core::MAX_EARLY_DATA_SKIP`]);
//!   the connection's `max_early_data` (copied from the context at `SSL_new`) is not 0; the
//!   handshake resumes a ticket's session, offered as the client's first identity, whose age
//!   the client reports within OpenSSL's window ([`age_ok`]); no HelloRetryRequest was sent.
//!   ALPN would count too; this server has none.
//! - Not required, though RFC 8446 4.2.10 says so: the same cipher suite. OpenSSL checks only
//!   that the session's hash matches the negotiated suite's (as for any resumption) and
//!   protects the early data with the *session's* cipher (`tls13_change_cipher_state`), so a
//!   client that now prefers ChaCha20 over a session made with AES-128-GCM still has its early
//!   data accepted (measured).
//! - The limit ([`limit`]): the lower of `recv_max_early_data` (16384, one full record) and the
//!   session's `max_early_data`, on the plaintext of application-data records, counted only
//!   while `SSL_read_early_data` reads (OpenSSL 3.0 counts in the `SSL_EARLY_DATA_READING`
//!   state alone: an `SSL_read` between two `SSL_read_early_data` calls takes early data
//!   uncounted, measured; and an `SSL_read_early_data` that follows one which met
//!   EndOfEarlyData counts the 1-RTT data it reads, measured). Going over it is fatal
//!   (`unexpected_message`).
//! - While `SSL_read_early_data` reads after the handshake finished (OpenSSL 3.0 lets a call
//!   that met EndOfEarlyData return data and go back to reading early data), a handshake
//!   message that would start a post-handshake exchange (a KeyUpdate, the answer to a
//!   CertificateRequest) is fatal too (`unexpected_message`; OpenSSL's server read transition
//!   from `TLS_ST_OK`, measured): no ticket is issued for that answer.

use super::core::RECV_MAX_EARLY_DATA;

/// OpenSSL's `TICKET_AGE_ALLOWANCE`: how much younger than the server's view the client's
/// ticket age may be.
const TICKET_AGE_ALLOWANCE_MS: u64 = 10_000;

/// What the ClientHello and its handshake came to, for [`accepts`].
pub(crate) struct Offer {
    /// The ClientHello carries the early_data extension.
    pub offered: bool,
    /// It is processed inside `SSL_read_early_data`.
    pub accepting: bool,
    /// The connection's `max_early_data`.
    pub max_early_data: u32,
    /// A ticket's session is resumed with the client's first identity, its age in the window.
    pub ticket_ok: bool,
    pub hrr: bool,
}

/// Whether the client's early data is accepted.
pub(crate) fn accepts(o: &Offer) -> bool {
    o.offered && o.accepting && o.max_early_data > 0 && o.ticket_ok && !o.hrr
}

/// Whether the client's ticket age (`client_ms`) fits the server's (`server_ms`): OpenSSL adds
/// a second to its own age for rounding, then wants the client's at most that and at most
/// [`TICKET_AGE_ALLOWANCE_MS`] younger.
pub(crate) fn age_ok(client_ms: u64, server_ms: u64) -> bool {
    let expire = server_ms + 1000;
    client_ms <= expire && client_ms + TICKET_AGE_ALLOWANCE_MS >= expire
}

/// The most early data (plaintext bytes) accepted for a session allowing `session_max`.
pub(crate) fn limit(session_max: u32) -> u64 {
    (RECV_MAX_EARLY_DATA as u64).min(u64::from(session_max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> Offer {
        Offer {
            offered: true,
            accepting: true,
            max_early_data: 1,
            ticket_ok: true,
            hrr: false,
        }
    }

    #[test]
    fn every_condition_is_needed() {
        assert!(accepts(&offer()));
        assert!(!accepts(&Offer {
            offered: false,
            ..offer()
        }));
        assert!(!accepts(&Offer {
            accepting: false,
            ..offer()
        }));
        assert!(!accepts(&Offer {
            max_early_data: 0,
            ..offer()
        }));
        assert!(!accepts(&Offer {
            ticket_ok: false,
            ..offer()
        }));
        assert!(!accepts(&Offer {
            hrr: true,
            ..offer()
        }));
    }

    #[test]
    fn age_window_is_openssls() {
        assert!(age_ok(0, 0));
        assert!(age_ok(1000, 0));
        assert!(!age_ok(1001, 0));
        assert!(age_ok(0, 9000));
        assert!(!age_ok(0, 9001));
    }

    #[test]
    fn limit_is_one_record_at_most() {
        assert_eq!(limit(u32::MAX), 16384);
        assert_eq!(limit(1000), 1000);
    }
}
