//! The client every backend is measured with: an OpenSSL 3 client, one per connection, counting
//! the NewSessionTicket messages it processes and keeping the sessions they carry.

use crate::backend::openssl::{ca_store, parsed_pki};
use crate::backend::Outcome;
use crate::openssl_ffi as ffi;
use crate::program::{ConnectFlags, Options, Resume, SslOption, MAX_WRITE_LEN};
use crate::wire::Endpoint;
use openssl::ssl::{
    Ssl, SslContext, SslMethod, SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

/// The bytes every write sends. One buffer for the whole process, so a write retried after
/// would-block passes the same pointer, as OpenSSL requires without
/// `SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER`, whatever the allocator does. Here rather than in the
/// harness because the client's early data comes from it too.
static WRITE_DATA: [u8; MAX_WRITE_LEN as usize] = [b'x'; MAX_WRITE_LEN as usize];

/// The first `len` bytes of the one buffer every write sends from.
pub fn write_data(len: u64) -> &'static [u8] {
    &WRITE_DATA[..len.min(MAX_WRITE_LEN) as usize]
}

/// One ticket a client received and has not offered yet.
struct Received {
    /// The session OpenSSL handed over, offered by `resume` (as in version 1).
    session: ffi::ClientSession,
    /// A copy made on arrival, never given to OpenSSL: an OpenSSL client marks a TLS 1.3
    /// session not resumable once it has been used (and when a connection ends badly), so
    /// `resume=again` offers copies of this.
    on_arrival: ffi::ClientSession,
}

/// The sessions a program's clients have received and can still offer, oldest first.
///
/// Only what a later `connect` can pick is kept, so that a program's memory does not grow
/// with every ticket (256 a handshake, 499 handshakes: 350 MB): `resume` takes the newest
/// ticket not offered yet, so an offered one goes (what `resume=again` offers is its arrival
/// copy, kept apart), and of the others only as many of the newest as the program has
/// `resume` connects left can ever be taken. Nothing OpenSSL's client does depends on the
/// sessions it handed over being kept, so the trace is the same.
#[derive(Default)]
pub struct Sessions {
    received: VecDeque<Received>,
    /// The arrival copy of the ticket the previous `connect` offered, if it offered one.
    previous_offer: Option<ffi::ClientSession>,
    /// How many `connect resume` ops the program has after the current op.
    resumes_left: usize,
}

impl Sessions {
    /// The newest session not offered yet, now taken, and its arrival copy.
    fn take_newest(&mut self) -> Option<(ffi::ClientSession, ffi::ClientSession)> {
        let r = self.received.pop_back()?;
        Some((r.session, r.on_arrival))
    }

    /// What a `connect` with `resume` offers: the session, and the arrival copy the next
    /// `resume=again` offers again. Every offer is a fresh copy of that arrival copy, so a
    /// third offer sees the ticket as it arrived too.
    fn offer(&mut self, resume: Resume) -> Option<(ffi::ClientSession, ffi::ClientSession)> {
        match resume {
            Resume::No => None,
            Resume::Newest => self.take_newest(),
            Resume::Again => {
                let copy = self.previous_offer.take()?;
                Some((copy.dup(), copy))
            }
        }
    }

    /// A ticket arrived: kept if a later `resume` can still take it.
    fn arrived(&mut self, session: ffi::ClientSession) {
        if self.resumes_left == 0 {
            return;
        }
        if self.received.len() == self.resumes_left {
            self.received.pop_front();
        }
        let on_arrival = session.dup();
        self.received.push_back(Received {
            session,
            on_arrival,
        });
    }
}

type SharedSessions = Arc<Mutex<Sessions>>;

fn sessions_index() -> openssl::ex_data::Index<Ssl, SharedSessions> {
    static INDEX: OnceLock<openssl::ex_data::Index<Ssl, SharedSessions>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index().expect("SSL ex_data index"))
}

/// The client `SSL_CTX`, one per thread's harness.
pub struct ClientContext {
    ctx: SslContext,
}

impl Default for ClientContext {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientContext {
    pub fn new() -> ClientContext {
        let mut b = SslContext::builder(SslMethod::tls_client()).expect("SSL_CTX_new");
        b.set_verify(SslVerifyMode::PEER);
        b.set_cert_store(ca_store());
        b.set_groups_list("X25519:P-256").expect("groups");
        // The new-session callback runs once per ticket only with client-side caching on.
        b.set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL);
        ffi::on_new_session(&mut b, |ssl, session| {
            if let Some(store) = ssl.ex_data(sessions_index()) {
                let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                store.arrived(session);
            }
        });
        ClientContext { ctx: b.build() }
    }

    /// A new client for one connection, set up as `flags` say. With `resume` it offers the
    /// newest session in `sessions` not offered before, with `resume=again` a copy of the one
    /// the previous connection offered, as it arrived; the second value says whether it offered
    /// one.
    pub fn connect(
        &self,
        transport: Endpoint,
        flags: ConnectFlags,
        sessions: &SharedSessionStore,
    ) -> (ClientConn, bool) {
        let mut ssl = Ssl::new(&self.ctx).expect("SSL_new");
        ssl.set_connect_state();
        ssl.set_hostname("localhost").expect("SNI");
        ssl.set_ex_data(sessions_index(), sessions.0.clone());
        if flags.tls12 {
            ssl.set_max_proto_version(Some(SslVersion::TLS1_2))
                .expect("max version");
        }
        if flags.pha {
            let p = parsed_pki();
            ssl.set_certificate(&p.client_cert).expect("client cert");
            ssl.set_private_key(&p.client_key).expect("client key");
            ffi::enable_post_handshake_auth(&ssl);
        }
        if flags.psk_ke {
            ffi::set_options(&ssl, Options::default().with(SslOption::AllowNoDheKex));
        }
        // OpenSSL decides what a list does: one it refuses (OpenSSL 3.0 refuses a group named
        // twice; a suite named twice is accepted) leaves the client with the context's list,
        // as for any application that ignores the return value. The same client runs for
        // every backend, so every server sees the same ClientHello either way.
        if let Some(suites) = flags.suites {
            ffi::set_ciphersuites(&ssl, &suites.to_string());
        }
        if let Some(groups) = flags.groups {
            ffi::set_groups_list(&ssl, &groups.to_string());
        }
        let mut store = sessions.lock();
        let offer = store.offer(flags.resume);
        let offered = offer
            .as_ref()
            .is_some_and(|(session, _)| ffi::set_session(&mut ssl, session));
        store.previous_offer = offer.filter(|_| offered).map(|(_, copy)| copy);
        drop(store);
        let early = match (flags.early, offered) {
            (Some(n), true) => {
                let max = ssl.session().map_or(0, |s| s.max_early_data());
                (max > 0).then(|| write_data(n.min(max.into())))
            }
            _ => None,
        };
        let counter = ffi::count_new_session_tickets(&mut ssl);
        let stream = SslStream::new(ssl, transport).expect("SSL_set_bio");
        (
            ClientConn {
                stream,
                counter,
                early,
            },
            offered,
        )
    }
}

/// The sessions of one program, shared with the client callback.
#[derive(Clone, Default)]
pub struct SharedSessionStore(SharedSessions);

impl SharedSessionStore {
    /// Says how many `connect resume` ops the program has after the current one: the store
    /// keeps no more tickets than those can take.
    pub fn set_resumes_left(&self, n: usize) {
        let mut store = self.lock();
        store.resumes_left = n;
        let excess = store.received.len().saturating_sub(n);
        store.received.drain(..excess);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The client side of one connection.
pub struct ClientConn {
    stream: SslStream<Endpoint>,
    counter: Arc<ffi::TicketCounter>,
    /// The early data the first handshake step writes, if it is due (`early=N` with an offered
    /// session that allows early data).
    early: Option<&'static [u8]>,
}

/// Size of each `SSL_read_ex` buffer: one full TLS record.
pub const READ_BUFFER: usize = 16 * 1024;

impl ClientConn {
    /// One client handshake step: `SSL_do_handshake`, except that the first step of a
    /// connection with early data due is `SSL_write_early_data` instead.
    ///
    /// `SSL_write_early_data` returns 1 once it has written the ClientHello and the early data;
    /// the handshake is then not finished (the client waits for the server's flight), so that
    /// success is reported as `WouldBlock`: a `client_step` returns -1, "wants more I/O", as
    /// `SSL_do_handshake` would at that point, and the `handshake` loop goes on because the
    /// ClientHello is in flight. Its would-block (a wire too full for the early data) is
    /// `WouldBlock` too, and a failure is `Failed` (ret 0). Either way the step is taken once:
    /// the next step is `SSL_do_handshake`.
    pub fn do_handshake(&mut self) -> Outcome {
        match self.early.take() {
            Some(data) => match ffi::write_early_data(self.stream.ssl(), data) {
                Outcome::Done(_) => Outcome::WouldBlock,
                other => other,
            },
            None => ffi::do_handshake(self.stream.ssl()),
        }
    }

    /// Bytes on the wire in either direction, not yet read.
    pub fn bytes_in_flight(&self) -> usize {
        self.stream.get_ref().in_flight()
    }

    pub fn handshake_finished(&self) -> bool {
        self.stream.ssl().is_init_finished()
    }

    /// `SSL_read_ex` until it would block: application bytes read in total, or `None` if the
    /// connection failed.
    pub fn read_all(&mut self) -> Option<u64> {
        let mut buf = [0u8; READ_BUFFER];
        let mut total = 0u64;
        loop {
            match ffi::read_ex(self.stream.ssl(), &mut buf) {
                Outcome::Done(n) => total += n as u64,
                Outcome::WouldBlock | Outcome::Closed => return Some(total),
                Outcome::Failed => return None,
            }
        }
    }

    pub fn write(&mut self, data: &[u8]) -> Outcome {
        ffi::write_ex(self.stream.ssl(), data)
    }

    pub fn shutdown(&mut self) -> i64 {
        ffi::shutdown(self.stream.ssl()).into()
    }

    pub fn shutdown_state(&self) -> (bool, bool) {
        ffi::shutdown_state(self.stream.ssl())
    }

    /// NewSessionTicket messages this client has processed.
    pub fn tickets_received(&self) -> u64 {
        self.counter.read()
    }

    pub fn close(&mut self) {
        ffi::mark_shut_down(self.stream.ssl());
    }
}
