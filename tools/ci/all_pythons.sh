#!/usr/bin/env bash
# Run the test suite on every CPython 3.9+ installed under pyenv.
#
# For each interpreter, tools/ci/testenv.py (run by that interpreter) makes or
# reuses its environment of test peers, builds shanxi into it from a copy of
# the checkout (C warnings are errors unless SHANXI_STRICT=0) and runs
# `python -m pytest -q -p no:cacheprovider $PYTEST_ARGS` there, under this
# script's environment.  The environments live outside the checkout, in
# $SHANXI_CI_CACHE/venvs/pyenv-VERSION (default /var/cache/shanxi-ci): made
# again when the interpreter or the test extra changes, or with
# SHANXI_CI_FRESH=1.
#
# Fails if shanxi does not build, the test tools cannot be installed, or any
# test fails, on any of them.  A peer that cannot be installed is reported,
# not fatal.  One summary line per Python at the end.
#
# Usage: tools/ci/all_pythons.sh [VERSION-GLOB...]   e.g.  3.12* 3.13*
# Environment: PYENV_ROOT (default ~/.pyenv), SHANXI_STRICT (default 1),
#              SHANXI_CI_CACHE, SHANXI_CI_FRESH, PEER_TIMEOUT (testenv.py),
#              SKIP_PYTHONS="3.11 ..." versions (X.Y) to leave out (CI: the one
#              its main run already tested), PYTEST_ARGS extra pytest arguments.
set -uo pipefail
cd "$(dirname "$0")/../.."
versions_dir=${PYENV_ROOT:-$HOME/.pyenv}/versions
cache=${SHANXI_CI_CACHE:-/var/cache/shanxi-ci}/venvs
export SHANXI_STRICT=${SHANXI_STRICT:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/shanxi-all-pythons.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A copy of the tree to build from (what git tracks, and new files not ignored).
mkdir -p "$work/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/src"
# The source article beside the checkout, where the tests look for it.
[ -d ../shared ] && cp -rL ../shared "$work/shared"
read -r -a pytest_args <<<"${PYTEST_ARGS:-}"

patterns=("$@")
[ ${#patterns[@]} -gt 0 ] || patterns=("3.*")

summary=()
failed=0
started=$SECONDS

# Every match of the patterns, oldest version first, each once.
mapfile -t dirs < <(for pattern in "${patterns[@]}"; do
    for dir in "$versions_dir"/$pattern; do [ -d "$dir" ] && echo "$dir"; done
done | sort -u -V)

for dir in "${dirs[@]}"; do
    py=$dir/bin/python3
    [ -x "$py" ] || continue
    # CPython 3.9 or later only (pyenv also holds 2.7, 3.6-3.8, PyPy...).
    "$py" -c 'import platform, sys; sys.exit(not (platform.python_implementation() == "CPython" and sys.version_info >= (3, 9)))' 2>/dev/null || continue
    ver=$(basename "$dir")
    xy=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if [[ " ${SKIP_PYTHONS:-} " == *" $xy "* ]]; then
        echo "=== Python $ver: left out (SKIP_PYTHONS)"
        continue
    fi
    printf '\n=== Python %s (%s)\n' "$ver" "$py"
    "$py" tools/ci/testenv.py "$cache/pyenv-$ver" "$work/src" \
        "${pytest_args[@]+"${pytest_args[@]}"}" | tee "$work/$ver.out"
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
    line=$(sed -n 's/^RESULT //p' "$work/$ver.out" | tail -n 1)
    summary+=("${line:-FAIL  $ver (testenv.py printed no result)}")
    [ -n "$line" ] || failed=1
done

printf '\n=== CPython 3.9+ under %s (%ds in all)\n' "$versions_dir" $((SECONDS - started))
if [ ${#summary[@]} -eq 0 ]; then
    echo "no CPython 3.9+ found"
    exit 1
fi
printf '%s\n' "${summary[@]}"
exit $failed
