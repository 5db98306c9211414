//! The signals that stop a long-running command (`fuzz`, `rediscover`, `serve`) the way its
//! own end does, with its summary: Ctrl-C, `kill`, and a closed terminal or SSH session.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Every signal that asks a long-running command to stop.
pub const STOP: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// A flag set by the first of [`STOP`]; the command polls it and ends as if its time were up.
pub fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in STOP {
        // Registration fails only for a forbidden signal, which none of these is.
        let _ = signal_hook::flag::register(signal, stop.clone());
    }
    stop
}
