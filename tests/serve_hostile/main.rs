//! `serve` under hostile clients, each case one the server could be taken down by before it had
//! limits: silent, trickling and idle connections, more connections than the cap, a client that
//! never reads, a ticket count above the bound, 100,000 KeyUpdates, stops by signal (the folder
//! and its private key), and `accept` failing for want of file descriptors. All on 127.0.0.1,
//! port 0.

#[path = "../common/mod.rs"]
mod common;

mod cap_and_stop;
mod command;
mod exhaustion;
mod key_updates;
mod support;
mod timeouts;
