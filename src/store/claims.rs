//! What `replay` holds an entry's header to: the divergence it measures on the entry's
//! program, and the entry's own place (its `# rerun:` line).

use super::header::{Header, Key};
use crate::backend::BackendId;
use crate::files::Shown;
use crate::finding::{Difference, Divergence, Finding};
use std::path::{Component, Path};

/// Each header claim the measured divergence (of the entry's signature) contradicts, as
/// `FILE:LINE: ...`. A crash's text and a hang's time are how one run failed, not claims.
pub fn claim_mismatches(
    header: &Header,
    entry: &Finding,
    measured: &Divergence,
    path: &Path,
) -> Vec<String> {
    let claimed = &entry.divergence;
    let mut out = Vec::new();
    let mut differ = |key: Key, says: String, measured: String| {
        if says != measured {
            out.push(format!(
                "{}:{}: `# {}:` says `{says}` but replay measured `{measured}`",
                Shown(path),
                header.line(key),
                key.name()
            ));
        }
    };
    let legacy = header.get(Key::Line).is_none();
    let (line_key, op_key) = if legacy {
        (Key::Divergence, Key::Divergence)
    } else {
        (Key::Line, Key::Op)
    };
    differ(
        line_key,
        claimed.line.to_string(),
        measured.line.to_string(),
    );
    differ(op_key, claimed.op.to_string(), measured.op.to_string());
    if let (
        Difference::Field {
            field,
            oracle,
            other,
        },
        Difference::Field {
            field: m_field,
            oracle: m_oracle,
            other: m_other,
        },
    ) = (&claimed.difference, &measured.difference)
    {
        let keys = if legacy {
            [Key::Divergence; 3]
        } else {
            [Key::Field, Key::Oracle, Key::Other]
        };
        differ(keys[0], field.to_string(), m_field.to_string());
        differ(keys[1], oracle.to_string(), m_oracle.to_string());
        differ(keys[2], other.to_string(), m_other.to_string());
    }
    out
}

/// Why the `# rerun:` line does not rerun this entry, if it has one and it does not: it must be
/// `ticketdiff run --backend BACKEND DIR/NAME`, with the entry's backend, file name and the
/// name of the directory it is in (so `diff/NAME.tkt` for any checkout's `diff/`, and a store
/// moved or copied elsewhere under another directory name is told to update it).
pub fn rerun_mismatch(header: &Header, backend: BackendId, path: &Path) -> Option<String> {
    let at = |line: u32, m: String| format!("{}:{line}: {m}", Shown(path));
    // Optional (entries of the first format may have none): only what is there is a claim.
    let (line, rerun) = header.get(Key::Rerun)?;
    let wanted = crate::finding::rerun_command(backend, &own_rerun_path(path));
    let prefix = format!("ticketdiff run --backend {backend} ");
    let named = rerun.strip_prefix(&prefix).map(Path::new);
    let own = named.is_some_and(|p| {
        p.file_name() == path.file_name() && dir_name(p).is_some() && dir_name(p) == dir_name(path)
    });
    (!own).then(|| {
        at(
            line,
            format!("`# rerun:` does not rerun this entry: it should read `{wanted}`"),
        )
    })
}

/// `DIR/NAME` of an entry: the last directory's name and the file's.
fn own_rerun_path(path: &Path) -> std::path::PathBuf {
    let name = path.file_name().map(Path::new).unwrap_or(path);
    match dir_name(path) {
        Some(dir) => Path::new(&dir).join(name),
        None => name.to_path_buf(),
    }
}

/// The name of the directory `path` is in, resolving `.` and an empty parent against the
/// current directory.
fn dir_name(path: &Path) -> Option<std::ffi::OsString> {
    let parent = path.parent()?;
    let last_normal = |p: &Path| {
        p.components().rev().find_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            _ => None,
        })
    };
    let lexical = parent.components().next_back().and_then(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        _ => None,
    });
    lexical.or_else(|| {
        let dir = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        std::fs::canonicalize(dir)
            .ok()
            .as_deref()
            .and_then(last_normal)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(rerun: &str) -> Header {
        let text = format!("# rerun: {rerun}\nconnect\n");
        Header::read(Path::new("x"), &text).unwrap()
    }

    #[test]
    fn a_rerun_line_must_name_the_entry_in_its_own_directory() {
        let path = Path::new("/src/checkout/diff/a.tkt");
        let ok = "ticketdiff run --backend rustls diff/a.tkt";
        assert_eq!(rerun_mismatch(&header(ok), BackendId::Rustls, path), None);
        let abs = "ticketdiff run --backend rustls /src/checkout/diff/a.tkt";
        assert_eq!(rerun_mismatch(&header(abs), BackendId::Rustls, path), None);
        for bad in [
            "ticketdiff run --backend rustls /tmp/rel-v2/a.tkt",
            "ticketdiff run --backend rustls diff/b.tkt",
            "ticketdiff run --backend native diff/a.tkt",
            "ticketdiff run --backend rustls a.tkt",
            "ticketdiff run --backend rustls diff/a.tkt --extra",
        ] {
            let e = rerun_mismatch(&header(bad), BackendId::Rustls, path).unwrap();
            assert!(
                e.starts_with("/src/checkout/diff/a.tkt:1: `# rerun:` does not rerun")
                    && e.ends_with("`ticketdiff run --backend rustls diff/a.tkt`"),
                "{bad}: {e}"
            );
        }
    }
}
