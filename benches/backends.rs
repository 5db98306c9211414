//! What a program costs on each backend, next to bare loops that do the same TLS work written
//! directly against the libraries; the ratio of the two is the harness's overhead.
//!
//! `cargo bench --bench backends`; the ratios are printed at the end, each pair measured in
//! alternating batches in the same run (`cargo bench --bench backends -- ratio` for just them).

use criterion::{criterion_group, Criterion};
use openssl::ssl::{Ssl, SslContext, SslMethod, SslSessionCacheMode, SslStream, SslVerifyMode};
use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use ticketdiff::backend::openssl::{ca_store, parsed_pki};
use ticketdiff::backend::{Backend, BackendId};
use ticketdiff::program::{parse, Program};
use ticketdiff::registry;
use ticketdiff::testing::openssl_client::{client_context, ClientOptions};
use ticketdiff::testing::server_configs::{
    pinned_native_config, pinned_rustls_provider, rustls_server_config,
};
use ticketdiff::wire::{wire, Endpoint};

const ONE_HANDSHAKE: &str = "connect\nhandshake\n";
const RESUMPTION: &str = "connect\nhandshake\nconnect resume\nhandshake\n";
const QUEUED: &str =
    "connect\nhandshake\nnew_session_ticket\nnew_session_ticket\nserver_write 0\nclient_read\n";

fn corpus() -> Vec<Program> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tkt"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| parse(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

fn programs(c: &mut Criterion) {
    let cases = [
        ("one_handshake", parse(ONE_HANDSHAKE).unwrap()),
        ("resumption", parse(RESUMPTION).unwrap()),
        ("queued_tickets", parse(QUEUED).unwrap()),
    ];
    let corpus = corpus();
    for id in BackendId::ALL {
        let name = id.name();
        // A worker that is not built is left out, with the command that builds it.
        let mut backend: Box<dyn Backend> = match registry::backend(id) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("program/{name}: left out: {e}");
                continue;
            }
        };
        let mut group = c.benchmark_group(format!("program/{name}"));
        for (case, program) in &cases {
            group.bench_function(*case, |b| b.iter(|| black_box(backend.run(program))));
        }
        group.sample_size(10);
        group.bench_function("corpus", |b| {
            b.iter(|| {
                for p in &corpus {
                    if backend.skip_reason(p).is_none() {
                        let _ = black_box(backend.run(p));
                    }
                }
            })
        });
        group.finish();
    }
}

/// OpenSSL server and client contexts set up as the harness sets them up.
fn openssl_contexts() -> (SslContext, SslContext) {
    let p = parsed_pki();
    let mut s = SslContext::builder(SslMethod::tls_server()).unwrap();
    s.set_certificate(&p.server_cert).unwrap();
    s.set_private_key(&p.server_key).unwrap();
    s.set_verify(SslVerifyMode::PEER | SslVerifyMode::POST_HANDSHAKE);
    s.set_cert_store(ca_store());
    s.set_session_id_context(b"bench").unwrap();
    s.set_groups_list("X25519:P-256").unwrap();
    let mut c = SslContext::builder(SslMethod::tls_client()).unwrap();
    c.set_verify(SslVerifyMode::PEER);
    c.set_cert_store(ca_store());
    c.set_groups_list("X25519:P-256").unwrap();
    c.set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL);
    c.set_new_session_callback(|_, session| drop(black_box(session)));
    (s.build(), c.build())
}

fn openssl_client(ctx: &SslContext, end: Endpoint) -> SslStream<Endpoint> {
    let mut ssl = Ssl::new(ctx).unwrap();
    ssl.set_connect_state();
    ssl.set_hostname("localhost").unwrap();
    SslStream::new(ssl, end).unwrap()
}

/// Drains a client: processes the tickets waiting for it.
fn drain(client: &mut SslStream<Endpoint>) {
    let mut buf = [0u8; 16384];
    while client.ssl_read(&mut buf).is_ok() {}
}

/// One full handshake, both sides OpenSSL, then the client reads its two tickets.
fn bare_openssl(server_ctx: &SslContext, client_ctx: &SslContext) {
    let (cp, sp) = wire();
    let mut client = openssl_client(client_ctx, cp);
    let mut ssl = Ssl::new(server_ctx).unwrap();
    ssl.set_accept_state();
    let mut server = SslStream::new(ssl, sp).unwrap();
    let (mut c_done, mut s_done) = (false, false);
    while !(c_done && s_done) {
        c_done = c_done || client.do_handshake().is_ok();
        s_done = s_done || server.do_handshake().is_ok();
    }
    drain(&mut client);
    black_box((client, server));
}

fn rustls_config() -> Arc<rustls::ServerConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups = vec![
        rustls::crypto::ring::kx_group::X25519,
        rustls::crypto::ring::kx_group::SECP256R1,
    ];
    // The test certificate and stateless tickets, as the harness's.
    Arc::new(rustls_server_config(
        provider,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    ))
}

/// One full handshake, a rustls server and the OpenSSL client, then the client reads its two
/// tickets. Returns the time spent inside the server.
fn bare_rustls(config: &Arc<rustls::ServerConfig>, client_ctx: &SslContext) -> Duration {
    let (cp, mut sp) = wire();
    let mut client = openssl_client(client_ctx, cp);
    let mut in_server = Duration::ZERO;
    let t = Instant::now();
    let mut server = rustls::ServerConnection::new(config.clone()).unwrap();
    in_server += t.elapsed();
    let mut c_done = false;
    while !c_done || server.is_handshaking() {
        c_done = c_done || client.do_handshake().is_ok();
        let t = Instant::now();
        while server.read_tls(&mut sp).is_ok_and(|n| n > 0) {
            server.process_new_packets().unwrap();
        }
        while server.wants_write() {
            server.write_tls(&mut sp).unwrap();
        }
        in_server += t.elapsed();
    }
    drain(&mut client);
    black_box((client, server));
    in_server
}

/// The OpenSSL client both servers face when they are compared with each other, held to the
/// same suite and group as they are.
fn pinned_client_context() -> SslContext {
    client_context(&ClientOptions::default(), |session| {
        drop(black_box(session))
    })
}

fn pinned_rustls_config() -> Arc<rustls::ServerConfig> {
    Arc::new(rustls_server_config(
        pinned_rustls_provider(),
        &[&rustls::version::TLS13],
    ))
}

/// One full handshake, the native server and the OpenSSL client, then the client reads its two
/// tickets. Returns the time spent inside the server.
fn bare_native(
    config: &Arc<ticketdiff::native::ServerConfig>,
    client_ctx: &SslContext,
) -> Duration {
    let (cp, mut sp) = wire();
    let mut client = openssl_client(client_ctx, cp);
    let mut in_server = Duration::ZERO;
    let t = Instant::now();
    let mut server = ticketdiff::native::ServerConnection::new(config.clone(), [1u8; 32], 0);
    in_server += t.elapsed();
    let mut c_done = false;
    while !c_done || !server.is_handshake_finished() {
        c_done = c_done || client.do_handshake().is_ok();
        let input = sp.take_pending();
        let t = Instant::now();
        server.read_tls(&input).unwrap();
        let output = server.take_output();
        in_server += t.elapsed();
        sp.write_all(&output).unwrap();
    }
    drain(&mut client);
    black_box((client, server));
    in_server
}

fn baselines(c: &mut Criterion) {
    let (server_ctx, client_ctx) = openssl_contexts();
    let config = rustls_config();
    let mut group = c.benchmark_group("bare");
    group.bench_function("openssl_one_handshake", |b| {
        b.iter(|| bare_openssl(&server_ctx, &client_ctx))
    });
    group.bench_function("rustls_one_handshake", |b| {
        b.iter(|| bare_rustls(&config, &client_ctx))
    });
    let native_backend_config = Arc::new(ticketdiff::backend::native::server_config());
    group.bench_function("native_one_handshake", |b| {
        b.iter(|| bare_native(&native_backend_config, &client_ctx))
    });
    group.finish();

    // The native server next to the rustls server: same OpenSSL client, suite, group, crypto
    // provider (ring), certificate and ticket count.
    let pinned_client = pinned_client_context();
    let (native, rustls) = (
        Arc::new(pinned_native_config([7u8; 32])),
        pinned_rustls_config(),
    );
    let mut group = c.benchmark_group("server");
    group.bench_function("native_full_handshake", |b| {
        b.iter(|| bare_native(&native, &pinned_client))
    });
    group.bench_function("rustls_full_handshake", |b| {
        b.iter(|| bare_rustls(&rustls, &pinned_client))
    });
    group.finish();

    // The same handshakes, timing only the calls into the server: the OpenSSL client is most of
    // a handshake's time, and its noise would hide the servers' difference.
    let mut group = c.benchmark_group("in_server");
    group.bench_function("native_full_handshake", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| bare_native(&native, &pinned_client))
                .sum()
        })
    });
    group.bench_function("rustls_full_handshake", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| bare_rustls(&rustls, &pinned_client))
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, baselines, programs);

/// Something to time: given a number of iterations, runs them and returns the time to count.
type Timed<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// Whole iterations of `f`, timed from outside.
fn whole<'a>(mut f: impl FnMut() + 'a) -> Timed<'a> {
    Box::new(move |n| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed()
    })
}

/// Median time per iteration of `a` and of `b`, measured in alternating batches (a b, then b a)
/// so that a change of machine load falls on both alike. Criterion times one benchmark after
/// another, minutes apart; on a shared machine its estimates can drift by 20% between them,
/// which is more than the differences these ratios are about.
fn interleaved(a: &mut Timed, b: &mut Timed) -> (f64, f64) {
    const ROUNDS: usize = 61;
    const BATCH: Duration = Duration::from_millis(20);
    // Warm up, then size batches to about BATCH each.
    let per = |t: &mut Timed| t(3).as_secs_f64() / 3.0;
    let (na, nb) = (
        (BATCH.as_secs_f64() / per(a)).ceil().max(1.0) as u64,
        (BATCH.as_secs_f64() / per(b)).ceil().max(1.0) as u64,
    );
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let mut run_a = || ta.push(a(na).as_secs_f64() / na as f64);
        if round % 2 == 0 {
            run_a();
            tb.push(b(nb).as_secs_f64() / nb as f64);
        } else {
            tb.push(b(nb).as_secs_f64() / nb as f64);
            run_a();
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut ta), median(&mut tb))
}

/// The ratios the project's targets are stated in, each measured interleaved.
fn ratios(filter: Option<&str>) {
    let (server_ctx, client_ctx) = openssl_contexts();
    let rustls_any = rustls_config();
    let native_any = Arc::new(ticketdiff::backend::native::server_config());
    let pinned_client = pinned_client_context();
    let (native, rustls) = (
        Arc::new(pinned_native_config([7u8; 32])),
        pinned_rustls_config(),
    );
    let program = |name: &str| {
        let id = name.parse::<BackendId>().expect("a backend");
        let mut backend = registry::backend(id).expect("built above");
        let one = parse(ONE_HANDSHAKE).unwrap();
        whole(move || drop(black_box(backend.run(&one))))
    };
    let corpus_on = |id: BackendId| {
        let mut backend = registry::backend(id).expect("built above");
        let corpus = corpus();
        whole(move || {
            for p in &corpus {
                if backend.skip_reason(p).is_none() {
                    let _ = black_box(backend.run(p));
                }
            }
        })
    };
    let mut pairs: Vec<(&str, &str, Timed, Timed)> = Vec::new();
    if ticketdiff::worker::check(BackendId::OpensslWorker).is_ok() {
        pairs.push((
            "ratio/worker_openssl",
            "the corpus on openssl@worker / on openssl in process",
            corpus_on(BackendId::OpensslWorker),
            corpus_on(BackendId::Openssl),
        ));
    }
    pairs.extend(vec![
        (
            "ratio/harness_openssl",
            "program one_handshake on openssl / bare OpenSSL client+server loop",
            program("openssl"),
            whole(|| bare_openssl(&server_ctx, &client_ctx)),
        ),
        (
            "ratio/harness_native",
            "program one_handshake on native / bare native server + OpenSSL client loop",
            program("native"),
            whole(|| {
                black_box(bare_native(&native_any, &client_ctx));
            }),
        ),
        (
            "ratio/harness_rustls",
            "program one_handshake on rustls / bare rustls server + OpenSSL client loop",
            program("rustls"),
            whole(|| {
                black_box(bare_rustls(&rustls_any, &client_ctx));
            }),
        ),
        (
            "ratio/server_whole_handshake",
            "native server / rustls server, same client, suite, group: whole handshake",
            whole(|| {
                black_box(bare_native(&native, &pinned_client));
            }),
            whole(|| {
                black_box(bare_rustls(&rustls, &pinned_client));
            }),
        ),
        (
            "ratio/server_time_inside",
            "native server / rustls server, same client, suite, group: time inside the server",
            Box::new(|n| (0..n).map(|_| bare_native(&native, &pinned_client)).sum()),
            Box::new(|n| (0..n).map(|_| bare_rustls(&rustls, &pinned_client)).sum()),
        ),
    ]);
    let mut header = false;
    for (id, what, mut a, mut b) in pairs {
        if filter.is_some_and(|f| !id.contains(f)) {
            continue;
        }
        if !header {
            println!(
                "\nratios, each pair timed in alternating batches in this run (medians of 61):"
            );
            header = true;
        }
        let (ta, tb) = interleaved(&mut a, &mut b);
        println!(
            "  {id}: {:.1} us / {:.1} us = {:.3}x  ({what})",
            ta * 1e6,
            tb * 1e6,
            ta / tb
        );
    }
}

/// Criterion's filter: the first argument that is neither an option nor an option's value.
fn filter_argument(args: &[String]) -> Option<&str> {
    const TAKES_VALUE: &[&str] = &[
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--baseline-lenient",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--output-format",
        "--plotting-backend",
        "--color",
        "-c",
        "--format",
        "--logfile",
    ];
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if TAKES_VALUE.contains(&a) {
            i += 2;
            continue;
        }
        if !a.starts_with('-') {
            return Some(a);
        }
        i += 1;
    }
    None
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The ratios honour criterion's filter (`cargo bench --bench backends -- ratio` runs only
    // them), and stay out of listing, test mode and profiling one benchmark.
    let filter = filter_argument(&args);
    if !filter.is_some_and(|f| f.starts_with("ratio")) {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    let quiet_mode = ["--list", "--test", "--profile-time"];
    let quiet = args.iter().any(|a| {
        quiet_mode
            .iter()
            .any(|q| a == q || a.strip_prefix(q).is_some_and(|r| r.starts_with('=')))
    });
    if !quiet {
        ratios(filter);
    }
}
