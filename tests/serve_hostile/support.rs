//! Servers (the library's accept loop in a thread, or the `ticketdiff serve` command in a child
//! process) and the clients the cases use against them.

use openssl::ssl::{SslConnector, SslMethod, SslSessionCacheMode, SslStream, SslVersion};
use openssl::x509::X509;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use ticketdiff::serve::{serve_listener, Limits, Stop, Totals};

/// Limits loose enough not to interfere; each case tightens the one it is about.
pub fn loose() -> Limits {
    Limits {
        max_connections: 16,
        handshake_timeout: Duration::from_secs(20),
        idle_timeout: Duration::from_secs(20),
        write_timeout: Duration::from_secs(20),
    }
}

/// The library's accept loop on 127.0.0.1:0 in a thread, with the shared test PKI.
pub struct LibServer {
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
    pub stop: Stop,
    done: mpsc::Receiver<io::Result<Totals>>,
}

impl LibServer {
    pub fn start(limits: Limits) -> Self {
        let config = crate::common::pki()
            .native_server_config([7u8; 32])
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let stop = Stop::new();
        let stop_c = stop.clone();
        let (tx, done) = mpsc::channel();
        std::thread::spawn(move || {
            let log = Arc::new(move |line| sink.lock().unwrap().push(line));
            let _ = tx.send(serve_listener(
                listener,
                Arc::new(config),
                limits,
                log,
                stop_c,
            ));
        });
        LibServer {
            addr,
            logs,
            stop,
            done,
        }
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits up to `within` for a log line containing `what`.
    pub fn wait_log(&self, what: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.logs().into_iter().find(|l| l.contains(what)) {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {what:?} within {within:?}: {:?}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the loop and returns what it reports (within a few seconds).
    pub fn stop(&self) -> Totals {
        self.stop.stop();
        self.done
            .recv_timeout(Duration::from_secs(5))
            .expect("the accept loop ends within 5 s of a stop")
            .expect("the accept loop returns Ok")
    }
}

impl Drop for LibServer {
    fn drop(&mut self) {
        self.stop.stop();
    }
}

/// The test PKI's CA, which the library servers use.
pub fn test_ca() -> X509 {
    X509::from_der(&crate::common::pki().ca_cert_der).unwrap()
}

/// A TLS 1.3 connection verified against `ca`, counting the tickets it receives.
pub struct Tls {
    pub stream: SslStream<TcpStream>,
    pub tickets: Arc<AtomicUsize>,
}

impl Tls {
    pub fn connect(addr: SocketAddr, ca: &X509) -> Result<Tls, String> {
        let tickets = Arc::new(AtomicUsize::new(0));
        let counter = tickets.clone();
        let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
        b.set_min_proto_version(Some(SslVersion::TLS1_3)).unwrap();
        b.cert_store_mut().add_cert(ca.clone()).unwrap();
        b.set_session_cache_mode(SslSessionCacheMode::CLIENT);
        b.set_new_session_callback(move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let stream = b
            .build()
            .connect("localhost", tcp)
            .map_err(|e| e.to_string())?;
        Ok(Tls { stream, tickets })
    }

    /// Connects, retrying for up to `within` (while the server frees a place or descriptors).
    pub fn connect_within(addr: SocketAddr, ca: &X509, within: Duration) -> Result<Tls, String> {
        let deadline = Instant::now() + within;
        loop {
            match Tls::connect(addr, ca) {
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                done => return done,
            }
        }
    }

    /// Sends a line and reads it back (so the tickets sent before it were read too).
    pub fn echo(&mut self, line: &str) -> Result<(), String> {
        self.stream
            .write_all(line.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        while got.len() < line.len() {
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(format!("EOF after {got:?}")),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
        match got == line.as_bytes() {
            true => Ok(()),
            false => Err(format!("echo was {:?}", String::from_utf8_lossy(&got))),
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        self.stream.get_ref()
    }
}

/// Whether the server closed `tcp` within `within` (EOF or reset; bytes before it are skipped).
pub fn closed_within(tcp: &TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tcp.set_read_timeout(Some(left)).unwrap();
        match (&*tcp).read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

/// `ticketdiff serve` in a child process, once it printed its paths and address.
pub struct CliServer {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
    pub ca: PathBuf,
    pub key: PathBuf,
    pub cert: PathBuf,
    pub addr: SocketAddr,
}

pub fn ticketdiff() -> &'static str {
    env!("CARGO_BIN_EXE_ticketdiff")
}

impl CliServer {
    /// `ticketdiff serve --addr 127.0.0.1:0 ARGS`.
    pub fn start(args: &[&str]) -> CliServer {
        let mut cmd = Command::new(ticketdiff());
        cmd.args(["serve", "--addr", "127.0.0.1:0"]).args(args);
        Self::spawn(cmd)
    }

    /// Runs `cmd` (which must end up as `ticketdiff serve`) and waits for its start lines.
    pub fn spawn(mut cmd: Command) -> CliServer {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ticketdiff serve");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        let mut server = CliServer {
            child,
            lines,
            seen: Vec::new(),
            ca: PathBuf::new(),
            key: PathBuf::new(),
            cert: PathBuf::new(),
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        let listening = server.wait_line("listening on ", Duration::from_secs(10));
        server.addr = listening["listening on ".len()..].parse().unwrap();
        let ca = server.wait_line("CA certificate: ", Duration::ZERO);
        server.ca = ca["CA certificate: ".len()..].into();
        let client = server.wait_line("client certificate", Duration::ZERO);
        let (cert, key) = client
            .split_once(": ")
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .and_then(|rest| rest.split_once(" (key "))
            .expect("client certificate line");
        (server.cert, server.key) = (cert.into(), key.into());
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn folder(&self) -> PathBuf {
        self.ca.parent().unwrap().to_path_buf()
    }

    pub fn ca_cert(&self) -> X509 {
        X509::from_pem(&std::fs::read(&self.ca).unwrap()).unwrap()
    }

    /// The first line seen so far or arriving within `within` that starts with `prefix`.
    pub fn wait_line(&mut self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            self.seen.extend(self.lines.try_iter());
            if let Some(l) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                return l.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!("no line {prefix:?} within {within:?}: {:?}", self.seen),
            }
        }
    }

    pub fn signal(&self, signal: &str) {
        assert!(kill(self.child.id(), signal), "kill -s {signal}");
    }

    /// Waits for the process to end; kills it and fails after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The reader thread ends with the pipe: the output is complete.
                self.seen.extend(self.lines.iter());
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.seen.extend(self.lines.try_iter());
                panic!(
                    "ticketdiff serve still running {within:?} later: {:?}",
                    self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for CliServer {
    /// Stops the server as a user would, so that it removes its folder; kills it if that fails.
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        kill(self.child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kill(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}
