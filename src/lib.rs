//! ticketdiff: differential testing of TLS 1.3 session-ticket issuance against OpenSSL 3.
//!
//! A [`program`] is a sequence of OpenSSL ticket-API calls; the [`harness`] runs it on a
//! [`backend`] (a server library) against the same OpenSSL client over an in-memory [`wire`],
//! producing a [`trace`]; [`diff`] compares a backend's trace with the oracle's.
//! [`native`] is the project's own TLS 1.3 server; [`serve`] puts it on a TCP socket.

#![deny(unsafe_code)]

pub mod backend;
pub mod cli;
pub mod client;
pub mod diff;
pub mod env;
pub mod expect;
pub mod files;
pub mod finding;
pub mod fsutil;
pub mod fuzz;
pub mod harness;
pub mod minimize;
pub mod native;
pub mod openssl_ffi;
pub mod pki;
pub mod program;
pub mod rediscover;
pub mod registry;
pub mod replay;
pub mod report;
pub mod runner;
pub mod serve;
pub mod signals;
pub mod store;
pub mod table;
pub mod testing;
pub mod trace;
pub mod triage;
pub mod wire;
pub mod worker;
