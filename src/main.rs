//! The `ticketdiff` command line. Exit codes: 0 all agree (or all passed), 1 a divergence (or a
//! failure), 2 a usage or input error, 141 standard output closed early.

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use ticketdiff::cli::{execute, Args};

fn main() -> ExitCode {
    ticketdiff::signals::report_file_size_limit();
    let args = Args::parse();
    // Not locked for the whole command: `serve` logs from its connection threads.
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let result = execute(args.command, &mut out).and_then(|exit| {
        out.flush()?;
        Ok(exit)
    });
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            // A reader that went away (`ticketdiff run ... | head`) ends the command quietly.
            if e.exit_code() != ticketdiff::cli::EXIT_BROKEN_PIPE {
                eprintln!("ticketdiff: {e}");
            }
            // What is still buffered for a closed or failing output is dropped, not retried.
            std::mem::forget(out);
            ExitCode::from(e.exit_code())
        }
    }
}
