#!/usr/bin/env bash
# Runs the `diff` cargo-fuzz target with libFuzzer on all cores for SECONDS, then sorts out what
# it found. Used by the nightly workflow and the pull-request smoke run; runs the same locally.
#
#   .ci/libfuzzer.sh SECONDS [WORKDIR]      (WORKDIR default: fuzz-work)
#
# Environment: JOBS (default: nproc), CENSUS_SECS (default 60: a `ticketdiff fuzz` run after
# libFuzzer that counts hits per signature; 0 skips it), CARGO_FUZZ (default: `cargo +nightly fuzz`, or `cargo fuzz`
# when nightly is the default toolchain), TICKETDIFF_BACKENDS (passed to the target).
#
# WORKDIR afterwards:
#   diff/         the repository's diff/ plus what this run saved (the target minimizes and saves
#                 each new signature itself, TICKETDIFF_DIFF_DIR points here)
#   new/          entries whose signature is not in the repository's diff/ (copy them to diff/)
#   improved/     shorter reproducers of signatures already in diff/
#   corpus/       the libFuzzer corpus (keep it between runs; seeded from corpus/ as well)
#   artifacts/    libFuzzer crash/timeout/oom inputs
#   problems/     artifacts that still fail once their divergence is known: crashes that are not
#                 divergences (bugs in ticketdiff), timeouts, out-of-memory
#   hits.json     the census summary (`ticketdiff fuzz --json`)
#   summary.md    `ticketdiff report` of diff/ against the repository's diff/ (appended to
#                 $GITHUB_STEP_SUMMARY when set), plus the run's numbers
#   fuzz.log      libFuzzer's output
#
# Exit: 0 nothing new, 1 a new signature (or a problem input), 2 the fuzzer could not run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)

secs="${1:?usage: .ci/libfuzzer.sh SECONDS [WORKDIR]}"
work="${2:-fuzz-work}"
jobs="${JOBS:-$(nproc)}"
if [ -z "${CARGO_FUZZ:-}" ]; then
    if rustc --version | grep -q nightly; then CARGO_FUZZ="cargo fuzz"; else CARGO_FUZZ="cargo +nightly fuzz"; fi
fi
read -r -a cargo_fuzz <<<"$CARGO_FUZZ"
# OpenSSL's own known leaks, suppressed by name (fuzz/lsan.supp); the slow unwinder sees them.
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
mkdir -p "$work"
work=$(cd "$work" && pwd)
mkdir -p "$work/diff" "$work/corpus" "$work/artifacts"
rm -rf "$work/new" "$work/improved" "$work/problems"
mkdir -p "$work/new" "$work/improved" "$work/problems"
cp diff/*.tkt "$work/diff/" 2>/dev/null || true

echo "=== building ticketdiff and the diff target"
cargo build --release --quiet || exit 2
"${cargo_fuzz[@]}" build -O diff || exit 2
target_bin="$root/fuzz/target/x86_64-unknown-linux-gnu/release/diff"
ticketdiff="$root/target/release/ticketdiff"

dict=()
[ -f fuzz/diff.dict ] && dict=(-dict="$root/fuzz/diff.dict")
echo "=== libFuzzer: $secs s on $jobs processes, saving to $work/diff"
start=$(date +%s)
TICKETDIFF_DIFF_DIR="$work/diff" "${cargo_fuzz[@]}" run -O diff "$work/corpus" "$root/corpus" -- \
    -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$secs" -timeout=60 -rss_limit_mb=4096 "${dict[@]}" \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 >"$work/fuzz.log" 2>&1
fuzz_rc=$?
elapsed=$(($(date +%s) - start))
tail -n 5 "$work/fuzz.log"
# libFuzzer reports crashes it ignored through its exit code too; only a run that never got
# going is an error.
if ! grep -q -E '^INFO: (fuzzed for|exiting:)|^Done [0-9]+ runs|^#[0-9]+.*(pulse|NEW|REDUCE|INITED)' "$work/fuzz.log"; then
    echo "libFuzzer did not run (exit $fuzz_rc); see $work/fuzz.log"
    exit 2
fi

# libFuzzer does not count how often a known signature shows up; a short run of the built-in
# fuzzer does, and may find more (saved in the same place).
census="${CENSUS_SECS:-60}"
hits=()
if [ "$census" -gt 0 ]; then
    echo "=== hit census: ticketdiff fuzz, $census s"
    "$ticketdiff" fuzz --time "$census" --jobs "$jobs" --out "$work/diff" --json >"$work/hits.json"
    if [ $? -le 1 ]; then hits=(--hits "$work/hits.json"); fi
fi

echo "=== sorting out saved divergences"
for f in "$work"/diff/*.tkt; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    if [ ! -e "diff/$name" ]; then
        cp "$f" "$work/new/"
    elif ! cmp -s "$f" "diff/$name"; then
        cp "$f" "$work/improved/"
    fi
done
new=$(find "$work/new" -name '*.tkt' | wc -l)
improved=$(find "$work/improved" -name '*.tkt' | wc -l)
replay_ok=1
if [ "$new" -gt 0 ] || [ "$improved" -gt 0 ]; then
    # Each saved entry must reproduce its signature outside the fuzzer too.
    "$ticketdiff" replay "$work/new" "$work/improved" || replay_ok=0
fi

# An artifact whose divergence is now in $work/diff runs clean; one that still fails is a crash
# that is not a divergence, a timeout or an out-of-memory.
for a in "$work"/artifacts/*; do
    [ -f "$a" ] || continue
    if ! TICKETDIFF_DIFF_DIR="$work/diff" timeout 120 "$target_bin" -rss_limit_mb=4096 "$a" >"$a.rerun.log" 2>&1; then
        cp "$a" "$a.rerun.log" "$work/problems/"
    fi
    rm -f "$a.rerun.log"
done
problems=$(find "$work/problems" -type f ! -name '*.rerun.log' | wc -l)
corpus_size=$(find "$work/corpus" -type f | wc -l)

{
    "$ticketdiff" report "$work/diff" --baseline diff "${hits[@]}"
    echo
    if [ "${#hits[@]}" -gt 0 ]; then
        echo "Hits: programs that showed each signature in a $census s \`ticketdiff fuzz\` census after the libFuzzer run."
    fi
    echo "libFuzzer ran $elapsed s on $jobs processes; corpus: $corpus_size inputs;" \
        "new signatures: $new; shorter reproducers: $improved; problem inputs: $problems."
    if [ "$problems" -gt 0 ]; then
        echo
        echo "Inputs that fail for another reason than a divergence (in \`problems/\`):"
        for p in "$work"/problems/*.rerun.log; do
            echo "- \`$(basename "$p" .rerun.log)\`: $(grep -m1 -E 'ERROR|panicked|timeout|out-of-memory' "$p" | cut -c1-200)"
        done
    fi
    if [ "$new" -gt 0 ]; then
        echo
        echo "To keep the new signatures: copy \`new/*.tkt\` into \`diff/\` and commit them."
    fi
} >"$work/summary.md"
cat "$work/summary.md"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$work/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi

if [ "$new" -gt 0 ] || [ "$problems" -gt 0 ] || [ "$replay_ok" -eq 0 ]; then
    exit 1
fi
exit 0
