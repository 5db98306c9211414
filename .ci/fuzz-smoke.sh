#!/usr/bin/env bash
# Smoke test of the fuzz targets (fuzz/README.md): build the libFuzzer target `diff`
# (cargo fuzz, nightly, default sanitizer) and the honggfuzz target `diff` (cargo hfuzz), run
# each briefly from the seeds in corpus/, and fail on real problems only. The parser targets
# `store_entry` and `worker_protocol` run briefly too (libFuzzer), seeded from diff/.
#
# A target crashes by design when it finds a divergence whose signature is not known yet (it
# saves the minimized program first). The runs use a scratch TICKETDIFF_DIFF_DIR seeded with
# the repository's diff/ entries, so only signatures that diff/ does not have yet crash; such a
# crash is a finding, reported here, not a CI failure (as for `ticketdiff fuzz` in .ci/run).
# A failure is: a build failure, a sanitizer report, a timeout or out-of-memory, a crash or
# panic that is not a ticketdiff divergence, or a divergence of the `openssl` backend (the
# oracle compared with itself must always agree).
#
# Environment:
#   FUZZ_SMOKE_TIME=20           seconds of fuzzing per fuzzer (over restarts)
#   FUZZ_SMOKE_PARSER_TIME=10    seconds for each parser target (store_entry, worker_protocol:
#                                libFuzzer only; any crash of theirs is a failure)
#   FUZZ_SMOKE_ONLY=             `libfuzzer` or `honggfuzz` to run only one of them
#   FUZZ_SMOKE_FAIL_ON_NEW=0     1: also fail when a new divergence signature is found
#   FUZZ_SMOKE_KEEP=             a directory to copy new divergences and logs into (CI artifact)
#   FUZZ_SMOKE_KNOWN=diff        the saved divergences to pre-seed the scratch dir with ('' none)
#   FUZZ_SMOKE_PROFILE=dev       `dev`: the libFuzzer target unoptimized (cargo fuzz --dev; a
#                                cold build takes about 2.5 instead of 6-7 minutes here, fuzzing
#                                is ~3x slower); `release`: as the fuzz/README.md commands build
#                                it (reuses that build). honggfuzz always builds release (its dev
#                                build is no quicker).
#   TICKETDIFF_BACKENDS          passed through (default: all backends)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TERM_COLOR=never

budget=${FUZZ_SMOKE_TIME:-20}
only=${FUZZ_SMOKE_ONLY:-}
fail_on_new=${FUZZ_SMOKE_FAIL_ON_NEW:-0}
keep=${FUZZ_SMOKE_KEEP:-}
known_from=${FUZZ_SMOKE_KNOWN-diff}
profile=${FUZZ_SMOKE_PROFILE:-dev}
case "$profile" in
    dev) lf_flags=(--dev) ;;
    release) lf_flags=() ;;
    *) echo "fuzz-smoke: FUZZ_SMOKE_PROFILE must be dev or release, not '$profile'" >&2; exit 2 ;;
esac

step() { printf '\n--- fuzz-smoke: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
say() { printf 'fuzz-smoke: %s\n' "$*"; }
run() { printf '+ %s\n' "$*"; "$@"; }
problems=()
problem() { say "PROBLEM: $*"; problems+=("$*"); }
findings=()

started=$SECONDS
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# ---------------------------------------------------------------------------------------------
step "prerequisites"
need=()
for pkg in binutils-dev libunwind-dev libssl-dev pkg-config make; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    run $sudo apt-get update -qq
    run $sudo apt-get install -y -qq "${need[@]}"
else
    say "apt packages present: binutils-dev libunwind-dev libssl-dev pkg-config make"
fi

have_nightly=0
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    have_nightly=1
fi

if [ "$only" != honggfuzz ] && [ "$have_nightly" = 1 ]; then
    if cargo fuzz --version >/dev/null 2>&1; then
        say "cargo-fuzz present: $(cargo fuzz --version)"
    else
        run cargo install --locked cargo-fuzz
    fi
fi

if [ "$only" != libfuzzer ]; then
    # cargo-hfuzz builds the honggfuzz runtime the `honggfuzz` crate links against: keep the
    # installed command at the version fuzz/honggfuzz/Cargo.lock resolves.
    hf_version=$(awk '/^name = "honggfuzz"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
        fuzz/honggfuzz/Cargo.lock 2>/dev/null || true)
    installed=$(cargo install --list 2>/dev/null | awk '/^honggfuzz v/ { sub(/^v/, "", $2); sub(/:$/, "", $2); print $2 }')
    if [ -n "$installed" ] && { [ -z "$hf_version" ] || [ "$installed" = "$hf_version" ]; }; then
        say "honggfuzz (cargo hfuzz) present: $installed"
    elif [ -n "$hf_version" ]; then
        run cargo install --locked --force honggfuzz --version "$hf_version"
    else
        run cargo install --locked honggfuzz
    fi
fi

# Known signatures: the repository's saved divergences.
known="$scratch/diff"
mkdir -p "$known"
[ -z "$known_from" ] || cp "$known_from"/*.tkt "$known"/ 2>/dev/null || true
say "scratch TICKETDIFF_DIFF_DIR=$known, pre-seeded with $(find "$known" -name '*.tkt' | wc -l) known signatures from ${known_from:-nowhere}"
export TICKETDIFF_DIFF_DIR="$known"
# OpenSSL's own known leaks are suppressed (fuzz/lsan.supp says which and why); matching them
# needs the slow unwinder, since the system libssl has no frame pointers.
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
say "TICKETDIFF_BACKENDS=${TICKETDIFF_BACKENDS:-(all)}; ${budget}s per fuzzer; libFuzzer build profile $profile"

# Checks the log of a run: every panic must be a ticketdiff divergence and every announced
# signature must be saved. Prints the new signatures; records problems.
# usage: check_log LOG NAME
check_log() {
    local log=$1 name=$2 msg sig
    for pattern in 'ERROR: AddressSanitizer' 'ERROR: LeakSanitizer' 'ERROR: MemorySanitizer' \
        'ERROR: ThreadSanitizer' 'libFuzzer: timeout' 'libFuzzer: out-of-memory' \
        'runtime error:' 'stack overflow'; do
        if grep -q -- "$pattern" "$log"; then
            problem "$name: '$pattern' in the log"
        fi
    done
    # The line after "panicked at ...:" is the first line of the message.
    while IFS= read -r msg; do
        case "$msg" in
            "ticketdiff: new divergence "*)
                sig=${msg#ticketdiff: new divergence }
                if [ ! -f "$known/$sig.tkt" ]; then
                    problem "$name: divergence $sig announced but $known/$sig.tkt is missing"
                elif [[ "$sig" == openssl-* ]]; then
                    problem "$name: the openssl backend diverges from the oracle: $sig"
                else
                    say "$name: NEW divergence signature $sig"
                    findings+=("$sig")
                fi
                ;;
            *) problem "$name: a panic that is not a ticketdiff divergence: $msg" ;;
        esac
    done < <(grep -A1 -E "^thread '.*'( \([0-9]+\))? panicked at " "$log" \
        | grep -v -E "^thread '|^--$" | awk '!seen[$0]++' || true)
}

count() { grep -c -E -- "$1" "$2" || true; }

# ---------------------------------------------------------------------------------------------
lf_result="not run"
if [ "$only" = honggfuzz ]; then
    say "libFuzzer: skipped (FUZZ_SMOKE_ONLY=$only)"
elif [ "$have_nightly" = 0 ]; then
    say "libFuzzer: SKIPPED: no nightly toolchain (rustup toolchain list has no nightly;"
    say "  'rustup toolchain install nightly' enables it). The honggfuzz target still runs."
    lf_result="skipped (no nightly)"
else
    step "libFuzzer: build (cargo +nightly fuzz build, default sanitizer)"
    t0=$SECONDS
    if ! run cargo +nightly fuzz build --fuzz-dir fuzz "${lf_flags[@]}" diff; then
        problem "libFuzzer: build failed"
        lf_result="build failed"
    else
        say "libFuzzer: built in $((SECONDS - t0))s"
        step "libFuzzer: run ${budget}s from corpus/ (restarted after each new divergence)"
        lf_out="$scratch/libfuzzer-corpus"
        lf_art="$scratch/libfuzzer-artifacts/"
        mkdir -p "$lf_out" "$lf_art"
        deadline=$((SECONDS + budget))
        restarts=0
        lf_result="ok"
        while :; do
            left=$((deadline - SECONDS))
            [ "$left" -ge 3 ] || break
            log="$scratch/libfuzzer.$restarts.log"
            # New inputs go to the first directory (scratch); corpus/ is only read.
            set +e
            cargo +nightly fuzz run --fuzz-dir fuzz "${lf_flags[@]}" diff "$lf_out" corpus/ -- \
                -artifact_prefix="$lf_art" -dict=fuzz/diff.dict -max_len=4096 \
                -max_total_time="$left" -timeout=300 -rss_limit_mb=4096 >"$log" 2>&1
            code=$?
            set -e
            grep -E '^INFO: +[0-9]+ files found|^#[0-9]+[[:space:]]+(INITED|DONE)|^Done [0-9]+ runs' "$log" | sed 's/^/  /' || true
            before=${#problems[@]}
            check_log "$log" libFuzzer
            panics=$(count "^thread '.*'( \([0-9]+\))? panicked at " "$log")
            if [ "$code" -eq 0 ]; then
                break
            elif [ "${#problems[@]}" -gt "$before" ]; then
                lf_result="failed"
                break
            elif [ "$panics" -eq 1 ] && grep -q 'ERROR: libFuzzer: deadly signal' "$log"; then
                restarts=$((restarts + 1))
                if [ "$restarts" -ge 20 ]; then
                    say "libFuzzer: 20 new signatures; stopping the smoke run here"
                    break
                fi
                continue
            else
                tail -n 40 "$log"
                problem "libFuzzer: exited with code $code without a ticketdiff divergence (log above)"
                lf_result="failed"
                break
            fi
        done
        [ "$lf_result" = ok ] && lf_result="ok ($restarts restart(s) after new divergences)"
        [ -z "$keep" ] || { mkdir -p "$keep"; cp "$scratch"/libfuzzer.*.log "$keep"/ 2>/dev/null || true; }
    fi
fi

# ---------------------------------------------------------------------------------------------
# The parsers hostile bytes reach: no divergence to tell apart, so any crash is a failure.
parser_time=${FUZZ_SMOKE_PARSER_TIME:-10}
parser_result="not run"
if [ "$only" != honggfuzz ] && [ "$have_nightly" = 1 ]; then
    parser_result="ok"
    for target in store_entry worker_protocol; do
        step "libFuzzer: $target ${parser_time}s"
        dir="$scratch/parser-$target"
        mkdir -p "$dir"
        [ "$target" != store_entry ] || cp diff/*.tkt "$dir"/ 2>/dev/null || true
        log="$scratch/parser-$target.log"
        if run cargo +nightly fuzz run --fuzz-dir fuzz "${lf_flags[@]}" "$target" "$dir" -- \
            -artifact_prefix="$scratch/" -max_total_time="$parser_time" >"$log" 2>&1; then
            grep -E '^Done [0-9]+ runs' "$log" | sed 's/^/  /' || true
        else
            tail -n 40 "$log"
            problem "libFuzzer: $target failed (log above)"
            parser_result="failed"
        fi
        [ -z "$keep" ] || { mkdir -p "$keep"; cp "$log" "$keep"/; }
    done
fi

# ---------------------------------------------------------------------------------------------
hf_result="not run"
if [ "$only" = libfuzzer ]; then
    say "honggfuzz: skipped (FUZZ_SMOKE_ONLY=$only)"
else
    step "honggfuzz: build (cargo hfuzz build)"
    t0=$SECONDS
    if ! (cd fuzz/honggfuzz && run cargo hfuzz build); then
        problem "honggfuzz: build failed"
        hf_result="build failed"
    else
        say "honggfuzz: built in $((SECONDS - t0))s"
        step "honggfuzz: run ${budget}s from corpus/"
        log="$scratch/honggfuzz.log"
        mkdir -p "$scratch/honggfuzz-corpus"
        known_before=$(find "$known" -name '*.tkt' | wc -l)
        set +e
        (
            cd fuzz/honggfuzz &&
                HFUZZ_WORKSPACE="$scratch/hfuzz_workspace" \
                    HFUZZ_INPUT="$root/corpus" \
                    HFUZZ_RUN_ARGS="--output $scratch/honggfuzz-corpus --dict $root/fuzz/diff.dict -F 4096 -t 300 -n 2 --run_time $budget -v -Q" \
                    timeout $((budget + 600)) cargo hfuzz run diff
        ) >"$log" 2>&1
        code=$?
        set -e
        summary=$(grep -E '^Summary ' "$log" | tail -n 1 || true)
        say "honggfuzz: exit code $code; ${summary:-no summary line}"
        before=${#problems[@]}
        check_log "$log" honggfuzz
        crashes=$(sed -n 's/.*crashes_count:\([0-9]*\).*/\1/p' <<<"$summary")
        timeouts=$(sed -n 's/.*timeout_count:\([0-9]*\).*/\1/p' <<<"$summary")
        divergences=$(count '^ticketdiff: new divergence ' "$log")
        if [ "$code" -ne 0 ] || [ -z "$summary" ]; then
            tail -n 40 "$log"
            problem "honggfuzz: exited with code $code (log above)"
        fi
        # Each signature crashes in frames of its own, so honggfuzz keeps one crash file per
        # signature however often it is hit (two threads may hit a new one at once, and their
        # lines may interleave in the log): a crash file beyond the new signatures saved is a
        # crash that is no divergence.
        crash_files=$(find "$scratch/hfuzz_workspace" -type f -name 'SIG*' 2>/dev/null | wc -l)
        new_saved=$(( $(find "$known" -name '*.tkt' | wc -l) - known_before ))
        say "honggfuzz: $crashes crash(es), $crash_files crash file(s), $divergences divergence(s) announced, $new_saved new signature(s) saved"
        if [ -n "$crashes" ] && [ "$crashes" -gt "$divergences" ] && [ "$crash_files" -gt "$new_saved" ]; then
            problem "honggfuzz: $crashes crash(es) in $crash_files crash file(s), but only $divergences ticketdiff divergence(s) announced and $new_saved new signature(s) saved"
        fi
        if [ -n "$timeouts" ] && [ "$timeouts" -gt 0 ]; then
            problem "honggfuzz: $timeouts timeout(s)"
        fi
        if [ "${#problems[@]}" -gt "$before" ]; then hf_result="failed"; else hf_result="ok"; fi
        [ -z "$keep" ] || { mkdir -p "$keep"; cp "$log" "$keep"/; }
    fi
fi

# ---------------------------------------------------------------------------------------------
step "result"
say "libFuzzer: $lf_result"
say "parser targets: $parser_result"
say "honggfuzz: $hf_result"
if [ ${#findings[@]} -gt 0 ]; then
    say "new divergence signatures (not in diff/):"
    for sig in $(printf '%s\n' "${findings[@]}" | sort -u); do
        echo "  $sig"
        sed 's/^/    /' "$known/$sig.tkt"
        [ -z "$keep" ] || { mkdir -p "$keep"; cp "$known/$sig.tkt" "$keep"/; }
    done
    [ -z "$keep" ] || say "copied to $keep"
fi
say "took $((SECONDS - started))s"
if [ ${#problems[@]} -gt 0 ]; then
    say "FAILED:"
    printf '  %s\n' "${problems[@]}"
    exit 1
fi
if [ "$fail_on_new" = 1 ] && [ ${#findings[@]} -gt 0 ]; then
    say "FAILED: new divergence signatures and FUZZ_SMOKE_FAIL_ON_NEW=1"
    exit 1
fi
say "OK"
