//! Shared helpers for the native server tests: PKI, in-memory transports, client drivers.
#![allow(dead_code)]

pub mod mini;

use openssl::ssl::{
    ErrorCode, SslContext, SslMethod, SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use ticketdiff::native::pki::TestPki;
use ticketdiff::native::{ServerConfig, ServerConnection};

pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| TestPki::generate().expect("pki"))
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

pub fn config_with(f: impl FnOnce(&mut ServerConfig)) -> Arc<ServerConfig> {
    let mut cfg = pki().server_config([42u8; 32]).expect("config");
    f(&mut cfg);
    Arc::new(cfg)
}

pub fn server(cfg: &Arc<ServerConfig>) -> ServerConnection {
    static SEED: AtomicUsize = AtomicUsize::new(0);
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(SEED.fetch_add(1, Ordering::Relaxed) as u64).to_be_bytes());
    ServerConnection::new(cfg.clone(), seed, now_ms())
}

/// One end of an in-memory byte pipe: reads return WouldBlock when empty.
#[derive(Clone, Default)]
pub struct Pipe {
    pub inbound: Rc<RefCell<VecDeque<u8>>>,
    pub outbound: Rc<RefCell<Vec<u8>>>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut q = self.inbound.borrow_mut();
        if q.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(q.len());
        for (b, x) in buf.iter_mut().zip(q.drain(..n)) {
            *b = x;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbound.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// OpenSSL client options.
#[derive(Clone)]
pub struct OsslOpts {
    pub suites: &'static str,
    pub groups: &'static str,
}

impl Default for OsslOpts {
    fn default() -> Self {
        OsslOpts {
            suites: "TLS_AES_128_GCM_SHA256",
            groups: "X25519",
        }
    }
}

/// An OpenSSL client connected to a native server in memory.
pub struct OsslPair {
    pub client: SslStream<Pipe>,
    pub server: ServerConnection,
    pub pipe: Pipe,
    pub tickets: Arc<AtomicUsize>,
    /// The server's error, if the server failed.
    pub server_error: Option<ticketdiff::native::Error>,
}

/// The last session the client got from a ticket.
pub type SessionSlot = Arc<std::sync::Mutex<Option<openssl::ssl::SslSession>>>;

pub fn openssl_context(opts: &OsslOpts, tickets: Arc<AtomicUsize>) -> SslContext {
    openssl_context_with(opts, tickets, SessionSlot::default(), None)
}

/// A client context; `slot` receives each ticket's session; `client_cert` enables a client
/// certificate (for post-handshake auth).
pub fn openssl_context_with(
    opts: &OsslOpts,
    tickets: Arc<AtomicUsize>,
    slot: SessionSlot,
    client_cert: Option<(&[u8], &[u8])>,
) -> SslContext {
    let mut b = SslContext::builder(SslMethod::tls_client()).expect("ctx");
    b.set_min_proto_version(Some(SslVersion::TLS1_3)).unwrap();
    b.set_ciphersuites(opts.suites).unwrap();
    b.set_groups_list(opts.groups).unwrap();
    b.cert_store_mut()
        .add_cert(X509::from_der(&pki().ca_der).unwrap())
        .unwrap();
    b.set_verify(SslVerifyMode::PEER);
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT);
    b.set_new_session_callback(move |_ssl, sess| {
        tickets.fetch_add(1, Ordering::SeqCst);
        *slot.lock().unwrap() = Some(sess);
    });
    if let Some((cert, key)) = client_cert {
        b.set_certificate(&X509::from_der(cert).unwrap()).unwrap();
        b.set_private_key(&openssl::pkey::PKey::private_key_from_der(key).unwrap())
            .unwrap();
    }
    b.build()
}

impl OsslPair {
    pub fn new(opts: &OsslOpts, server: ServerConnection) -> Self {
        let tickets = Arc::new(AtomicUsize::new(0));
        let ctx = openssl_context(opts, tickets.clone());
        Self::from_context(&ctx, tickets, server, |_| {})
    }

    /// A pair whose client comes from `ctx` (tickets counted in `tickets`), after `setup`.
    pub fn from_context(
        ctx: &SslContext,
        tickets: Arc<AtomicUsize>,
        server: ServerConnection,
        setup: impl FnOnce(&mut openssl::ssl::SslRef),
    ) -> Self {
        let mut ssl = openssl::ssl::Ssl::new(ctx).unwrap();
        setup(&mut ssl);
        ssl.set_hostname("localhost").unwrap();
        ssl.param_mut().set_host("localhost").unwrap();
        ssl.set_connect_state();
        let pipe = Pipe::default();
        let client = SslStream::new(ssl, pipe.clone()).unwrap();
        OsslPair {
            client,
            server,
            pipe,
            tickets,
            server_error: None,
        }
    }

    /// Moves bytes both ways once; true if anything moved.
    pub fn shuttle(&mut self) -> bool {
        let c2s: Vec<u8> = std::mem::take(&mut *self.pipe.outbound.borrow_mut());
        let mut moved = !c2s.is_empty();
        if !c2s.is_empty() && self.server_error.is_none() {
            if let Err(e) = self.server.read_tls(&c2s) {
                self.server_error = Some(e);
            }
        }
        let s2c = self.server.take_output();
        moved |= !s2c.is_empty();
        self.pipe.inbound.borrow_mut().extend(s2c);
        moved
    }

    /// Runs the handshake to completion on both sides; Err(openssl error) if the client fails.
    pub fn handshake(&mut self) -> Result<(), openssl::ssl::Error> {
        for _ in 0..50 {
            match self.client.do_handshake() {
                Ok(()) => {
                    self.shuttle();
                    return Ok(());
                }
                Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {
                    if !self.shuttle() {
                        return Err(e);
                    }
                }
                Err(e) => {
                    self.shuttle();
                    return Err(e);
                }
            }
        }
        panic!("handshake did not converge");
    }

    /// Reads whatever the client can read now (processes tickets, KeyUpdates, data).
    pub fn client_read(&mut self) -> Result<Vec<u8>, openssl::ssl::Error> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            self.shuttle();
            match self.client.ssl_read(&mut buf) {
                Ok(0) => return Ok(got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.code() == ErrorCode::WANT_READ => {
                    if !self.shuttle() {
                        return Ok(got);
                    }
                }
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => return Ok(got),
                Err(e) => return Err(e),
            }
        }
    }

    pub fn client_write(&mut self, data: &[u8]) {
        let mut off = 0;
        while off < data.len() {
            off += self.client.ssl_write(&data[off..]).expect("client write");
        }
        self.shuttle();
    }
}

/// rustls client config restricted to one suite and one group (ring provider, TLS 1.3).
pub fn rustls_config(
    suite: rustls::SupportedCipherSuite,
    groups: Vec<&'static dyn rustls::crypto::SupportedKxGroup>,
) -> Arc<rustls::ClientConfig> {
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![suite],
        kx_groups: groups,
        ..rustls::crypto::ring::default_provider()
    };
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(pki().ca_der.clone()))
        .unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A rustls client and a native server in memory.
pub struct RustlsPair {
    pub client: rustls::ClientConnection,
    pub server: ServerConnection,
}

impl RustlsPair {
    pub fn new(cfg: &Arc<rustls::ClientConfig>, server: ServerConnection) -> Self {
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        RustlsPair {
            client: rustls::ClientConnection::new(cfg.clone(), name).unwrap(),
            server,
        }
    }

    /// Moves bytes both ways until quiet. Server errors and client errors are returned.
    pub fn pump(&mut self) -> Result<(), String> {
        for _ in 0..100 {
            let mut c2s = Vec::new();
            while self.client.wants_write() {
                self.client.write_tls(&mut c2s).unwrap();
            }
            let mut moved = !c2s.is_empty();
            if !c2s.is_empty() {
                self.server
                    .read_tls(&c2s)
                    .map_err(|e| format!("server: {e}"))?;
            }
            let s2c = self.server.take_output();
            if !s2c.is_empty() {
                moved = true;
                let mut rd = &s2c[..];
                while !rd.is_empty() {
                    self.client.read_tls(&mut rd).unwrap();
                    self.client
                        .process_new_packets()
                        .map_err(|e| format!("client: {e}"))?;
                }
            }
            if !moved {
                return Ok(());
            }
        }
        Err("pump did not converge".into())
    }

    pub fn client_read_all(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.client.reader().read(&mut buf) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return out,
                Err(e) => panic!("client read: {e}"),
            }
        }
    }
}
