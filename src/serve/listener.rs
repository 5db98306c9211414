//! The accept loop: a thread per connection up to the cap, refusals beyond it, back-off when
//! `accept` or spawning a thread fails, and a stop that shuts the open connections down.

use super::connection::serve_connection;
use super::limits::{check_num_tickets, Limits};
use super::log::{Log, Throttle, LOG_EVERY};
use super::stop::Stop;
use crate::native::ServerConfig;
use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The first pause after a failed accept (or spawn); it doubles on each failure in a row.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(10);
/// The longest pause: how late a freed descriptor is used at worst.
pub const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How long a stop waits for the connections it shut down to end.
const DRAIN: Duration = Duration::from_secs(2);

/// What an accept loop did, reported when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub accepted: u64,
    /// Accepted, then closed at once: the cap was reached.
    pub refused: u64,
    pub accept_errors: u64,
    /// Accepted, then closed: no thread could be started for it.
    pub spawn_errors: u64,
}

/// Accepts connections on `listener` until `stop`, each on its own thread, within `limits`.
/// On stop, shuts the open connections down and waits (briefly) for their threads to end.
pub fn serve_listener(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    limits: Limits,
    log: Log,
    stop: Stop,
) -> io::Result<Totals> {
    check_num_tickets(config.num_tickets())?;
    limits.check()?;
    let open = Arc::new(Open::default());
    let mut totals = Totals::default();
    let mut backoff = Backoff::default();
    let mut accept_failures = Throttle::new(LOG_EVERY);
    let mut refusals = Throttle::new(LOG_EVERY);
    let mut spawn_failures = Throttle::new(LOG_EVERY);
    let mut stopped = stop.watch(listener.local_addr()?);
    while !stopped {
        let accepted = listener.accept();
        if stop.is_stopped() {
            break;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (or memory) the same error comes back at once: without the
                // pause this loop would spin and log as fast as it can.
                totals.accept_errors += 1;
                accept_failures.event(&log, || format!("accept failed: {e}; backing off"));
                stopped = stop.sleep(backoff.next());
                continue;
            }
        };
        totals.accepted += 1;
        let stream = Arc::new(stream);
        let Some(admitted) = open.admit(&stream, limits.max_connections) else {
            totals.refused += 1;
            refusals.event(&log, || {
                format!(
                    "{peer}: refused: {} connections open (the cap)",
                    limits.max_connections
                )
            });
            continue;
        };
        let id = admitted.id;
        let (config, log_c, peer) = (config.clone(), log.clone(), peer.to_string());
        let spawned = std::thread::Builder::new()
            .name("serve-connection".into())
            .spawn(move || {
                let _admitted = admitted;
                if let Err(e) = serve_connection(&stream, config, &limits, &log_c, &peer) {
                    log_c(format!("{peer}: connection ended: {e}"));
                }
            });
        match spawned {
            Ok(_) => backoff = Backoff::default(),
            Err(e) => {
                open.remove(id);
                totals.spawn_errors += 1;
                spawn_failures.event(&log, || {
                    format!("cannot start a thread for a connection: {e}; closed it, backing off")
                });
                stopped = stop.sleep(backoff.next());
            }
        }
    }
    let left = open.shut_down(DRAIN);
    log(format!(
        "stopped: {} accepted, {} refused (cap {}), {} accept errors, {} thread errors; {left} connections still ending",
        totals.accepted, totals.refused, limits.max_connections, totals.accept_errors, totals.spawn_errors
    ));
    Ok(totals)
}

/// Pauses that double from [`BACKOFF_FIRST`] to [`BACKOFF_MAX`].
struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(BACKOFF_FIRST)
    }
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let pause = self.0;
        self.0 = (pause * 2).min(BACKOFF_MAX);
        pause
    }
}

/// The open connections: their number is the one the cap applies to, and a stop shuts them
/// down (which ends a read or write that is waiting).
#[derive(Default)]
struct Open {
    streams: Mutex<Streams>,
    emptied: Condvar,
}

#[derive(Default)]
struct Streams {
    next_id: u64,
    by_id: HashMap<u64, Arc<TcpStream>>,
}

/// A place under the cap, given back when dropped (when the connection's thread ends, however).
struct Admitted {
    open: Arc<Open>,
    id: u64,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.open.remove(self.id);
    }
}

impl Open {
    fn admit(self: &Arc<Self>, stream: &Arc<TcpStream>, cap: usize) -> Option<Admitted> {
        let mut streams = self.streams();
        if streams.by_id.len() >= cap {
            return None;
        }
        let id = streams.next_id;
        streams.next_id += 1;
        streams.by_id.insert(id, stream.clone());
        Some(Admitted {
            open: self.clone(),
            id,
        })
    }

    fn remove(&self, id: u64) {
        let mut streams = self.streams();
        if streams.by_id.remove(&id).is_some() && streams.by_id.is_empty() {
            self.emptied.notify_all();
        }
    }

    /// Shuts every open connection down and waits up to `wait` for them to end; returns how
    /// many have not.
    fn shut_down(&self, wait: Duration) -> usize {
        let streams = self.streams();
        for stream in streams.by_id.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let (streams, _) = self
            .emptied
            .wait_timeout_while(streams, wait, |s| !s.by_id.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        streams.by_id.len()
    }

    fn streams(&self) -> MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
