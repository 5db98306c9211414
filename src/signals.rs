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

/// Makes a write past the file-size limit (`ulimit -f`) an error (`EFBIG`) that the writer
/// reports, with its temporary file removed, instead of SIGXFSZ ending the process mid-write:
/// a handler that does nothing replaces the signal's default action. Child processes start
/// with the default again.
pub fn report_file_size_limit() {
    let _ = signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        Arc::new(AtomicBool::new(false)),
    );
}
