//! Glue for the native server tests: an OpenSSL or rustls client and a native server joined in
//! memory, stepped by the test. The pieces are the library's (`ticketdiff::testing`,
//! `ticketdiff::pki`, `ticketdiff::wire`).
#![allow(dead_code)]

use openssl::ssl::{ErrorCode, SslContext, SslStream};
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use ticketdiff::native::{ServerConfig, ServerConnection};
pub use ticketdiff::pki::pki;
pub use ticketdiff::testing::now_ms;
pub use ticketdiff::testing::openssl_client::ClientOptions;
use ticketdiff::testing::openssl_client::{client_context, connect};
use ticketdiff::wire::{wire_with_capacity, Endpoint};

/// The test PKI's native server configuration, changed by `f`.
pub fn config_with(f: impl FnOnce(&mut ServerConfig)) -> Arc<ServerConfig> {
    let mut cfg = pki().native_p256_server_config([42u8; 32]).expect("config");
    f(&mut cfg);
    Arc::new(cfg)
}

/// A native server connection, each with a seed of its own.
pub fn server(cfg: &Arc<ServerConfig>) -> ServerConnection {
    static SEED: AtomicUsize = AtomicUsize::new(0);
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(SEED.fetch_add(1, Ordering::Relaxed) as u64).to_be_bytes());
    ServerConnection::new(cfg.clone(), seed, now_ms())
}

/// An OpenSSL client connected to a native server in memory.
pub struct OsslPair {
    pub client: SslStream<Endpoint>,
    pub server: ServerConnection,
    /// The wire's server end: what the client wrote, and where the server's output goes.
    pub wire: Endpoint,
    pub tickets: Arc<AtomicUsize>,
    /// The server's error, if the server failed.
    pub server_error: Option<ticketdiff::native::Error>,
}

/// The last session the client got from a ticket.
pub type SessionSlot = Arc<std::sync::Mutex<Option<ticketdiff::openssl_ffi::ClientSession>>>;

/// A client context counting tickets in `tickets` and keeping the last session in `slot`.
pub fn openssl_context_with(
    opts: &ClientOptions,
    tickets: Arc<AtomicUsize>,
    slot: SessionSlot,
) -> SslContext {
    client_context(opts, move |session| {
        tickets.fetch_add(1, Ordering::SeqCst);
        *slot.lock().unwrap() = Some(session);
    })
}

impl OsslPair {
    pub fn new(opts: &ClientOptions, server: ServerConnection) -> Self {
        let tickets = Arc::new(AtomicUsize::new(0));
        let ctx = openssl_context_with(opts, tickets.clone(), SessionSlot::default());
        Self::from_context(&ctx, tickets, server, |_| {})
    }

    /// A pair whose client comes from `ctx` (tickets counted in `tickets`), after `setup`.
    pub fn from_context(
        ctx: &SslContext,
        tickets: Arc<AtomicUsize>,
        server: ServerConnection,
        setup: impl FnOnce(&mut openssl::ssl::SslRef),
    ) -> Self {
        // Unbounded: a test moves all a server wrote in one step, however much.
        let (client_end, server_end) = wire_with_capacity(usize::MAX);
        OsslPair {
            client: connect(ctx, client_end, setup),
            server,
            wire: server_end,
            tickets,
            server_error: None,
        }
    }

    /// Moves bytes both ways once; true if anything moved.
    pub fn shuttle(&mut self) -> bool {
        let c2s = self.wire.take_pending();
        let mut moved = !c2s.is_empty();
        if !c2s.is_empty() && self.server_error.is_none() {
            if let Err(e) = self.server.read_tls(&c2s) {
                self.server_error = Some(e);
            }
        }
        let s2c = self.server.take_output();
        moved |= !s2c.is_empty();
        io::Write::write_all(&mut self.wire, &s2c).expect("an unbounded wire takes everything");
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

/// rustls client config restricted to one suite and the given groups (ring provider, TLS 1.3).
pub fn rustls_config(
    suite: rustls::SupportedCipherSuite,
    groups: Vec<&'static dyn rustls::crypto::SupportedKxGroup>,
) -> Arc<rustls::ClientConfig> {
    rustls_client_config(rustls::crypto::CryptoProvider {
        cipher_suites: vec![suite],
        kx_groups: groups,
        ..rustls::crypto::ring::default_provider()
    })
}

/// A TLS 1.3 rustls client config with `provider`, trusting the test CA.
pub fn rustls_client_config(provider: rustls::crypto::CryptoProvider) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(
            pki().ca_cert_der.clone(),
        ))
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

/// `ticketdiff ARGS` in `dir`; a run still going after `limit` is killed and fails the test.
pub fn ticketdiff_within(
    args: &[&str],
    dir: &std::path::Path,
    limit: std::time::Duration,
) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!(
                "`ticketdiff {}` still running after {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The text of `diff/NAME`, a saved entry of the repository.
pub fn saved_entry(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("diff")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// Makes a FIFO at `path`.
pub fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
}
