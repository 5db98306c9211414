//! What stopping a backend at its first divergence saves: the same programs run by the runner
//! to the end (`run`, as `ticketdiff run` and replay need) and up to each backend's first
//! divergence (what the fuzzers need), alternating in one run.
//!
//! `cargo bench --bench runner`: the programs are the corpus and programs drawn as
//! `ticketdiff fuzz` draws its random ones, on the fuzzer's default backends.

use arbitrary::{Arbitrary, Unstructured};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::PathBuf;
use ticketdiff::backend::BackendId;
use ticketdiff::fuzz::rng::Rng;
use ticketdiff::fuzz::seeds::load_seeds;
use ticketdiff::program::{check_bounds, Program};
use ticketdiff::runner::{Extent, Runner};

fn programs() -> Vec<Program> {
    let corpus = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus"));
    let mut out = load_seeds(&[corpus]).unwrap();
    let mut rng = Rng::new(1);
    while out.len() < 400 {
        let len = 8 + rng.below(256);
        let bytes = rng.bytes(len);
        let p = Program::arbitrary(&mut Unstructured::new(&bytes)).unwrap_or_default();
        if !p.is_empty() && check_bounds(&p).is_ok() {
            out.push(p);
        }
    }
    out
}

fn extents(c: &mut Criterion) {
    let programs = programs();
    let mut runner = Runner::new(&BackendId::DEFAULT).unwrap();
    let mut group = c.benchmark_group("runner");
    group.sample_size(10);
    for (name, extent) in [
        ("whole", Extent::Whole),
        ("to_divergence", Extent::ToDivergence),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                for p in &programs {
                    black_box(runner.run_to(p, extent));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, extents);
criterion_main!(benches);
