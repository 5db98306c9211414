//! `ticketdiff-worker BACKEND`: hosts one in-process backend of this build (`openssl` for the
//! OpenSSL release this build links) and serves ticketdiff's worker protocol on standard input
//! and output (`ticketdiff::worker::protocol`). Started by ticketdiff, not by hand.

use std::process::ExitCode;
use ticketdiff::backend::BackendId;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let server = arg
        .parse::<BackendId>()
        .ok()
        .and_then(ticketdiff::registry::in_process);
    let Some(server) = server else {
        eprintln!("ticketdiff-worker: usage: ticketdiff-worker openssl|native|rustls (not `{arg}`)");
        return ExitCode::from(2);
    };
    match ticketdiff::worker::serve::serve_stdio(server) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ticketdiff-worker: {e}");
            ExitCode::from(2)
        }
    }
}
