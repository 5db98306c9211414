//! Reading program files and fuzz inputs from disk: the one place that decides what may be read
//! and how much, so that a FIFO, a device or a huge file gets a clear error instead of a hang or
//! an exhausted memory, and every error names the file.

use super::escape::escape_bytes;
use super::{parse_named, ParseError, Program};
use std::fmt;
use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The most bytes a program file may hold: 1 MiB.
///
/// A program has at most 1,000 ops. Its longest op line, blessed, is about 300 bytes (a version 2
/// `connect` naming every suite, group and flag is about 150; the `# expect` annotation with
/// every field at its widest, `u64::MAX` counts, another 130), so 1,000 ops take at most about
/// 300 KB and a saved entry's header adds well under 1 KB. The rest leaves room for comments and
/// blank lines, which the op limit does not count, while keeping a stray `ticketdiff run
/// big.log` to a bounded read.
pub const MAX_PROGRAM_FILE_BYTES: u64 = 1 << 20;

/// The most bytes a raw fuzz input may hold. `ticketdiff decode` and the fuzz targets read an
/// input as program text first, so any program file must fit: the same limit. (The byte form
/// needs far less: a generated program has at most 64 ops of a few bytes each.)
pub const MAX_FUZZ_INPUT_BYTES: u64 = MAX_PROGRAM_FILE_BYTES;

/// The most bytes `ticketdiff report --hits FILE` reads: a `fuzz --json` summary holds a row
/// per signature with its program (at most a program file each), and a store of a few dozen
/// signatures takes well under a megabyte.
pub const MAX_HITS_FILE_BYTES: u64 = 64 << 20;

/// A program file as read from disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramFile {
    pub path: PathBuf,
    /// The whole text, comments and all (`# expect` annotations, a saved entry's header).
    pub text: String,
    pub program: Program,
}

/// What was being read, for the size error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    ProgramFile,
    FuzzInput,
    HitsFile,
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputKind::ProgramFile => "a program file",
            InputKind::FuzzInput => "a fuzz input",
            InputKind::HitsFile => "a hits file",
        })
    }
}

/// What a path named instead of a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialFile {
    Directory,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
    Other,
}

impl SpecialFile {
    fn of(kind: FileType) -> Option<SpecialFile> {
        if kind.is_file() {
            return None;
        }
        Some(if kind.is_dir() {
            SpecialFile::Directory
        } else if kind.is_fifo() {
            SpecialFile::Fifo
        } else if kind.is_char_device() {
            SpecialFile::CharDevice
        } else if kind.is_block_device() {
            SpecialFile::BlockDevice
        } else if kind.is_socket() {
            SpecialFile::Socket
        } else {
            SpecialFile::Other
        })
    }
}

impl fmt::Display for SpecialFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SpecialFile::Directory => "a directory",
            SpecialFile::Fifo => "a FIFO",
            SpecialFile::CharDevice => "a character device",
            SpecialFile::BlockDevice => "a block device",
            SpecialFile::Socket => "a socket",
            SpecialFile::Other => "not a regular file",
        })
    }
}

/// Why a file could not be loaded. `Display` starts with the file's name (and `:line:column`
/// where there is a position), as every error of the command line does.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{name}: cannot read: {source}")]
    Io {
        name: String,
        source: std::io::Error,
    },
    #[error("{name}: is {found}; only regular files are read")]
    NotRegular { name: String, found: SpecialFile },
    #[error("{name}: too large: {kind} holds at most {limit} bytes")]
    TooLarge {
        name: String,
        kind: InputKind,
        limit: u64,
    },
    /// `found` is the offending bytes as `\xNN` escapes.
    #[error("{name}:{line}:{column}: the file is not valid UTF-8 (found {found})")]
    NotUtf8 {
        name: String,
        line: u32,
        column: u32,
        found: String,
    },
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl LoadError {
    /// The name of the file the error is about.
    pub fn file(&self) -> &str {
        match self {
            LoadError::Io { name, .. }
            | LoadError::NotRegular { name, .. }
            | LoadError::TooLarge { name, .. }
            | LoadError::NotUtf8 { name, .. } => name,
            LoadError::Parse(e) => &e.file,
        }
    }

    /// The 1-based line the error is on, if it is about one line.
    pub fn line(&self) -> Option<u32> {
        match self {
            LoadError::NotUtf8 { line, .. } => Some(*line),
            LoadError::Parse(e) if e.line > 0 => Some(e.line),
            _ => None,
        }
    }
}

/// Reads and parses a program file; errors name it as `path` displays.
pub fn load(path: &Path) -> Result<ProgramFile, LoadError> {
    load_named(path, &path.display().to_string())
}

/// Reads and parses a program file; errors name it `name`.
pub fn load_named(path: &Path, name: &str) -> Result<ProgramFile, LoadError> {
    let text = read_text(path, name)?;
    let program = parse_named(&text, name)?;
    Ok(ProgramFile {
        path: path.to_path_buf(),
        text,
        program,
    })
}

/// Reads a program file's text without parsing it (for a caller that looks at the text first),
/// with the limits and errors of [`load`]; errors name it `name`.
pub fn read_text(path: &Path, name: &str) -> Result<String, LoadError> {
    let bytes = read_regular(path, name, InputKind::ProgramFile, MAX_PROGRAM_FILE_BYTES)?;
    decode_utf8(bytes, name)
}

/// Reads a hits file's text with the rules of [`load`]: a regular file (never a FIFO or a
/// device, which would block or never end) of at most [`MAX_HITS_FILE_BYTES`].
pub fn read_hits_text(path: &Path, name: &str) -> Result<String, LoadError> {
    let bytes = read_regular(path, name, InputKind::HitsFile, MAX_HITS_FILE_BYTES)?;
    decode_utf8(bytes, name)
}

/// Reads a raw fuzz input (any bytes) with the rules of [`load`]: a regular file of at most
/// [`MAX_FUZZ_INPUT_BYTES`].
pub fn read_fuzz_input(path: &Path) -> Result<Vec<u8>, LoadError> {
    let name = path.display().to_string();
    read_regular(path, &name, InputKind::FuzzInput, MAX_FUZZ_INPUT_BYTES)
}

/// The bytes of a regular file of at most `limit` bytes.
///
/// The path is checked before it is opened, so a device is never opened (opening some has
/// effects of its own), and the opened handle is checked again, since the path may have been
/// replaced in between. The open itself cannot block: `O_NONBLOCK` makes opening a FIFO that has
/// no writer return at once, and `O_NOCTTY` keeps a terminal from becoming ours. At most
/// `limit + 1` bytes are read, so a file that grows, or lies about its size as `/proc` files
/// do, still costs a bounded read.
fn read_regular(
    path: &Path,
    name: &str,
    kind: InputKind,
    limit: u64,
) -> Result<Vec<u8>, LoadError> {
    let io = |source| LoadError::Io {
        name: name.to_string(),
        source,
    };
    let not_regular = |found| LoadError::NotRegular {
        name: name.to_string(),
        found,
    };
    let too_large = || LoadError::TooLarge {
        name: name.to_string(),
        kind,
        limit,
    };
    let before = std::fs::metadata(path).map_err(io)?;
    if let Some(found) = SpecialFile::of(before.file_type()) {
        return Err(not_regular(found));
    }
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if let Some(found) = SpecialFile::of(meta.file_type()) {
        return Err(not_regular(found));
    }
    if meta.len() > limit {
        return Err(too_large());
    }
    // Regular files ignore O_NONBLOCK: reads below wait for the disk as usual.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The text, or an error at the line and (character) column of the first bad byte.
fn decode_utf8(bytes: Vec<u8>, name: &str) -> Result<String, LoadError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let valid = &bytes[..e.utf8_error().valid_up_to()];
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let newlines = valid[..line_start].iter().filter(|&&b| b == b'\n').count();
        // `valid` is UTF-8 up to the error, so this prefix of the line decodes.
        let before = std::str::from_utf8(&valid[line_start..]).map_or(0, |s| s.chars().count());
        let bad_len = e
            .utf8_error()
            .error_len()
            .unwrap_or(bytes.len() - valid.len());
        LoadError::NotUtf8 {
            name: name.to_string(),
            line: u32::try_from(newlines + 1).unwrap_or(u32::MAX),
            column: u32::try_from(before + 1).unwrap_or(u32::MAX),
            found: escape_bytes(&bytes[valid.len()..valid.len() + bad_len]),
        }
    })
}
