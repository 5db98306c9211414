//! The `ticketdiff` command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use ticketdiff::cli;

#[derive(Parser)]
#[command(
    name = "ticketdiff",
    version,
    about = "Does a Rust TLS 1.3 server issue session tickets exactly as OpenSSL 3 does?"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run programs on the oracle and other backends; show each side by side.
    Run {
        /// `.tkt` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Backends to compare with the oracle (comma-separated); `openssl` always runs.
        #[arg(long, value_delimiter = ',', default_values_t = cli::default_backends())]
        backend: Vec<String>,
        /// Print JSON Lines: one object per file and backend.
        #[arg(long)]
        json: bool,
    },
    /// Check the regression corpus and the saved divergences.
    Replay {
        /// Files or directories (default: corpus/ and diff/).
        paths: Vec<PathBuf>,
    },
    /// Record the oracle's results in programs as `# expect` comments (after an OpenSSL upgrade,
    /// or for a new corpus program).
    Bless {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let code = match args.command {
        Command::Run {
            files,
            backend,
            json,
        } => cli::run(&files, &backend, json),
        Command::Replay { paths } => cli::replay(&paths),
        Command::Bless { files } => cli::bless(&files),
    };
    ExitCode::from(code)
}
