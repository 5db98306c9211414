//! ticketdiff's side of a worker: the process, and a [`Server`] whose calls cross the pipe.
//!
//! One worker process per backend per thread, long-lived: it is started at the first program
//! and again at the next program after it died. A worker that dies during a call (a crash, an
//! abort, a `kill -9`) or does not answer within [`call_timeout`] (it is killed then) leaves
//! the failure for the harness to find; the calls after it return placeholders at once.

use super::protocol::{
    read_frame, write_frame, Call, ConnState, Hello, Reply, Request, Value, VERSION,
};
use crate::backend::{BackendId, EarlyRead, Failure, Outcome, Server, ServerConn};
use crate::program::CtxConfig;
use crate::trace::EarlyStatus;
use crate::wire::Endpoint;
use std::cell::{Cell, RefCell};
use std::io::{self, BufReader, BufWriter};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one call may take before the worker counts as hung: `TICKETDIFF_WORKER_TIMEOUT_MS`
/// (see [`crate::env`]; commands refuse a bad value at their start).
pub fn call_timeout() -> Duration {
    crate::env::worker_timeout().unwrap_or(Duration::from_millis(crate::env::DEFAULT_TIMEOUT_MS))
}

/// A running worker.
struct Process {
    child: Arc<Mutex<Child>>,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
    watch: Arc<Watch>,
}

/// The watchdog's view of a call: when it must have been answered, and whether the watchdog
/// killed the worker because it was not. Replies are read on the calling thread (no hop
/// through another thread per call); only the watchdog wakes up to look at the clock.
struct Watch {
    started: Instant,
    /// Milliseconds since `started` by which the current call must be answered; 0 for none.
    deadline: AtomicU64,
    fired: AtomicBool,
    stop: AtomicBool,
}

/// How often the watchdog looks at the clock: a hang is noticed this much after its timeout.
const WATCH_TICK: Duration = Duration::from_millis(20);

impl Process {
    fn start(path: &Path, host: BackendId) -> io::Result<(Process, Hello)> {
        let mut child = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let output = BufReader::new(child.stdout.take().expect("piped"));
        let input = BufWriter::new(child.stdin.take().expect("piped"));
        let child = Arc::new(Mutex::new(child));
        let watch = Arc::new(Watch {
            started: Instant::now(),
            deadline: AtomicU64::new(0),
            fired: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        {
            let (watch, child) = (watch.clone(), child.clone());
            std::thread::Builder::new()
                .name("worker-watchdog".into())
                .spawn(move || watchdog(&watch, &child))?;
        }
        let mut process = Process {
            child,
            input,
            output,
            watch,
        };
        let hello = match process.receive(call_timeout()) {
            Ok(frame) => Hello::decode(&frame)?,
            Err(failure) => {
                return Err(io::Error::other(format!(
                    "{}: no hello: {failure:?}",
                    path.display()
                )))
            }
        };
        if hello.version != VERSION {
            return Err(io::Error::other(format!(
                "{}: speaks worker protocol version {}, this ticketdiff speaks {VERSION}",
                path.display(),
                hello.version
            )));
        }
        let setup = Request::Setup {
            host: host.name().to_string(),
            pki: Box::new(crate::pki::pki().parts()),
        };
        write_frame(&mut process.input, &setup.encode())?;
        match process.receive(call_timeout()).map(|f| Reply::decode(&f)) {
            Ok(Ok(Reply::Done)) => Ok((process, hello)),
            other => Err(io::Error::other(format!(
                "{}: refused the setup: {other:?}",
                path.display()
            ))),
        }
    }

    /// The next frame, or how the worker failed.
    fn receive(&mut self, timeout: Duration) -> Result<Vec<u8>, Failure> {
        // Saturating: no timeout, however long, wraps around to a deadline already past.
        let deadline = self.watch.started.elapsed().saturating_add(timeout);
        let deadline = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX);
        self.watch.deadline.store(deadline.max(1), Ordering::SeqCst);
        let frame = read_frame(&mut self.output);
        self.watch.deadline.store(0, Ordering::SeqCst);
        if self.watch.fired.load(Ordering::SeqCst) {
            return Err(Failure::Hung {
                after_ms: timeout.as_millis() as u64,
            });
        }
        match frame {
            Ok(Some(frame)) => Ok(frame),
            Ok(None) | Err(_) => Err(Failure::Crashed(self.exit_status())),
        }
    }

    fn kill(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }

    /// How the worker ended, waiting for it.
    fn exit_status(&mut self) -> String {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        match child.wait() {
            Ok(status) => match (status.signal(), status.code()) {
                (Some(signal), _) => format!("killed by signal {signal}"),
                (None, Some(code)) => format!("exited with status {code}"),
                (None, None) => status.to_string(),
            },
            Err(e) => format!("gone ({e})"),
        }
    }
}

/// Kills the worker when a call outlives its deadline; ends with the process.
fn watchdog(watch: &Watch, child: &Mutex<Child>) {
    while !watch.stop.load(Ordering::SeqCst) {
        std::thread::sleep(WATCH_TICK);
        let deadline = watch.deadline.load(Ordering::SeqCst);
        if deadline != 0 && watch.started.elapsed().as_millis() as u64 >= deadline {
            watch.fired.store(true, Ordering::SeqCst);
            let _ = child.lock().unwrap_or_else(|e| e.into_inner()).kill();
            return;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.watch.stop.store(true, Ordering::SeqCst);
        self.kill();
    }
}

/// The link to the worker that a server and its connections share.
struct Link {
    id: BackendId,
    host: BackendId,
    path: PathBuf,
    process: Option<Process>,
    failure: Option<Failure>,
    timeout: Duration,
    next_conn: u32,
    /// The context's new-session callback count, as of the last call's reply.
    notified: u64,
}

impl Link {
    /// Sends a request and waits for its reply; `None` once the worker failed.
    fn request(&mut self, request: &Request) -> Option<Reply> {
        if self.failure.is_some() {
            return None;
        }
        let process = self.process.as_mut()?;
        let sent = write_frame(&mut process.input, &request.encode());
        let reply = match sent {
            Ok(()) => process.receive(self.timeout),
            // A closed pipe: the worker is gone; its status says how.
            Err(_) => Err(Failure::Crashed(process.exit_status())),
        };
        let reply = reply.and_then(|frame| {
            Reply::decode(&frame).map_err(|e| Failure::Crashed(format!("answered nonsense: {e}")))
        });
        match reply {
            Ok(Reply::Refused(why)) => self.fail(Failure::Crashed(format!("refused: {why}"))),
            Ok(reply) => Some(reply),
            Err(failure) => self.fail(failure),
        }
    }

    fn fail(&mut self, failure: Failure) -> Option<Reply> {
        self.failure = Some(failure);
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
        None
    }

    /// A fresh worker when the last one failed or never started.
    fn ensure_started(&mut self) {
        if self.process.is_some() && self.failure.is_none() {
            return;
        }
        self.process = None;
        self.failure = None;
        match Process::start(&self.path, self.host) {
            Ok((process, _)) => self.process = Some(process),
            Err(e) => self.failure = Some(Failure::Crashed(format!("cannot start: {e}"))),
        }
    }
}

/// A server library in a worker process.
pub struct WorkerServer {
    link: Rc<RefCell<Link>>,
    version: &'static str,
}

impl WorkerServer {
    /// Starts the worker at `path`, hosting `host` (the in-process backend it runs), as
    /// backend `id`.
    pub fn start(id: BackendId, host: BackendId, path: &Path) -> io::Result<WorkerServer> {
        let (process, hello) = Process::start(path, host)?;
        // One leak per backend and thread: the library's name lives as long as the program.
        let version: &'static str = Box::leak(hello.library.into_boxed_str());
        Ok(WorkerServer {
            link: Rc::new(RefCell::new(Link {
                id,
                host,
                path: path.to_path_buf(),
                process: Some(process),
                failure: None,
                timeout: call_timeout(),
                next_conn: 0,
                notified: 0,
            })),
            version,
        })
    }
}

impl Server for WorkerServer {
    fn id(&self) -> BackendId {
        self.link.borrow().id
    }

    fn version(&self) -> &'static str {
        self.version
    }

    fn reset(&mut self) {
        let mut link = self.link.borrow_mut();
        link.ensure_started();
        link.next_conn = 0;
        link.notified = 0;
        link.request(&Request::Reset);
    }

    fn ctx_set_num_tickets(&mut self, n: u64) -> i64 {
        match self
            .link
            .borrow_mut()
            .request(&Request::CtxSetNumTickets(n))
        {
            Some(Reply::Int(v)) => v,
            _ => 0,
        }
    }

    fn ctx_get_num_tickets(&self) -> u64 {
        match self.link.borrow_mut().request(&Request::CtxGetNumTickets) {
            Some(Reply::Count(v)) => v,
            _ => 0,
        }
    }

    fn configure(&mut self, setting: CtxConfig) -> i64 {
        match self.link.borrow_mut().request(&Request::Configure(setting)) {
            Some(Reply::Int(v)) => v,
            _ => 0,
        }
    }

    fn notified(&self) -> u64 {
        self.link.borrow().notified
    }

    fn accept(&mut self, transport: Endpoint) -> Box<dyn ServerConn> {
        let conn = {
            let mut link = self.link.borrow_mut();
            let conn = link.next_conn;
            link.next_conn += 1;
            link.request(&Request::Accept { conn });
            conn
        };
        Box::new(WorkerConn {
            link: self.link.clone(),
            conn,
            transport,
            state: Cell::new(ConnState::default()),
        })
    }

    fn failure(&self) -> Option<Failure> {
        self.link.borrow().failure.clone()
    }
}

/// One connection in the worker; its transport is the real wire, on this side.
struct WorkerConn {
    link: Rc<RefCell<Link>>,
    conn: u32,
    transport: Endpoint,
    /// As of the last call: the getters between calls read it. In a cell so that a getter
    /// (`&self`) makes its call like any other.
    state: Cell<ConnState>,
}

impl WorkerConn {
    /// Makes a call, mirroring what the server read and wrote onto the wire.
    fn call(&self, call: Call) -> Value {
        let transport = &self.transport;
        let request = Request::Call {
            conn: self.conn,
            call,
            incoming: transport.peek_pending(),
            room: transport.room() as u32,
        };
        let reply = self.link.borrow_mut().request(&request);
        let Some(Reply::Called {
            value,
            consumed,
            written,
            state,
        }) = reply
        else {
            return Value::None;
        };
        transport.consume_pending(consumed as usize);
        if let Err(e) = transport.deliver(&written) {
            self.link
                .borrow_mut()
                .fail(Failure::Crashed(format!("wrote past the wire's room: {e}")));
            return Value::None;
        }
        self.link.borrow_mut().notified = state.notified;
        self.state.set(state);
        value
    }

    fn int(&self, call: Call) -> i64 {
        match self.call(call) {
            Value::Int(v) => v,
            _ => 0,
        }
    }

    fn outcome(&self, call: Call) -> Outcome {
        match self.call(call) {
            Value::Outcome(o) => o,
            _ => Outcome::Failed,
        }
    }
}

impl ServerConn for WorkerConn {
    fn set_num_tickets(&mut self, n: u64) -> i64 {
        self.int(Call::SetNumTickets(n))
    }

    fn get_num_tickets(&self) -> u64 {
        match self.call(Call::GetNumTickets) {
            Value::Count(v) => v,
            _ => 0,
        }
    }

    fn do_handshake(&mut self) -> Outcome {
        self.outcome(Call::DoHandshake)
    }

    fn new_session_ticket(&mut self) -> i64 {
        self.int(Call::NewSessionTicket)
    }

    fn write(&mut self, data: &[u8]) -> Outcome {
        self.outcome(Call::Write(data.len() as u64))
    }

    fn read(&mut self, buf: &mut [u8]) -> Outcome {
        // The bytes stay in the worker: no op looks at what a server read.
        self.outcome(Call::Read(buf.len() as u32))
    }

    fn verify_client_post_handshake(&mut self) -> i64 {
        self.int(Call::VerifyClientPostHandshake)
    }

    fn read_early_data(&mut self, buf: &mut [u8]) -> EarlyRead {
        // The bytes stay in the worker, as for `read`.
        match self.call(Call::ReadEarly(buf.len() as u32)) {
            Value::Early(read) => read,
            _ => EarlyRead::Error,
        }
    }

    fn key_update(&mut self, requested: bool) -> i64 {
        self.int(Call::KeyUpdate(requested))
    }

    fn early_data_status(&self) -> EarlyStatus {
        self.state.get().early
    }

    fn shutdown(&mut self) -> i64 {
        self.int(Call::Shutdown)
    }

    fn shutdown_state(&self) -> (bool, bool) {
        let state = self.state.get();
        (state.shutdown_sent, state.shutdown_received)
    }

    fn handshake_finished(&self) -> bool {
        self.state.get().handshake_finished
    }

    fn session_reused(&self) -> bool {
        self.state.get().session_reused
    }

    fn tickets_issued(&self) -> u64 {
        self.state.get().tickets_issued
    }

    fn close(&mut self) {
        self.call(Call::Close);
    }
}

impl Drop for WorkerConn {
    fn drop(&mut self) {
        self.link
            .borrow_mut()
            .request(&Request::Drop { conn: self.conn });
    }
}
