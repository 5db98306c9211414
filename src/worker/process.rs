//! ticketdiff's side of a worker: the process, and a [`Server`] whose calls cross the pipe.
//!
//! One worker process per backend per thread, long-lived: it is started at the first program
//! and again at the next program after it died. A worker that dies during a call (a crash, an
//! abort, a `kill -9`), does not answer within the call timeout, or breaks the protocol in any
//! way (a frame too large, a reply that does not decode or is not the request's kind, bytes
//! past the wire's room, a second frame) is killed at once and leaves the failure for the
//! harness to find; the calls after it return placeholders at once. Nothing here waits for a
//! worker that was not killed or has not ended: every request has one deadline that covers
//! writing it and reading its reply.

use super::protocol::{
    read_frame, write_frame, Call, ConnState, Hello, Reply, Request, Value, VERSION,
};
use crate::backend::{BackendId, EarlyRead, Failure, Outcome, Server, ServerConn};
use crate::env::EnvError;
use crate::program::{CtxConfig, Escaped};
use crate::trace::EarlyStatus;
use crate::wire::Endpoint;
use std::cell::{Cell, RefCell};
use std::io::{self, BufReader, BufWriter};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How one exchange with a worker went wrong. Every case but `Ended` killed the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Broke {
    /// It ended by itself: how ("exited with status 0", "killed by signal 6").
    Ended(String),
    /// It did not answer within the timeout.
    Silent { after_ms: u64 },
    /// It said something the protocol does not allow: what.
    Nonsense(String),
}

impl std::fmt::Display for Broke {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broke::Ended(how) => write!(f, "it ended ({how})"),
            Broke::Silent { after_ms } => {
                write!(f, "it did not answer within {after_ms} ms, and was killed")
            }
            Broke::Nonsense(what) => {
                write!(f, "it broke the worker protocol ({what}), and was killed")
            }
        }
    }
}

impl From<Broke> for Failure {
    fn from(broke: Broke) -> Failure {
        match broke {
            Broke::Ended(how) => Failure::Crashed(how),
            Broke::Silent { after_ms } => Failure::Hung { after_ms },
            Broke::Nonsense(what) => Failure::Crashed(format!("broke the worker protocol: {what}")),
        }
    }
}

/// Why a worker did not start, in the words its error message uses.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("cannot run {}: {source}", path.display())]
    Spawn { path: PathBuf, source: io::Error },
    #[error("{} said no hello: {broke}", path.display())]
    NoHello { path: PathBuf, broke: Broke },
    #[error("{} sent a hello ticketdiff cannot read ({cause})", path.display())]
    BadHello { path: PathBuf, cause: String },
    #[error("{} speaks worker protocol version {theirs}, this ticketdiff speaks {VERSION}", path.display())]
    Version { path: PathBuf, theirs: u16 },
    #[error("{} refused the setup: {why}", path.display())]
    Refused { path: PathBuf, why: String },
    #[error("{} failed at the setup: {broke}", path.display())]
    Setup { path: PathBuf, broke: Broke },
}

impl StartError {
    /// Whether building the worker again is what helps: it is there but from another build.
    pub fn outdated(&self) -> bool {
        matches!(self, StartError::Version { .. })
    }
}

/// A running worker.
struct Process {
    child: Arc<Mutex<Child>>,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
    watch: Arc<Watch>,
}

/// The watchdog's view of a request: when it must have been answered, and whether the watchdog
/// killed the worker because it was not. Requests are written and replies read on the calling
/// thread (no hop through another thread per call); only the watchdog wakes up to look at the
/// clock.
struct Watch {
    started: Instant,
    /// Milliseconds since `started` by which the current request must be answered; 0 for none.
    deadline: AtomicU64,
    fired: AtomicBool,
    stop: AtomicBool,
}

impl Watch {
    fn arm(&self, timeout: Duration) {
        // Saturating: no timeout, however long, wraps around to a deadline already past.
        let at = self.started.elapsed().saturating_add(timeout).as_millis();
        let at = u64::try_from(at).unwrap_or(u64::MAX).max(1);
        self.deadline.store(at, Ordering::SeqCst);
    }

    fn disarm(&self) {
        self.deadline.store(0, Ordering::SeqCst);
    }
}

/// How often the watchdog looks at the clock: a hang is noticed this much after its timeout.
const WATCH_TICK: Duration = Duration::from_millis(20);
/// How long a worker that closed its pipes is given to end by itself before it is killed: its
/// exit status is what the finding reports (a crash closes the pipes as it ends).
const GRACE: Duration = Duration::from_millis(200);

/// How a read or write on the pipes failed.
enum PipeError {
    /// The worker closed its end (it is ending, most likely).
    Closed(&'static str),
    /// It sent bytes that are not a frame.
    Bad(String),
}

fn describe(status: ExitStatus) -> String {
    match (status.signal(), status.code()) {
        (Some(signal), _) => format!("killed by signal {signal}"),
        (None, Some(code)) => format!("exited with status {code}"),
        (None, None) => status.to_string(),
    }
}

impl Process {
    fn spawn(path: &Path) -> Result<Process, StartError> {
        let spawn_error = |source| StartError::Spawn {
            path: path.to_path_buf(),
            source,
        };
        let mut child = Command::new(path)
            // Its own process group, so that killing it kills whatever it started too.
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(spawn_error)?;
        let output = BufReader::new(child.stdout.take().expect("piped"));
        let input = BufWriter::new(child.stdin.take().expect("piped"));
        let child = Arc::new(Mutex::new(child));
        let watch = Arc::new(Watch {
            started: Instant::now(),
            deadline: AtomicU64::new(0),
            fired: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        // Made before the watchdog, so that a failure to start it still kills the child.
        let process = Process {
            child: child.clone(),
            input,
            output,
            watch: watch.clone(),
        };
        std::thread::Builder::new()
            .name("worker-watchdog".into())
            .spawn(move || watchdog(&watch, &child))
            .map_err(spawn_error)?;
        Ok(process)
    }

    fn start(
        path: &Path,
        host: BackendId,
        timeout: Duration,
    ) -> Result<(Process, Hello), StartError> {
        let path_buf = || path.to_path_buf();
        let mut process = Process::spawn(path)?;
        let frame = process
            .exchange(None, timeout)
            .map_err(|broke| StartError::NoHello {
                path: path_buf(),
                broke,
            })?;
        let hello = Hello::decode(&frame).map_err(|e| {
            process.kill();
            StartError::BadHello {
                path: path_buf(),
                cause: e.to_string(),
            }
        })?;
        if hello.version != VERSION {
            return Err(StartError::Version {
                path: path_buf(),
                theirs: hello.version,
            });
        }
        let setup = Request::Setup {
            host: host.name().to_string(),
            pki: Box::new(crate::pki::pki().parts()),
        };
        let setup_error = |broke| StartError::Setup {
            path: path_buf(),
            broke,
        };
        let frame = process
            .exchange(Some(&setup.encode()), timeout)
            .map_err(setup_error)?;
        match Reply::decode(&frame) {
            Ok(Reply::Done) => Ok((process, hello)),
            Ok(Reply::Refused(why)) => Err(StartError::Refused {
                path: path_buf(),
                why: Escaped(&why).to_string(),
            }),
            Ok(other) => Err(setup_error(
                process.nonsense(format!("it answered the setup with {}", other.kind())),
            )),
            Err(e) => Err(setup_error(process.nonsense(e.to_string()))),
        }
    }

    /// Writes a request (none for the hello) and reads the frame that answers it, all within
    /// `timeout`; on any failure the worker is ended or killed before this returns.
    fn exchange(&mut self, request: Option<&[u8]>, timeout: Duration) -> Result<Vec<u8>, Broke> {
        self.watch.arm(timeout);
        let result = self.send_and_read(request);
        self.watch.disarm();
        if self.watch.fired.load(Ordering::SeqCst) {
            self.kill();
            return Err(Broke::Silent {
                after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            });
        }
        match result {
            // One request, one frame: anything after it is a worker out of step.
            Ok(_) if !self.output.buffer().is_empty() => Err(self.nonsense(format!(
                "{} bytes after its answer",
                self.output.buffer().len()
            ))),
            Ok(frame) => Ok(frame),
            Err(PipeError::Closed(what)) => Err(self.ended(what)),
            Err(PipeError::Bad(what)) => Err(self.nonsense(what)),
        }
    }

    fn send_and_read(&mut self, request: Option<&[u8]>) -> Result<Vec<u8>, PipeError> {
        if let Some(request) = request {
            write_frame(&mut self.input, request)
                .map_err(|_| PipeError::Closed("it stopped reading its input"))?;
        }
        match read_frame(&mut self.output) {
            Ok(Some(frame)) => Ok(frame),
            Ok(None) => Err(PipeError::Closed("it closed its output")),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(PipeError::Closed("it closed its output within a frame"))
            }
            Err(e) => Err(PipeError::Bad(e.to_string())),
        }
    }

    /// The worker closed a pipe: how it ended, given a moment to; killed if it does not.
    fn ended(&mut self, what: &str) -> Broke {
        let until = Instant::now() + GRACE;
        loop {
            let status = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait();
            match status {
                Ok(Some(status)) => return Broke::Ended(describe(status)),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
                Ok(None) => return self.nonsense(format!("{what} but did not exit")),
                Err(e) => return Broke::Ended(format!("gone ({e})")),
            }
        }
    }

    /// Kills the worker for what it said.
    fn nonsense(&mut self, what: String) -> Broke {
        self.kill();
        Broke::Nonsense(what)
    }

    fn kill(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        kill(&mut child);
        let _ = child.wait();
    }
}

/// Kills a worker and its process group. Also after the worker was waited for: a process it
/// left in its group keeps the group's id from being reused, and may hold its output pipe.
fn kill(child: &mut Child) {
    super::group::kill_group(child.id());
    let _ = child.kill();
}

/// Kills the worker when a request outlives its deadline; ends with the process.
fn watchdog(watch: &Watch, child: &Mutex<Child>) {
    while !watch.stop.load(Ordering::SeqCst) {
        std::thread::sleep(WATCH_TICK);
        let deadline = watch.deadline.load(Ordering::SeqCst);
        let now = u64::try_from(watch.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if deadline != 0 && now >= deadline {
            watch.fired.store(true, Ordering::SeqCst);
            kill(&mut child.lock().unwrap_or_else(|e| e.into_inner()));
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
    /// Sends a request and waits for its reply; `None` once the worker failed. A reply that
    /// is not of the kind the request takes is a failure, never a placeholder.
    fn request(&mut self, request: &Request) -> Option<Reply> {
        if self.failure.is_some() {
            return None;
        }
        let process = self.process.as_mut()?;
        let reply = process
            .exchange(Some(&request.encode()), self.timeout)
            .and_then(|frame| Reply::decode(&frame).map_err(|e| process.nonsense(e.to_string())));
        match reply {
            Ok(Reply::Refused(why)) => {
                self.fail(Failure::Crashed(format!("refused: {}", Escaped(&why))))
            }
            Ok(reply) if request.answered_by(&reply) => Some(reply),
            Ok(reply) => self.broke(format!(
                "it answered {} with {}",
                request.kind(),
                reply.kind()
            )),
            Err(broke) => self.fail(broke.into()),
        }
    }

    /// The worker broke the protocol in a reply that decoded: it is killed.
    fn broke(&mut self, what: String) -> Option<Reply> {
        self.fail(Broke::Nonsense(what).into())
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
        match Process::start(&self.path, self.host, self.timeout) {
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
    pub fn start(id: BackendId, host: BackendId, path: &Path) -> Result<WorkerServer, StartError> {
        let timeout = crate::env::worker_timeout()?;
        let (process, hello) = Process::start(path, host, timeout)?;
        // One leak per backend and thread: the library's name lives as long as the program.
        let version: &'static str = Box::leak(hello.library.into_boxed_str());
        Ok(WorkerServer {
            link: Rc::new(RefCell::new(Link {
                id,
                host,
                path: path.to_path_buf(),
                process: Some(process),
                failure: None,
                timeout,
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
        let incoming = transport.peek_pending();
        let (waiting, room) = (incoming.len(), transport.room());
        let request = Request::Call {
            conn: self.conn,
            call,
            incoming,
            room: room as u32,
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
        // What no server can have done: read more than was waiting, write past the room (the
        // wire refuses that itself).
        if consumed as usize > waiting {
            let what = format!("it read {consumed} bytes of the {waiting} waiting");
            self.link.borrow_mut().broke(what);
            return Value::None;
        }
        transport.consume_pending(consumed as usize);
        if transport.deliver(&written).is_err() {
            let what = format!(
                "it wrote {} bytes, the wire had room for {room}",
                written.len()
            );
            self.link.borrow_mut().broke(what);
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
