//! The project's own TLS 1.3 server (RFC 8446), sans-IO, on `ring`.
//!
//! Layout: [`codec`] and [`msgs`] encode and decode; [`record`] protects records;
//! [`key_schedule`] derives secrets; [`handshake`] holds one type per handshake state, each
//! acting on the connection's `core` (keys, buffers, the record writer); [`ticket`] seals
//! stateless tickets; [`tickets`] decides how many to send; [`conn`] ties it together as
//! [`ServerConnection`].

pub mod api;
pub mod certs;
pub mod codec;
pub mod config;
pub mod conn;
mod core;
mod der;
mod early_data;
pub mod error;
mod handshake;
pub mod kex;
pub mod key_schedule;
pub mod msgs;
mod pha;
mod psk;
pub mod record;
pub mod rng;
pub mod session_cache;
pub mod suites;
pub mod ticket;
pub mod tickets;

pub use certs::{CertifiedKey, KeyKind};
pub use config::{ConfigError, ConnSettings, ExternalPsk, ServerConfig};
pub use conn::{HandshakeInfo, ServerConnection};
pub use error::{AlertDescription, Error};
pub use suites::{CipherSuite, NamedGroup};
pub use tickets::TicketPolicy;

#[cfg(test)]
mod tests;
