//! `openssl s_client` against the native server on loopback (the code behind `ticketdiff serve`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

fn have_openssl() -> bool {
    Command::new("openssl").arg("version").output().is_ok()
}

struct Server {
    port: u16,
    logs: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
}

fn start_server(num_tickets: u64, name: &str) -> Server {
    let cfg = ticketdiff::pki::pki()
        .native_server_config([3u8; 32])
        .unwrap();
    cfg.set_num_tickets(num_tickets);
    start_server_with(cfg, name)
}

/// A server configured as `ticketdiff serve ARGS` configures it.
fn start_serve_options(args: &[&str], name: &str) -> Server {
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        options: ticketdiff::serve::Options,
    }
    let cli =
        <Cli as clap::Parser>::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .unwrap();
    let cfg = cli
        .options
        .server_config(ticketdiff::pki::pki(), [3u8; 32])
        .unwrap();
    start_server_with(cfg, name)
}

fn start_server_with(cfg: ticketdiff::native::ServerConfig, name: &str) -> Server {
    let pki = ticketdiff::pki::pki();
    let dir = std::env::temp_dir().join(format!("ticketdiff-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), &pki.ca_cert_pem).unwrap();
    std::fs::write(dir.join("client.pem"), &pki.client.cert_pem).unwrap();
    std::fs::write(dir.join("client.key"), &pki.client.key_pem).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let l2 = logs.clone();
    std::thread::spawn(move || {
        ticketdiff::serve::serve_listener(
            listener,
            Arc::new(cfg),
            ticketdiff::serve::Limits::default(),
            Arc::new(move |line| l2.lock().unwrap().push(line)),
            ticketdiff::serve::Stop::new(),
        )
    });
    Server { port, logs, dir }
}

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Client {
    fn start(port: u16, dir: &Path, extra: &[&str]) -> Client {
        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
            .args(["-servername", "localhost", "-verify_return_error", "-msg"])
            .arg("-CAfile")
            .arg(dir.join("ca.pem"))
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn openssl");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(l);
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits until `pred` holds on the lines seen so far (or 10 s pass).
    fn wait_for(&mut self, what: &str, pred: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pred(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!(
                    "timed out waiting for {what}; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn send(&mut self, line: &str) {
        let s = self.stdin.as_mut().unwrap();
        s.write_all(line.as_bytes()).unwrap();
        s.flush().unwrap();
    }

    fn quit(mut self) -> Vec<String> {
        // A client the server has already refused may be gone.
        let _ = self.stdin.as_mut().unwrap().write_all(b"Q\n");
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.seen.extend(self.lines.try_iter());
        self.seen
    }
}

const NST_IN: &str = "<<< TLS 1.3, Handshake";

fn tickets_received(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.starts_with(NST_IN) && l.ends_with("NewSessionTicket"))
        .count()
}

#[test]
fn s_client_full_then_resumed() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    let srv = start_server(2, "resume");
    let sess = srv.dir.join("sess.pem");
    let sess_s = sess.to_str().unwrap().to_string();

    let mut c = Client::start(srv.port, &srv.dir, &["-sess_out", &sess_s]);
    c.wait_for("2 tickets", |l| tickets_received(l) >= 2);
    c.send("hello native\n");
    c.wait_for("echo", |l| l.iter().any(|x| x == "hello native"));
    // Client-initiated KeyUpdate with update_requested ('K'), then data still flows.
    c.send("K\n");
    c.wait_for("server KeyUpdate", |l| {
        l.iter()
            .any(|x| x.starts_with("<<< TLS 1.3, Handshake") && x.ends_with("KeyUpdate"))
    });
    c.send("after update\n");
    c.wait_for("echo after update", |l| {
        l.iter().any(|x| x == "after update")
    });
    // Server-initiated KeyUpdate and an on-demand ticket.
    c.send("update\n");
    c.wait_for("key updated", |l| l.iter().any(|x| x == "key updated"));
    c.send("ticket\n");
    c.wait_for("ticket sent", |l| l.iter().any(|x| x == "ticket sent"));
    let lines = c.quit();
    assert_eq!(tickets_received(&lines), 3, "{}", lines.join("\n"));
    assert!(lines
        .iter()
        .any(|l| l.contains("Verify return code: 0 (ok)")));
    assert!(lines.iter().any(|l| l.starts_with("New, TLSv1.3")));

    let c = Client::start(srv.port, &srv.dir, &["-sess_in", &sess_s]);
    let mut c = c;
    c.wait_for("1 ticket", |l| tickets_received(l) >= 1);
    c.send("resumed\n");
    c.wait_for("echo", |l| l.iter().any(|x| x == "resumed"));
    let lines = c.quit();
    assert!(
        lines.iter().any(|l| l.starts_with("Reused, TLSv1.3")),
        "{}",
        lines.join("\n")
    );
    assert_eq!(tickets_received(&lines), 1);
    std::thread::sleep(Duration::from_millis(100));
    let logs = srv.logs.lock().unwrap().clone();
    assert!(
        logs.iter()
            .any(|l| l.contains("handshake full") && l.contains("tickets=2")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("handshake resumed") && l.contains("tickets=1")),
        "{logs:?}"
    );
}

#[test]
fn s_client_post_handshake_auth() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    let srv = start_server(2, "pha");
    let cert = srv.dir.join("client.pem");
    let key = srv.dir.join("client.key");
    let mut c = Client::start(
        srv.port,
        &srv.dir,
        &[
            "-enable_pha",
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
        ],
    );
    c.wait_for("2 tickets", |l| tickets_received(l) >= 2);
    c.send("pha\n");
    c.wait_for("auth", |l| l.iter().any(|x| x == "client authenticated"));
    c.wait_for("2 more tickets", |l| tickets_received(l) >= 4);
    let lines = c.quit();
    assert!(lines
        .iter()
        .any(|l| l.starts_with("<<< TLS 1.3, Handshake") && l.ends_with("CertificateRequest")));
    assert_eq!(tickets_received(&lines), 4);
    let logs = srv.logs.lock().unwrap().clone();
    assert!(
        logs.iter().any(|l| l.contains("post-handshake auth done")),
        "{logs:?}"
    );
}

#[test]
fn s_client_hrr_and_suites() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    let srv = start_server(2, "hrr");
    for suite in ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] {
        // secp384r1 first: no share the server accepts, so HelloRetryRequest to X25519.
        let mut c = Client::start(
            srv.port,
            &srv.dir,
            &["-groups", "secp384r1:X25519", "-ciphersuites", suite],
        );
        c.wait_for("tickets", |l| tickets_received(l) >= 2);
        let lines = c.quit();
        assert!(
            lines.iter().any(|l| l.contains(suite)),
            "{}",
            lines.join("\n")
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    let logs = srv.logs.lock().unwrap().clone();
    assert_eq!(
        logs.iter().filter(|l| l.contains("hrr=true")).count(),
        2,
        "{logs:?}"
    );
}

#[test]
fn curl_gets_a_response() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no `curl` binary on PATH");
        return;
    }
    let srv = start_server(2, "curl");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--tlsv1.3", "--cacert"])
        .arg(srv.dir.join("ca.pem"))
        .arg(format!("https://localhost:{}/", srv.port))
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(body.contains("full handshake"), "{body}");
}

/// The server's log line for its one handshake.
fn handshake_log(srv: &Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(l) = srv
            .logs
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("handshake "))
        {
            return l.clone();
        }
        assert!(Instant::now() < deadline, "no handshake logged");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn s_client_with_each_certificate_type_by_sigalgs() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    for (sigalgs, cert, peer_type) in [
        ("ecdsa_secp256r1_sha256", "ecdsa-p256", "ECDSA"),
        ("ecdsa_secp384r1_sha384", "ecdsa-p384", "ECDSA"),
        ("rsa_pss_rsae_sha256", "rsa", "RSA-PSS"),
        ("rsa_pss_rsae_sha512", "rsa", "RSA-PSS"),
        ("ed25519", "ed25519", "Ed25519"),
    ] {
        let srv = start_serve_options(
            &["--cert", "ecdsa-p256,ecdsa-p384,rsa,ed25519"],
            &format!("sigalgs-{sigalgs}"),
        );
        let mut c = Client::start(srv.port, &srv.dir, &["-sigalgs", sigalgs]);
        c.wait_for("tickets", |l| tickets_received(l) >= 2);
        let lines = c.quit();
        let expected = format!("peer signature type: {peer_type}").to_lowercase();
        assert!(
            lines.iter().any(|l| l.to_lowercase().contains(&expected)),
            "{}",
            lines.join("\n")
        );
        assert!(
            lines.iter().any(|l| l.contains("Verification: OK")),
            "{}",
            lines.join("\n")
        );
        let log = handshake_log(&srv);
        assert!(log.contains(&format!("cert={cert} ")), "{log}");
    }
}

#[test]
fn s_client_on_each_classical_group() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    // OpenSSL 3.0 has no ML-KEM: the hybrid is tested with rustls (tests/native_groups.rs).
    for (group, name) in [
        ("X25519", "X25519"),
        ("P-256", "secp256r1"),
        ("P-384", "secp384r1"),
    ] {
        let srv = start_serve_options(&[], &format!("group-{group}"));
        let mut c = Client::start(srv.port, &srv.dir, &["-groups", group]);
        c.wait_for("tickets", |l| tickets_received(l) >= 2);
        c.quit();
        let log = handshake_log(&srv);
        assert!(log.contains(&format!("group={name} ")), "{log}");
        assert!(log.contains("hrr=false"), "{log}");
    }
}

#[test]
fn s_client_with_a_client_certificate_when_required() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    let srv = start_serve_options(&["--require-client-cert"], "client-cert");
    let (cert, key) = (srv.dir.join("client.pem"), srv.dir.join("client.key"));
    let mut c = Client::start(
        srv.port,
        &srv.dir,
        &[
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
        ],
    );
    c.wait_for("tickets", |l| tickets_received(l) >= 2);
    let lines = c.quit();
    assert!(
        lines.iter().any(|l| l.contains("ticketdiff test CA")),
        "the CA names in the CertificateRequest: {}",
        lines.join("\n")
    );
    let log = handshake_log(&srv);
    assert!(
        log.contains("client_chain=1") || log.contains("client_chain=2"),
        "{log}"
    );

    // Without one: certificate_required.
    let srv = start_serve_options(&["--require-client-cert"], "no-client-cert");
    let mut c = Client::start(srv.port, &srv.dir, &[]);
    c.wait_for("the alert", |l| {
        l.iter()
            .any(|l| l.contains("certificate required") || l.contains("alert number 116"))
    });
    c.quit();
}

const PSK_HEX: &str = "0102030405060708090a0b0c0d0e0f10";

#[test]
fn s_client_with_an_external_psk_with_and_without_a_certificate() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    let psk = ["--psk", PSK_HEX, "--psk-identity", "id1"];
    for (extra, name) in [(&[][..], "psk-cert"), (&["--no-cert"][..], "psk-nocert")] {
        let args: Vec<&str> = psk.iter().chain(extra).copied().collect();
        let srv = start_serve_options(&args, name);
        let mut c = Client::start(
            srv.port,
            &srv.dir,
            &["-psk", PSK_HEX, "-psk_identity", "id1"],
        );
        c.wait_for("a ticket", |l| tickets_received(l) >= 1);
        c.send("over the psk\n");
        c.wait_for("echo", |l| l.iter().any(|x| x == "over the psk"));
        let lines = c.quit();
        // s_client's PSK session is made for SHA-256: the server picks its first SHA-256 suite.
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Reused, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256")),
            "{}",
            lines.join("\n")
        );
        let log = handshake_log(&srv);
        assert!(log.contains("cert=- ") && log.contains("psk=id1 "), "{log}");
        assert!(
            log.contains("group=X25519MLKEM768 ") || log.contains("group=X25519 "),
            "{log}"
        );
    }
}

#[test]
fn s_client_with_an_unknown_psk_identity() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    // With a certificate: a full handshake on it; without one: handshake_failure (as s_server).
    let srv = start_serve_options(&["--psk", PSK_HEX, "--psk-identity", "id1"], "psk-unknown");
    let mut c = Client::start(
        srv.port,
        &srv.dir,
        &["-psk", PSK_HEX, "-psk_identity", "id2"],
    );
    c.wait_for("tickets", |l| tickets_received(l) >= 2);
    c.quit();
    let log = handshake_log(&srv);
    assert!(
        log.contains("handshake full") && log.contains("psk=- "),
        "{log}"
    );
    let srv = start_serve_options(
        &["--psk", PSK_HEX, "--psk-identity", "id1", "--no-cert"],
        "psk-unknown-nocert",
    );
    let mut c = Client::start(
        srv.port,
        &srv.dir,
        &["-psk", PSK_HEX, "-psk_identity", "id2"],
    );
    c.wait_for("the alert", |l| {
        l.iter().any(|l| l.contains("alert handshake failure"))
    });
    c.quit();
}

#[test]
fn s_client_psk_ke_when_allowed_and_no_group_is_shared() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    // s_client -allow_no_dhe_kex offers psk_ke and psk_dhe_ke; with only ffdhe2048 to share,
    // `s_server -allow_no_dhe_kex` goes on without (EC)DHE, and so does the native server.
    let client = [
        "-psk",
        PSK_HEX,
        "-psk_identity",
        "id1",
        "-allow_no_dhe_kex",
        "-groups",
        "ffdhe2048",
    ];
    let server = ["--psk", PSK_HEX, "--psk-identity", "id1", "--no-cert"];
    let allowed: Vec<&str> = server
        .iter()
        .chain(&["--allow-no-dhe-kex"])
        .copied()
        .collect();
    let srv = start_serve_options(&allowed, "psk-ke");
    let mut c = Client::start(srv.port, &srv.dir, &client);
    c.wait_for("a ticket", |l| tickets_received(l) >= 1);
    c.send("no dhe\n");
    c.wait_for("echo", |l| l.iter().any(|x| x == "no dhe"));
    let lines = c.quit();
    assert!(
        !lines.iter().any(|l| l.contains("Server Temp Key")),
        "{}",
        lines.join("\n")
    );
    let log = handshake_log(&srv);
    assert!(
        log.contains("psk=id1+ke ") && log.contains("group=- "),
        "{log}"
    );
    // Not allowed: no common group, handshake_failure.
    let srv = start_serve_options(&server, "psk-ke-refused");
    let mut c = Client::start(srv.port, &srv.dir, &client);
    c.wait_for("the alert", |l| {
        l.iter().any(|l| l.contains("alert handshake failure"))
    });
    c.quit();
}

/// The server's log lines so far.
fn log_lines(srv: &Server) -> Vec<String> {
    srv.logs.lock().unwrap().clone()
}

/// A session saved by `s_client -sess_out` from a full handshake with `srv`.
fn saved_session(srv: &Server, name: &str) -> PathBuf {
    let sess = srv.dir.join(name);
    let mut c = Client::start(srv.port, &srv.dir, &["-sess_out", sess.to_str().unwrap()]);
    c.wait_for("two tickets", |l| tickets_received(l) >= 2);
    c.quit();
    assert!(sess.exists());
    sess
}

/// `s_client -sess_in FILE -early_data DATA` against `ticketdiff serve --max-early-data`: the
/// early data is accepted and answered; the same session offered again is refused (anti-replay:
/// the stateful ticket resumes once) and its early data rejected.
#[test]
fn s_client_early_data_accepted_then_replay_refused() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    let srv = start_serve_options(&["--max-early-data", "16384"], "early");
    let sess = saved_session(&srv, "early.sess");
    let data = srv.dir.join("early.txt");
    std::fs::write(&data, "zero round trip\n").unwrap();
    let early = [
        "-sess_in",
        sess.to_str().unwrap(),
        "-early_data",
        data.to_str().unwrap(),
    ];
    let mut c = Client::start(srv.port, &srv.dir, &early);
    c.wait_for("the echo of the early data", |l| {
        l.iter().any(|x| x == "zero round trip")
    });
    let lines = c.quit();
    assert!(
        lines.iter().any(|l| l.contains("Early data was accepted")),
        "{}",
        lines.join("\n")
    );
    let log = log_lines(&srv);
    assert!(
        log.iter()
            .any(|l| l.contains("handshake resumed") && l.contains("early=accepted")),
        "{log:?}"
    );
    let mut c = Client::start(srv.port, &srv.dir, &early);
    c.wait_for("the rejection", |l| {
        l.iter().any(|x| x.contains("Early data was rejected"))
    });
    c.quit();
    let log = log_lines(&srv);
    assert!(
        log.iter()
            .any(|l| l.contains("handshake full") && l.contains("early=rejected")),
        "{log:?}"
    );
}

/// `ticketdiff serve --no-ticket`: stateful tickets, and `s_client -sess_in` resumes with one.
#[test]
fn s_client_resumes_a_stateful_ticket() {
    if !have_openssl() {
        eprintln!("SKIPPED: no `openssl` binary on PATH");
        return;
    }
    let srv = start_serve_options(&["--no-ticket"], "no-ticket");
    let sess = saved_session(&srv, "stateful.sess");
    let mut c = Client::start(srv.port, &srv.dir, &["-sess_in", sess.to_str().unwrap()]);
    c.wait_for("a resumption", |l| {
        l.iter().any(|x| x.starts_with("Reused"))
    });
    c.quit();
    assert!(
        log_lines(&srv)
            .iter()
            .any(|l| l.contains("handshake resumed") && l.contains("psk=ticket")),
        "{:?}",
        log_lines(&srv)
    );
}
