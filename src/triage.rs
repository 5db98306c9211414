//! What happens to a divergence once a fuzzer has seen it, the same for `ticketdiff fuzz`, the
//! libFuzzer target and the honggfuzz target: a known signature is only counted; a new one is
//! minimized and saved as a [`Finding`].

use crate::finding::{Finding, Found, Signature, Versions};
use crate::minimize::{minimize_divergence, Kept};
use crate::program::Program;
use crate::runner::{Results, Runner};
use crate::store::{self, Saved, StoreError};
use std::path::Path;

/// Where new findings go.
pub struct Destination<'a> {
    /// The store.
    pub dir: &'a Path,
    /// Whether to save there (a packed fuzz target only reads its store).
    pub save: bool,
    /// The finder, for the entry's `# found by:`.
    pub found_by: &'a str,
}

/// A signature not known before, minimized.
pub struct NewFinding {
    /// What is kept; with [`Kept::Nothing`], the divergence as first seen, on its program.
    pub finding: Finding,
    /// What saving did; `None` when nothing was to be saved.
    pub saved: Option<Result<Saved, StoreError>>,
    pub kept: Kept,
}

/// Triage of every divergence in `results` (a run of `program` on `runner`): `claim` says
/// whether a signature is new (and records it as known from then on, so each is minimized
/// once); a new one is minimized on the oracle and its backend, then saved if a rerun of the
/// program to save gave it again ([`Kept`]).
pub fn triage(
    runner: &mut Runner,
    program: &Program,
    results: &Results,
    mut claim: impl FnMut(Signature) -> bool,
    to: &Destination<'_>,
) -> Vec<NewFinding> {
    let mut out = Vec::new();
    for (r, d) in results.divergences() {
        if !claim(d.signature) {
            continue;
        }
        let remeasured = minimize_divergence(runner, program, d);
        let kept = remeasured.kept();
        let (small, divergence) = match remeasured.entry() {
            Some((p, d)) => (p.clone(), d.clone()),
            None => (program.clone(), d.clone()),
        };
        let mut finding = Finding {
            divergence,
            program: small,
            versions: Versions {
                oracle_backend: runner.oracle_id(),
                oracle: results.oracle.version.to_string(),
                backend: r.version.to_string(),
            },
            found: Some(Found::now(to.found_by)),
            hits: None,
            file: None,
            new: Some(true),
        };
        let save = to.save && !matches!(kept, Kept::Nothing { .. });
        let saved = save.then(|| store::save(to.dir, &finding));
        if matches!(saved, Some(Ok(_))) {
            finding.file = Some(store::entry_path(to.dir, &finding.signature()));
        }
        out.push(NewFinding {
            finding,
            saved,
            kept,
        });
    }
    out
}
