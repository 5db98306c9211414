//! Which `.tkt` files a path names. Reading one is [`crate::program::load`]'s.

use std::path::{Path, PathBuf};

/// Why a listed path gives no files.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("{}: no such file or directory", .0.display())]
    Missing(PathBuf),
    #[error("{}: cannot read directory: {source}", path.display())]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The `.tkt` files directly in `dir`, sorted by name.
pub fn tkt_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tkt") && p.is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// The `.tkt` files named by `paths`: files as given, directories' `.tkt` files sorted by name.
/// A missing path is an error; an empty directory is not.
pub fn tkt_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FilesError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = tkt_files_in(path).map_err(|source| FilesError::ReadDir {
                path: path.clone(),
                source,
            })?;
            files.extend(found);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(FilesError::Missing(path.clone()));
        }
    }
    Ok(files)
}
