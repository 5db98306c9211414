//! ticketdiff: differential testing of TLS 1.3 session-ticket issuance against OpenSSL 3.

pub mod native;
pub mod program;
pub mod serve;
pub mod trace;
