//! libFuzzer target: a completed handshake (optionally with post-handshake auth started), then
//! arbitrary bytes as protected records into the native server.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ticketdiff::testing::native_fuzz::fuzz_established_bytes(data));
