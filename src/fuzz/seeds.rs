//! The programs a fuzz run starts from: `.tkt` files, and the inputs the coverage-guided
//! engines keep (libFuzzer's corpus folder, `fuzz/corpus/diff` for cargo-fuzz; honggfuzz's),
//! decoded as the `diff` target decodes them, so that the engines feed each other.

use super::target::decode;
use crate::files::FilesError;
use crate::program::{load, LoadError, Program};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Why the seeds cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedsError {
    #[error(transparent)]
    Files(#[from] FilesError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a file in a seed folder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A program's text: a broken one is an error naming its line.
    Program,
    /// An engine's input: whatever its bytes decode to, as the fuzz targets decode them.
    FuzzerInput,
    /// Something else kept beside them (a README, `.gitignore`): not a seed.
    Other,
}

fn is_sha1(name: &str) -> bool {
    name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// By name alone: libFuzzer names an input by the SHA-1 of its bytes (its artifacts as
/// `crash-SHA1`, ...), honggfuzz names a corpus input `….honggfuzz.cov` and a crash `….fuzz`.
fn kind(path: &Path) -> Kind {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Kind::Other;
    };
    if name.ends_with(".tkt") {
        return Kind::Program;
    }
    let artifact = ["crash-", "leak-", "timeout-", "oom-", "slow-unit-"]
        .iter()
        .find_map(|p| name.strip_prefix(p));
    if is_sha1(name)
        || artifact.is_some_and(is_sha1)
        || name.ends_with(".honggfuzz.cov")
        || name.ends_with(".fuzz")
    {
        Kind::FuzzerInput
    } else {
        Kind::Other
    }
}

/// The regular files of `dir`, sorted by name (so runs with the same seed are the same).
fn files_in(dir: &Path) -> Result<Vec<PathBuf>, FilesError> {
    let read = |source| FilesError::ReadDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The seed programs of `paths`: a file named is a program; a folder's `.tkt` files are
/// programs and its fuzzer inputs are decoded (an input that decodes to nothing, or to a
/// program already there, adds nothing).
pub fn load_seeds(paths: &[PathBuf]) -> Result<Vec<Program>, SeedsError> {
    let mut programs = Vec::new();
    let mut decoded = HashSet::new();
    for path in paths {
        if !path.is_dir() {
            if !path.exists() {
                return Err(FilesError::Missing(path.clone()).into());
            }
            programs.push(load(path)?.program);
            continue;
        }
        for file in files_in(path)? {
            match kind(&file) {
                Kind::Program => programs.push(load(&file)?.program),
                Kind::FuzzerInput => {
                    let bytes = std::fs::read(&file).map_err(|source| SeedsError::Read {
                        path: file.clone(),
                        source,
                    })?;
                    let program = decode(&bytes);
                    if !program.is_empty() && decoded.insert(program.to_string()) {
                        programs.push(program);
                    }
                }
                Kind::Other => {}
            }
        }
    }
    Ok(programs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart_by_the_names_the_engines_give_them() {
        let sha1 = "0123456789abcdef0123456789abcdef01234567";
        for (name, want) in [
            ("x.tkt", Kind::Program),
            (sha1, Kind::FuzzerInput),
            (&format!("crash-{sha1}"), Kind::FuzzerInput),
            ("00ab.0000001a.honggfuzz.cov", Kind::FuzzerInput),
            ("SIGABRT.PC.7f.fuzz", Kind::FuzzerInput),
            ("README.md", Kind::Other),
            (&sha1[1..], Kind::Other),
        ] {
            assert_eq!(kind(Path::new(name)), want, "{name}");
        }
    }
}
