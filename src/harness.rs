//! The interpreter: runs a program's ops against a [`Server`] and the shared OpenSSL client,
//! recording one trace step per op.

use crate::backend::{Backend, BackendId, EarlyRead, Outcome, Server, ServerConn, Unfinished};
use crate::client::{ClientConn, ClientContext, SharedSessionStore, READ_BUFFER};
use crate::program::{ConnectFlags, Op, Program, Resume, Stmt};
use crate::trace::{EarlyStatus, Step, Trace};
use crate::wire::wire;

/// Rounds of `handshake` before a handshake that makes no progress is called failed.
const MAX_HANDSHAKE_ROUNDS: usize = 64;

pub use crate::client::write_data;

/// A server backend driven by programs.
pub struct Harness<S: Server> {
    server: S,
    client: ClientContext,
    /// Time spent in the ops themselves (the TLS libraries' calls), as opposed to the
    /// harness's own bookkeeping.
    tls_time: std::time::Duration,
}

/// One live connection: both ends, and what has been seen of its handshake.
struct Connection {
    server: Box<dyn ServerConn>,
    client: ClientConn,
    /// Set once the server's handshake has finished; `SSL_is_init_finished` goes false again
    /// while post-handshake messages are pending, the trace's `resumed` must not.
    server_finished: bool,
    client_finished: bool,
    resumed: Option<bool>,
    early: Option<EarlyStatus>,
}

impl Connection {
    fn observe(&mut self) {
        if !self.server_finished && self.server.handshake_finished() {
            self.server_finished = true;
            self.resumed = Some(self.server.session_reused());
            self.early = Some(self.server.early_data_status());
        }
        if !self.client_finished && self.client.handshake_finished() {
            self.client_finished = true;
        }
    }
}

/// What one program run keeps between ops.
struct Run {
    conn: Option<Connection>,
    sessions: SharedSessionStore,
    /// Tickets issued and received on connections already closed.
    issued_before: u64,
    received_before: u64,
}

impl<S: Server> Harness<S> {
    pub fn new(server: S) -> Harness<S> {
        crate::openssl_ffi::repeatable_rand::install();
        Harness {
            server,
            client: ClientContext::new(),
            tls_time: std::time::Duration::ZERO,
        }
    }

    pub fn server(&self) -> &S {
        &self.server
    }

    fn step(&mut self, run: &mut Run, op: Op) -> Option<i128> {
        let ret = match op {
            Op::CtxSetNumTickets(n) => return Some(self.server.ctx_set_num_tickets(n).into()),
            Op::CtxGetNumTickets => return Some(self.server.ctx_get_num_tickets().into()),
            Op::Connect(flags) => return Some(self.connect(run, flags)),
            Op::Configure(setting) => return Some(self.server.configure(setting).into()),
            _ => {
                let conn = run.conn.as_mut()?;
                conn_op(conn, op)
            }
        };
        if let Some(conn) = run.conn.as_mut() {
            conn.observe();
        }
        Some(ret)
    }

    fn connect(&mut self, run: &mut Run, flags: ConnectFlags) -> i128 {
        close(run);
        let (client_end, server_end) = wire();
        let server = self.server.accept(server_end);
        let (client, offered) = self.client.connect(client_end, flags, &run.sessions);
        run.conn = Some(Connection {
            server,
            client,
            server_finished: false,
            client_finished: false,
            resumed: None,
            early: None,
        });
        offered.into()
    }
}

/// Closes the current connection, keeping what it counted.
fn close(run: &mut Run) {
    if let Some(mut conn) = run.conn.take() {
        conn.server.close();
        conn.client.close();
        run.issued_before += conn.server.tickets_issued();
        run.received_before += conn.client.tickets_received();
    }
}

fn handshake_ret(outcome: Outcome) -> i128 {
    match outcome {
        Outcome::Done(_) => 1,
        Outcome::WouldBlock => -1,
        Outcome::Closed | Outcome::Failed => 0,
    }
}

fn io_ret(outcome: Outcome) -> i128 {
    match outcome {
        Outcome::Done(n) => n as i128,
        Outcome::Closed => 0,
        Outcome::WouldBlock | Outcome::Failed => -1,
    }
}

fn conn_op(conn: &mut Connection, op: Op) -> i128 {
    match op {
        Op::SetNumTickets(n) => conn.server.set_num_tickets(n).into(),
        Op::GetNumTickets => conn.server.get_num_tickets().into(),
        Op::Handshake => handshake(conn),
        Op::ClientStep => handshake_ret(conn.client.do_handshake()),
        Op::ServerStep | Op::ServerDoHandshake => handshake_ret(conn.server.do_handshake()),
        Op::NewSessionTicket => conn.server.new_session_ticket().into(),
        Op::ServerWrite(n) => match conn.server.write(write_data(n)) {
            Outcome::Closed => -1,
            other => io_ret(other),
        },
        Op::ServerRead => {
            let mut buf = [0u8; READ_BUFFER];
            io_ret(conn.server.read(&mut buf))
        }
        Op::ClientRead => conn.client.read_all().map_or(-1, i128::from),
        Op::ClientWrite(n) => match conn.client.write(write_data(n)) {
            Outcome::Closed => -1,
            other => io_ret(other),
        },
        Op::VerifyClientPostHandshake => conn.server.verify_client_post_handshake().into(),
        Op::Shutdown => {
            conn.server.shutdown();
            conn.client.shutdown();
            conn.server.shutdown();
            let (s_sent, s_received) = conn.server.shutdown_state();
            let (c_sent, c_received) = conn.client.shutdown_state();
            (s_sent && s_received && c_sent && c_received).into()
        }
        Op::ServerReadEarly => {
            let mut buf = [0u8; READ_BUFFER];
            match conn.server.read_early_data(&mut buf) {
                EarlyRead::Read(n) => n as i128,
                EarlyRead::Finish => 0,
                EarlyRead::Error => -1,
            }
        }
        Op::KeyUpdate { requested } => conn.server.key_update(requested).into(),
        Op::CtxSetNumTickets(_) | Op::CtxGetNumTickets | Op::Connect(_) | Op::Configure(_) => {
            unreachable!("context ops do not reach a connection")
        }
    }
}

/// Alternates `SSL_do_handshake` on client and server, never calling it again on a side that
/// has finished (on a server that would flush queued tickets), then lets the client read.
fn handshake(conn: &mut Connection) -> i128 {
    conn.observe();
    let mut failed = false;
    for _ in 0..MAX_HANDSHAKE_ROUNDS {
        if conn.client_finished && conn.server_finished {
            break;
        }
        let mut progressed = false;
        if !conn.client_finished {
            match conn.client.do_handshake() {
                Outcome::Done(_) => progressed = true,
                Outcome::WouldBlock => {}
                Outcome::Closed | Outcome::Failed => failed = true,
            }
        }
        if !failed && !conn.server_finished {
            match conn.server.do_handshake() {
                Outcome::Done(_) => progressed = true,
                Outcome::WouldBlock => {}
                Outcome::Closed | Outcome::Failed => failed = true,
            }
        }
        conn.observe();
        if failed {
            break;
        }
        // A round in which neither side finished still progresses while bytes are in flight;
        // when none are, nobody can move again.
        if !progressed && conn.client.bytes_in_flight() == 0 {
            failed = true;
            break;
        }
    }
    conn.client.read_all();
    conn.observe();
    (!failed && conn.client_finished && conn.server_finished).into()
}

impl<S: Server> Backend for Harness<S> {
    fn id(&self) -> BackendId {
        self.server.id()
    }

    fn version(&self) -> &'static str {
        self.server.version()
    }

    fn skip_reason(&self, program: &Program) -> Option<String> {
        program.stmts.iter().find_map(|s| {
            self.server
                .unsupported(&s.op)
                .map(|why| format!("line {}: `{}`: {why}", s.line, s.op))
        })
    }

    fn tls_time(&self) -> std::time::Duration {
        self.tls_time
    }

    fn run(&mut self, program: &Program) -> Result<Trace, Unfinished> {
        self.run_until(program, &mut |_| false)
    }

    fn run_until(
        &mut self,
        program: &Program,
        last: &mut dyn FnMut(&Step) -> bool,
    ) -> Result<Trace, Unfinished> {
        let started = std::time::Instant::now();
        // Every run of a program draws the same random bytes, on every backend.
        crate::openssl_ffi::repeatable_rand::restart();
        self.server.reset();
        let mut in_ops = started.elapsed();
        let mut run = Run {
            conn: None,
            sessions: SharedSessionStore::default(),
            issued_before: 0,
            received_before: 0,
        };
        let mut trace = Vec::with_capacity(program.len());
        let resumes = |s: &&Stmt| matches!(s.op, Op::Connect(f) if f.resume == Resume::Newest);
        let mut resumes_left = program.stmts.iter().filter(resumes).count();
        for (at, stmt) in program.stmts.iter().enumerate() {
            // This op's own `resume` included: it takes from what is kept.
            run.sessions.set_resumes_left(resumes_left);
            if resumes(&stmt) {
                resumes_left -= 1;
            }
            let op_started = std::time::Instant::now();
            let ret = self.step(&mut run, stmt.op);
            in_ops += op_started.elapsed();
            if let Some(failure) = self.server.failure() {
                drop(run);
                self.tls_time += in_ops;
                return Err(Unfinished {
                    steps: trace,
                    at,
                    failure,
                });
            }
            let conn = run.conn.as_ref();
            let step = Step {
                line: stmt.line,
                op: stmt.op,
                ret,
                issued: run.issued_before + conn.map_or(0, |c| c.server.tickets_issued()),
                received: run.received_before + conn.map_or(0, |c| c.client.tickets_received()),
                resumed: conn.and_then(|c| c.resumed),
                notified: self.server.notified(),
                early: conn.and_then(|c| c.early),
            };
            let stop = last(&step);
            trace.push(step);
            if stop {
                break;
            }
        }
        let closing = std::time::Instant::now();
        close(&mut run);
        drop(run);
        self.tls_time += in_ops + closing.elapsed();
        Ok(trace)
    }
}
