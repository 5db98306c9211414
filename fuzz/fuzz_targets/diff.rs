//! libFuzzer target: run one input differentially (OpenSSL oracle vs. `TICKETDIFF_BACKENDS`).
//! A valid `.tkt` text is taken as that program, anything else is decoded with `arbitrary`.
//! A new divergence signature is minimized, saved in `TICKETDIFF_DIFF_DIR` (default: `diff/`),
//! and then panics (libFuzzer reports a crash); known signatures return normally.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

/// The raw input bytes, unchanged. Its `Debug` (what `cargo fuzz fmt` and cargo fuzz's crash
/// report print) is the program the bytes decode to, as `.tkt` text ready for `ticketdiff run`.
struct Input(Vec<u8>);

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input(u.bytes(u.len())?.to_vec()))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input(u.take_rest().to_vec()))
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let program = ticketdiff::fuzz::target::decode(&self.0);
        writeln!(f, "# {} input bytes decode to this program:", self.0.len())?;
        write!(f, "{program}")
    }
}

fuzz_target!(|input: Input| {
    ticketdiff::fuzz::target::run_input(&input.0, "cargo fuzz");
});
