//! `ticketdiff serve`: the native TLS 1.3 server on a TCP socket, one thread per connection,
//! within [`Limits`] (a connection cap, handshake, idle and write timeouts, back-off on failed
//! accepts), stopped by [`Stop`] or, for the command, Ctrl-C, SIGTERM or SIGHUP.

mod connection;
mod folder;
mod limits;
mod listener;
mod log;
mod options;
mod stop;

pub use folder::{Access, TempFolder};
pub use limits::{check_num_tickets, Limits, MAX_NUM_TICKETS};
pub use listener::{serve_listener, Totals, BACKOFF_FIRST, BACKOFF_MAX};
pub use log::{Log, LOG_EVERY};
pub use options::Options;
pub use stop::{Stop, FORCED_EXIT};

use crate::pki::pki;
use std::io::{self, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

/// The command: writes the CA certificate and a client certificate and key to
/// a private temporary folder, prints their paths, and serves until Ctrl-C, SIGTERM or SIGHUP, after
/// which the folder is removed.
pub fn serve(options: &Options) -> io::Result<()> {
    check_num_tickets(options.num_tickets)?;
    let limits = options.limits();
    limits.check()?;
    let pki = pki();
    let folder = TempFolder::create("ticketdiff-serve")?;
    let ca = folder.write("ca.pem", pki.ca_cert_pem.as_bytes(), Access::Public)?;
    let cert = folder.write("client.pem", pki.client.cert_pem.as_bytes(), Access::Public)?;
    let key = folder.write("client.key", pki.client.key_pem.as_bytes(), Access::Private)?;
    let mut ticket_key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut ticket_key)
        .map_err(|_| io::Error::other("no randomness"))?;
    let config = options
        .server_config(pki, ticket_key)
        .map_err(io::Error::other)?;
    let listener = TcpListener::bind(options.addr)?;
    let stop = Stop::new();
    stop.on_signals(&crate::signals::STOP)?;
    let stdout_error = Arc::new(Mutex::new(None));
    let log = stdout_log(stop.clone(), stdout_error.clone());
    log(format!("CA certificate: {}", ca.display()));
    log(format!(
        "client certificate for client auth: {} (key {})",
        cert.display(),
        key.display()
    ));
    let names = |v: Vec<&str>| v.join(",");
    log(format!(
        "certificates: {}; groups: {}; client certificate {}",
        names(options.certs.iter().map(|k| k.name()).collect()),
        names(options.groups.iter().map(|g| g.name()).collect()),
        if options.require_client_cert {
            "required in the handshake"
        } else {
            "on request (pha)"
        },
    ));
    log(format!("listening on {}", listener.local_addr()?));
    let served = serve_listener(listener, Arc::new(config), limits, log, stop);
    drop(folder);
    let stdout_error = stdout_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    // The folder is gone by now; the caller ends the command as any whose output failed.
    if let Some(e) = stdout_error {
        return Err(e);
    }
    served.map(|_| ())
}

/// Log lines to standard output. When it fails (its reader went away) the server stops, so that
/// its folder is removed before the command ends as every command does then.
fn stdout_log(stop: Stop, failed: Arc<Mutex<Option<io::Error>>>) -> Log {
    Arc::new(move |line| {
        if let Err(e) = writeln!(io::stdout().lock(), "{line}") {
            failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(e);
            stop.stop();
        }
    })
}
