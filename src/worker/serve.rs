//! The worker's side: a server library in this process, driven over standard input and
//! output by the protocol of [`super::protocol`].

use super::protocol::{
    read_frame, write_frame, Call, ConnState, Hello, Reply, Request, Value, VERSION,
};
use crate::backend::{BackendId, Server, ServerConn};
use crate::client::READ_BUFFER;
use crate::harness::write_data;
use crate::registry;
use crate::wire::{wire, Endpoint};
use std::collections::HashMap;
use std::io::{self, BufReader, BufWriter};

struct Worker {
    server: Box<dyn Server>,
    conns: HashMap<u32, (Box<dyn ServerConn>, Endpoint)>,
}

impl Worker {
    fn handle(&mut self, request: Request, before_call: &mut dyn FnMut(&Call)) -> Reply {
        match request {
            Request::Setup { .. } => Reply::Refused("set up twice".into()),
            Request::Reset => {
                self.conns.clear();
                // A program starts: its server draws the same bytes every run, as in process.
                crate::openssl_ffi::repeatable_rand::restart();
                self.server.reset();
                Reply::Done
            }
            Request::CtxSetNumTickets(n) => Reply::Int(self.server.ctx_set_num_tickets(n)),
            Request::CtxGetNumTickets => Reply::Count(self.server.ctx_get_num_tickets()),
            Request::Configure(setting) => Reply::Int(self.server.configure(setting)),
            Request::Accept { conn } => {
                let (_, end) = wire();
                let ssl = self.server.accept(end.clone());
                self.conns.insert(conn, (ssl, end));
                Reply::Done
            }
            Request::Drop { conn } => {
                self.conns.remove(&conn);
                Reply::Done
            }
            Request::Call {
                conn,
                call,
                incoming,
                room,
            } => {
                before_call(&call);
                let Some((ssl, end)) = self.conns.get_mut(&conn) else {
                    return Reply::Refused(format!("no connection {conn}"));
                };
                let skip = end.load(&incoming, room as usize);
                let value = perform(ssl.as_mut(), call);
                let consumed = (incoming.len() - end.pending()) as u32;
                let written = end.take_written(skip);
                let (shutdown_sent, shutdown_received) = ssl.shutdown_state();
                Reply::Called {
                    value,
                    consumed,
                    written,
                    state: ConnState {
                        handshake_finished: ssl.handshake_finished(),
                        session_reused: ssl.session_reused(),
                        tickets_issued: ssl.tickets_issued(),
                        shutdown_sent,
                        shutdown_received,
                        early: ssl.early_data_status(),
                        notified: self.server.notified(),
                    },
                }
            }
        }
    }
}

fn perform(ssl: &mut dyn ServerConn, call: Call) -> Value {
    match call {
        Call::SetNumTickets(n) => Value::Int(ssl.set_num_tickets(n)),
        Call::GetNumTickets => Value::Count(ssl.get_num_tickets()),
        Call::DoHandshake => Value::Outcome(ssl.do_handshake()),
        Call::NewSessionTicket => Value::Int(ssl.new_session_ticket()),
        Call::Write(len) => Value::Outcome(ssl.write(write_data(len))),
        Call::Read(len) => {
            let mut buf = [0u8; READ_BUFFER];
            let len = (len as usize).min(READ_BUFFER);
            Value::Outcome(ssl.read(&mut buf[..len]))
        }
        Call::VerifyClientPostHandshake => Value::Int(ssl.verify_client_post_handshake()),
        Call::Shutdown => Value::Int(ssl.shutdown()),
        Call::Close => {
            ssl.close();
            Value::None
        }
        Call::ReadEarly(len) => {
            let mut buf = [0u8; READ_BUFFER];
            let len = (len as usize).min(READ_BUFFER);
            Value::Early(ssl.read_early_data(&mut buf[..len]))
        }
        Call::KeyUpdate(requested) => Value::Int(ssl.key_update(requested)),
    }
}

/// Serves on standard input and output until ticketdiff closes the pipe: says hello, takes the
/// setup (the PKI, the backend to host), then answers requests.
pub fn serve_stdio() -> io::Result<()> {
    serve_stdio_with(&mut |_| {})
}

/// [`serve_stdio`], running `before_call` before each call on a connection. The production
/// worker passes nothing; the tests' stand-in worker misbehaves there on purpose (crashes, hangs,
/// writes what the protocol forbids), around the real library it hosts.
pub fn serve_stdio_with(before_call: &mut dyn FnMut(&Call)) -> io::Result<()> {
    let mut input = BufReader::new(io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    let hello = Hello {
        version: VERSION,
        library: openssl::version::version().to_string(),
    };
    write_frame(&mut output, &hello.encode())?;
    let server = match set_up(&mut input) {
        Ok(server) => server,
        Err(e) => {
            // Said to ticketdiff, which names the worker in its message, and ends the worker.
            write_frame(&mut output, &Reply::Refused(e.to_string()).encode())?;
            return Err(e);
        }
    };
    write_frame(&mut output, &Reply::Done.encode())?;
    let mut worker = Worker {
        server,
        conns: HashMap::new(),
    };
    while let Some(frame) = read_frame(&mut input)? {
        let reply = match Request::decode(&frame) {
            Ok(request) => worker.handle(request, before_call),
            Err(e) => Reply::Refused(e.to_string()),
        };
        write_frame(&mut output, &reply.encode())?;
    }
    Ok(())
}

/// Takes the setup: the server to host, with the PKI installed.
fn set_up(input: &mut impl io::Read) -> io::Result<Box<dyn Server>> {
    let setup = read_frame(input)?.ok_or_else(|| io::Error::other("no setup"))?;
    let Request::Setup { host, pki } = Request::decode(&setup)? else {
        return Err(io::Error::other("the first request is not a setup"));
    };
    // Before anything used a PKI: the server must present what ticketdiff's client trusts.
    let pki = crate::pki::Pki::from_parts(*pki)
        .map_err(|e| io::Error::other(format!("the setup's {e}")))?;
    if crate::pki::install(pki).is_err() {
        return Err(io::Error::other("a PKI was made before the setup"));
    }
    crate::openssl_ffi::repeatable_rand::install();
    host.parse::<BackendId>()
        .ok()
        .and_then(registry::in_process)
        .ok_or_else(|| io::Error::other(format!("cannot host `{host}` in a worker")))
}
