//! One timed run: start an engine in a process group of its own, watch its store for new
//! entries, and stop it when every reference signature is saved or the budget is spent.
//!
//! Every engine is timed the same way, from outside: an entry appears in the store whole (it is
//! written to a temporary file and then linked or renamed into place), so the first time
//! `SIGNATURE.tkt` is listed is the time the signature was first saved, minimization included.

use super::results::Ending;
use crate::finding::Signature;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the store is listed: finer than any time worth telling apart here.
const POLL: Duration = Duration::from_millis(50);
/// How long a stopped engine gets to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// What one run observed.
pub struct Watched {
    pub found: BTreeMap<Signature, f64>,
    pub elapsed_secs: f64,
    pub cpu_secs: f64,
    pub ending: Ending,
}

/// The signatures saved in `store` now (file names that are no signature's are ignored:
/// temporaries, the lock file).
fn saved(store: &Path) -> Vec<Signature> {
    let Ok(entries) = std::fs::read_dir(store) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            name.strip_suffix(".tkt")?.parse().ok()
        })
        .collect()
}

/// CPU seconds (user + system) of this process's reaped children, from `/proc/self/stat`
/// (in USER_HZ, 100 per second on Linux); 0 where that cannot be read.
pub fn children_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime: fields 16 and 17 of the line, the first after the name being 3.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(13), ticks(14)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => 0.0,
    }
}

/// The one-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Sends `signal` to the process group the benchmark started (`kill` the command: this crate
/// has no `unsafe` outside its OpenSSL bindings).
fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops the engine's whole process group (libFuzzer's fork children, honggfuzz's threads'
/// process), politely first.
fn stop(child: &mut Child) -> Option<i32> {
    if let Ok(Some(status)) = child.try_wait() {
        return status.code();
    }
    signal_group(child, "-TERM");
    let asked = Instant::now();
    while asked.elapsed() < GRACE {
        if let Ok(Some(status)) = child.try_wait() {
            // What the group leader left running goes too.
            signal_group(child, "-KILL");
            return status.code();
        }
        std::thread::sleep(POLL);
    }
    signal_group(child, "-KILL");
    child.wait().ok().and_then(|s| s.code())
}

/// Runs `cmd` (output to `log`) for at most `budget`, timing each signature's first save in
/// `store`; stops early when every one of `reference` is saved. `None` when `interrupt` was
/// raised before that.
pub fn watch(
    mut cmd: Command,
    log: &Path,
    store: &Path,
    reference: &[Signature],
    budget: Duration,
    interrupt: &AtomicBool,
) -> std::io::Result<Option<Watched>> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let cpu_before = children_cpu_secs();
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let mut found = BTreeMap::new();
    let ending = loop {
        std::thread::sleep(POLL);
        let now = started.elapsed().as_secs_f64();
        for s in saved(store) {
            found.entry(s).or_insert(now);
        }
        if reference.iter().all(|s| found.contains_key(s)) {
            stop(&mut child);
            break Ending::AllFound;
        }
        if interrupt.load(Ordering::Relaxed) {
            stop(&mut child);
            return Ok(None);
        }
        if started.elapsed() >= budget {
            stop(&mut child);
            break Ending::Budget;
        }
        if let Ok(Some(status)) = child.try_wait() {
            // A last look: the engine may have saved something as it exited.
            for s in saved(store) {
                found.entry(s).or_insert(now);
            }
            signal_group(&child, "-KILL");
            break Ending::Exited {
                code: status.code(),
            };
        }
    };
    Ok(Some(Watched {
        found,
        elapsed_secs: started.elapsed().as_secs_f64(),
        cpu_secs: children_cpu_secs() - cpu_before,
        ending,
    }))
}
