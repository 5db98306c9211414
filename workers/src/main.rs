//! `ticketdiff-worker`: one build of ticketdiff's in-process backends (against one OpenSSL
//! release), serving ticketdiff's worker protocol (`ticketdiff::worker::protocol`) on standard
//! input and output. Started by ticketdiff, not by hand.

use std::process::ExitCode;

fn main() -> ExitCode {
    match ticketdiff::worker::serve::serve_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ticketdiff-worker: {e}");
            ExitCode::from(2)
        }
    }
}
