//! One client connection: the native server over a TCP stream, echoing application data, with
//! the handshake, idle and write timeouts of [`Limits`].
//!
//! Three lines are commands: `ticket` sends a NewSessionTicket, `update` sends a KeyUpdate
//! asking the client to update too, and `pha` starts post-handshake client authentication
//! (client must offer it, e.g. `s_client -enable_pha`). An HTTP `GET` gets a one-line
//! description of the connection (so curl works), then close.

use super::limits::Limits;
use super::log::Log;
use crate::native::conn::EarlyDataStatus;
use crate::native::{ServerConfig, ServerConnection};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Serves one connection until the client closes it, an error, or a timeout.
pub(crate) fn serve_connection(
    stream: &TcpStream,
    config: Arc<ServerConfig>,
    limits: &Limits,
    log: &Log,
    peer: &str,
) -> io::Result<()> {
    // The handshake has one deadline, not a timeout per read: a client sending a byte now and
    // then would otherwise hold the connection forever.
    let handshake_deadline = Instant::now() + limits.handshake_timeout;
    let mut seed = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
        .map_err(|_| io::Error::other("no randomness"))?;
    let accept_early = config.max_early_data > 0;
    let mut conn = ServerConnection::new(config, seed, now_ms());
    if accept_early {
        conn.accept_early_data();
    }
    // Early data, answered once the handshake is done.
    let mut early = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    let mut logged = false;
    let mut auths = 0;
    loop {
        let established = conn.is_handshake_finished();
        let wait = match established {
            true => limits.idle_timeout,
            false => handshake_deadline.saturating_duration_since(Instant::now()),
        };
        let Some(n) = read_within(stream, &mut buf, wait)? else {
            if !established {
                log(format!(
                    "{peer}: no handshake within {:?}, closed",
                    limits.handshake_timeout
                ));
                return Ok(());
            }
            conn.send_close_notify();
            let _ = write_within(stream, &conn.take_output(), limits.write_timeout);
            log(format!(
                "{peer}: idle for {:?}, closed",
                limits.idle_timeout
            ));
            return Ok(());
        };
        if n == 0 {
            log(format!("{peer}: EOF"));
            return Ok(());
        }
        conn.set_now_ms(now_ms());
        let result = conn.read_tls(&buf[..n]);
        if conn.is_handshake_finished() && !logged {
            logged = true;
            let info = conn.info();
            let cert = info.certificate.map(|i| conn.config().certs[i].kind.name());
            log(format!(
                "{peer}: handshake {} suite={} group={} hrr={} cert={} scheme={} client_chain={} psk={} early={} tickets={}",
                if info.resumed { "resumed" } else { "full" },
                info.suite.map(|s| s.name).unwrap_or("?"),
                info.group.map(|g| g.name()).unwrap_or("-"),
                info.hrr,
                cert.unwrap_or("-"),
                info.signature_scheme.map(|s| format!("{s:#06x}")).unwrap_or("-".into()),
                info.peer_certificates.len(),
                psk_label(info),
                early_label(info.early_data),
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
            if !conn.is_handshake_finished() {
                early.extend_from_slice(&data);
            } else {
                if !early.is_empty() {
                    log(format!("{peer}: early data, {} bytes", early.len()));
                    respond(&mut conn, &std::mem::take(&mut early), log, peer);
                }
                if !data.is_empty() {
                    respond(&mut conn, &data, log, peer);
                }
            }
            if conn.peer_closed() {
                conn.send_close_notify();
            }
        }
        write_within(stream, &conn.take_output(), limits.write_timeout)?;
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

/// Reads what arrives within `wait`: `None` when nothing did.
fn read_within(stream: &TcpStream, buf: &mut [u8], wait: Duration) -> io::Result<Option<usize>> {
    if wait.is_zero() {
        return Ok(None);
    }
    stream.set_read_timeout(Some(wait))?;
    loop {
        match (&*stream).read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// Writes all of `bytes` within `limit` (the whole write, not each piece: a client reading a
/// byte now and then must not hold the thread either).
fn write_within(stream: &TcpStream, mut bytes: &[u8], limit: Duration) -> io::Result<()> {
    let deadline = Instant::now() + limit;
    let timed_out = || {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("write timed out after {limit:?}: the client is not reading"),
        )
    };
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        stream.set_write_timeout(Some(left))?;
        match (&*stream).write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(timed_out()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A socket timeout shows as `WouldBlock` on Unix and `TimedOut` elsewhere.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// How the handshake used a PSK: `-`, `ticket`, or the external identity, with `+ke` for
/// psk_ke.
fn psk_label(info: &crate::native::HandshakeInfo) -> String {
    let psk = match (&info.external_psk, info.resumed) {
        (Some(id), _) => String::from_utf8_lossy(id).into_owned(),
        (None, true) => "ticket".into(),
        (None, false) => return "-".into(),
    };
    match info.psk_ke {
        true => format!("{psk}+ke"),
        false => psk,
    }
}

/// What became of the client's early data, for the handshake's log line.
fn early_label(status: EarlyDataStatus) -> &'static str {
    match status {
        EarlyDataStatus::NotSent => "-",
        EarlyDataStatus::Rejected => "rejected",
        EarlyDataStatus::Accepted => "accepted",
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
