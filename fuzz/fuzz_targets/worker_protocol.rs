//! libFuzzer target: arbitrary bytes as worker-protocol frames in both directions (hello,
//! request, reply, and a stream for `read_frame`), with decode-encode round trips.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ticketdiff::testing::parser_fuzz::fuzz_worker_protocol(data)
});
