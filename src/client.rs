//! The client every backend is measured with: an OpenSSL 3 client, one per connection, counting
//! the NewSessionTicket messages it processes and keeping the sessions they carry.

use crate::backend::openssl::{ca_store, parsed_pki};
use crate::backend::Outcome;
use crate::openssl_ffi as ffi;
use crate::program::{ConnectFlags, Resume};
use crate::wire::Endpoint;
use openssl::ssl::{
    Ssl, SslContext, SslMethod, SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use std::sync::{Arc, Mutex, OnceLock};

/// The sessions a program's clients have received, oldest first, each offered at most once.
#[derive(Default)]
pub struct Sessions {
    received: Vec<(ffi::ClientSession, bool)>,
}

impl Sessions {
    /// The newest session not offered yet, now marked offered.
    fn take_newest(&mut self) -> Option<ffi::ClientSession> {
        let (session, offered) = self.received.iter_mut().rev().find(|(_, o)| !*o)?;
        *offered = true;
        Some(session.clone())
    }
}

type SharedSessions = Arc<Mutex<Sessions>>;

fn sessions_index() -> openssl::ex_data::Index<Ssl, SharedSessions> {
    static INDEX: OnceLock<openssl::ex_data::Index<Ssl, SharedSessions>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index().expect("SSL ex_data index"))
}

/// Why the client cannot do what these flags ask, if it cannot.
pub fn unsupported(flags: &ConnectFlags) -> Option<&'static str> {
    flags
        .is_v2()
        .then_some("the client does not implement the format's version 2 `connect` flags yet")
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
                store.received.push((session, false));
            }
        });
        ClientContext { ctx: b.build() }
    }

    /// A new client for one connection. With `flags.resume` it offers the newest session in
    /// `sessions` not offered before; the second value says whether it offered one.
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
        let offered = flags.resume == Resume::Newest
            && match sessions.lock().take_newest() {
                Some(session) => ffi::set_session(&mut ssl, &session),
                None => false,
            };
        let counter = ffi::count_new_session_tickets(&mut ssl);
        let stream = SslStream::new(ssl, transport).expect("SSL_set_bio");
        (ClientConn { stream, counter }, offered)
    }
}

/// The sessions of one program, shared with the client callback.
#[derive(Clone, Default)]
pub struct SharedSessionStore(SharedSessions);

impl SharedSessionStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The client side of one connection.
pub struct ClientConn {
    stream: SslStream<Endpoint>,
    counter: Arc<ffi::TicketCounter>,
}

/// Size of each `SSL_read_ex` buffer: one full TLS record.
pub const READ_BUFFER: usize = 16 * 1024;

impl ClientConn {
    pub fn do_handshake(&mut self) -> Outcome {
        ffi::do_handshake(self.stream.ssl())
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
