//! Which `.tkt` files a path names. Reading one is [`crate::program::load`]'s.

use std::path::{Path, PathBuf};

/// Why a listed path gives no files.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("{}: no such file or directory", Shown(.0))]
    Missing(PathBuf),
    #[error("{}: cannot read directory: {source}", Shown(path))]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The `.tkt` names directly in `dir`, sorted: every kind of file, so that a reader reports one
/// that is not a regular file (a link, a FIFO, a directory) instead of skipping it.
pub fn tkt_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tkt"))
        .collect();
    found.sort();
    Ok(found)
}

/// Whether `path` is itself a symbolic link. A store's entries are never read through one: a
/// link could make the store show a file from anywhere (its first line in an error).
pub fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The `.tkt` files named by `paths`: files as given, directories' `.tkt` names sorted.
/// A missing path is an error; an empty directory is not.
pub fn tkt_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FilesError> {
    Ok(tkt_files_listed(paths)?
        .into_iter()
        .map(|(p, _)| p)
        .collect())
}

/// [`tkt_files`], each with whether it was found in a directory (a store's entry, so never
/// read through a link) rather than named.
pub fn tkt_files_listed(paths: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>, FilesError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = tkt_files_in(path).map_err(|source| FilesError::ReadDir {
                path: path.clone(),
                source,
            })?;
            files.extend(found.into_iter().map(|p| (p, true)));
        } else if path.exists() {
            files.push((path.clone(), false));
        } else {
            return Err(FilesError::Missing(path.clone()));
        }
    }
    Ok(files)
}

/// A path as messages show it: undecodable bytes as `\xNN`, control and invisible characters
/// as Rust escapes (`Path::display` would show U+FFFD, hiding which byte it was).
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a>(pub &'a Path);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::os::unix::ffi::OsStrExt as _;
        for chunk in self.0.as_os_str().as_bytes().utf8_chunks() {
            write!(f, "{}", crate::program::Escaped(chunk.valid()))?;
            f.write_str(&crate::program::escape_bytes(chunk.invalid()))?;
        }
        Ok(())
    }
}
