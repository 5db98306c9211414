//! `SSL_read_early_data` over rustls. rustls reads early data during `process_new_packets` and
//! keeps it for `ServerConnection::early_data()`; OpenSSL's call instead stops at the client's
//! EndOfEarlyData, leaving the client's Finished for `SSL_do_handshake`. So while the
//! application reads early data the layer hands rustls one record at a time and stops after the
//! EndOfEarlyData: the first application-data record (encrypted records all say so) that gave
//! no early data once early data was accepted. Splitting the wire into records is framing only;
//! rustls still does all of TLS.

use std::collections::VecDeque;

/// Where the `SSL` is with `SSL_read_early_data`: OpenSSL's `early_data_state` on a server,
/// which belongs to the `SSL` object, so the layer keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Phase {
    /// `SSL_EARLY_DATA_NONE`: never called. It may start only before the handshake has.
    #[default]
    None,
    /// `SSL_EARLY_DATA_ACCEPT_RETRY`: called, the handshake has not reached the point where
    /// early data is read (TLS 1.3: the server's flight written; TLS 1.2: the end). `SSL_read`
    /// and `SSL_write` fail here without doing anything.
    AcceptRetry,
    /// `SSL_EARLY_DATA_READ_RETRY`: early data accepted and being read. `SSL_write` fails here.
    ReadRetry,
    /// `SSL_EARLY_DATA_FINISHED_READING`: FINISH was returned; calling it again fails.
    Finished,
}

impl Phase {
    /// Whether `SSL_write` fails without doing anything.
    pub fn blocks_write(self) -> bool {
        matches!(self, Phase::AcceptRetry | Phase::ReadRetry)
    }

    /// Whether `SSL_read` fails without doing anything.
    pub fn blocks_read(self) -> bool {
        self == Phase::AcceptRetry
    }
}

/// The early-data side of one connection.
#[derive(Debug, Default)]
pub(super) struct Early {
    pub phase: Phase,
    /// Whether the handshake has begun (the server has acted) outside `SSL_read_early_data`.
    pub began: bool,
    /// Whether rustls accepted the client's early data (`early_data()` was `Some`).
    pub accepted: bool,
    /// Whether the EndOfEarlyData has been handed to rustls.
    pub ended: bool,
    /// Whether `SSL_accept` inside `SSL_read_early_data` stopped at the early-data point, which
    /// leaves OpenSSL's `SSL` out of init (so `SSL_shutdown` may send close_notify) until a call
    /// goes on with the handshake.
    pub stopped: bool,
    /// Early data rustls has decrypted and the application has not read yet. rustls's own
    /// reader fills the caller's buffer across records; so does this one.
    pub unread: VecDeque<u8>,
}

/// TLS record header: type, version, length.
const HEADER: usize = 5;
const APPLICATION_DATA: u8 = 23;

/// The length of the whole record at the start of `bytes`, if it has all arrived.
pub(super) fn whole_record(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..HEADER)?;
    let len = HEADER + usize::from(u16::from_be_bytes([header[3], header[4]]));
    (bytes.len() >= len).then_some(len)
}

impl Early {
    /// Notes what one record handed to rustls did; `gave` is how many early bytes it yielded.
    pub fn after_record(&mut self, record_type: u8, gave: usize) {
        if self.accepted && record_type == APPLICATION_DATA && gave == 0 {
            self.ended = true;
        }
    }

    /// Moves up to `buf.len()` unread bytes into `buf`.
    pub fn take(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.unread.len());
        for (slot, byte) in buf.iter_mut().zip(self.unread.drain(..n)) {
            *slot = byte;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_whole_only_when_every_byte_has_arrived() {
        let record = [23u8, 3, 3, 0, 2, 0xaa, 0xbb, 22];
        assert_eq!(whole_record(&record), Some(7));
        assert_eq!(whole_record(&record[..6]), None);
        assert_eq!(whole_record(&record[..4]), None);
    }

    #[test]
    fn the_end_of_early_data_is_the_first_silent_application_record_after_acceptance() {
        let mut e = Early::default();
        e.after_record(APPLICATION_DATA, 0);
        assert!(!e.ended, "before acceptance nothing ends");
        e.accepted = true;
        e.after_record(20, 0);
        e.after_record(APPLICATION_DATA, 100);
        assert!(!e.ended);
        e.after_record(APPLICATION_DATA, 0);
        assert!(e.ended);
    }
}
