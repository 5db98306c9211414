//! Backends in worker processes. The stand-in worker ([`standin`], this executable started
//! as a worker) speaks the protocol badly in every way ticketdiff must survive: each way ends
//! in a plain start error or a crash/hang finding, well within the watchdog's time, on `run`,
//! `fuzz` and `replay`. Tests that need the real built worker (`workers/build.sh
//! openssl@worker`, which `.ci/run` does first) are reported as ignored, with the reason, when
//! it is not built.
//!
//! A `harness = false` test: `main` becomes the stand-in when [`standin::MODE_VAR`] is set
//! (ticketdiff started it as a worker), and runs the tests otherwise. So the stand-in needs no
//! binary of its own in the production crate, and runs the real serving loop and OpenSSL.

#[path = "workers/standin.rs"]
mod standin;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use ticketdiff::backend::BackendId;
use ticketdiff::program::load;
use ticketdiff::runner::Runner;
use ticketdiff::worker::protocol::{read_frame, write_frame, Call, Hello, Reply, Request};

fn main() -> ExitCode {
    if let Ok(mode) = std::env::var(standin::MODE_VAR) {
        return standin::serve(&mode);
    }
    let args = Arguments::from_args();
    libtest_mimic::run(&args, trials()).exit_code()
}

type Test = fn() -> Result<Completion, Failed>;

fn trials() -> Vec<Trial> {
    let tests: &[(&str, Test)] = &[
        (
            "the_system_openssl_in_a_worker_traces_as_in_process_on_corpus_and_diff",
            traces_as_in_process,
        ),
        (
            "release_workers_trace_alike_every_time",
            release_workers_trace_alike,
        ),
        (
            "a_worker_killed_mid_run_is_reported_unconfirmed_and_the_run_goes_on",
            killed_mid_run,
        ),
        (
            "the_production_worker_has_no_fault_hook",
            production_worker_has_no_fault_hook,
        ),
        (
            "the_production_worker_answers_nonsense_with_refusals",
            production_worker_refuses_nonsense,
        ),
        (
            "the_serving_loop_answers_nonsense_with_refusals",
            serving_loop_refuses_nonsense,
        ),
        (
            "the_production_worker_refuses_a_broken_pki",
            production_worker_refuses_a_broken_pki,
        ),
        (
            "a_setup_with_a_broken_pki_is_refused",
            broken_pki_setup_is_refused,
        ),
        (
            "a_worker_serving_plainly_agrees_with_the_oracle",
            plain_standin_agrees,
        ),
        (
            "a_worker_that_crashes_is_a_finding_and_the_next_program_runs",
            crash_is_a_finding,
        ),
        (
            "a_worker_that_left_a_process_holding_its_pipe_is_killed_with_it",
            orphan_holding_the_pipe_is_killed_too,
        ),
        (
            "a_worker_that_stops_answering_is_killed_and_is_a_finding",
            hang_is_a_finding,
        ),
        (
            "start_errors_are_plain_and_bounded",
            start_errors_are_plain_and_bounded,
        ),
        (
            "a_worker_breaking_the_protocol_at_a_call_is_a_crash_finding",
            call_modes_are_crash_findings,
        ),
        (
            "a_refusal_with_a_newline_is_saved_escaped",
            refusal_newline_is_escaped,
        ),
        (
            "fuzz_and_replay_end_in_time_with_a_huge_frame_or_a_flood",
            fuzz_and_replay_are_bounded,
        ),
        (
            "a_worker_stopped_with_sigstop_is_reported_unconfirmed_as_a_hang",
            sigstop_is_a_hang,
        ),
    ];
    tests
        .iter()
        .map(|&(name, test)| Trial::ignorable_test(name, test))
        .collect()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Set by `.ci/run`, which builds every worker first: a test that would be ignored for want of
/// a worker fails instead.
const REQUIRE_BUILD: &str = "WORKER_TESTS_REQUIRE_BUILD";

/// Ignored with `reason` (a failure where [`REQUIRE_BUILD`] is set).
fn not_built(reason: impl ToString) -> Completion {
    let reason = reason.to_string();
    assert!(
        std::env::var_os(REQUIRE_BUILD).is_none(),
        "{REQUIRE_BUILD}: {reason}"
    );
    Completion::ignored_with(reason)
}

/// Ignored, with the reason, unless the real worker is built.
fn needs_worker() -> Result<(), Completion> {
    match ticketdiff::worker::check(BackendId::OpensslWorker) {
        Ok(()) => Ok(()),
        Err(e) => {
            assert!(
                e.to_string()
                    .contains("build it with `workers/build.sh openssl@worker`"),
                "{e}"
            );
            Err(not_built(e))
        }
    }
}

macro_rules! need_worker {
    () => {
        if let Err(ignored) = needs_worker() {
            return Ok(ignored);
        }
    };
}

/// How long a command given a worker that misbehaves may take at most: the watchdog's 500 ms
/// per call, many times over, and a slow shared machine's margin.
const BOUND: Duration = Duration::from_secs(60);
/// The call timeout the stand-in tests give ticketdiff.
const TIMEOUT_MS: &str = "500";

/// A workers' folder whose `openssl@worker` is the stand-in in `mode`, and the environment
/// that points ticketdiff at it.
struct StandIn {
    dir: tempfile::TempDir,
    mode: String,
}

impl StandIn {
    fn new(mode: &str) -> StandIn {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("workers/openssl-system/release");
        std::fs::create_dir_all(&release).unwrap();
        std::os::unix::fs::symlink(
            std::env::current_exe().unwrap(),
            release.join("ticketdiff-worker"),
        )
        .unwrap();
        StandIn {
            dir,
            mode: mode.into(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "TICKETDIFF_WORKER_DIR".into(),
                self.path().join("workers").display().to_string(),
            ),
            (standin::MODE_VAR.into(), self.mode.clone()),
            ("TICKETDIFF_WORKER_TIMEOUT_MS".into(), TIMEOUT_MS.into()),
        ]
    }

    /// Runs ticketdiff in the stand-in's folder; fails the test if it does not end in time.
    fn ticketdiff(&self, args: &[&str]) -> Done {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        ticketdiff(args, self.path(), &env)
    }

    /// `fuzz --runs` on the stand-in alone, saving into `found/`.
    fn fuzz_runs(&self, runs: &str) -> Done {
        self.ticketdiff(&[
            "fuzz",
            "--runs",
            runs,
            "--jobs",
            "1",
            "--seed",
            "3",
            "--backend",
            "openssl@worker",
            "--out",
            "found",
            "--json",
        ])
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).unwrap();
    }
}

/// What a bounded ticketdiff command did.
struct Done {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Done {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.took, self.stdout, self.stderr
        )
    }
}

fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = from.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// Waits for `child` at most [`BOUND`]: one that outlives it is killed and fails the test.
fn wait_bounded(mut child: Child, what: &str) -> Done {
    let started = Instant::now();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Done {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        took: started.elapsed(),
    }
}

fn ticketdiff(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Done {
    let child = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    wait_bounded(child, &format!("ticketdiff {}", args.join(" ")))
}

fn traces_as_in_process() -> Result<Completion, Failed> {
    need_worker!();
    let mut runner = Runner::new(&[BackendId::OpensslWorker]).unwrap();
    // In a build that links another OpenSSL than the worker's (`--features vendored`), the two
    // are different releases and may differ on purpose: `replay` judges that case.
    let worker_version = runner
        .run(&ticketdiff::program::parse("ctx_get_num_tickets").unwrap())
        .get(BackendId::OpensslWorker)
        .unwrap()
        .version;
    if worker_version != openssl::version::version() {
        return Ok(Completion::ignored_with(format!(
            "the worker is {worker_version}, this build links {}",
            openssl::version::version()
        )));
    }
    let files =
        ticketdiff::files::tkt_files(&[root().join("corpus"), root().join("diff")]).unwrap();
    assert!(files.len() > 70);
    for file in files {
        let program = load(&file).unwrap().program;
        let results = runner.run(&program);
        let worker = results.get(BackendId::OpensslWorker).unwrap();
        assert_eq!(
            worker.trace(),
            Some(&results.oracle.trace),
            "{}",
            file.display()
        );
    }
    Ok(Completion::Completed)
}

/// An OpenSSL release in its worker process traces every corpus and `diff/` program alike on
/// every run: its server draws the same bytes at each program, as the in-process oracle does.
fn release_workers_trace_alike() -> Result<Completion, Failed> {
    let built: Vec<BackendId> = [BackendId::Openssl36, BackendId::Openssl40]
        .into_iter()
        .filter(|id| ticketdiff::worker::check(*id).is_ok())
        .collect();
    if built.is_empty() {
        return Ok(not_built("no OpenSSL release worker is built"));
    }
    let files =
        ticketdiff::files::tkt_files(&[root().join("corpus"), root().join("diff")]).unwrap();
    for id in built {
        let mut b = ticketdiff::registry::backend(id).unwrap();
        ticketdiff::testing::assert_traces_repeat(b.as_mut(), &files, 3);
    }
    Ok(Completion::Completed)
}

/// The processes whose parent is `pid` and whose name is `name`.
fn children_named(pid: u32, name: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let ppid = rest.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok());
        if comm.ends_with(&format!("({name}")) && ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Starts `fuzz --time` with the given workers' environment, sends `signal` to its worker once
/// one runs, and returns the summary.
fn fuzz_signalling_worker(
    dir: &Path,
    env: &[(&str, &str)],
    seconds: &str,
    signal: &str,
) -> serde_json::Value {
    let fuzz = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args([
            "fuzz",
            "--time",
            seconds,
            "--jobs",
            "1",
            "--seed",
            "5",
            "--backend",
            "openssl@worker",
            "--out",
            "found",
            "--json",
        ])
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // "ticketdiff-worker" as the kernel shortens it to 15 characters.
    let mut signalled = false;
    let deadline = Instant::now() + Duration::from_secs(6);
    while !signalled && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1500));
        for worker in children_named(fuzz.id(), "ticketdiff-work") {
            let status = Command::new("kill")
                .args([signal, &worker.to_string()])
                .status();
            signalled |= status.is_ok_and(|s| s.success());
        }
    }
    let done = wait_bounded(fuzz, "ticketdiff fuzz");
    assert!(signalled, "no worker process to signal: {done}");
    serde_json::from_str(&done.stdout).unwrap_or_else(|e| panic!("{e}: {done}"))
}

fn signature_starting(summary: &serde_json::Value, prefix: &str) -> serde_json::Value {
    let found = summary["signatures"].as_array().unwrap().iter().find(|s| {
        s["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with(prefix))
    });
    found
        .unwrap_or_else(|| panic!("no {prefix}* finding: {summary}"))
        .clone()
}

/// The summary's line for a signature seen but not kept (see `docs/limits.md`); none is saved.
fn unconfirmed_starting(summary: &serde_json::Value, prefix: &str) -> String {
    assert_eq!(summary["signatures"], serde_json::json!([]), "{summary}");
    summary["unconfirmed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* line: {summary}"))
        .to_string()
}

fn killed_mid_run() -> Result<Completion, Failed> {
    need_worker!();
    let tmp = tempfile::tempdir().unwrap();
    let summary = fuzz_signalling_worker(tmp.path(), &[], "8", "-9");
    // A kill from outside does not show again on the program it hit: reported, not saved.
    let crash = unconfirmed_starting(&summary, "openssl@worker-crash-in-");
    assert!(crash.contains("not kept"), "{summary}");
    // The run went on after the kill, and did not spend itself minimizing what the kill did.
    assert!(summary["programs"].as_u64().unwrap() > 5, "{summary}");
    assert_eq!(summary["errors"], serde_json::json!([]), "{summary}");
    Ok(Completion::Completed)
}

/// SIGSTOP: the worker is alive and silent; the watchdog kills it (SIGKILL ends a stopped
/// process) and the call is a hang, which a fresh worker does not repeat: reported as
/// unconfirmed, not saved, and the run goes on.
fn sigstop_is_a_hang() -> Result<Completion, Failed> {
    let standin = StandIn::new("plain");
    let env = standin.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let summary = fuzz_signalling_worker(standin.path(), &env, "6", "-STOP");
    // A fresh worker answers the same program: the hang is reported, not saved.
    let hang = unconfirmed_starting(&summary, "openssl@worker-hang-in-");
    assert!(hang.contains("not kept"), "{summary}");
    assert!(summary["programs"].as_u64().unwrap() > 5, "{summary}");
    Ok(Completion::Completed)
}

const PROGRAM: &str = "connect\nhandshake\nnew_session_ticket\nserver_write 1\nshutdown\n";

fn production_worker_has_no_fault_hook() -> Result<Completion, Failed> {
    need_worker!();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.tkt"), PROGRAM).unwrap();
    let done = ticketdiff(
        &["run", "--backend", "openssl@worker", "p.tkt"],
        tmp.path(),
        &[("TICKETDIFF_WORKER_FAULT", "crash:new_session_ticket")],
    );
    assert_eq!(done.code(), Some(0), "{done}");
    assert!(done.stdout.contains("agrees with the oracle"), "{done}");
    Ok(Completion::Completed)
}

/// Waits at most [`BOUND`] for a worker whose pipes the test holds; its status and error output.
fn wait_exit(mut child: Child, what: &str) -> (ExitStatus, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            panic!("{what} did not end within {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    (status, stderr)
}

/// A worker started by the test itself, its pipes held by the test, and its hello.
fn speak_to(mut worker: Command) -> (Child, ChildStdin, std::io::BufReader<ChildStdout>, Hello) {
    let mut child = worker
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = child.stdin.take().unwrap();
    let mut output = std::io::BufReader::new(child.stdout.take().unwrap());
    let hello = Hello::decode(&read_frame(&mut output).unwrap().unwrap()).unwrap();
    (child, input, output, hello)
}

/// The stand-in serving as the production worker does.
fn plain_standin() -> Command {
    let mut worker = Command::new(std::env::current_exe().unwrap());
    worker.env(standin::MODE_VAR, "plain");
    worker
}

/// Speaks to a worker as a broken ticketdiff would, and checks each answer: nonsense gets a
/// refusal, odd but valid calls an answer, a frame too large a clean exit; never a panic or
/// a hang.
fn attack_serving_loop(worker: Command) {
    let (child, mut input, mut output, hello) = speak_to(worker);
    assert!(hello.library.starts_with("OpenSSL"), "{hello:?}");
    let mut ask = |frame: &[u8]| -> Reply {
        write_frame(&mut input, frame).unwrap();
        let reply = read_frame(&mut output).unwrap().expect("an answer");
        Reply::decode(&reply).unwrap()
    };
    let setup = Request::Setup {
        host: "openssl".into(),
        pki: Box::new(ticketdiff::pki::pki().parts()),
    };
    assert_eq!(ask(&setup.encode()), Reply::Done);
    let refused = |r: Reply| matches!(r, Reply::Refused(_));
    assert!(refused(ask(&setup.encode())), "a second setup");
    assert!(refused(ask(&[0xff, 1, 2])), "garbage");
    assert!(refused(ask(&[])), "an empty frame");
    assert_eq!(ask(&Request::Reset.encode()), Reply::Done);
    let call = |conn, call, incoming: Vec<u8>, room| {
        Request::Call {
            conn,
            call,
            incoming,
            room,
        }
        .encode()
    };
    assert!(
        refused(ask(&call(9, Call::DoHandshake, vec![], 100))),
        "an unknown connection"
    );
    assert_eq!(ask(&Request::Accept { conn: 1 }.encode()), Reply::Done);
    assert_eq!(ask(&Request::Accept { conn: 1 }.encode()), Reply::Done);
    for (c, incoming, room) in [
        (Call::Write(u64::MAX), vec![], u32::MAX),
        (Call::Read(u32::MAX), vec![0x16; 200_000], 0),
        (Call::DoHandshake, vec![0x16, 3, 1, 0xff, 0xff], 65536),
        (Call::ReadEarly(u32::MAX), vec![], 1),
        (Call::SetNumTickets(u64::MAX), vec![], 1),
        (Call::KeyUpdate(true), vec![], 0),
        (Call::Shutdown, vec![], 0),
        (Call::Close, vec![], 0),
        (Call::NewSessionTicket, vec![], 0),
    ] {
        let reply = ask(&call(1, c, incoming, room));
        assert!(
            matches!(reply, Reply::Called { .. } | Reply::Refused(_)),
            "{c:?}: {reply:?}"
        );
    }
    assert_eq!(ask(&Request::Drop { conn: 1 }.encode()), Reply::Done);
    assert_eq!(ask(&Request::Drop { conn: 1 }.encode()), Reply::Done);
    // A frame over the limit: the worker ends, cleanly.
    input.write_all(&[0xff; 4]).unwrap();
    input.flush().unwrap();
    let (status, stderr) = wait_exit(child, "the worker given a frame too large");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("a frame of 4294967295 bytes"), "{stderr}");
}

fn production_worker_refuses_nonsense() -> Result<Completion, Failed> {
    need_worker!();
    let spec = ticketdiff::worker::spec(BackendId::OpensslWorker).unwrap();
    attack_serving_loop(Command::new(ticketdiff::worker::executable(spec)));
    Ok(Completion::Completed)
}

/// The same attack on the serving loop that the production worker runs, hosted by the
/// stand-in (so it runs where no worker is built).
fn serving_loop_refuses_nonsense() -> Result<Completion, Failed> {
    attack_serving_loop(plain_standin());
    Ok(Completion::Completed)
}

/// A setup whose PKI is not one (garbage certificates and keys): the serving loop refuses it
/// and exits 2, without a panic.
fn broken_pki_setup_is_refused() -> Result<Completion, Failed> {
    refuses_a_broken_pki(plain_standin());
    Ok(Completion::Completed)
}

fn production_worker_refuses_a_broken_pki() -> Result<Completion, Failed> {
    need_worker!();
    let spec = ticketdiff::worker::spec(BackendId::OpensslWorker).unwrap();
    refuses_a_broken_pki(Command::new(ticketdiff::worker::executable(spec)));
    Ok(Completion::Completed)
}

fn refuses_a_broken_pki(worker: Command) {
    let (child, mut input, mut output, _) = speak_to(worker);
    let mut pki = ticketdiff::pki::pki().parts();
    pki.server.cert_der = vec![0x30, 1, 2];
    pki.server.cert_pem = "-----BEGIN CERTIFICATE-----\nnot one\n".into();
    pki.server.key_pkcs8 = vec![1, 2, 3];
    pki.server.key_pem = "no key".into();
    let setup = Request::Setup {
        host: "openssl".into(),
        pki: Box::new(pki),
    };
    write_frame(&mut input, &setup.encode()).unwrap();
    let reply = read_frame(&mut output).unwrap();
    drop(input);
    let (status, stderr) = wait_exit(child, "the stand-in given a broken PKI");
    assert_eq!(status.code(), Some(2), "{reply:?} {stderr}");
    let reply = Reply::decode(&reply.expect("an answer")).unwrap();
    assert!(matches!(reply, Reply::Refused(_)), "{reply:?}");
}

fn plain_standin_agrees() -> Result<Completion, Failed> {
    let standin = StandIn::new("plain");
    standin.write("p.tkt", PROGRAM);
    let done = standin.ticketdiff(&["run", "--backend", "openssl@worker", "p.tkt"]);
    assert_eq!(done.code(), Some(0), "{done}");
    assert!(done.stdout.contains("agrees with the oracle"), "{done}");
    Ok(Completion::Completed)
}

fn crash_is_a_finding() -> Result<Completion, Failed> {
    let standin = StandIn::new("crash@new_session_ticket");
    standin.write(
        "p.tkt",
        "connect\nhandshake\nnew_session_ticket\nserver_write 1\n",
    );
    standin.write("q.tkt", "connect\nhandshake\n");
    let done = standin.ticketdiff(&["run", "--backend", "openssl@worker", "p.tkt", "q.tkt"]);
    assert_eq!(done.code(), Some(1), "{done}");
    assert!(
        done.stdout.contains(
            "line 3: `new_session_ticket`: the openssl@worker worker crashed (killed by signal 6)"
        ) && done
            .stdout
            .contains("[openssl@worker-crash-in-new_session_ticket]"),
        "{done}"
    );
    // The worker was started again for the next program, which agrees.
    let after = done.stdout.split("q.tkt").nth(1).unwrap_or_default();
    assert!(
        after.contains("openssl@worker (stand-in") || after.contains("agrees with the oracle"),
        "{done}"
    );

    // The fuzzer saves it, minimized, and goes on.
    let done = standin.fuzz_runs("60");
    assert_eq!(done.code(), Some(1), "{done}");
    let entry = standin
        .path()
        .join("found/openssl@worker-crash-in-new_session_ticket.tkt");
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(text.contains("# crashed: killed by signal 6"), "{text}");
    assert!(text.ends_with("\nconnect\nnew_session_ticket\n"), "{text}");
    let summary: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    assert!(summary["programs"].as_u64().unwrap() >= 60);
    // It replays as long as the worker crashes there, and is fixed when it does not.
    let done = standin.ticketdiff(&["replay", "found"]);
    assert_eq!(done.code(), Some(0), "{done}");
    let plain = StandIn::new("plain");
    let env = plain.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let done = ticketdiff(&["replay", "found"], standin.path(), &env);
    assert_eq!(done.code(), Some(1), "{done}");
    assert!(done.stdout.contains("FIXED"), "{done}");
    Ok(Completion::Completed)
}

/// A worker that left a process of its own holding its output pipe, then stopped answering:
/// killing the worker alone would leave ticketdiff's read blocked; its process group is killed.
fn orphan_holding_the_pipe_is_killed_too() -> Result<Completion, Failed> {
    let standin = StandIn::new("orphan@do_handshake");
    standin.write("p.tkt", PROGRAM);
    let done = standin.ticketdiff(&["run", "--backend", "openssl@worker", "p.tkt"]);
    assert_eq!(done.code(), Some(1), "{done}");
    assert!(
        done.stdout
            .contains("the openssl@worker worker did not answer within 500 ms")
            && done.stdout.contains("[openssl@worker-hang-in-handshake]"),
        "{done}"
    );
    Ok(Completion::Completed)
}

fn hang_is_a_finding() -> Result<Completion, Failed> {
    let standin = StandIn::new("hang@shutdown");
    standin.write("p.tkt", "connect\nhandshake\nshutdown\n");
    let done = standin.ticketdiff(&["run", "--backend", "openssl@worker", "p.tkt"]);
    assert_eq!(done.code(), Some(1), "{done}");
    assert!(
        done.stdout
            .contains("the openssl@worker worker did not answer within 500 ms")
            && done.stdout.contains("[openssl@worker-hang-in-shutdown]"),
        "{done}"
    );
    Ok(Completion::Completed)
}

/// Each way a worker can fail to start, and what the one-line error must say.
const START_ERRORS: &[(&str, &str)] = &[
    ("bad-magic", "sent a hello ticketdiff cannot read (worker protocol: the first frame is not a ticketdiff worker's hello)"),
    ("wrong-version", "speaks worker protocol version 99, this ticketdiff speaks 2; build it with `workers/build.sh openssl@worker`"),
    ("huge-frame", "said no hello: it broke the worker protocol (worker protocol: a frame of 4294967295 bytes), and was killed"),
    ("flood", "said no hello: it broke the worker protocol (worker protocol: a frame of 2038004089 bytes), and was killed"),
    ("silent", "said no hello: it did not answer within 500 ms, and was killed"),
    ("exit-at-once", "said no hello: it ended (exited with status 0)"),
    ("exit-after-hello", "failed at the setup: it ended (exited with status 0)"),
    ("hello-twice", "said no hello: it broke the worker protocol (22 bytes after its answer), and was killed"),
    ("library-newline", "sent a hello ticketdiff cannot read (worker protocol: a library name with a control character, `no\\nclient_write 5`)"),
    ("refuse-setup", "refused the setup: no\\nclient_write 5"),
    ("never-reads", "failed at the setup: it did not answer within 500 ms, and was killed"),
];

fn start_errors_are_plain_and_bounded() -> Result<Completion, Failed> {
    let mut failures = Vec::new();
    for &(mode, expected) in START_ERRORS {
        let standin = StandIn::new(mode);
        standin.write("p.tkt", PROGRAM);
        let done = standin.ticketdiff(&["run", "--backend", "openssl@worker", "p.tkt"]);
        let line = done.stderr.trim_end();
        let plain = done.code() == Some(2)
            && line.starts_with("ticketdiff: backend `openssl@worker` runs in a worker process, and does not start: ")
            && line.contains(expected)
            && !line.contains('\n')
            && (mode == "wrong-version") == line.contains("build it with");
        if !plain {
            failures.push(format!("{mode}: expected `{expected}`; got {done}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(Completion::Completed)
}

/// Each way a worker can break the protocol at a call, and what the crash finding must say.
const CALL_ERRORS: &[(&str, &str)] = &[
    (
        "huge@do_handshake",
        "broke the worker protocol: worker protocol: a frame of 4294967295 bytes",
    ),
    (
        "flood@do_handshake",
        "broke the worker protocol: worker protocol: a frame of 2038004089 bytes",
    ),
    (
        "garbage@do_handshake",
        "broke the worker protocol: worker protocol: reply 238",
    ),
    (
        "wrong-kind@do_handshake",
        "broke the worker protocol: it answered a call of do_handshake with done",
    ),
    (
        "past-room@do_handshake",
        "broke the worker protocol: it wrote 70000 bytes, the wire had room for",
    ),
    (
        "refuse-newline@do_handshake",
        "refused: no\\nclient_write 5",
    ),
];

fn call_modes_are_crash_findings() -> Result<Completion, Failed> {
    let mut failures = Vec::new();
    for &(mode, expected) in CALL_ERRORS {
        let standin = StandIn::new(mode);
        standin.write("p.tkt", PROGRAM);
        let done = standin.ticketdiff(&["run", "--backend", "openssl@worker", "p.tkt"]);
        let found = done.code() == Some(1)
            && done.stdout.contains(&format!(
                "line 2: `handshake`: the openssl@worker worker crashed ({expected}"
            ))
            && done.stdout.contains("[openssl@worker-crash-in-handshake]");
        if !found {
            failures.push(format!("{mode}: expected `{expected}`; got {done}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(Completion::Completed)
}

/// A worker's refusal text reaches a saved entry's header only escaped: it cannot add a line.
fn refusal_newline_is_escaped() -> Result<Completion, Failed> {
    let standin = StandIn::new("refuse-newline@new_session_ticket");
    let done = standin.fuzz_runs("40");
    assert_eq!(done.code(), Some(1), "{done}");
    let entry = standin
        .path()
        .join("found/openssl@worker-crash-in-new_session_ticket.tkt");
    let text = std::fs::read_to_string(&entry).unwrap();
    // The worker's text is escaped where it is received (`\n` as two characters), and the
    // store escapes that again: the header stays one line, and reads back as received.
    let back = ticketdiff::store::read_file(&entry).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        back.divergence.difference,
        ticketdiff::finding::Difference::Crashed {
            how: "refused: no\\nclient_write 5".into()
        },
        "{text}"
    );
    assert_eq!(
        back.program.to_string(),
        "connect\nnew_session_ticket\n",
        "{text}"
    );
    Ok(Completion::Completed)
}

/// The modes that hung ticketdiff for good: `fuzz --time` and `replay` end in time, with the
/// finding.
fn fuzz_and_replay_are_bounded() -> Result<Completion, Failed> {
    for mode in [
        "huge@do_handshake",
        "flood@do_handshake",
        "hang@do_handshake",
    ] {
        let standin = StandIn::new(mode);
        let done = standin.ticketdiff(&[
            "fuzz",
            "--time",
            "3",
            "--jobs",
            "1",
            "--seed",
            "1",
            "--backend",
            "openssl@worker",
            "--out",
            "found",
            "--json",
        ]);
        assert_eq!(done.code(), Some(1), "{mode}: {done}");
        let summary: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
        let prefix = match mode.starts_with("hang") {
            true => "openssl@worker-hang-in-",
            false => "openssl@worker-crash-in-",
        };
        signature_starting(&summary, prefix);
        let done = standin.ticketdiff(&["replay", "found"]);
        assert_eq!(done.code(), Some(0), "{mode}: {done}");
    }
    Ok(Completion::Completed)
}
