//! The store of saved divergences, `diff/`: one minimized program per signature.

use crate::replay::FileReport;
use crate::runner::Runner;
use std::path::Path;

/// The header line that marks a saved divergence.
pub const SIGNATURE_HEADER: &str = "# signature: ";

/// Whether a file's text is a saved divergence rather than a corpus program.
pub fn is_entry(text: &str) -> bool {
    text.lines().any(|l| l.starts_with(SIGNATURE_HEADER))
}

/// Checks that a saved divergence still reproduces its signature.
pub fn replay_entry(_runner: &mut Runner, path: &Path, _text: &str, report: &mut FileReport) {
    report.failures.push(format!(
        "{}: saved divergences are not replayed yet",
        path.display()
    ));
}
