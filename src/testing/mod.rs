//! Support code for the tests, benches, examples and fuzz targets, not used by the tool itself:
//! what more than one of them needs, kept in one place so that they test the same thing.
//!
//! [`client_hello`] builds ClientHellos and records by hand; [`mini_client`] is a minimal TLS 1.3
//! client holding its own keys (to send what no real client sends, and to reach the native
//! server's post-handshake states); [`native_fuzz`] holds the native server's fuzz entry points;
//! [`native_input`] their structure-aware input, which [`scripted_client`] plays as a client;
//! [`openssl_client`] is an OpenSSL client set up against the test PKI; [`parser_fuzz`] the store
//! and worker-protocol parsers' fuzz entry points; [`server_configs`] the
//! native and rustls server configurations the benches and examples compare.
//!
//! The PKI is [`crate::pki`] and the in-memory transport [`crate::wire`], as for the harness.

pub mod client_hello;
pub mod hybrid_kx;
pub mod mini_client;
pub mod native_fuzz;
pub mod native_input;
pub mod openssl_client;
pub mod parser_fuzz;
pub mod scripted_client;
pub mod server_configs;

/// The wall clock in milliseconds since the Unix epoch, for a native server's `now_ms`.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// Runs each program of `files` that `backend` can run `runs` times, and panics, naming the
/// backend and the file, unless the first run finishes and every later one gives its trace:
/// the same program gives the same trace every time.
pub fn assert_traces_repeat(
    backend: &mut dyn crate::backend::Backend,
    files: &[std::path::PathBuf],
    runs: usize,
) {
    let id = backend.id();
    for file in files {
        let program = crate::program::load(file)
            .unwrap_or_else(|e| panic!("{e}"))
            .program;
        if backend.skip_reason(&program).is_some() {
            continue;
        }
        let first = backend.run(&program).ok();
        assert!(first.is_some(), "{id}: {}", file.display());
        for _ in 1..runs {
            assert_eq!(
                backend.run(&program).ok(),
                first,
                "{id}: {}",
                file.display()
            );
        }
    }
}
