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
    /// Fuzz: generate and mutate programs, run them differentially, minimize and save every
    /// new divergence. Exit 0 when nothing new was found, 1 when a new signature was saved.
    Fuzz {
        /// Seconds to run (default 60 unless --runs is given).
        #[arg(long)]
        time: Option<u64>,
        /// Programs to run.
        #[arg(long)]
        runs: Option<u64>,
        /// Worker threads.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Seed of the program generator (default: from the clock).
        #[arg(long)]
        seed: Option<u64>,
        /// Backends to compare with the oracle (comma-separated).
        #[arg(long, value_delimiter = ',', default_values_t = cli::default_backends())]
        backend: Vec<String>,
        /// Where new divergences are saved.
        #[arg(long, default_value = "diff")]
        out: PathBuf,
        /// Seed programs (files or directories of .tkt).
        #[arg(long, default_value = "corpus")]
        corpus: Vec<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Minimize a program that diverges, keeping its signature.
    Minimize {
        file: PathBuf,
        /// Where to write the result (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The backend whose divergence to keep (default: the first that diverges).
        #[arg(long)]
        backend: Option<String>,
    },
    /// Check the regression corpus and the saved divergences.
    Replay {
        /// Files or directories (default: corpus/ and diff/).
        paths: Vec<PathBuf>,
    },
    /// Print the program a fuzzer input stands for (a `.tkt` text as itself, any other bytes as
    /// the fuzz targets decode them), ready for `ticketdiff run`.
    Decode { file: PathBuf },
    /// Serve the native TLS 1.3 server on a TCP socket (for `openssl s_client`, curl, ...).
    Serve(ticketdiff::serve::Options),
    /// Summarize a directory of saved divergences (default `diff/`): signature, backend and
    /// versions, first divergent op, oracle vs other value, hits, first found, the program.
    Report {
        /// The directory (default: `diff`).
        #[arg(default_value = "diff")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = cli::ReportFormat::Markdown)]
        format: cli::ReportFormat,
        /// Hits per signature: the output of `ticketdiff fuzz --json`, or {"SIGNATURE": N}.
        #[arg(long, value_name = "FILE")]
        hits: Option<PathBuf>,
        /// Mark signatures not saved in this directory (e.g. the repository's `diff/`) as new.
        #[arg(long, value_name = "DIR")]
        baseline: Option<PathBuf>,
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
        Command::Fuzz {
            time,
            runs,
            jobs,
            seed,
            backend,
            out,
            corpus,
            json,
        } => cli::fuzz(cli::FuzzArgs {
            time,
            runs,
            jobs,
            seed,
            backends: backend,
            out,
            corpus,
            json,
        }),
        Command::Minimize {
            file,
            output,
            backend,
        } => cli::minimize(&file, output.as_deref(), backend.as_deref()),
        Command::Bless { files } => cli::bless(&files),
        Command::Decode { file } => cli::decode(&file),
        Command::Serve(options) => match ticketdiff::serve::serve(&options) {
            Ok(()) => cli::EXIT_OK,
            Err(e) => {
                eprintln!("ticketdiff serve: {e}");
                cli::EXIT_ERROR
            }
        },
        Command::Report {
            dir,
            format,
            hits,
            baseline,
        } => cli::report(&dir, format, hits.as_deref(), baseline.as_deref()),
    };
    ExitCode::from(code)
}
