//! `SSL_read_early_data` over rustls. rustls reads early data during `process_new_packets` and
//! keeps it for `ServerConnection::early_data()`; OpenSSL's call instead stops at the client's
//! EndOfEarlyData, leaving the client's Finished for `SSL_do_handshake`. So while the
//! application reads early data the layer hands rustls one record at a time and stops after the
//! EndOfEarlyData: the first application-data record (encrypted records all say so) that gave
//! no early data once early data was accepted. Splitting the wire into records is framing only;
//! rustls still does all of TLS.

use std::collections::VecDeque;

/// Where the application is with `SSL_read_early_data`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Phase {
    /// The server has not acted yet: `SSL_read_early_data` may start.
    #[default]
    Untouched,
    /// `SSL_read_early_data` was called and has not returned FINISH.
    Reading,
    /// It returned FINISH; calling it again fails.
    Finished,
    /// The application went on with the handshake (or began with it): calling it fails.
    Passed,
}

/// The early-data side of one connection.
#[derive(Debug, Default)]
pub(super) struct Early {
    pub phase: Phase,
    /// Whether rustls accepted the client's early data (`early_data()` was `Some`).
    pub accepted: bool,
    /// Whether the EndOfEarlyData has been handed to rustls.
    pub ended: bool,
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
