//! The limits that keep `serve` up under hostile clients, and their defaults.

use std::io;
use std::time::Duration;

/// The most tickets `serve` issues after one handshake: the program format's bound, so that one
/// handshake is bounded work (an unbounded count made the server write tickets until an
/// allocation failed).
pub const MAX_NUM_TICKETS: u64 = crate::program::MAX_TICKETS_IN_EFFECT;

/// What one client, or many, can hold of the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once (each has a thread); one more is closed as soon as it is
    /// accepted.
    pub max_connections: usize,
    /// From accept to the end of the handshake, however slowly the bytes come.
    pub handshake_timeout: Duration,
    /// After the handshake, the longest wait for the client's next bytes.
    pub idle_timeout: Duration,
    /// The longest one write of the server's output may take: a client that sends but never
    /// reads fills the socket buffers, and is dropped then.
    pub write_timeout: Duration,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_connections: 256,
        handshake_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        write_timeout: Duration::from_secs(10),
    };

    /// A cap of 0 would refuse everyone and a zero timeout cannot be given to a socket.
    pub fn check(&self) -> io::Result<()> {
        let zero = [
            ("handshake timeout", self.handshake_timeout),
            ("idle timeout", self.idle_timeout),
            ("write timeout", self.write_timeout),
        ]
        .into_iter()
        .find(|(_, d)| d.is_zero());
        if self.max_connections == 0 {
            return Err(invalid("the connection cap must be at least 1".into()));
        }
        match zero {
            Some((what, _)) => Err(invalid(format!("the {what} must be above zero"))),
            None => Ok(()),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Rejects a ticket count above [`MAX_NUM_TICKETS`].
pub fn check_num_tickets(n: u64) -> io::Result<()> {
    if n > MAX_NUM_TICKETS {
        return Err(invalid(format!(
            "{n} tickets per handshake: at most {MAX_NUM_TICKETS}"
        )));
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
