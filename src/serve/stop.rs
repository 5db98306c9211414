//! Stopping `serve`: a handle that any thread, or a signal, uses to end the accept loop.
//!
//! The accept loop blocks in `accept`, which nothing but a connection ends, so `stop` makes one
//! to the listener (a blocking accept costs nothing while idle, unlike polling). While the loop
//! backs off after failed accepts it sleeps on a condition variable that `stop` wakes.

use std::io::{self, Read};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The exit code when a second signal ends the process at once.
pub const FORCED_EXIT: i32 = 130;

/// A stop request shared by the accept loop and whoever may end it.
#[derive(Clone, Default)]
pub struct Stop(Arc<Shared>);

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    stopped: bool,
    /// The listener to wake, once the accept loop has started.
    listener: Option<SocketAddr>,
}

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    /// Ends the accept loop (which then shuts down the open connections): at once when it is
    /// waiting, else at its next turn.
    pub fn stop(&self) {
        let listener = {
            let mut state = self.state();
            state.stopped = true;
            state.listener
        };
        self.0.changed.notify_all();
        if let Some(addr) = listener {
            // Fails only when the loop cannot accept either (no descriptors left); it is then
            // backing off and the notification above woke it.
            let _ = TcpStream::connect_timeout(&reachable(addr), Duration::from_secs(1));
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.state().stopped
    }

    /// Records the listener `stop` wakes; true when already stopped.
    pub(crate) fn watch(&self, listener: SocketAddr) -> bool {
        let mut state = self.state();
        state.listener = Some(listener);
        state.stopped
    }

    /// Sleeps for `d` unless stopped before; true when stopped.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let state = self.state();
        let (state, _) = self
            .0
            .changed
            .wait_timeout_while(state, d, |s| !s.stopped)
            .unwrap_or_else(PoisonError::into_inner);
        state.stopped
    }

    /// Stops on the first of `signals`; a second one ends the process at once with
    /// [`FORCED_EXIT`] (for a stop that waits on something stuck).
    pub fn on_signals(&self, signals: &[i32]) -> io::Result<()> {
        let signalled = Arc::new(AtomicBool::new(false));
        let (mut wake, notify) = UnixStream::pair()?;
        for &signal in signals {
            // Registration order is the order the actions run: the check comes before the flag.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                FORCED_EXIT,
                signalled.clone(),
            )?;
            signal_hook::flag::register(signal, signalled.clone())?;
            signal_hook::low_level::pipe::register(signal, notify.try_clone()?)?;
        }
        let stop = self.clone();
        std::thread::Builder::new()
            .name("serve-signals".into())
            .spawn(move || {
                let mut byte = [0u8; 1];
                loop {
                    match wake.read(&mut byte) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Ok(0) | Err(_) => return,
                        Ok(_) => return stop.stop(),
                    }
                }
            })?;
        Ok(())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A listener on the unspecified address is reached on the loopback one.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => (Ipv4Addr::LOCALHOST, a.port()).into(),
        SocketAddr::V6(a) if a.ip().is_unspecified() => (Ipv6Addr::LOCALHOST, a.port()).into(),
        other => other,
    }
}
