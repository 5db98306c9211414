//! One `SSL` over a rustls `ServerConnection`.

use super::config::{Configs, Settings};
use super::early::{whole_record, Early, Phase};
use super::sessions::Counts;
use crate::backend::{EarlyRead, Outcome, ServerConn};
use crate::program::SuiteList;
use crate::trace::EarlyStatus;
use crate::wire::Endpoint;
use rustls::{HandshakeKind, ProtocolVersion, ServerConnection};
use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::rc::Rc;

/// One `SSL` over rustls.
pub(super) struct RustlsConn {
    /// Copied from the context at `SSL_new`; the count can change until the ClientHello.
    settings: Settings,
    /// Created when the server first acts with the ClientHello on the wire, from the settings
    /// by then.
    conn: Option<ServerConnection>,
    configs: Rc<RefCell<Configs>>,
    /// The context's new-session callback count.
    notified: Rc<Cell<u64>>,
    transport: Endpoint,
    /// The context's TLS 1.3 suites, read when the rustls connection is made: OpenSSL's `SSL`
    /// reads them from its context while it has none of its own.
    live_suites: Rc<Cell<Option<SuiteList>>>,
    /// The program's handouts when this connection last looked.
    seen: Counts,
    /// NewSessionTicket messages this connection sent.
    tickets: u64,
    early: Early,
    /// rustls errors are final; so are OpenSSL's.
    failed: bool,
    close_sent: bool,
    peer_closed: bool,
    /// A KeyUpdate queued by `SSL_key_update` and not yet written: OpenSSL is then "in init",
    /// so `SSL_shutdown` fails without doing anything until a call writes it.
    key_update_pending: bool,
}

impl RustlsConn {
    pub fn new(
        settings: Settings,
        configs: Rc<RefCell<Configs>>,
        notified: Rc<Cell<u64>>,
        live_suites: Rc<Cell<Option<SuiteList>>>,
        transport: Endpoint,
    ) -> RustlsConn {
        let seen = configs.borrow().handouts.now();
        RustlsConn {
            settings,
            conn: None,
            configs,
            notified,
            live_suites,
            transport,
            seen,
            tickets: 0,
            early: Early::default(),
            failed: false,
            close_sent: false,
            peer_closed: false,
            key_update_pending: false,
        }
    }

    /// Creates the rustls connection if it does not exist yet and the ClientHello's record has
    /// arrived: OpenSSL reads the context's TLS 1.3 suites when it processes the ClientHello,
    /// so the rustls config is made then, not at a server call before it. `false` once the
    /// connection has failed.
    fn ensure_conn(&mut self) -> bool {
        if self.failed {
            return false;
        }
        if self.conn.is_none() {
            if whole_record(&self.transport.peek_pending()).is_none() {
                return true;
            }
            self.settings.suites = self.live_suites.get();
            let config = self.configs.borrow_mut().get(self.settings);
            match ServerConnection::new(config) {
                Ok(conn) => self.conn = Some(conn),
                Err(_) => {
                    self.failed = true;
                    return false;
                }
            }
        }
        true
    }

    /// Hands rustls what it read and notes what came of it; `false` if the connection failed
    /// (the alert rustls queued still goes out at the next flush).
    fn process(&mut self) -> bool {
        // rustls is never handed input again after it failed: it would answer a queued alert
        // with a second fatal alert, which its debug builds assert never happens.
        if self.failed {
            return false;
        }
        let conn = self.conn.as_mut().expect("created before reading");
        match conn.process_new_packets() {
            Ok(state) => {
                self.peer_closed |= state.peer_has_closed();
                self.early.accepted |= conn.early_data().is_some();
                true
            }
            Err(_) => {
                self.failed = true;
                false
            }
        }
    }

    /// Creates the rustls connection if need be and goes on with the handshake as OpenSSL's
    /// state machine does: a whole record at a time, only while the handshake lasts, so what
    /// follows the client's Finished stays on the wire. `false` once the connection has failed.
    fn pump(&mut self) -> bool {
        self.early.began = true;
        if !self.ensure_conn() {
            return false;
        }
        let mut ok = true;
        while self.conn.as_ref().is_some_and(|c| c.is_handshaking()) {
            match self.feed_record() {
                Fed::Record(_) => {}
                Fed::Nothing => break,
                Fed::Failed => {
                    ok = false;
                    break;
                }
            }
        }
        self.flush();
        // The handshake read the EndOfEarlyData: OpenSSL's state is FINISHED_READING, so
        // writes work and `SSL_read_early_data` fails.
        if self.early.phase == Phase::ReadRetry && self.early.accepted && self.established() {
            self.early.phase = Phase::Finished;
        }
        ok
    }

    /// As `pump`, then, once established, as OpenSSL's `SSL_read` reads: whole records one at
    /// a time until one gives application data, the peer has closed, or no whole record waits.
    /// What follows that record stays on the wire (OpenSSL reads no further without read-ahead;
    /// rustls would take every byte the wire holds). `false` once the connection has failed.
    fn pump_reading(&mut self) -> bool {
        if !self.pump() {
            return false;
        }
        if !self.established() {
            return true;
        }
        let ok = loop {
            if self.peer_closed || self.plaintext_waiting() {
                break true;
            }
            match self.feed_record() {
                Fed::Record(_) => {}
                Fed::Nothing => break true,
                Fed::Failed => break false,
            }
        };
        self.flush();
        ok
    }

    /// Whether rustls holds decrypted application data the application has not read.
    fn plaintext_waiting(&mut self) -> bool {
        self.conn
            .as_mut()
            .and_then(|conn| conn.process_new_packets().ok())
            .is_some_and(|state| state.plaintext_bytes_to_read() > 0)
    }

    /// As far as `SSL_read_early_data` goes: hands rustls whole records one at a time until
    /// the handshake has reached the early-data point and, if early data was accepted, until a
    /// record gives early data (OpenSSL's `SSL_read` returns one record's data) or until its
    /// end. `false` once the connection has failed.
    fn pump_early(&mut self) -> bool {
        if !self.ensure_conn() {
            return false;
        }
        let mut ok = true;
        self.drain_early();
        while self.early.unread.is_empty() && !(self.at_early_point() && self.early_ended()) {
            match self.feed_record() {
                Fed::Record(record_type) => {
                    let gave = self.drain_early();
                    self.early.after_record(record_type, gave);
                }
                Fed::Nothing => break,
                Fed::Failed => {
                    ok = false;
                    break;
                }
            }
        }
        // The EndOfEarlyData wakes OpenSSL's state machine, which reads on while the handshake
        // lasts: a client's Finished already on the wire finishes it in the same call.
        if ok && self.early.ended {
            return self.pump();
        }
        self.flush();
        ok
    }

    /// Hands rustls the next whole record on the wire, as OpenSSL's record layer reads one.
    fn feed_record(&mut self) -> Fed {
        let pending = self.transport.peek_pending();
        let Some(len) = whole_record(&pending) else {
            return Fed::Nothing;
        };
        let Some(conn) = self.conn.as_mut() else {
            return Fed::Nothing;
        };
        let mut record = &pending[..len];
        while let Ok(1..) = conn.read_tls(&mut record) {}
        self.transport.consume_pending(len - record.len());
        if !record.is_empty() {
            // rustls takes no more now; what it took is processed, the rest waits.
            return match self.process() {
                true => Fed::Nothing,
                false => Fed::Failed,
            };
        }
        if self.process() {
            Fed::Record(pending[0])
        } else {
            Fed::Failed
        }
    }

    /// Moves the early data rustls has decrypted into the layer's buffer; how many bytes.
    fn drain_early(&mut self) -> usize {
        let before = self.early.unread.len();
        if let Some(mut data) = self.conn.as_mut().and_then(|c| c.early_data()) {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = data.read(&mut chunk) {
                self.early.unread.extend(&chunk[..n]);
            }
        }
        self.early.unread.len() - before
    }

    /// Whether `SSL_accept` inside `SSL_read_early_data` would have returned: in TLS 1.3 once
    /// the ClientHello is processed (the server's flight then goes out), in TLS 1.2 (no early
    /// data) at the end of the handshake.
    fn at_early_point(&self) -> bool {
        let Some(conn) = self.conn.as_ref() else {
            return false;
        };
        match conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => conn.handshake_kind().is_some(),
            Some(_) => !conn.is_handshaking(),
            None => false,
        }
    }

    /// Whether no early data remains to arrive: none was accepted, or its end was read, or the
    /// handshake went past it.
    fn early_ended(&self) -> bool {
        !self.early.accepted
            || self.early.ended
            || self.conn.as_ref().is_some_and(|c| !c.is_handshaking())
    }

    /// Writes what rustls has for the wire, as far as the wire takes it, and counts what it
    /// handed out meanwhile.
    fn flush(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            flush(conn, &mut self.transport);
        }
        self.key_update_pending = false;
        self.count_handouts();
    }

    /// Attributes the sessions rustls handed out since the last look to this connection (one
    /// connection acts at a time) and calls the new-session callback for those that are cached
    /// sessions or TLS 1.3 tickets.
    fn count_handouts(&mut self) {
        let now = self.configs.borrow().handouts.now();
        let new = now.since(self.seen);
        self.seen = now;
        let tls13 = self
            .conn
            .as_ref()
            .and_then(|c| c.protocol_version())
            .is_some_and(|v| v == ProtocolVersion::TLSv1_3);
        // TLS 1.3: each sealed ticket and each stored session is a NewSessionTicket. TLS 1.2:
        // a sealed ticket is one, a stored session is a session id in the ServerHello.
        let (tickets, notified) = if tls13 {
            let sealed = if self.configs.borrow().notifies() {
                new.sealed
            } else {
                0
            };
            (new.sealed + new.stored, sealed + new.stored)
        } else {
            (new.sealed, new.stored)
        };
        self.tickets += tickets;
        self.notified.set(self.notified.get() + notified);
    }

    fn established(&self) -> bool {
        !self.failed && self.conn.as_ref().is_some_and(|c| !c.is_handshaking())
    }

    /// Whether `SSL_shutdown` may send close_notify: once established, and already while
    /// `SSL_accept` inside `SSL_read_early_data` has stopped at the early-data point (measured:
    /// OpenSSL is then out of init and shuts down before the client's Finished).
    fn may_shut_down(&self) -> bool {
        self.established() || (!self.failed && self.conn.is_some() && self.early.stopped)
    }

    /// Moves bytes as OpenSSL's `SSL_write` and `SSL_do_handshake` do: the whole handshake
    /// while it runs, afterwards only what waits to be written (they read nothing then).
    fn advance(&mut self) -> bool {
        self.early.stopped = false;
        if self.established() {
            self.flush();
            return true;
        }
        self.pump()
    }
}

/// What handing rustls one record came to.
enum Fed {
    /// A whole record of this type was processed.
    Record(u8),
    /// No whole record waits, or rustls took no more of it now.
    Nothing,
    Failed,
}

/// Writes what rustls has for the wire, as far as the wire takes it.
fn flush(conn: &mut ServerConnection, transport: &mut Endpoint) {
    while conn.wants_write() {
        match conn.write_tls(transport) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

impl ServerConn for RustlsConn {
    fn set_num_tickets(&mut self, n: u64) -> i64 {
        self.settings.num_tickets = n;
        1
    }

    fn get_num_tickets(&self) -> u64 {
        self.settings.num_tickets
    }

    fn do_handshake(&mut self) -> Outcome {
        if !self.advance() {
            return Outcome::Failed;
        }
        if self.established() {
            Outcome::Done(0)
        } else {
            Outcome::WouldBlock
        }
    }

    fn new_session_ticket(&mut self) -> i64 {
        // rustls has no way to send a ticket on demand.
        0
    }

    fn write(&mut self, data: &[u8]) -> Outcome {
        if self.close_sent || self.early.phase.blocks_write() || !self.advance() {
            return Outcome::Failed;
        }
        if !self.established() {
            return Outcome::WouldBlock;
        }
        let conn = self.conn.as_mut().expect("established");
        let outcome = match conn.writer().write(data) {
            Ok(n) => Outcome::Done(n),
            Err(_) => Outcome::Failed,
        };
        self.flush();
        outcome
    }

    fn read(&mut self, buf: &mut [u8]) -> Outcome {
        if self.early.phase.blocks_read() {
            // OpenSSL looks at a received close_notify before at the early-data state.
            return if self.peer_closed {
                Outcome::Closed
            } else {
                Outcome::Failed
            };
        }
        if self.early.phase == Phase::ReadRetry {
            // `SSL_read` while early data is being read reads it, as `SSL_read_early_data`
            // does, until the EndOfEarlyData; then the handshake goes on.
            if !self.pump_early() {
                return Outcome::Failed;
            }
            if !self.early.unread.is_empty() {
                return Outcome::Done(self.early.take(buf));
            }
            if !self.early_ended() {
                return Outcome::WouldBlock;
            }
            self.early.phase = Phase::Finished;
        }
        self.early.stopped &= self.early.phase != Phase::Finished;
        if !self.pump_reading() {
            return Outcome::Failed;
        }
        let Some(conn) = self.conn.as_mut() else {
            // No ClientHello yet.
            return Outcome::WouldBlock;
        };
        match conn.reader().read(buf) {
            Ok(0) if !buf.is_empty() => Outcome::Closed,
            Ok(n) => Outcome::Done(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Outcome::WouldBlock,
            Err(_) => Outcome::Failed,
        }
    }

    fn verify_client_post_handshake(&mut self) -> i64 {
        // rustls has no post-handshake client authentication.
        0
    }

    fn read_early_data(&mut self, buf: &mut [u8]) -> EarlyRead {
        match self.early.phase {
            Phase::None if self.early.began => return EarlyRead::Error,
            Phase::None => self.early.phase = Phase::AcceptRetry,
            Phase::AcceptRetry | Phase::ReadRetry => {}
            Phase::Finished => return EarlyRead::Error,
        }
        if self.early.phase == Phase::AcceptRetry && self.at_early_point() {
            // `SSL_do_handshake` took the handshake past the early-data point: `SSL_accept`
            // now runs to its end (and early data was not read here).
            if !self.pump() {
                return EarlyRead::Error;
            }
            if !self.established() {
                return EarlyRead::Error;
            }
            self.early.phase = Phase::ReadRetry;
        }
        if !self.pump_early() {
            return EarlyRead::Error;
        }
        if self.early.phase == Phase::AcceptRetry {
            if !self.at_early_point() {
                return EarlyRead::Error;
            }
            self.early.phase = Phase::ReadRetry;
            self.early.stopped = !self.established();
        }
        if self.early.accepted {
            if !self.early.unread.is_empty() {
                return EarlyRead::Read(self.early.take(buf));
            }
            // FINISH only for an EndOfEarlyData read here: one the handshake read instead
            // leaves OpenSSL waiting for it (measured).
            if !self.early.ended {
                return EarlyRead::Error;
            }
        }
        self.early.phase = Phase::Finished;
        EarlyRead::Finish
    }

    fn key_update(&mut self, requested: bool) -> i64 {
        // `unsupported` keeps `key_update` without `requested` away: rustls's one way to send a
        // KeyUpdate, `refresh_traffic_keys`, always requests the peer's. It queues the message;
        // it goes out at the next call that moves bytes, as OpenSSL's does.
        debug_assert!(requested);
        if !self.established() {
            return 0;
        }
        let conn = self.conn.as_mut().expect("established");
        let ok = conn.refresh_traffic_keys().is_ok();
        self.key_update_pending |= ok;
        ok.into()
    }

    fn early_data_status(&self) -> EarlyStatus {
        // rustls does not tell its server whether the client offered early data it did not
        // accept: what it did not accept reads as not sent.
        if self.early.accepted {
            EarlyStatus::Accepted
        } else {
            EarlyStatus::NotSent
        }
    }

    fn shutdown(&mut self) -> i64 {
        // As `SSL_shutdown` does during a handshake, or with a key update queued (OpenSSL is
        // then in init): fail, and touch nothing.
        if self.key_update_pending || !self.may_shut_down() {
            return -1;
        }
        // The first call only sends close_notify; later ones read, waiting for the peer's.
        if !self.close_sent {
            let conn = self.conn.as_mut().expect("may shut down");
            conn.send_close_notify();
            self.close_sent = true;
            self.flush();
        } else if !self.peer_closed && self.pump_reading() {
            // OpenSSL's `SSL_shutdown` reads only to find the peer's close_notify: application
            // data found there is fatal (SSL_R_APPLICATION_DATA_AFTER_CLOSE_NOTIFY), no alert.
            let conn = self.conn.as_mut().expect("may shut down");
            if conn
                .process_new_packets()
                .is_ok_and(|state| state.plaintext_bytes_to_read() > 0)
            {
                self.failed = true;
            }
        }
        let (sent, received) = self.shutdown_state();
        (sent && received).into()
    }

    fn shutdown_state(&self) -> (bool, bool) {
        (self.close_sent, self.peer_closed)
    }

    fn handshake_finished(&self) -> bool {
        self.established()
    }

    fn session_reused(&self) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|c| c.handshake_kind() == Some(HandshakeKind::Resumed))
    }

    fn tickets_issued(&self) -> u64 {
        self.tickets
    }

    fn close(&mut self) {}
}
