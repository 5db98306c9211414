//! libFuzzer target: arbitrary bytes as the text of a store entry (`store::read_entry`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ticketdiff::testing::parser_fuzz::fuzz_store_entry(data));
