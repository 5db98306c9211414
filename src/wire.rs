//! The in-memory transport that joins a client and a server: two bounded byte queues.
//!
//! The bound makes a large write block the way a socket would, so the rules OpenSSL has for
//! writes that would block are reachable from a program.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

/// Bytes one direction holds before a write would block.
pub const WIRE_CAPACITY: usize = 64 * 1024;

#[derive(Default)]
struct Queues {
    to_server: VecDeque<u8>,
    to_client: VecDeque<u8>,
}

/// Which end of the wire an [`Endpoint`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// One end of a wire: reads what the other end wrote; both fail with `WouldBlock` rather than
/// wait.
#[derive(Clone)]
pub struct Endpoint {
    queues: Rc<RefCell<Queues>>,
    side: Side,
}

/// A new wire: its client end and its server end.
pub fn wire() -> (Endpoint, Endpoint) {
    let queues = Rc::new(RefCell::new(Queues::default()));
    (
        Endpoint {
            queues: queues.clone(),
            side: Side::Client,
        },
        Endpoint {
            queues,
            side: Side::Server,
        },
    )
}

impl Endpoint {
    /// Bytes waiting for this end to read.
    pub fn pending(&self) -> usize {
        let q = self.queues.borrow();
        match self.side {
            Side::Client => q.to_client.len(),
            Side::Server => q.to_server.len(),
        }
    }

    /// Bytes on the wire in both directions.
    pub fn in_flight(&self) -> usize {
        let q = self.queues.borrow();
        q.to_client.len() + q.to_server.len()
    }

    /// Room left in the direction this end writes to.
    pub fn room(&self) -> usize {
        let q = self.queues.borrow();
        let out = match self.side {
            Side::Client => &q.to_server,
            Side::Server => &q.to_client,
        };
        WIRE_CAPACITY - out.len()
    }
}

fn would_block() -> io::Error {
    io::Error::from(io::ErrorKind::WouldBlock)
}

impl Read for Endpoint {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut q = self.queues.borrow_mut();
        let incoming = match self.side {
            Side::Client => &mut q.to_client,
            Side::Server => &mut q.to_server,
        };
        if incoming.is_empty() {
            return if buf.is_empty() {
                Ok(0)
            } else {
                Err(would_block())
            };
        }
        let n = incoming.len().min(buf.len());
        for (dst, src) in buf.iter_mut().zip(incoming.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl Write for Endpoint {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut q = self.queues.borrow_mut();
        let outgoing = match self.side {
            Side::Client => &mut q.to_server,
            Side::Server => &mut q.to_client,
        };
        let n = (WIRE_CAPACITY - outgoing.len()).min(buf.len());
        if n == 0 && !buf.is_empty() {
            return Err(would_block());
        }
        outgoing.extend(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_cross_in_order_and_block_when_empty_or_full() {
        let (mut c, mut s) = wire();
        let mut buf = [0u8; 8];
        assert_eq!(
            s.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(c.write(b"hello").unwrap(), 5);
        assert_eq!(s.pending(), 5);
        assert_eq!(s.read(&mut buf[..3]).unwrap(), 3);
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(s.read(&mut buf).unwrap(), 2);
        let big = vec![7u8; WIRE_CAPACITY + 10];
        assert_eq!(s.write(&big).unwrap(), WIRE_CAPACITY);
        assert_eq!(s.room(), 0);
        assert_eq!(s.write(b"x").unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert_eq!(c.pending(), WIRE_CAPACITY);
    }
}
