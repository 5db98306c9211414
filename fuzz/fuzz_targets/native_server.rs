//! libFuzzer target: arbitrary bytes from a client into a fresh native TLS 1.3 server, before
//! any keys; no panic, bounded output, every fault an alert.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ticketdiff::testing::native_fuzz::fuzz_server_bytes(data));
