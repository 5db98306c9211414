//! The folder where `serve` leaves what a client needs (CA certificate, client certificate and
//! key): private to the user, and removed when `serve` ends.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Who may read a file written to the folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Certificates: mode 0644.
    Public,
    /// Keys: mode 0600 from the moment the file exists.
    Private,
}

/// A new folder under the system temporary directory, removed on drop: on every way `serve`
/// returns, a stop by signal included.
pub struct TempFolder {
    path: PathBuf,
}

impl TempFolder {
    /// Creates `PREFIX-PID` (or `PREFIX-PID-N` when that exists) with mode 0700. A folder that
    /// already exists is never reused: someone else may own what is in it.
    pub fn create(prefix: &str) -> io::Result<Self> {
        let base = std::env::temp_dir();
        let pid = std::process::id();
        for n in 0..100u32 {
            let name = match n {
                0 => format!("{prefix}-{pid}"),
                n => format!("{prefix}-{pid}-{n}"),
            };
            let path = base.join(name);
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempFolder { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(with_path(&path, e)),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{}: 100 folders {prefix}-{pid}* exist", base.display()),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a new file `name`, created with the mode `access` gives (never widened, then
    /// narrowed: a key is not readable by others for an instant).
    pub fn write(&self, name: &str, bytes: &[u8], access: Access) -> io::Result<PathBuf> {
        let path = self.path.join(name);
        let mode = match access {
            Access::Public => 0o644,
            Access::Private => 0o600,
        };
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| with_path(&path, e))?;
        Ok(path)
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
