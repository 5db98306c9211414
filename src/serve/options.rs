//! The command line of `ticketdiff serve`.

use super::limits::{Limits, MAX_NUM_TICKETS};
use clap::builder::RangedU64ValueParser;
use std::net::SocketAddr;
use std::time::Duration;

/// The longest timeout the command line takes: a day.
const MAX_TIMEOUT_SECS: u64 = 86_400;

#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:4433")]
    pub addr: SocketAddr,
    /// Tickets issued after each full handshake (at most one after a resumption), at most 256.
    #[arg(long, default_value_t = 2,
          value_parser = RangedU64ValueParser::<u64>::new().range(0..=MAX_NUM_TICKETS))]
    pub num_tickets: u64,
    /// Connections served at once; one more is closed as soon as it is accepted.
    #[arg(long, value_name = "N", default_value_t = Limits::DEFAULT.max_connections,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=65_536))]
    pub max_connections: usize,
    /// Seconds from accepting a connection to the end of its handshake.
    #[arg(long, value_name = "SECS", default_value_t = Limits::DEFAULT.handshake_timeout.as_secs(),
          value_parser = seconds())]
    pub handshake_timeout: u64,
    /// Seconds a connection may stay silent after its handshake.
    #[arg(long, value_name = "SECS", default_value_t = Limits::DEFAULT.idle_timeout.as_secs(),
          value_parser = seconds())]
    pub idle_timeout: u64,
    /// Seconds one write to a client may take (a client that never reads is dropped then).
    #[arg(long, value_name = "SECS", default_value_t = Limits::DEFAULT.write_timeout.as_secs(),
          value_parser = seconds())]
    pub write_timeout: u64,
}

fn seconds() -> RangedU64ValueParser<u64> {
    RangedU64ValueParser::new().range(1..=MAX_TIMEOUT_SECS)
}

impl Options {
    pub fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            handshake_timeout: Duration::from_secs(self.handshake_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            write_timeout: Duration::from_secs(self.write_timeout),
        }
    }
}
