//! One `SSL` over a rustls `ServerConnection`.

use super::config::{Configs, Settings};
use super::sessions::Counts;
use crate::backend::{EarlyRead, Outcome, ServerConn};
use crate::trace::EarlyStatus;
use crate::wire::Endpoint;
use rustls::{HandshakeKind, ProtocolVersion, ServerConnection};
use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::rc::Rc;

/// One `SSL` over rustls.
pub(super) struct RustlsConn {
    /// Copied from the context at `SSL_new`; the count can change until the server first acts.
    settings: Settings,
    /// Created when the server first acts, from the settings by then.
    conn: Option<ServerConnection>,
    configs: Rc<RefCell<Configs>>,
    /// The context's new-session callback count.
    notified: Rc<Cell<u64>>,
    transport: Endpoint,
    /// The program's handouts when this connection last looked.
    seen: Counts,
    /// NewSessionTicket messages this connection sent.
    tickets: u64,
    /// rustls errors are final; so are OpenSSL's.
    failed: bool,
    close_sent: bool,
    peer_closed: bool,
}

impl RustlsConn {
    pub fn new(
        settings: Settings,
        configs: Rc<RefCell<Configs>>,
        notified: Rc<Cell<u64>>,
        transport: Endpoint,
    ) -> RustlsConn {
        let seen = configs.borrow().handouts.now();
        RustlsConn {
            settings,
            conn: None,
            configs,
            notified,
            transport,
            seen,
            tickets: 0,
            failed: false,
            close_sent: false,
            peer_closed: false,
        }
    }

    /// Creates the rustls connection if need be, then moves every byte it can in both
    /// directions. `false` once the connection has failed.
    fn pump(&mut self) -> bool {
        if self.failed {
            return false;
        }
        if self.conn.is_none() {
            let config = self.configs.borrow_mut().get(self.settings);
            match ServerConnection::new(config) {
                Ok(conn) => self.conn = Some(conn),
                Err(_) => {
                    self.failed = true;
                    return false;
                }
            }
        }
        let conn = self.conn.as_mut().expect("created above");
        let mut ok = true;
        loop {
            match conn.read_tls(&mut self.transport) {
                Ok(0) => break,
                Ok(_) => match conn.process_new_packets() {
                    Ok(state) => self.peer_closed |= state.peer_has_closed(),
                    Err(_) => {
                        // The alert rustls queued still goes out.
                        self.failed = true;
                        ok = false;
                        break;
                    }
                },
                // Nothing on the wire, or rustls's receive buffers are full until the
                // application reads: either way the rest waits on the wire.
                Err(_) => break,
            }
        }
        flush(conn, &mut self.transport);
        self.count_handouts();
        ok
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
            let sealed = if self.settings.notifies() {
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
        if !self.pump() {
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
        if self.close_sent || !self.pump() {
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
        flush(conn, &mut self.transport);
        outcome
    }

    fn read(&mut self, buf: &mut [u8]) -> Outcome {
        if !self.pump() {
            return Outcome::Failed;
        }
        let conn = self.conn.as_mut().expect("created by pump");
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

    fn read_early_data(&mut self, _buf: &mut [u8]) -> EarlyRead {
        EarlyRead::Error
    }

    fn key_update(&mut self, _requested: bool) -> i64 {
        0
    }

    fn early_data_status(&self) -> EarlyStatus {
        EarlyStatus::NotSent
    }

    fn shutdown(&mut self) -> i64 {
        // As `SSL_shutdown` does during a handshake: fail, and touch nothing.
        if !self.established() {
            return -1;
        }
        self.pump();
        let conn = self.conn.as_mut().expect("established");
        if !self.close_sent {
            conn.send_close_notify();
            self.close_sent = true;
            flush(conn, &mut self.transport);
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
