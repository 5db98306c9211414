//! `ticketdiff serve`: the native TLS 1.3 server on a TCP socket, one thread per connection.
//!
//! Each connection echoes application data back. Three lines are commands: `ticket` sends a
//! NewSessionTicket, `update` sends a KeyUpdate asking the client to update too, and `pha`
//! starts post-handshake client authentication (client must offer it, e.g. `s_client -enable_pha`).
//! An HTTP `GET` gets a one-line description of the connection (so curl works), then close.

/// A line on standard output; a closed output does not stop the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

use crate::native::{ServerConfig, ServerConnection};
use crate::pki::pki;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A sink for log lines.
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Writes the test CA certificate to a temporary file, prints its path, and serves
/// on `addr` forever, issuing `num_tickets` tickets per full handshake.
pub fn serve(addr: SocketAddr, num_tickets: u64) -> io::Result<()> {
    let pki = pki();
    let dir = std::env::temp_dir().join(format!("ticketdiff-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, &pki.ca_cert_pem)?;
    std::fs::write(dir.join("client.pem"), &pki.client.cert_pem)?;
    std::fs::write(dir.join("client.key"), &pki.client.key_pem)?;
    let mut ticket_key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut ticket_key)
        .map_err(|_| io::Error::other("no randomness"))?;
    let config = pki
        .native_server_config(ticket_key)
        .map_err(io::Error::other)?;
    config.set_num_tickets(num_tickets);
    let listener = TcpListener::bind(addr)?;
    say!("CA certificate: {}", ca_path.display());
    say!(
        "client certificate for post-handshake auth: {} (key {})",
        dir.join("client.pem").display(),
        dir.join("client.key").display()
    );
    say!("listening on {}", listener.local_addr()?);
    serve_listener(listener, Arc::new(config), Arc::new(|line| say!("{line}")))
}

/// Accepts connections on `listener` forever, each on its own thread.
pub fn serve_listener(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    log: Log,
) -> io::Result<()> {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                log(format!("accept failed: {e}"));
                continue;
            }
        };
        let config = config.clone();
        let log = log.clone();
        std::thread::spawn(move || {
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            if let Err(e) = handle(stream, config, &log, &peer) {
                log(format!("{peer}: connection ended: {e}"));
            }
        });
    }
    Ok(())
}

fn handle(
    mut stream: TcpStream,
    config: Arc<ServerConfig>,
    log: &Log,
    peer: &str,
) -> io::Result<()> {
    let mut seed = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
        .map_err(|_| io::Error::other("no randomness"))?;
    let mut conn = ServerConnection::new(config, seed, now_ms());
    let mut buf = vec![0u8; 32 * 1024];
    let mut logged = false;
    let mut auths = 0;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            log(format!("{peer}: EOF"));
            return Ok(());
        }
        conn.set_now_ms(now_ms());
        let result = conn.read_tls(&buf[..n]);
        if conn.is_handshake_finished() && !logged {
            logged = true;
            let info = conn.info();
            log(format!(
                "{peer}: handshake {} suite={} group={} hrr={} tickets={}",
                if info.resumed { "resumed" } else { "full" },
                info.suite.map(|s| s.name).unwrap_or("?"),
                info.group.map(|g| g.name()).unwrap_or("?"),
                info.hrr,
                conn.tickets_written()
            ));
        }
        if conn.info().client_auth_completed > auths {
            auths = conn.info().client_auth_completed;
            log(format!(
                "{peer}: post-handshake auth done, client chain of {} certificate(s); tickets={}",
                conn.info().peer_certificates.len(),
                conn.tickets_written()
            ));
            let _ = conn.send_application_data(b"client authenticated\n");
        }
        if result.is_ok() {
            let data = conn.recv_application_data();
            if !data.is_empty() {
                respond(&mut conn, &data, log, peer);
            }
            if conn.peer_closed() {
                conn.send_close_notify();
            }
        }
        stream.write_all(&conn.take_output())?;
        if let Err(e) = result {
            log(format!("{peer}: error: {e}"));
            return Ok(());
        }
        if conn.peer_closed() {
            log(format!(
                "{peer}: closed; tickets={} key_updates_received={}",
                conn.tickets_written(),
                conn.info().key_updates_received
            ));
            return Ok(());
        }
    }
}

fn respond(conn: &mut ServerConnection, data: &[u8], log: &Log, peer: &str) {
    if data.starts_with(b"GET ") || data.starts_with(b"HEAD ") {
        // Enough HTTP for curl: describe the connection, then close.
        let info = conn.info();
        let body = format!(
            "ticketdiff native TLS 1.3 server: {} handshake, {}, {}, {} ticket(s)\n",
            if info.resumed { "resumed" } else { "full" },
            info.suite.map(|s| s.name).unwrap_or("?"),
            info.group.map(|g| g.name()).unwrap_or("?"),
            conn.tickets_written()
        );
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        if let Err(e) = conn.send_application_data(resp.as_bytes()) {
            log(format!("{peer}: {e}"));
        }
        conn.send_close_notify();
        return;
    }
    let r = match data.strip_suffix(b"\n").unwrap_or(data) {
        b"ticket" => {
            conn.new_session_ticket();
            conn.send_application_data(b"")
                .and_then(|_| conn.send_application_data(b"ticket sent\n"))
        }
        b"update" => conn
            .send_key_update(true)
            .and_then(|_| conn.send_application_data(b"key updated\n")),
        b"pha" => conn.request_client_auth().or_else(|e| {
            conn.send_application_data(format!("no post-handshake auth: {e}\n").as_bytes())
        }),
        _ => conn.send_application_data(data),
    };
    if let Err(e) = r {
        log(format!("{peer}: {e}"));
    }
}
