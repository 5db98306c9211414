//! The stand-in worker: this test executable, started by ticketdiff as a worker (through a link
//! named `ticketdiff-worker`), speaks the worker protocol badly in the way
//! [`MODE_VAR`] names. Test support only: the production worker has no such modes.
//!
//! A mode is either a way to fail at the start (`bad-magic`, `silent`, ...), or `KIND@CALL`:
//! the stand-in serves the real in-process OpenSSL backend through the production serving loop,
//! and fails in the way `KIND` says at the first call named `CALL` (`crash@do_handshake`).
//! `plain` serves without failing, as the production worker does.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use ticketdiff::backend::Outcome;
use ticketdiff::worker::protocol::{
    read_frame, write_frame, Call, ConnState, Hello, Reply, Value, VERSION,
};
use ticketdiff::worker::serve::serve_stdio_with;

/// The variable that turns this executable into the stand-in, holding its mode. Not a
/// `TICKETDIFF_*` variable: ticketdiff never reads it.
pub const MODE_VAR: &str = "STANDIN_WORKER_MODE";

/// What a stand-in that failed does next: stays alive without reading, so that only being
/// killed ends it (bounded, so that a test that failed leaves no process behind for long).
fn linger() -> ! {
    std::thread::sleep(Duration::from_secs(60));
    std::process::exit(0)
}

fn raw(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

fn frame(bytes: &[u8]) {
    let _ = write_frame(&mut std::io::stdout().lock(), bytes);
}

fn hello(library: &str) {
    let hello = Hello {
        version: VERSION,
        library: library.into(),
    };
    frame(&hello.encode());
}

fn flood() -> ! {
    loop {
        raw(&[b'y'; 4096]);
    }
}

/// A text that would be an op of its own if it reached a saved entry raw.
pub const INJECTED: &str = "no\nclient_write 5";

/// Runs the stand-in in `mode`; returns only for modes that end by themselves.
pub fn serve(mode: &str) -> ExitCode {
    if let Some((kind, call)) = mode.split_once('@') {
        let (kind, call) = (kind.to_string(), call.to_string());
        let result = serve_stdio_with(&mut |c: &Call| {
            if c.name() == call {
                fail_at_call(&kind, c);
            }
        });
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(2),
        };
    }
    match mode {
        "plain" => match serve_stdio_with(&mut |_| {}) {
            Ok(()) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("stand-in: {e}");
                return ExitCode::from(2);
            }
        },
        "bad-magic" => frame(b"HTTP/1.1 200 OK"),
        "wrong-version" => frame(
            &Hello {
                version: 99,
                library: "stand-in".into(),
            }
            .encode(),
        ),
        "huge-frame" => raw(&[0xff; 4]),
        "flood" => flood(),
        "silent" => {}
        "exit-at-once" => return ExitCode::SUCCESS,
        "exit-after-hello" => {
            hello("stand-in");
            return ExitCode::SUCCESS;
        }
        "hello-twice" => {
            // In one write, so that ticketdiff reads both at once.
            let mut twice = Vec::new();
            let hello = Hello {
                version: VERSION,
                library: "stand-in".into(),
            };
            for _ in 0..2 {
                let _ = write_frame(&mut twice, &hello.encode());
            }
            raw(&twice);
        }
        "library-newline" => hello(INJECTED),
        "refuse-setup" => {
            hello("stand-in");
            let _ = read_frame(&mut std::io::stdin().lock());
            frame(&Reply::Refused(INJECTED.into()).encode());
        }
        "never-reads" => {
            fill_input();
            hello("stand-in");
        }
        other => {
            eprintln!("stand-in: no mode `{other}`");
            return ExitCode::from(2);
        }
    }
    linger()
}

/// Fails at a call, in the way `kind` says.
fn fail_at_call(kind: &str, call: &Call) {
    let called = |value, written| Reply::Called {
        value,
        consumed: 0,
        written,
        state: ConnState::default(),
    };
    match kind {
        "crash" => std::process::abort(),
        // Leaves a process holding this one's output pipe, then stops answering.
        "orphan" => {
            let _ = std::process::Command::new("sleep").arg("120").spawn();
            linger()
        }
        "hang" => linger(),
        "huge" => raw(&[0xff; 4]),
        "flood" => flood(),
        "garbage" => frame(&[0xee; 7]),
        "wrong-kind" => frame(&Reply::Done.encode()),
        "past-room" => {
            frame(&called(Value::Outcome(Outcome::WouldBlock), vec![23; 70_000]).encode())
        }
        "refuse-newline" => frame(&Reply::Refused(INJECTED.into()).encode()),
        other => panic!("stand-in: no call mode `{other}` (at {})", call.name()),
    }
    linger()
}

/// Fills standard input's pipe from this end, so that ticketdiff's next write (the setup)
/// blocks while this process reads nothing: what a worker that never reads comes to once
/// the pipe is full. Shrunk to a page first, so filling it is quick.
fn fill_input() {
    // SAFETY: fcntl on standard input with F_SETPIPE_SZ and an int argument touches no memory
    // of this process; a failure (standard input not a pipe) leaves the pipe as it was.
    #[allow(unsafe_code)]
    let room = unsafe { libc::fcntl(0, libc::F_SETPIPE_SZ, 4096) };
    let room = usize::try_from(room).unwrap_or(65536);
    if let Ok(mut pipe) = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/fd/0")
    {
        let _ = pipe.write_all(&vec![0; room]);
    }
}
