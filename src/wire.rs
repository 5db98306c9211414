//! The in-memory transport that joins a client and a server: two bounded byte queues. The
//! harness runs every program over one; the tests, benches and examples use it too.
//!
//! The bound makes a large write block the way a socket would, so the rules OpenSSL has for
//! writes that would block are reachable from a program.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

/// Bytes one direction holds before a write would block.
pub const WIRE_CAPACITY: usize = 64 * 1024;

struct Queues {
    to_server: VecDeque<u8>,
    to_client: VecDeque<u8>,
    /// Bytes one direction holds before a write would block.
    capacity: usize,
}

impl Queues {
    /// The queue toward `side`: what it reads.
    fn toward(&mut self, side: Side) -> &mut VecDeque<u8> {
        match side {
            Side::Client => &mut self.to_client,
            Side::Server => &mut self.to_server,
        }
    }
}

/// Which end of the wire an [`Endpoint`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// One end of a wire: reads what the other end wrote; both fail with `WouldBlock` rather than
/// wait.
#[derive(Clone)]
pub struct Endpoint {
    queues: Rc<RefCell<Queues>>,
    side: Side,
}

/// A new wire of [`WIRE_CAPACITY`] each way: its client end and its server end.
pub fn wire() -> (Endpoint, Endpoint) {
    wire_with_capacity(WIRE_CAPACITY)
}

/// A new wire holding `capacity` bytes each way (`usize::MAX`: a write never blocks, for a
/// test that moves more than a socket buffer in one step).
pub fn wire_with_capacity(capacity: usize) -> (Endpoint, Endpoint) {
    let queues = Rc::new(RefCell::new(Queues {
        to_server: VecDeque::new(),
        to_client: VecDeque::new(),
        capacity,
    }));
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
        self.queues.borrow_mut().toward(self.side).len()
    }

    /// Takes every byte waiting for this end (for a test that hands them to a sans-IO server).
    pub fn take_pending(&self) -> Vec<u8> {
        self.queues
            .borrow_mut()
            .toward(self.side)
            .drain(..)
            .collect()
    }

    /// A copy of every byte waiting for this end.
    pub fn peek_pending(&self) -> Vec<u8> {
        self.queues
            .borrow_mut()
            .toward(self.side)
            .iter()
            .copied()
            .collect()
    }

    /// Drops the first `n` bytes waiting for this end: what this end's mirror in a worker read.
    pub fn consume_pending(&self, n: usize) {
        let mut q = self.queues.borrow_mut();
        let incoming = q.toward(self.side);
        let n = n.min(incoming.len());
        incoming.drain(..n);
    }

    /// Adds bytes toward the peer, as a write by this end would; what does not fit is an
    /// error, never dropped.
    pub fn deliver(&self, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() > self.room() {
            return Err(io::Error::other(format!(
                "{} bytes delivered, {} fit",
                bytes.len(),
                self.room()
            )));
        }
        let mut q = self.queues.borrow_mut();
        q.toward(self.side.peer()).extend(bytes);
        Ok(())
    }

    /// Makes this end's wire hold exactly `incoming` for this end to read and leave `room`
    /// bytes toward the peer (a worker's mirror of the wire at the start of a call); returns
    /// how many placeholder bytes stand in front of what this end will write.
    pub fn load(&self, incoming: &[u8], room: usize) -> usize {
        let mut q = self.queues.borrow_mut();
        let used = q.capacity.saturating_sub(room);
        let inbound = q.toward(self.side);
        inbound.clear();
        inbound.extend(incoming);
        let outbound = q.toward(self.side.peer());
        outbound.clear();
        outbound.resize(used, 0);
        used
    }

    /// What this end wrote after the first `skip` bytes waiting for the peer (see
    /// [`Endpoint::load`]), taken off the wire.
    pub fn take_written(&self, skip: usize) -> Vec<u8> {
        let mut q = self.queues.borrow_mut();
        let outbound = q.toward(self.side.peer());
        let skip = skip.min(outbound.len());
        outbound.drain(..skip);
        outbound.drain(..).collect()
    }

    /// Bytes on the wire in both directions.
    pub fn in_flight(&self) -> usize {
        let q = self.queues.borrow();
        q.to_client.len() + q.to_server.len()
    }

    /// Room left in the direction this end writes to.
    pub fn room(&self) -> usize {
        let mut q = self.queues.borrow_mut();
        q.capacity - q.toward(self.side.peer()).len()
    }
}

fn would_block() -> io::Error {
    io::Error::from(io::ErrorKind::WouldBlock)
}

impl Read for Endpoint {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut q = self.queues.borrow_mut();
        let incoming = q.toward(self.side);
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
        let capacity = q.capacity;
        let outgoing = q.toward(self.side.peer());
        let n = (capacity - outgoing.len()).min(buf.len());
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
        assert_eq!(c.take_pending().len(), WIRE_CAPACITY);
        assert_eq!(c.pending(), 0);
        assert_eq!(s.room(), WIRE_CAPACITY);
    }

    #[test]
    fn a_mirror_loaded_from_the_wire_gives_back_what_the_server_read_and_wrote() {
        let (mut client, server) = wire();
        client.write_all(b"hello world").unwrap();
        let filler = vec![0u8; WIRE_CAPACITY - 10];
        server.deliver(&filler).unwrap();
        // The worker's mirror.
        let (_, mut mirror) = wire();
        let skip = mirror.load(&server.peek_pending(), server.room());
        assert_eq!(skip, WIRE_CAPACITY - 10);
        let mut buf = [0u8; 5];
        mirror.read_exact(&mut buf).unwrap();
        assert_eq!(mirror.write(b"0123456789abc").unwrap(), 10);
        let consumed = server.pending() - mirror.pending();
        let written = mirror.take_written(skip);
        // Back on the real wire.
        server.consume_pending(consumed);
        server.deliver(&written).unwrap();
        assert_eq!(server.peek_pending(), b" world");
        assert_eq!(server.room(), 0);
        assert!(server.deliver(b"x").is_err());
        let mut got = vec![0u8; WIRE_CAPACITY];
        assert_eq!(client.read(&mut got).unwrap(), WIRE_CAPACITY);
        assert_eq!(&got[WIRE_CAPACITY - 10..], b"0123456789");
    }

    #[test]
    fn a_wire_of_unbounded_capacity_takes_any_write() {
        let (mut c, s) = wire_with_capacity(usize::MAX);
        let big = vec![7u8; 4 * WIRE_CAPACITY];
        assert_eq!(c.write(&big).unwrap(), big.len());
        assert_eq!(s.take_pending(), big);
        assert_eq!(s.pending(), 0);
    }
}
