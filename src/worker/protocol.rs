//! The worker protocol, version 2: how ticketdiff drives a server library in another process.
//!
//! Both directions carry frames: a `u32` little-endian length, then that many bytes. The
//! worker speaks first, once: a [`Hello`]. Then ticketdiff sends a [`Request`] and the worker
//! answers each with one [`Reply`], in order; nothing else crosses. Integers are little-endian,
//! a string or byte string is a `u32` length and its bytes, a bool one byte (0 or 1).
//!
//! The wire between client and server stays in ticketdiff: each call on a connection carries
//! every byte waiting for the server and the room left toward the client, and its reply says how
//! many of those bytes the server read and which bytes it wrote. Only the server acts during a
//! call, so the worker's copy of the wire is the wire, and the two 64 KiB queues keep their
//! exact semantics (record-at-a-time reads, writes that block when full).
//!
//! Version 2 added the program language's version 2: [`Request::Configure`] (a context op, as
//! its canonical text), the calls [`Call::ReadEarly`] and [`Call::KeyUpdate`], and two fields of
//! [`ConnState`] (the early-data status and the context's new-session callback count).

use crate::backend::{EarlyRead, Outcome};
use crate::pki::{Identity, PkiParts};
use crate::program::{CtxConfig, Escaped, Op};
use crate::trace::EarlyStatus;
use std::io::{self, Read, Write};

/// The first bytes of a worker's hello.
pub const MAGIC: [u8; 4] = *b"TDW\0";
/// The protocol version this build speaks; a worker with another is refused.
pub const VERSION: u16 = 2;
/// The largest frame either side accepts: the wire's 64 KiB and a margin.
pub const MAX_FRAME: usize = 1 << 20;
/// The longest library name a hello may carry: a name and a version, not a document.
pub const MAX_LIBRARY: usize = 200;

/// The worker's first frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub version: u16,
    /// The library and its version, e.g. `OpenSSL 3.6.3 27 Jan 2026`.
    pub library: String,
}

/// A call on one connection, as the `ServerConn` trait has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    SetNumTickets(u64),
    GetNumTickets,
    DoHandshake,
    NewSessionTicket,
    /// `SSL_write_ex` of this many bytes of the program's write data (the one static buffer
    /// every backend writes from, so a retried write passes the same pointer).
    Write(u64),
    /// One `SSL_read_ex` into a buffer of this many bytes.
    Read(u32),
    VerifyClientPostHandshake,
    Shutdown,
    Close,
    /// One `SSL_read_early_data` into a buffer of this many bytes.
    ReadEarly(u32),
    /// `SSL_key_update`, requested or not.
    KeyUpdate(bool),
}

/// What ticketdiff asks. The first request is always [`Request::Setup`].
#[derive(Clone, Debug)]
pub enum Request {
    /// The test PKI to serve with (ticketdiff's client trusts its CA), and which of the
    /// worker build's in-process backends to host (`openssl` for the library it links).
    Setup {
        host: String,
        pki: Box<PkiParts>,
    },
    /// A fresh context: default count, no remembered sessions, no connections.
    Reset,
    CtxSetNumTickets(u64),
    CtxGetNumTickets,
    /// `SSL_new` on the context for connection `conn`.
    Accept {
        conn: u32,
    },
    Call {
        conn: u32,
        call: Call,
        /// Every byte waiting for the server on the wire.
        incoming: Vec<u8>,
        /// Room left toward the client.
        room: u32,
    },
    /// The connection is gone (ticketdiff dropped it).
    Drop {
        conn: u32,
    },
    /// A version 2 context op.
    Configure(CtxConfig),
}

/// A connection's state after a call, for the getters the harness asks between calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnState {
    pub handshake_finished: bool,
    pub session_reused: bool,
    pub tickets_issued: u64,
    pub shutdown_sent: bool,
    pub shutdown_received: bool,
    pub early: EarlyStatus,
    /// The context's new-session callback calls since its reset, after this call.
    pub notified: u64,
}

/// A call's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Count(u64),
    Outcome(Outcome),
    Early(EarlyRead),
    None,
}

/// The worker's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Done,
    Int(i64),
    Count(u64),
    Called {
        value: Value,
        /// Bytes of `incoming` the server read.
        consumed: u32,
        /// Bytes the server wrote toward the client.
        written: Vec<u8>,
        state: ConnState,
    },
    /// The request made no sense to the worker (a bug on one side): ticketdiff stops using it.
    Refused(String),
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(bad(format!("a frame of {len} bytes")));
    }
    let mut frame = vec![0u8; len];
    r.read_exact(&mut frame)?;
    Ok(Some(frame))
}

/// Writes one frame and flushes it.
pub fn write_frame(w: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    let len = u32::try_from(frame.len()).map_err(|_| bad("a frame over 4 GiB".into()))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(frame)?;
    w.flush()
}

fn bad(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("worker protocol: {what}"),
    )
}

/// Encoding.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
        self
    }
}

/// Decoding, every read checked.
struct In<'a>(&'a [u8]);

impl In<'_> {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.0.len() < n {
            return Err(bad("a truncated frame".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> io::Result<u16> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn bool(&mut self) -> io::Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(bad(format!("{b} is not a bool"))),
        }
    }
    fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn string(&mut self) -> io::Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| bad("a string that is not UTF-8".into()))
    }
    fn end(&self) -> io::Result<()> {
        match self.0.is_empty() {
            true => Ok(()),
            false => Err(bad(format!("{} bytes after the message", self.0.len()))),
        }
    }
}

impl Hello {
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Out::default();
        o.0.extend_from_slice(&MAGIC);
        o.u16(self.version).bytes(self.library.as_bytes());
        o.0
    }

    pub fn decode(frame: &[u8]) -> io::Result<Hello> {
        let mut i = In(frame);
        if i.take(4)? != MAGIC {
            return Err(bad(
                "the first frame is not a ticketdiff worker's hello".into()
            ));
        }
        let hello = Hello {
            version: i.u16()?,
            library: i.string()?,
        };
        i.end()?;
        if hello.library.len() > MAX_LIBRARY {
            return Err(bad(format!(
                "a library name of {} bytes",
                hello.library.len()
            )));
        }
        if hello.library.chars().any(char::is_control) {
            return Err(bad(format!(
                "a library name with a control character, `{}`",
                Escaped(&hello.library)
            )));
        }
        Ok(hello)
    }
}

impl Call {
    fn encode(&self, o: &mut Out) {
        match *self {
            Call::SetNumTickets(n) => o.u8(0).u64(n),
            Call::GetNumTickets => o.u8(1),
            Call::DoHandshake => o.u8(2),
            Call::NewSessionTicket => o.u8(3),
            Call::Write(n) => o.u8(4).u64(n),
            Call::Read(n) => o.u8(5).u32(n),
            Call::VerifyClientPostHandshake => o.u8(6),
            Call::Shutdown => o.u8(7),
            Call::Close => o.u8(8),
            Call::ReadEarly(n) => o.u8(9).u32(n),
            Call::KeyUpdate(requested) => o.u8(10).bool(requested),
        };
    }

    fn decode(i: &mut In<'_>) -> io::Result<Call> {
        Ok(match i.u8()? {
            0 => Call::SetNumTickets(i.u64()?),
            1 => Call::GetNumTickets,
            2 => Call::DoHandshake,
            3 => Call::NewSessionTicket,
            4 => Call::Write(i.u64()?),
            5 => Call::Read(i.u32()?),
            6 => Call::VerifyClientPostHandshake,
            7 => Call::Shutdown,
            8 => Call::Close,
            9 => Call::ReadEarly(i.u32()?),
            10 => Call::KeyUpdate(i.bool()?),
            t => return Err(bad(format!("call {t}"))),
        })
    }

    /// Whether `value` is of the kind this call returns.
    pub fn answered_by(&self, value: &Value) -> bool {
        use Call::*;
        match self {
            SetNumTickets(_)
            | NewSessionTicket
            | VerifyClientPostHandshake
            | Shutdown
            | KeyUpdate(_) => matches!(value, Value::Int(_)),
            GetNumTickets => matches!(value, Value::Count(_)),
            DoHandshake | Write(_) | Read(_) => matches!(value, Value::Outcome(_)),
            Close => matches!(value, Value::None),
            ReadEarly(_) => matches!(value, Value::Early(_)),
        }
    }

    /// The call's name, as the program language and a worker's hook name it.
    pub fn name(&self) -> &'static str {
        match self {
            Call::SetNumTickets(_) => "set_num_tickets",
            Call::GetNumTickets => "get_num_tickets",
            Call::DoHandshake => "do_handshake",
            Call::NewSessionTicket => "new_session_ticket",
            Call::Write(_) => "write",
            Call::Read(_) => "read",
            Call::VerifyClientPostHandshake => "verify_client_post_handshake",
            Call::Shutdown => "shutdown",
            Call::Close => "close",
            Call::ReadEarly(_) => "read_early_data",
            Call::KeyUpdate(_) => "key_update",
        }
    }
}

impl Request {
    /// Whether `reply` answers this request: its kind, or a refusal (any request may get one).
    pub fn answered_by(&self, reply: &Reply) -> bool {
        match (self, reply) {
            (_, Reply::Refused(_)) => true,
            (Request::Call { call, .. }, Reply::Called { value, .. }) => call.answered_by(value),
            (
                Request::Setup { .. }
                | Request::Reset
                | Request::Accept { .. }
                | Request::Drop { .. },
                r,
            ) => *r == Reply::Done,
            (Request::CtxSetNumTickets(_) | Request::Configure(_), r) => matches!(r, Reply::Int(_)),
            (Request::CtxGetNumTickets, r) => matches!(r, Reply::Count(_)),
            (Request::Call { .. }, _) => false,
        }
    }

    /// What the request is, for a message.
    pub fn kind(&self) -> String {
        match self {
            Request::Setup { .. } => "the setup".into(),
            Request::Reset => "a reset".into(),
            Request::CtxSetNumTickets(_) => "ctx_set_num_tickets".into(),
            Request::CtxGetNumTickets => "ctx_get_num_tickets".into(),
            Request::Accept { .. } => "an accept".into(),
            Request::Call { call, .. } => format!("a call of {}", call.name()),
            Request::Drop { .. } => "a drop".into(),
            Request::Configure(_) => "a context op".into(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut o = Out::default();
        match self {
            Request::Setup { host, pki } => {
                o.u8(6).bytes(host.as_bytes());
                o.bytes(&pki.ca_cert_der)
                    .bytes(pki.ca_cert_pem.as_bytes())
                    .bytes(&pki.ca_key_pkcs8);
                for id in [&pki.server, &pki.client] {
                    o.bytes(&id.cert_der)
                        .bytes(id.cert_pem.as_bytes())
                        .bytes(&id.key_pkcs8)
                        .bytes(id.key_pem.as_bytes());
                }
            }
            Request::Reset => {
                o.u8(0);
            }
            Request::CtxSetNumTickets(n) => {
                o.u8(1).u64(*n);
            }
            Request::CtxGetNumTickets => {
                o.u8(2);
            }
            Request::Accept { conn } => {
                o.u8(3).u32(*conn);
            }
            Request::Call {
                conn,
                call,
                incoming,
                room,
            } => {
                o.u8(4).u32(*conn);
                call.encode(&mut o);
                o.bytes(incoming).u32(*room);
            }
            Request::Drop { conn } => {
                o.u8(5).u32(*conn);
            }
            Request::Configure(setting) => {
                o.u8(7)
                    .bytes(Op::Configure(*setting).to_string().as_bytes());
            }
        }
        o.0
    }

    pub fn decode(frame: &[u8]) -> io::Result<Request> {
        let mut i = In(frame);
        let r = match i.u8()? {
            0 => Request::Reset,
            1 => Request::CtxSetNumTickets(i.u64()?),
            2 => Request::CtxGetNumTickets,
            3 => Request::Accept { conn: i.u32()? },
            4 => Request::Call {
                conn: i.u32()?,
                call: Call::decode(&mut i)?,
                incoming: i.bytes()?,
                room: i.u32()?,
            },
            5 => Request::Drop { conn: i.u32()? },
            7 => {
                let text = i.string()?;
                match text.parse::<Op>() {
                    Ok(Op::Configure(setting)) => Request::Configure(setting),
                    _ => return Err(bad(format!("`{text}` is not a context op"))),
                }
            }
            6 => {
                let host = i.string()?;
                let ca_cert_der = i.bytes()?;
                let ca_cert_pem = i.string()?;
                let ca_key_pkcs8 = i.bytes()?;
                let mut identity = || -> io::Result<Identity> {
                    Ok(Identity {
                        cert_der: i.bytes()?,
                        cert_pem: i.string()?,
                        key_pkcs8: i.bytes()?,
                        key_pem: i.string()?,
                    })
                };
                let server = identity()?;
                let client = identity()?;
                Request::Setup {
                    host,
                    pki: Box::new(PkiParts {
                        ca_cert_der,
                        ca_cert_pem,
                        ca_key_pkcs8,
                        server,
                        client,
                    }),
                }
            }
            t => return Err(bad(format!("request {t}"))),
        };
        i.end()?;
        Ok(r)
    }
}

fn encode_outcome(o: &mut Out, outcome: Outcome) {
    match outcome {
        Outcome::Done(n) => o.u8(0).u64(n as u64),
        Outcome::WouldBlock => o.u8(1),
        Outcome::Closed => o.u8(2),
        Outcome::Failed => o.u8(3),
    };
}

fn early_code(e: EarlyStatus) -> u8 {
    match e {
        EarlyStatus::Accepted => 0,
        EarlyStatus::Rejected => 1,
        EarlyStatus::NotSent => 2,
    }
}

fn decode_early(code: u8) -> io::Result<EarlyStatus> {
    Ok(match code {
        0 => EarlyStatus::Accepted,
        1 => EarlyStatus::Rejected,
        2 => EarlyStatus::NotSent,
        t => return Err(bad(format!("early-data status {t}"))),
    })
}

fn decode_outcome(i: &mut In<'_>) -> io::Result<Outcome> {
    Ok(match i.u8()? {
        0 => Outcome::Done(i.u64()? as usize),
        1 => Outcome::WouldBlock,
        2 => Outcome::Closed,
        3 => Outcome::Failed,
        t => return Err(bad(format!("outcome {t}"))),
    })
}

impl Reply {
    /// What the reply is, for a message.
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Done => "done",
            Reply::Int(_) => "an integer",
            Reply::Count(_) => "a count",
            Reply::Called { value, .. } => match value {
                Value::Int(_) => "a call's integer",
                Value::Count(_) => "a call's count",
                Value::Outcome(_) => "a call's outcome",
                Value::Early(_) => "a call's early read",
                Value::None => "a call's nothing",
            },
            Reply::Refused(_) => "a refusal",
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut o = Out::default();
        match self {
            Reply::Done => {
                o.u8(0);
            }
            Reply::Int(v) => {
                o.u8(1).u64(*v as u64);
            }
            Reply::Count(v) => {
                o.u8(2).u64(*v);
            }
            Reply::Called {
                value,
                consumed,
                written,
                state,
            } => {
                o.u8(3);
                match *value {
                    Value::Int(v) => {
                        o.u8(0).u64(v as u64);
                    }
                    Value::Count(v) => {
                        o.u8(1).u64(v);
                    }
                    Value::Outcome(outcome) => {
                        o.u8(2);
                        encode_outcome(&mut o, outcome);
                    }
                    Value::None => {
                        o.u8(3);
                    }
                    Value::Early(read) => {
                        match read {
                            EarlyRead::Read(n) => o.u8(4).u8(0).u64(n as u64),
                            EarlyRead::Finish => o.u8(4).u8(1),
                            EarlyRead::Error => o.u8(4).u8(2),
                        };
                    }
                }
                o.u32(*consumed).bytes(written);
                o.bool(state.handshake_finished)
                    .bool(state.session_reused)
                    .u64(state.tickets_issued)
                    .bool(state.shutdown_sent)
                    .bool(state.shutdown_received)
                    .u8(early_code(state.early))
                    .u64(state.notified);
            }
            Reply::Refused(why) => {
                o.u8(4).bytes(why.as_bytes());
            }
        }
        o.0
    }

    pub fn decode(frame: &[u8]) -> io::Result<Reply> {
        let mut i = In(frame);
        let r = match i.u8()? {
            0 => Reply::Done,
            1 => Reply::Int(i.u64()? as i64),
            2 => Reply::Count(i.u64()?),
            3 => {
                let value = match i.u8()? {
                    0 => Value::Int(i.u64()? as i64),
                    1 => Value::Count(i.u64()?),
                    2 => Value::Outcome(decode_outcome(&mut i)?),
                    3 => Value::None,
                    4 => Value::Early(match i.u8()? {
                        0 => EarlyRead::Read(i.u64()? as usize),
                        1 => EarlyRead::Finish,
                        2 => EarlyRead::Error,
                        t => return Err(bad(format!("early read {t}"))),
                    }),
                    t => return Err(bad(format!("value {t}"))),
                };
                Reply::Called {
                    value,
                    consumed: i.u32()?,
                    written: i.bytes()?,
                    state: ConnState {
                        handshake_finished: i.bool()?,
                        session_reused: i.bool()?,
                        tickets_issued: i.u64()?,
                        shutdown_sent: i.bool()?,
                        shutdown_received: i.bool()?,
                        early: decode_early(i.u8()?)?,
                        notified: i.u64()?,
                    },
                }
            }
            4 => Reply::Refused(i.string()?),
            t => return Err(bad(format!("reply {t}"))),
        };
        i.end()?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_round_trips() {
        let requests = [
            Request::Reset,
            Request::CtxSetNumTickets(u64::MAX),
            Request::CtxGetNumTickets,
            Request::Accept { conn: 7 },
            Request::Call {
                conn: 7,
                call: Call::Write(65536),
                incoming: vec![1, 2, 3],
                room: 65536,
            },
            Request::Call {
                conn: 1,
                call: Call::Read(16384),
                incoming: Vec::new(),
                room: 0,
            },
            Request::Drop { conn: 7 },
            Request::Configure(CtxConfig::TicketCb(
                crate::program::TicketGen::Fail,
                crate::program::TicketDec::UseRenew,
            )),
            Request::Configure(CtxConfig::MaxEarlyData(u32::MAX as u64)),
            Request::Call {
                conn: 2,
                call: Call::KeyUpdate(true),
                incoming: Vec::new(),
                room: 10,
            },
            Request::Call {
                conn: 2,
                call: Call::ReadEarly(16384),
                incoming: vec![23],
                room: 10,
            },
        ];
        for r in requests {
            let back = Request::decode(&r.encode()).unwrap();
            assert_eq!(format!("{back:?}"), format!("{r:?}"));
        }
        let setup = Request::Setup {
            host: "openssl".into(),
            pki: Box::new(crate::pki::pki().parts()),
        };
        let Request::Setup { host, pki } = Request::decode(&setup.encode()).unwrap() else {
            panic!("not a setup");
        };
        assert_eq!(host, "openssl");
        assert_eq!(pki.server.key_pkcs8, crate::pki::pki().server.key_pkcs8);
        assert_eq!(pki.client.cert_pem, crate::pki::pki().client.cert_pem);
        let replies = [
            Reply::Done,
            Reply::Int(-1),
            Reply::Count(u64::MAX),
            Reply::Called {
                value: Value::Outcome(Outcome::Done(16384)),
                consumed: 517,
                written: vec![22, 3, 3],
                state: ConnState {
                    handshake_finished: true,
                    session_reused: false,
                    tickets_issued: 2,
                    shutdown_sent: true,
                    shutdown_received: false,
                    early: EarlyStatus::Accepted,
                    notified: 3,
                },
            },
            Reply::Called {
                value: Value::Early(EarlyRead::Read(100)),
                consumed: 0,
                written: Vec::new(),
                state: ConnState::default(),
            },
            Reply::Called {
                value: Value::Early(EarlyRead::Finish),
                consumed: 0,
                written: Vec::new(),
                state: ConnState::default(),
            },
            Reply::Called {
                value: Value::Int(-1),
                consumed: 0,
                written: Vec::new(),
                state: ConnState::default(),
            },
            Reply::Refused("no such connection".into()),
        ];
        for r in replies {
            assert_eq!(Reply::decode(&r.encode()).unwrap(), r);
        }
        let hello = Hello {
            version: VERSION,
            library: "OpenSSL 3.0.19 27 Jan 2026".into(),
        };
        assert_eq!(Hello::decode(&hello.encode()).unwrap(), hello);
    }

    /// Hostile bytes reach both decoders (a worker's replies here, ticketdiff's requests in the
    /// worker): every truncation and every one-byte change of each kind of message decodes to
    /// a message or an error, never a panic, and a decoded hello's library name has no control
    /// character.
    #[test]
    fn decoders_take_any_damage_without_a_panic() {
        let frames = [
            Request::Reset.encode(),
            Request::Configure(CtxConfig::MaxEarlyData(7)).encode(),
            Request::Call {
                conn: 1,
                call: Call::ReadEarly(9),
                incoming: vec![1, 2, 3],
                room: 4,
            }
            .encode(),
            Request::Setup {
                host: "openssl".into(),
                pki: Box::new(crate::pki::pki().parts()),
            }
            .encode(),
            Reply::Called {
                value: Value::Early(EarlyRead::Read(3)),
                consumed: 1,
                written: vec![9; 5],
                state: ConnState::default(),
            }
            .encode(),
            Reply::Refused("why".into()).encode(),
            Hello {
                version: VERSION,
                library: "OpenSSL 3".into(),
            }
            .encode(),
        ];
        for frame in &frames {
            for cut in 0..frame.len() {
                let _ = Request::decode(&frame[..cut]);
                let _ = Reply::decode(&frame[..cut]);
                let _ = Hello::decode(&frame[..cut]);
            }
            // The setup is long: its first bytes (kind, lengths) are where damage matters.
            for at in 0..frame.len().min(64) {
                for byte in [0x00, 0x01, 0x0a, 0x7f, 0x80, 0xff] {
                    let mut damaged = frame.clone();
                    damaged[at] = byte;
                    let _ = Request::decode(&damaged);
                    let _ = Reply::decode(&damaged);
                    if let Ok(hello) = Hello::decode(&damaged) {
                        assert!(!hello.library.chars().any(char::is_control), "{hello:?}");
                    }
                }
            }
        }
        assert_eq!(Escaped("a\nb\u{1b}c").to_string(), "a\\nb\\u{1b}c");
    }

    #[test]
    fn damaged_frames_are_errors() {
        let good = Request::Accept { conn: 1 }.encode();
        assert!(Request::decode(&good[..good.len() - 1]).is_err());
        let mut long = good.clone();
        long.push(0);
        assert!(Request::decode(&long).is_err());
        assert!(Request::decode(&[9]).is_err());
        let mut not_config = vec![7];
        not_config.extend_from_slice(&9u32.to_le_bytes());
        not_config.extend_from_slice(b"handshake");
        assert!(Request::decode(&not_config).is_err());
        assert!(Hello::decode(b"HTTP/1.1 200 OK").is_err());
        let mut framed = Vec::new();
        write_frame(&mut framed, &good).unwrap();
        let mut r = &framed[..];
        assert_eq!(read_frame(&mut r).unwrap(), Some(good));
        assert_eq!(read_frame(&mut r).unwrap(), None);
        let huge = (MAX_FRAME as u32 + 1).to_le_bytes();
        assert!(read_frame(&mut &huge[..]).is_err());
    }
}
