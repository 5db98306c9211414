//! Writing files so that a reader never sees half of one: the content goes to a temporary file
//! beside the target, is flushed to disk, and only then is renamed (or linked) into place.
//!
//! Temporary files are named `.ticketdiff-PID-RANDOM.tmp`, so that the ones a killed process
//! left behind can be found later ([`stale_temporaries`]).

use std::fs::{File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tempfile::NamedTempFile;

const TEMP_PREFIX: &str = ".ticketdiff-";
const TEMP_SUFFIX: &str = ".tmp";

/// A temporary file older than this is stale even if a process with its PID is running: PIDs
/// are reused, and a write that is still going after an hour is not going to finish.
pub const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// Replaces `path` with `bytes` atomically. An existing file's permission bits are kept; a new
/// file gets the usual `0666` less the umask.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mode = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions().mode());
    let tmp = stage(path, bytes)?;
    if let Some(mode) = mode {
        tmp.as_file()
            .set_permissions(Permissions::from_mode(mode & 0o777))?;
    }
    install(tmp, path)
}

/// Creates `path` with `bytes` only if no file is there yet; `Ok(false)` if one was, which is
/// then left untouched. Atomic against concurrent writers: the complete file is moved into
/// place with a rename that refuses to replace (or a hard link where the file system has no
/// such rename), so exactly one of them wins and nobody sees half a file.
pub fn create_atomic(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let tmp = stage(path, bytes)?;
    tmp.as_file().sync_all()?;
    match tmp.persist_noclobber(path) {
        Ok(_) => {
            sync_parent(path);
            Ok(true)
        }
        // Dropping the returned temporary file removes it.
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.error),
    }
}

/// Why [`rewrite_file`] left a file as it was. Each names the path it was given.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: not a regular file", path.display())]
    NotRegular { path: PathBuf },
    #[error(
        "{}: read-only (mode {mode:03o}); it is left as it is: make it writable to rewrite it",
        path.display()
    )]
    ReadOnly { path: PathBuf, mode: u32 },
    #[error(
        "{}: has {links} hard links; it is left as it is, since replacing it would split them \
         and writing it in place could leave it half-written: rewrite one copy instead",
        path.display()
    )]
    HardLinks { path: PathBuf, links: u64 },
    #[error(
        "{}: owned by uid {uid} gid {gid}, which cannot be kept on a new copy; it is left as it is",
        path.display()
    )]
    Owner { path: PathBuf, uid: u32, gid: u32 },
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "{}: changed while it was being rewritten; it is left as it is, with what was written \
         to it: run again to rewrite it",
        path.display()
    )]
    Changed { path: PathBuf },
}

/// Replaces the contents of a file a user gave, keeping it the same file as far as they can see.
///
/// - A symbolic link is followed: its target gets the new contents, the link stays a link.
/// - The permission bits, owner and group are kept (an owner that cannot be given to the new
///   copy is refused: [`RewriteError::Owner`]). Set-id bits are dropped, as a write in place by a
///   non-root user drops them; extended attributes and ACLs are not copied.
/// - A read-only file (no write bit for anyone, or not writable by this process) is refused
///   rather than made writable: the user said it should not change.
/// - A file with several hard links is refused. Replacing it would split the links; writing in
///   place would keep them, but a crash midway would leave a half-written file, which nothing
///   here may do.
///
/// Otherwise the new contents are written to a temporary file beside the target, flushed, and
/// renamed over it, so a crash leaves either the old file or the new one.
pub fn rewrite_file(path: &Path, bytes: &[u8]) -> Result<(), RewriteError> {
    rewrite(path, None, bytes)
}

/// [`rewrite_file`], unless the file no longer holds `was` (what the caller read and made
/// `bytes` from): [`RewriteError::Changed`] then, and the file is left as it is, so that
/// nothing written to it meanwhile is lost with the replaced copy. The check is made just
/// before the rename, holding an exclusive `flock` on the file (which other ticketdiff
/// rewriters take too; a plain `>>` append takes none, and one landing between the check and
/// the rename, a window of one `rename` call, is not seen).
pub fn rewrite_unchanged(path: &Path, was: &[u8], bytes: &[u8]) -> Result<(), RewriteError> {
    rewrite(path, Some(was), bytes)
}

fn rewrite(path: &Path, was: Option<&[u8]>, bytes: &[u8]) -> Result<(), RewriteError> {
    let read = |source| RewriteError::Read {
        path: path.to_path_buf(),
        source,
    };
    let write = |source| RewriteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let target = std::fs::canonicalize(path).map_err(read)?;
    let meta = std::fs::metadata(&target).map_err(read)?;
    if !meta.is_file() {
        return Err(RewriteError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    let read_only = RewriteError::ReadOnly {
        path: path.to_path_buf(),
        mode,
    };
    if mode & 0o222 == 0 {
        return Err(read_only);
    }
    // Root may open anything, so this catches only what the mode bits above cannot say alone:
    // a file whose write bits belong to someone else. Non-blocking, in case the path became a
    // FIFO since the check above; nothing is truncated.
    let current = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&target)
    {
        Ok(file) => file,
        Err(e) => {
            return Err(match e.kind() {
                io::ErrorKind::PermissionDenied => read_only,
                _ => write(e),
            })
        }
    };
    if meta.nlink() > 1 {
        return Err(RewriteError::HardLinks {
            path: path.to_path_buf(),
            links: meta.nlink(),
        });
    }
    let tmp = stage(&target, bytes).map_err(write)?;
    let staged = tmp.as_file().metadata().map_err(write)?;
    if (staged.uid(), staged.gid()) != (meta.uid(), meta.gid()) {
        std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid())).map_err(
            |_| RewriteError::Owner {
                path: path.to_path_buf(),
                uid: meta.uid(),
                gid: meta.gid(),
            },
        )?;
    }
    // After the chown, which clears the mode's set-id bits.
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(write)?;
    // Released when `current` is dropped, after the rename.
    current.lock().map_err(write)?;
    if let Some(was) = was {
        // By path, not through `current`: another rewriter may have renamed a file over it.
        let now = std::fs::read(&target).map_err(read)?;
        if now != was {
            return Err(RewriteError::Changed {
                path: path.to_path_buf(),
            });
        }
    }
    install(tmp, &target).map_err(write)
}

/// Temporary files in `dir` that a writer left behind: named as this module names them (or as
/// it named them before, `.NAME.PID.N.tmp`), and either the process of that PID is gone or the
/// file is older than [`STALE_AFTER`]. Sorted; empty if `dir` cannot be read. A caller may
/// remove them: no writer will come back for them.
pub fn stale_temporaries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let now = SystemTime::now();
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(temporary_owner) else {
                return false;
            };
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_AFTER);
            old || !process_alive(pid)
        })
        .map(|entry| entry.path())
        .collect();
    out.sort();
    out
}

/// The PID in a temporary file's name, if the name is one of ours.
fn temporary_owner(name: &str) -> Option<u32> {
    if let Some(rest) = name.strip_prefix(TEMP_PREFIX) {
        let rest = rest.strip_suffix(TEMP_SUFFIX)?;
        let (pid, random) = rest.split_once('-')?;
        if random.is_empty() {
            return None;
        }
        return pid.parse().ok();
    }
    // The names of earlier versions: `.NAME.PID.N.tmp`.
    let stem = name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let mut parts = stem.rsplitn(3, '.');
    let (n, pid, target) = (parts.next()?, parts.next()?, parts.next()?);
    if target.is_empty() || n.parse::<u64>().is_err() {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this PID exists. `/proc` answers without `unsafe` (`kill(pid, 0)`);
/// where there is no `/proc`, every process counts as alive and only age makes a file stale.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// A new temporary file beside `path` holding `bytes`, not yet flushed.
fn stage(path: &Path, bytes: &[u8]) -> io::Result<NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .suffix(TEMP_SUFFIX)
        // As `File::create` would: the umask decides, not tempfile's private 0600.
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(parent(path))?;
    tmp.write_all(bytes)?;
    Ok(tmp)
}

/// Flushes `tmp` and renames it over `path`.
fn install(tmp: NamedTempFile, path: &Path) -> io::Result<()> {
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_parent(path);
    Ok(())
}

/// Flushes the directory entry a rename made, so the new name survives a crash. Best effort:
/// some file systems refuse to sync a directory, and the data itself is already on disk.
fn sync_parent(path: &Path) {
    let _ = File::open(parent(path)).and_then(|d| d.sync_all());
}

/// The directory `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
