#!/usr/bin/env bash
# Builds the worker executable of a backend that runs in a worker process:
#   workers/build.sh openssl@worker   the OpenSSL this machine has (the system library)
#   workers/build.sh openssl-3.6      OpenSSL 3.6, built from source by openssl-src 300.x
#   workers/build.sh openssl-4.0      OpenSSL 4.0, built from source by openssl-src 400.x
#   workers/build.sh all              all of them
# Each goes to $TICKETDIFF_WORKER_DIR/<build>/release/ticketdiff-worker (default
# target/workers/), where ticketdiff looks for it. Building OpenSSL from source takes a few
# minutes on 2 cores; a second run only relinks what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
workers=${TICKETDIFF_WORKER_DIR:-$root/target/workers}
mkdir -p "$workers"

build() {
    local name=$1
    case "$name" in
        openssl@worker)
            cargo build --release --manifest-path workers/Cargo.toml \
                --target-dir "$workers/openssl-system"
            ;;
        openssl-3.6)
            cargo build --release --manifest-path workers/Cargo.toml --features vendored \
                --target-dir "$workers/openssl-3.6"
            ;;
        openssl-4.0)
            local prefix="$workers/openssl-4.0/openssl"
            if [ ! -f "$prefix/build/install/include/openssl/ssl.h" ]; then
                # openssl-src drives the build with `cc`, which reads what cargo gives a build
                # script; a helper binary sets it by hand.
                local triple
                triple=$(rustc -vV | sed -n 's/^host: //p')
                TARGET=$triple HOST=$triple OPT_LEVEL=3 DEBUG=false PROFILE=release \
                    cargo run --release --manifest-path workers/openssl-4.0-src/Cargo.toml \
                    --target-dir "$workers/openssl-4.0-src" -- "$prefix"
            fi
            OPENSSL_DIR="$prefix/build/install" OPENSSL_STATIC=1 \
                cargo build --release --manifest-path workers/Cargo.toml \
                --target-dir "$workers/openssl-4.0"
            ;;
        *)
            echo "workers/build.sh: no worker is called '$name' (openssl@worker, openssl-3.6, openssl-4.0, all)" >&2
            exit 2
            ;;
    esac
    echo "built $name: $workers/$(dir_of "$name")/release/ticketdiff-worker"
}

dir_of() {
    case "$1" in
        openssl@worker) echo openssl-system ;;
        *) echo "$1" ;;
    esac
}

if [ $# -eq 0 ]; then
    sed -n '2,9p' "$0" >&2
    exit 2
fi
for name in "$@"; do
    if [ "$name" = all ]; then
        for each in openssl@worker openssl-3.6 openssl-4.0; do build "$each"; done
    else
        build "$name"
    fi
done
