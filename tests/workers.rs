//! Backends in worker processes: the system OpenSSL as a worker gives the in-process oracle's
//! traces exactly, and a worker that crashes, is killed or hangs is a finding of its own while
//! the run goes on. These need the worker built (`workers/build.sh openssl@worker`, which
//! `.ci/run` does first); without it each test says so and checks that ticketdiff names the
//! command that builds it.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use ticketdiff::backend::BackendId;
use ticketdiff::program::load;
use ticketdiff::runner::Runner;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether the worker is built; when it is not, checks the message that says how to build it.
fn worker_built() -> bool {
    match ticketdiff::worker::check(BackendId::OpensslWorker) {
        Ok(()) => true,
        Err(e) => {
            assert!(
                e.to_string()
                    .contains("build it with `workers/build.sh openssl@worker`"),
                "{e}"
            );
            eprintln!("not run: {e}");
            false
        }
    }
}

fn ticketdiff(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("runs")
}

#[test]
fn the_system_openssl_in_a_worker_traces_as_in_process_on_corpus_and_diff() {
    if !worker_built() {
        return;
    }
    let mut runner = Runner::new(&[BackendId::OpensslWorker]).unwrap();
    // In a build that links another OpenSSL than the worker's (`--features vendored`), the two
    // are different releases and may differ on purpose: `replay` judges that case.
    let worker_version = runner
        .run(&ticketdiff::program::parse("ctx_get_num_tickets").unwrap())
        .get(BackendId::OpensslWorker)
        .unwrap()
        .version;
    if worker_version != openssl::version::version() {
        eprintln!(
            "not run: the worker is {worker_version}, this build links {}",
            openssl::version::version()
        );
        return;
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
}

#[test]
fn a_worker_that_crashes_is_a_finding_and_the_next_program_runs() {
    if !worker_built() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("p.tkt"),
        "connect\nhandshake\nnew_session_ticket\nserver_write 1\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("q.tkt"), "connect\nhandshake\n").unwrap();
    let fault = [("TICKETDIFF_WORKER_FAULT", "crash:new_session_ticket")];
    let out = ticketdiff(
        &["run", "--backend", "openssl@worker", "p.tkt", "q.tkt"],
        tmp.path(),
        &fault,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "line 3: `new_session_ticket`: the openssl@worker worker crashed (killed by signal 6)"
        ) && stdout.contains("[openssl@worker-crash-in-new_session_ticket]"),
        "{stdout}"
    );
    // The worker was started again for the next program, which agrees.
    let after = stdout.split("q.tkt").nth(1).unwrap_or_default();
    assert!(
        after.contains("openssl@worker (OpenSSL") && after.contains("agrees with the oracle"),
        "{stdout}"
    );

    // The fuzzer saves it, minimized, and goes on.
    let out = ticketdiff(
        &[
            "fuzz",
            "--runs",
            "60",
            "--jobs",
            "1",
            "--seed",
            "3",
            "--backend",
            "openssl@worker",
            "--out",
            "found",
            "--json",
        ],
        tmp.path(),
        &fault,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entry = tmp
        .path()
        .join("found/openssl@worker-crash-in-new_session_ticket.tkt");
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(text.contains("# crashed: killed by signal 6"), "{text}");
    assert!(text.ends_with("\nconnect\nnew_session_ticket\n"), "{text}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["programs"].as_u64().unwrap() >= 60);
    // It replays as long as the worker crashes there, and is fixed when it does not.
    let out = ticketdiff(&["replay", "found"], tmp.path(), &fault);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = ticketdiff(&["replay", "found"], tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FIXED"));
}

#[test]
fn a_worker_that_stops_answering_is_killed_and_is_a_finding() {
    if !worker_built() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.tkt"), "connect\nhandshake\nshutdown\n").unwrap();
    let started = Instant::now();
    let out = ticketdiff(
        &["run", "--backend", "openssl@worker", "p.tkt"],
        tmp.path(),
        &[
            ("TICKETDIFF_WORKER_FAULT", "hang:shutdown"),
            ("TICKETDIFF_WORKER_TIMEOUT_MS", "300"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the openssl@worker worker did not answer within 300 ms")
            && stdout.contains("[openssl@worker-hang-in-shutdown]"),
        "{stdout}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
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

#[test]
fn a_worker_killed_mid_run_is_a_finding_and_the_fuzz_run_goes_on() {
    if !worker_built() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let fuzz = Command::new(env!("CARGO_BIN_EXE_ticketdiff"))
        .args([
            "fuzz",
            "--time",
            "8",
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
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // "ticketdiff-worker" as the kernel shortens it to 15 characters.
    let mut killed = false;
    let deadline = Instant::now() + Duration::from_secs(6);
    while !killed && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1500));
        for worker in children_named(fuzz.id(), "ticketdiff-work") {
            let status = Command::new("kill")
                .args(["-9", &worker.to_string()])
                .status();
            killed |= status.is_ok_and(|s| s.success());
        }
    }
    assert!(killed, "no worker process to kill");
    let out = fuzz.wait_with_output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let crash = summary["signatures"].as_array().unwrap().iter().find(|s| {
        s["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with("openssl@worker-crash-in-"))
    });
    let crash = crash.unwrap_or_else(|| panic!("no crash finding: {summary}"));
    assert_eq!(crash["other"], "crashed (killed by signal 9)");
    // The run went on after the kill, and did not spend itself minimizing what the kill did
    // (it does not show again on the same program).
    assert!(summary["programs"].as_u64().unwrap() > 5, "{summary}");
    assert_eq!(summary["errors"], serde_json::json!([]), "{summary}");
}

/// An OpenSSL release in its worker process traces every corpus and `diff/` program alike on
/// every run: its server draws the same bytes at each program, as the in-process oracle does.
#[test]
fn release_workers_trace_alike_every_time() {
    let built: Vec<BackendId> = [BackendId::Openssl36, BackendId::Openssl40]
        .into_iter()
        .filter(|id| ticketdiff::worker::check(*id).is_ok())
        .collect();
    if built.is_empty() {
        eprintln!("not run: no OpenSSL release worker is built");
        return;
    }
    let files =
        ticketdiff::files::tkt_files(&[root().join("corpus"), root().join("diff")]).unwrap();
    for id in built {
        let mut b = ticketdiff::registry::backend(id).unwrap();
        ticketdiff::testing::assert_traces_repeat(b.as_mut(), &files, 3);
    }
}
