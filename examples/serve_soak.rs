//! A soak of `ticketdiff serve` on loopback: TOTAL connections (default 10,000) from CLIENTS
//! concurrent OpenSSL clients (default 8), mixed full handshakes, resumptions, random bytes,
//! truncated ClientHellos and idle connections, while 16 silent connections wait for the
//! server's handshake timeout. Prints handshakes/s and the server's RSS and thread count
//! (from /proc/PID/status) before, at the peak and after.
//!
//! Run: `cargo build --release && cargo run --release --example serve_soak [TOTAL] [CLIENTS]`
//! (the server is `target/release/ticketdiff`, or `$TICKETDIFF`).
//!
//! Every connection has 5 s socket timeouts and the whole run stops after 10 minutes, so it ends
//! by itself whatever the server does. Exit 1 when any check failed.

use openssl::ssl::{
    ErrorCode, Ssl, SslContext, SslMethod, SslSessionCacheMode, SslStream, SslVerifyMode,
    SslVersion,
};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use ticketdiff::openssl_ffi::{on_new_session, ClientSession};

const IO_TIMEOUT: Duration = Duration::from_secs(5);
const RUN_LIMIT: Duration = Duration::from_secs(600);
/// Short enough that the silent connections are closed during the run.
const HANDSHAKE_TIMEOUT_SECS: u64 = 3;
const SILENT: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Full,
    Resumed,
    Garbage,
    Truncated,
    Idle,
}

const KINDS: [Kind; 5] = [
    Kind::Full,
    Kind::Resumed,
    Kind::Garbage,
    Kind::Truncated,
    Kind::Idle,
];

impl Kind {
    /// 40% full, 30% resumed, 10% each of the others, from the connection's number.
    fn of(n: u64) -> Kind {
        match splitmix(n) % 100 {
            0..40 => Kind::Full,
            40..70 => Kind::Resumed,
            70..80 => Kind::Garbage,
            80..90 => Kind::Truncated,
            _ => Kind::Idle,
        }
    }
}

fn splitmix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Per kind: connections done as planned, and failures (with the first few messages).
#[derive(Default)]
struct Tally {
    ok: [AtomicU64; 5],
    failed: [AtomicU64; 5],
    /// Resumptions asked for but not granted.
    not_reused: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Tally {
    fn record(&self, kind: Kind, result: Result<(), String>) {
        let i = KINDS.iter().position(|k| *k == kind).unwrap();
        match result {
            Ok(()) => self.ok[i].fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                let mut errors = self.errors.lock().unwrap();
                if errors.len() < 10 {
                    errors.push(format!("{kind:?}: {e}"));
                }
                self.failed[i].fetch_add(1, Ordering::Relaxed)
            }
        };
    }

    fn ok(&self, kind: Kind) -> u64 {
        self.ok[KINDS.iter().position(|k| *k == kind).unwrap()].load(Ordering::Relaxed)
    }
}

/// The server process and what its output said.
struct Server {
    child: Child,
    addr: SocketAddr,
    ca: PathBuf,
    lines: Arc<AtomicU64>,
    stopped: mpsc::Receiver<String>,
}

fn start_server() -> Server {
    let bin = std::env::var_os("TICKETDIFF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/ticketdiff"));
    assert!(
        bin.is_file(),
        "{}: not found (cargo build --release, or set TICKETDIFF)",
        bin.display()
    );
    let mut child = Command::new(&bin)
        .args(["serve", "--addr", "127.0.0.1:0", "--handshake-timeout"])
        .arg(HANDSHAKE_TIMEOUT_SECS.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start ticketdiff serve");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut ca, mut addr) = (None, None);
    while addr.is_none() {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "serve ended early");
        let line = line.trim_end();
        if let Some(path) = line.strip_prefix("CA certificate: ") {
            ca = Some(PathBuf::from(path));
        }
        if let Some(a) = line.strip_prefix("listening on ") {
            addr = Some(a.parse().unwrap());
        }
    }
    // The log (a few lines per connection) is counted, not kept, but for the last line.
    let lines = Arc::new(AtomicU64::new(0));
    let counted = lines.clone();
    let (tx, stopped) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            counted.fetch_add(1, Ordering::Relaxed);
            if line.starts_with("stopped: ") {
                let _ = tx.send(line);
            }
        }
    });
    Server {
        child,
        addr: addr.unwrap(),
        ca: ca.expect("CA certificate line"),
        lines,
        stopped,
    }
}

/// VmRSS (KiB) and Threads of a process.
fn status(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("Threads:"))
}

fn client_context(ca: &PathBuf, slot: Arc<Mutex<Option<ClientSession>>>) -> SslContext {
    let mut b = SslContext::builder(SslMethod::tls_client()).unwrap();
    b.set_min_proto_version(Some(SslVersion::TLS1_3)).unwrap();
    b.set_ca_file(ca).unwrap();
    b.set_verify(SslVerifyMode::PEER);
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT);
    on_new_session(&mut b, move |_, sess| *slot.lock().unwrap() = Some(sess));
    b.build()
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let tcp = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    Ok(tcp)
}

/// A handshake (offering `session` if given), an echoed line, close_notify; whether resumed.
fn tls(
    ctx: &SslContext,
    addr: SocketAddr,
    session: Option<&ClientSession>,
) -> Result<bool, String> {
    let mut ssl = Ssl::new(ctx).unwrap();
    ssl.set_hostname("localhost").unwrap();
    ssl.param_mut().set_host("localhost").unwrap();
    if let Some(s) = session {
        assert!(ticketdiff::openssl_ffi::set_session(&mut ssl, s));
    }
    let mut stream = ssl
        .connect(connect(addr)?)
        .map_err(|e| format!("handshake: {e}"))?;
    stream
        .write_all(b"soak\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut echo = [0u8; 5];
    stream
        .read_exact(&mut echo)
        .map_err(|e| format!("read: {e}"))?;
    if &echo != b"soak\n" {
        return Err(format!("echo {echo:?}"));
    }
    let reused = stream.ssl().session_reused();
    let _ = stream.shutdown();
    Ok(reused)
}

/// Sends `bytes`, ends its side, and expects the server to close within the timeout.
fn send_then_expect_close(addr: SocketAddr, bytes: &[u8]) -> Result<(), String> {
    let mut tcp = connect(addr)?;
    // The server may close (after an alert) before all of it is sent.
    let _ = tcp.write_all(bytes);
    let _ = tcp.shutdown(Shutdown::Write);
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(format!("not closed: {e}")),
        }
    }
}

/// Collects what an OpenSSL client writes; nothing is ever there to read.
struct Capture(Vec<u8>);

impl Read for Capture {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The first flight of a real OpenSSL client.
fn client_hello(ctx: &SslContext) -> Vec<u8> {
    let mut ssl = Ssl::new(ctx).unwrap();
    ssl.set_hostname("localhost").unwrap();
    ssl.set_connect_state();
    let mut stream = SslStream::new(ssl, Capture(Vec::new())).unwrap();
    let e = stream.do_handshake().unwrap_err();
    assert_eq!(e.code(), ErrorCode::WANT_READ);
    std::mem::take(&mut stream.get_mut().0)
}

/// One client thread: takes connection numbers until `total`.
fn client(addr: SocketAddr, ca: PathBuf, next: &AtomicUsize, total: usize, tally: &Tally) {
    let slot = Arc::new(Mutex::new(None));
    let ctx = client_context(&ca, slot.clone());
    let hello = client_hello(&ctx);
    let started = Instant::now();
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= total || started.elapsed() > RUN_LIMIT {
            return;
        }
        let r = splitmix(!(n as u64));
        let session = slot.lock().unwrap().clone();
        let kind = match (Kind::of(n as u64), session.is_some()) {
            (Kind::Resumed, false) => Kind::Full,
            (kind, _) => kind,
        };
        let result = match kind {
            Kind::Full => tls(&ctx, addr, None).map(|_| ()),
            Kind::Resumed => tls(&ctx, addr, session.as_ref()).map(|reused| {
                if !reused {
                    tally.not_reused.fetch_add(1, Ordering::Relaxed);
                }
            }),
            Kind::Garbage => {
                let len = 1 + (r % 2048) as usize;
                let bytes: Vec<u8> = (0..len as u64).map(|i| splitmix(r ^ i) as u8).collect();
                send_then_expect_close(addr, &bytes)
            }
            Kind::Truncated => {
                let cut = 1 + (r as usize % (hello.len() - 1));
                send_then_expect_close(addr, &hello[..cut])
            }
            Kind::Idle => connect(addr).map(|tcp| {
                std::thread::sleep(Duration::from_millis(20));
                drop(tcp);
            }),
        };
        tally.record(kind, result);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().map_or(10_000, |a| a.parse().expect("TOTAL"));
    let clients: usize = args.next().map_or(8, |a| a.parse().expect("CLIENTS"));
    let mut server = start_server();
    let pid = server.child.id();
    let folder = server.ca.parent().unwrap().to_path_buf();
    std::thread::sleep(Duration::from_millis(200));
    let before = status(pid);

    let peak = Arc::new(Mutex::new(before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                let (rss, threads) = status(pid);
                let mut p = peak.lock().unwrap();
                *p = (p.0.max(rss), p.1.max(threads));
                drop(p);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let silent: Vec<TcpStream> = (0..SILENT)
        .map(|_| connect(server.addr).expect("silent connection"))
        .collect();
    let tally = Tally::default();
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            let (ca, next, tally) = (server.ca.clone(), &next, &tally);
            s.spawn(move || client(server.addr, ca, next, total, tally));
        }
    });
    let elapsed = start.elapsed();

    // The silent connections: closed by the server's handshake timeout, not by us.
    let silent_closed = silent
        .iter()
        .filter(|tcp| {
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(HANDSHAKE_TIMEOUT_SECS + 5)));
            matches!((&**tcp).read(&mut [0u8; 1]), Ok(0))
        })
        .count();
    drop(silent);

    // After: once the connection threads have ended (bounded wait).
    let settle = Instant::now();
    while status(pid).1 > before.1 && settle.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = status(pid);
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = *peak.lock().unwrap();

    let _ = Command::new("kill")
        .args(["-s", "TERM", &pid.to_string()])
        .status();
    let exit = server.child.wait().unwrap();
    let stopped = server
        .stopped
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| "(no stopped line)".into());

    let handshakes = tally.ok(Kind::Full) + tally.ok(Kind::Resumed);
    let secs = elapsed.as_secs_f64();
    println!("serve soak: {total} connections from {clients} clients in {secs:.2} s");
    for (i, kind) in KINDS.iter().enumerate() {
        println!(
            "  {:<9} {:>6} ok {:>4} failed",
            format!("{kind:?}"),
            tally.ok[i].load(Ordering::Relaxed),
            tally.failed[i].load(Ordering::Relaxed)
        );
    }
    println!(
        "  resumptions not granted: {}",
        tally.not_reused.load(Ordering::Relaxed)
    );
    println!(
        "  silent connections closed by the server's handshake timeout: {silent_closed}/{SILENT}"
    );
    println!(
        "  handshakes/s (full + resumed, over the whole mixed run): {:.0}; connections/s: {:.0}",
        handshakes as f64 / secs,
        total as f64 / secs
    );
    println!(
        "  server RSS / threads: before {} KiB / {}, peak {} KiB / {}, after {} KiB / {}",
        before.0, before.1, peak.0, peak.1, after.0, after.1
    );
    println!(
        "  server log lines: {}; {stopped}",
        server.lines.load(Ordering::Relaxed)
    );
    println!(
        "  server exit: {exit}; folder {} removed: {}",
        folder.display(),
        !folder.exists()
    );
    let errors = tally.errors.lock().unwrap();
    for e in errors.iter() {
        println!("  error: {e}");
    }
    let failed: u64 = tally.failed.iter().map(|f| f.load(Ordering::Relaxed)).sum();
    let ok = failed == 0
        && tally.not_reused.load(Ordering::Relaxed) == 0
        && silent_closed == SILENT
        && after.1 == before.1
        && exit.success()
        && !folder.exists();
    if !ok {
        println!("serve soak: FAILED");
        std::process::exit(1);
    }
}
