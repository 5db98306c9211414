//! Killing a worker's whole process group: kill(2) with a negative pid, which std does not
//! offer. A worker that left a process of its own holding its output pipe (a child it
//! started, on purpose or by a bug) would otherwise keep ticketdiff's read blocked after the
//! worker itself was killed.
#![allow(unsafe_code)]

/// Sends SIGKILL to process group `pgid` (a worker is started as the leader of its own).
pub fn kill_group(pgid: u32) {
    // Never 0 or 1 (this process's group, every process): only a worker's own group.
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) takes two integers and touches no memory of this process; a group that
    // is already gone gives ESRCH, which changes nothing and is ignored.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}
