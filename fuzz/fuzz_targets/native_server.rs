//! libFuzzer target: a client into a fresh native TLS 1.3 server. Structure-aware
//! (`testing::native_input`): ClientHellos with real key shares for every group, ticket and
//! external PSK binders, HRR, the client's flight with certificates, and byte-level damage on
//! top; an input starting with 0 is raw bytes instead, as a client would send them. No panic,
//! bounded output, every fault an alert.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| match data.split_first() {
    Some((0, raw)) => ticketdiff::testing::native_fuzz::fuzz_server_bytes(raw),
    _ => {
        let _ = ticketdiff::testing::native_fuzz::fuzz_server_input(data);
    }
});
