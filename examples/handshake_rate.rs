//! Full and resumed handshake rates: the native server vs a rustls server (ring), both against the same
//! OpenSSL client, TLS_AES_128_GCM_SHA256 + X25519, P-256 certificate, 2 stateless tickets,
//! in memory, one thread. Run: `cargo run --release --example handshake_rate [handshakes]`.

use openssl::ssl::{
    ErrorCode, Ssl, SslContext, SslMethod, SslSession, SslSessionCacheMode, SslSessionRef,
    SslStream, SslVerifyMode, SslVersion,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;
use ticketdiff::native::pki::TestPki;

#[derive(Clone, Default)]
struct Pipe {
    inbound: Rc<RefCell<VecDeque<u8>>>,
    outbound: Rc<RefCell<Vec<u8>>>,
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

trait Server {
    /// Feeds client bytes, returns server bytes and whether the handshake is complete.
    fn exchange(&mut self, input: &[u8]) -> (Vec<u8>, bool);
}

struct Native(ticketdiff::native::ServerConnection);

impl Server for Native {
    fn exchange(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        if !input.is_empty() {
            self.0.read_tls(input).expect("native server");
        }
        (self.0.take_output(), self.0.is_handshake_finished())
    }
}

struct Rustls(rustls::ServerConnection);

impl Server for Rustls {
    fn exchange(&mut self, mut input: &[u8]) -> (Vec<u8>, bool) {
        while !input.is_empty() {
            self.0.read_tls(&mut input).unwrap();
            self.0.process_new_packets().expect("rustls server");
        }
        let mut out = Vec::new();
        while self.0.wants_write() {
            self.0.write_tls(&mut out).unwrap();
        }
        (out, !self.0.is_handshaking())
    }
}

/// Runs one handshake, offering `session` if given; returns the time spent inside the server.
fn handshake(
    ctx: &SslContext,
    server: &mut dyn Server,
    session: Option<&SslSessionRef>,
) -> std::time::Duration {
    let mut in_server = std::time::Duration::ZERO;
    let mut ssl = Ssl::new(ctx).unwrap();
    if let Some(sess) = session {
        assert!(ticketdiff::openssl_ffi::set_session(&mut ssl, sess));
    }
    ssl.set_hostname("localhost").unwrap();
    ssl.set_connect_state();
    let pipe = Pipe::default();
    let mut client = SslStream::new(ssl, pipe.clone()).unwrap();
    let mut client_done = false;
    loop {
        if !client_done {
            match client.do_handshake() {
                Ok(()) => client_done = true,
                Err(e) if e.code() == ErrorCode::WANT_READ => {}
                Err(e) => panic!("client: {e}"),
            }
        }
        let c2s = std::mem::take(&mut *pipe.outbound.borrow_mut());
        let t = Instant::now();
        let (s2c, server_done) = server.exchange(&c2s);
        in_server += t.elapsed();
        pipe.inbound.borrow_mut().extend(s2c);
        if client_done && server_done && c2s.is_empty() {
            // Let the client take its tickets (the new-session callback keeps the last one).
            let mut buf = [0u8; 16];
            let _ = client.ssl_read(&mut buf);
            if session.is_some() {
                assert!(
                    client.ssl().session_reused(),
                    "resumption failed: {:?}",
                    client.ssl().state_string_long()
                );
            }
            ticketdiff::openssl_ffi::mark_shut_down(client.ssl());
            return in_server;
        }
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let pki = TestPki::generate().unwrap();
    let native_cfg = Arc::new(pki.server_config([5u8; 32]).unwrap());

    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256],
        kx_groups: vec![rustls::crypto::ring::kx_group::X25519],
        ..rustls::crypto::ring::default_provider()
    };
    let mut rustls_cfg = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![pki.server_cert_der.clone().into()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(pki.server_key_pkcs8.clone().into()),
        )
        .unwrap();
    rustls_cfg.ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
    rustls_cfg.send_tls13_tickets = 2;
    let rustls_cfg = Arc::new(rustls_cfg);

    let mut b = SslContext::builder(SslMethod::tls_client()).unwrap();
    b.set_min_proto_version(Some(SslVersion::TLS1_3)).unwrap();
    b.set_ciphersuites("TLS_AES_128_GCM_SHA256").unwrap();
    b.set_groups_list("X25519").unwrap();
    b.cert_store_mut()
        .add_cert(openssl::x509::X509::from_der(&pki.ca_der).unwrap())
        .unwrap();
    b.set_verify(SslVerifyMode::PEER);
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT);
    let slot: Arc<Mutex<Option<SslSession>>> = Arc::default();
    let slot2 = slot.clone();
    b.set_new_session_callback(move |_, sess| *slot2.lock().unwrap() = Some(sess));
    let ctx = b.build();

    println!(
        "{} (client), {n} full handshakes per round, 5 rounds",
        openssl::version::version()
    );
    let mut native_rates = Vec::new();
    let mut rustls_rates = Vec::new();
    let mut native_us = Vec::new();
    let mut rustls_us = Vec::new();
    for round in 0..5 {
        let t = Instant::now();
        let mut native_server = std::time::Duration::ZERO;
        for i in 0..n {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let mut s = Native(ticketdiff::native::ServerConnection::new(
                native_cfg.clone(),
                seed,
                1_700_000_000_000,
            ));
            native_server += handshake(&ctx, &mut s, None);
        }
        let native = n as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut rustls_server = std::time::Duration::ZERO;
        for _ in 0..n {
            let mut s = Rustls(rustls::ServerConnection::new(rustls_cfg.clone()).unwrap());
            rustls_server += handshake(&ctx, &mut s, None);
        }
        let rl = n as f64 / t.elapsed().as_secs_f64();
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "round {round}: native {native:.0}/s (server {:.0} us/handshake), rustls {rl:.0}/s (server {:.0} us/handshake)",
            us(native_server),
            us(rustls_server)
        );
        native_rates.push(native);
        rustls_rates.push(rl);
        native_us.push(us(native_server));
        rustls_us.push(us(rustls_server));
    }
    // Resumed handshakes: each offers the ticket of the previous one (the OpenSSL client does
    // not offer a TLS 1.3 session twice).
    let native_conn = |i: usize| {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
        Native(ticketdiff::native::ServerConnection::new(
            native_cfg.clone(),
            seed,
            1_700_000_000_000,
        ))
    };
    handshake(&ctx, &mut native_conn(0), None);
    let mut native_sess = slot.lock().unwrap().take().expect("native ticket");
    handshake(
        &ctx,
        &mut Rustls(rustls::ServerConnection::new(rustls_cfg.clone()).unwrap()),
        None,
    );
    let mut rustls_sess = slot.lock().unwrap().take().expect("rustls ticket");
    let mut resumed = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..5 {
        let t = Instant::now();
        let mut in_native = std::time::Duration::ZERO;
        for i in 0..n {
            in_native += handshake(&ctx, &mut native_conn(i), Some(&native_sess));
            native_sess = slot.lock().unwrap().take().expect("native ticket");
        }
        let native = n as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut in_rustls = std::time::Duration::ZERO;
        for _ in 0..n {
            let mut s = Rustls(rustls::ServerConnection::new(rustls_cfg.clone()).unwrap());
            in_rustls += handshake(&ctx, &mut s, Some(&rustls_sess));
            rustls_sess = slot.lock().unwrap().take().expect("rustls ticket");
        }
        let rl = n as f64 / t.elapsed().as_secs_f64();
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "resumed round {round}: native {native:.0}/s (server {:.0} us, 1 ticket), rustls {rl:.0}/s (server {:.0} us, 2 tickets)",
            us(in_native),
            us(in_rustls)
        );
        resumed.0.push(native);
        resumed.1.push(rl);
        resumed.2.push(us(in_native));
        resumed.3.push(us(in_rustls));
    }
    for v in [
        &mut resumed.0,
        &mut resumed.1,
        &mut resumed.2,
        &mut resumed.3,
    ] {
        v.sort_by(f64::total_cmp);
    }
    for v in [
        &mut native_rates,
        &mut rustls_rates,
        &mut native_us,
        &mut rustls_us,
    ] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "median: native {:.0} handshakes/s ({:.0} us in server), rustls {:.0} handshakes/s ({:.0} us in server)",
        native_rates[2], native_us[2], rustls_rates[2], rustls_us[2]
    );
    println!(
        "median resumed: native {:.0} handshakes/s ({:.0} us in server), rustls {:.0} handshakes/s ({:.0} us in server)",
        resumed.0[2], resumed.2[2], resumed.1[2], resumed.3[2]
    );
}
