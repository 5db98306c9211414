//! honggfuzz target: run one input differentially (OpenSSL oracle vs. `TICKETDIFF_BACKENDS`).
//! A valid `.tkt` text is taken as that program, anything else is decoded with `arbitrary`.
//! A new divergence signature is minimized, saved in `TICKETDIFF_DIFF_DIR` (default: `diff/`),
//! and then the target prints the reproducer and aborts from a function specific to the
//! signature, so honggfuzz (which groups crashes by the top stack frames) keeps one crash per
//! signature. Known signatures return normally.

fn main() {
    std::env::set_var("TICKETDIFF_ABORT_ON_NEW", "1");
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            ticketdiff::fuzz::target::run_input(data, "honggfuzz");
        });
    }
}
