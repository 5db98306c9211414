#!/bin/bash -eu
# Builds every cargo-fuzz target of ticketdiff into $OUT, for ClusterFuzzLite and OSS-Fuzz.
#
# The builder image sets SRC and OUT (and WORK, SANITIZER, CFLAGS, ...); outside it, set them
# yourself (see "Running at scale" in README.md). Optional:
#   TICKETDIFF_SRC      the checkout (default: $SRC/ticketdiff)
#   TICKETDIFF_OPENSSL  `vendored` (default: OpenSSL 3 built from source and linked statically,
#                       so a target runs on any runner image) or `system`
#   CARGO_FUZZ          how to call cargo-fuzz (default: `cargo fuzz`; `cargo +nightly fuzz`
#                       where nightly is not the default toolchain)
#   CARGO_BUILD_TARGET  the target triple cargo-fuzz builds for (default: x86_64-unknown-linux-gnu)
#
# For each target T it writes $OUT/T (the fuzzer), $OUT/T_seed_corpus.zip (every corpus/
# program; a valid .tkt input is run as that program) and $OUT/T.dict (fuzz/T.dict, if any).
# It also writes $OUT/ticketdiff-diff/, the known signatures (diff/): a target reads them from
# next to its executable, does not crash on them, and crashes (without saving) on a new one.
set -euo pipefail

: "${SRC:?SRC must be set}"
: "${OUT:?OUT must be set}"
project="${TICKETDIFF_SRC:-$SRC/ticketdiff}"
read -r -a cargo_fuzz <<<"${CARGO_FUZZ:-cargo fuzz}"
triple="${CARGO_BUILD_TARGET:-x86_64-unknown-linux-gnu}"

features=()
case "${TICKETDIFF_OPENSSL:-vendored}" in
    vendored) features=(--features ticketdiff/vendored) ;;
    system) ;;
    *)
        echo "build.sh: TICKETDIFF_OPENSSL must be vendored or system" >&2
        exit 2
        ;;
esac

cd "$project"
mkdir -p "$OUT"
mapfile -t targets < <("${cargo_fuzz[@]}" list)
if [ "${#targets[@]}" -eq 0 ]; then
    echo "build.sh: cargo fuzz list found no fuzz targets in $project/fuzz" >&2
    exit 1
fi
echo "build.sh: building ${targets[*]} (OpenSSL: ${TICKETDIFF_OPENSSL:-vendored})"
"${cargo_fuzz[@]}" build -O "${features[@]}"

seeds=(corpus/*.tkt)
for t in "${targets[@]}"; do
    cp "fuzz/target/$triple/release/$t" "$OUT/$t"
    rm -f "$OUT/${t}_seed_corpus.zip"
    zip -q -j "$OUT/${t}_seed_corpus.zip" "${seeds[@]}"
    if [ -f "fuzz/$t.dict" ]; then
        cp "fuzz/$t.dict" "$OUT/$t.dict"
    fi
done

rm -rf "$OUT/ticketdiff-diff"
mkdir -p "$OUT/ticketdiff-diff"
cp diff/*.tkt "$OUT/ticketdiff-diff/" 2>/dev/null || true

echo "build.sh: wrote ${targets[*]} to $OUT with ${#seeds[@]} seed programs and $(find "$OUT/ticketdiff-diff" -name '*.tkt' | wc -l) known signatures"
