//! Full and resumed handshake rates: the native server vs a rustls server (ring), both against the same
//! OpenSSL client, TLS_AES_128_GCM_SHA256 + X25519, P-256 certificate, 2 stateless tickets,
//! in memory, one thread. Run: `cargo run --release --example handshake_rate [handshakes]
//! [full|resumed]` (both kinds by default; one kind at a time lets callgrind count each).
//!
//! Both servers do the same TLS work: two tickets after a full handshake, one after a resumed
//! one (what the native server does, as OpenSSL; the rustls server gets a config for it).

use openssl::ssl::{ErrorCode, SslContext};
use std::io::Write;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;
use ticketdiff::openssl_ffi::ClientSession;
use ticketdiff::testing::openssl_client::{client_context, connect, ClientOptions};
use ticketdiff::testing::server_configs::{
    pinned_native_config, pinned_rustls_provider, rustls_server_config,
};
use ticketdiff::wire::wire;

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
    session: Option<&ClientSession>,
) -> std::time::Duration {
    let mut in_server = std::time::Duration::ZERO;
    let (client_end, mut server_end) = wire();
    let mut client = connect(ctx, client_end, |ssl| {
        if let Some(sess) = session {
            assert!(ticketdiff::openssl_ffi::set_session(ssl, sess));
        }
    });
    let mut client_done = false;
    loop {
        if !client_done {
            match client.do_handshake() {
                Ok(()) => client_done = true,
                Err(e) if e.code() == ErrorCode::WANT_READ => {}
                Err(e) => panic!("client: {e}"),
            }
        }
        let c2s = server_end.take_pending();
        let t = Instant::now();
        let (s2c, server_done) = server.exchange(&c2s);
        in_server += t.elapsed();
        server_end.write_all(&s2c).unwrap();
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

/// A rustls server sending `tickets` tickets per handshake, as the native server does.
fn rustls_config(tickets: usize) -> Arc<rustls::ServerConfig> {
    let mut cfg = rustls_server_config(pinned_rustls_provider(), &[&rustls::version::TLS13]);
    cfg.send_tls13_tickets = tickets;
    Arc::new(cfg)
}

/// Medians over 5 rounds of `n` handshakes: (native/s, native µs in server, rustls/s, rustls µs).
type Medians = (f64, f64, f64, f64);

fn medians(rounds: &mut [Vec<f64>; 4]) -> Medians {
    for v in rounds.iter_mut() {
        v.sort_by(f64::total_cmp);
    }
    (rounds[0][2], rounds[1][2], rounds[2][2], rounds[3][2])
}

/// Runs 5 rounds of `n` handshakes on each server; `next_session` gives the session to offer
/// (after a handshake, the ticket it produced is in the client's slot).
fn rounds(
    kind: &str,
    n: usize,
    ctx: &SslContext,
    native: &dyn Fn(usize) -> Native,
    rustls: &dyn Fn() -> Rustls,
    sessions: Option<(&Mutex<Option<ClientSession>>, ClientSession, ClientSession)>,
) -> Medians {
    let (slot, mut native_sess, mut rustls_sess) = match sessions {
        Some((slot, a, b)) => (Some(slot), Some(a), Some(b)),
        None => (None, None, None),
    };
    let mut all: [Vec<f64>; 4] = Default::default();
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    for round in 0..5 {
        let t = Instant::now();
        let mut in_native = std::time::Duration::ZERO;
        for i in 0..n {
            in_native += handshake(ctx, &mut native(i), native_sess.as_ref());
            if let Some(slot) = slot {
                native_sess = Some(slot.lock().unwrap().take().expect("native ticket"));
            }
        }
        let native_rate = n as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut in_rustls = std::time::Duration::ZERO;
        for _ in 0..n {
            in_rustls += handshake(ctx, &mut rustls(), rustls_sess.as_ref());
            if let Some(slot) = slot {
                rustls_sess = Some(slot.lock().unwrap().take().expect("rustls ticket"));
            }
        }
        let rustls_rate = n as f64 / t.elapsed().as_secs_f64();
        println!(
            "{kind} round {round}: native {native_rate:.0}/s (server {:.0} us/handshake), rustls {rustls_rate:.0}/s (server {:.0} us/handshake)",
            us(in_native),
            us(in_rustls)
        );
        for (v, x) in all
            .iter_mut()
            .zip([native_rate, us(in_native), rustls_rate, us(in_rustls)])
        {
            v.push(x);
        }
    }
    medians(&mut all)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let mode = args.next().unwrap_or_default();
    let (full, resumed) = match mode.as_str() {
        "full" => (true, false),
        "resumed" => (false, true),
        "" | "both" => (true, true),
        other => {
            eprintln!("handshake_rate: unknown mode {other:?} (full, resumed or both)");
            std::process::exit(2);
        }
    };
    let native_cfg = Arc::new(pinned_native_config([5u8; 32]));
    let native = |i: usize| {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
        Native(ticketdiff::native::ServerConnection::new(
            native_cfg.clone(),
            seed,
            1_700_000_000_000,
        ))
    };
    let slot: Arc<Mutex<Option<ClientSession>>> = Arc::default();
    let keep = slot.clone();
    let ctx = client_context(&ClientOptions::default(), move |sess| {
        *keep.lock().unwrap() = Some(sess)
    });
    println!(
        "{} (client), {n} handshakes per round, 5 rounds",
        openssl::version::version()
    );
    let report = |kind: &str, m: Medians| {
        println!(
            "median {kind}: native {:.0} handshakes/s ({:.0} us in server), rustls {:.0} handshakes/s ({:.0} us in server)",
            m.0, m.1, m.2, m.3
        );
    };
    if full {
        let cfg = rustls_config(2);
        let rustls = || Rustls(rustls::ServerConnection::new(cfg.clone()).unwrap());
        let m = rounds("full", n, &ctx, &native, &rustls, None);
        report("full", m);
    }
    if resumed {
        // A resumed handshake issues one ticket on the native server (as OpenSSL); rustls would
        // send `send_tls13_tickets`, so it gets 1. Each handshake offers the previous one's ticket
        // (the OpenSSL client does not offer a TLS 1.3 session twice).
        let cfg = rustls_config(1);
        let rustls = || Rustls(rustls::ServerConnection::new(cfg.clone()).unwrap());
        handshake(&ctx, &mut native(0), None);
        let native_sess = slot.lock().unwrap().take().expect("native ticket");
        handshake(&ctx, &mut rustls(), None);
        let rustls_sess = slot.lock().unwrap().take().expect("rustls ticket");
        let m = rounds(
            "resumed",
            n,
            &ctx,
            &native,
            &rustls,
            Some((&slot, native_sess, rustls_sess)),
        );
        report("resumed", m);
    }
}
