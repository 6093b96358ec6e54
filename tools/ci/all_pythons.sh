#!/usr/bin/env bash
# Run the test suite on every CPython 3.9+ installed under pyenv.
#
# For each interpreter: a fresh virtual environment, `pip install .` from a
# copy of the checkout (so that several runs at once never share a build/ or
# egg-info folder; the C extension built with warnings as errors unless
# SHANXI_STRICT=0, and the build log must show -Werror), then the
# test extra: pytest and hypothesis must install; the optional peers (pandas,
# pyarrow, polars, duckdb) are installed where this Python has them and
# otherwise left out -- the tests that need one skip themselves.  Then
# `python -m pytest -q -p no:cacheprovider $PYTEST_ARGS` from the checkout,
# under this script's environment (SHANXI_SLOW=1 and the like pass through).
#
# Fails if shanxi does not build, the test tools cannot be installed, or any
# test fails, on any of them.  A peer that cannot be installed is reported,
# not fatal.  One summary line per Python at the end.
#
# Usage: tools/ci/all_pythons.sh [VERSION-GLOB...]   e.g.  3.12* 3.13*
# Environment: PYENV_ROOT (default ~/.pyenv), SHANXI_STRICT (default 1),
#              KEEP_VENVS=1 to keep the environments (their folder is printed),
#              PEER_TIMEOUT seconds per optional peer's install (default 180),
#              SKIP_PYTHONS="3.11 ..." versions (X.Y) to leave out (CI: the one
#              its main run already tested), PYTEST_ARGS extra pytest arguments.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
versions_dir=${PYENV_ROOT:-$HOME/.pyenv}/versions
export SHANXI_STRICT=${SHANXI_STRICT:-1}
export PIP_DISABLE_PIP_VERSION_CHECK=1
work=$(mktemp -d "${TMPDIR:-/tmp}/shanxi-all-pythons.XXXXXX")
if [ "${KEEP_VENVS:-0}" = 1 ]; then
    echo "environments kept in $work"
else
    trap 'rm -rf "$work"' EXIT
fi

# A copy of the tree to build from (what git tracks, and new files not ignored).
mkdir -p "$work/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work/src"
read -r -a pytest_args <<<"${PYTEST_ARGS:-}"

patterns=("$@")
[ ${#patterns[@]} -gt 0 ] || patterns=("3.*")

# The test tools every run needs; any other requirement of the test extra is
# an optional peer.
required_tools="pytest hypothesis"

summary=()
failed=0
started=$(date +%s)

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
        venv=$work/$ver
        log=$work/$ver.log
        t0=$(date +%s)
        printf '\n=== Python %s (%s)\n' "$ver" "$py"

        result=""
        if ! "$py" -m venv "$venv" >>"$log" 2>&1; then
            result="FAIL (could not make a virtual environment)"
        fi
        vpy=$venv/bin/python

        if [ -z "$result" ] && ! "$vpy" -m pip install --verbose "$work/src" >"$log.build" 2>&1; then
            cat "$log.build" >>"$log"
            result="FAIL (shanxi did not build or install)"
        elif [ -z "$result" ] && [ "$SHANXI_STRICT" = 1 ] && ! grep -q -- '-Werror' "$log.build"; then
            cat "$log.build" >>"$log"
            result="FAIL (the C was not compiled with -Werror)"
        fi

        # The test extra's requirements, as this Python's pip sees them.
        peers_ok=() peers_missing=()
        if [ -z "$result" ]; then
            reqs=$("$vpy" - <<'EOF'
import importlib.metadata as md
from pip._vendor.packaging.requirements import Requirement
for r in md.requires("shanxi") or []:
    req = Requirement(r)
    # The test extra's, with their python_version markers applied.
    if req.marker is not None and req.marker.evaluate({"extra": "test"}):
        req.marker = None
        print(req)
EOF
            )
            tools=() peers=()
            while IFS= read -r req; do
                [ -n "$req" ] || continue
                name=$(printf '%s' "$req" | sed -E 's/^([A-Za-z0-9_.-]+).*/\1/' | tr 'A-Z_' 'a-z-')
                if [[ " $required_tools " == *" $name "* ]]; then
                    tools+=("$req")
                else
                    peers+=("$req")
                fi
            done <<<"$reqs"
            if [ ${#tools[@]} -eq 0 ]; then
                tools=(pytest hypothesis)
            fi
            if ! "$vpy" -m pip install --quiet "${tools[@]}" >>"$log" 2>&1; then
                result="FAIL (could not install ${tools[*]})"
            else
                # Each peer alone, from wheels, within a time limit: a peer
                # whose dependencies have no release for this Python can send
                # pip's resolver backtracking for hours (nbconvert on 3.9 in
                # December 2026); it is then reported missing, and the tests
                # that need it skip themselves.
                for req in "${peers[@]+"${peers[@]}"}"; do
                    if timeout "${PEER_TIMEOUT:-180}" "$vpy" -m pip install --quiet \
                        --only-binary=:all: "$req" >>"$log" 2>&1; then
                        peers_ok+=("$req")
                    else
                        peers_missing+=("$req")
                    fi
                done
            fi
        fi
        t1=$(date +%s)

        counts=""
        if [ -z "$result" ]; then
            # From the checkout, as the README says; the installed shanxi is
            # the one imported (the package's folder is shanxi_ext/).
            "$vpy" -m pytest -q -p no:cacheprovider "${pytest_args[@]+"${pytest_args[@]}"}" \
                >"$work/$ver.pytest" 2>&1
            rc=$?
            cat "$work/$ver.pytest" >>"$log"
            counts=$(grep -E '[0-9]+ (passed|failed|error)' "$work/$ver.pytest" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')
            if [ $rc -eq 0 ]; then
                result="PASS"
            elif [ $rc -eq 5 ]; then
                result="FAIL (no tests ran)"
            else
                result="FAIL (pytest exit $rc)"
            fi
        fi
        t2=$(date +%s)

        missing="none"
        [ ${#peers_missing[@]} -eq 0 ] || missing="${peers_missing[*]}"
        line=$(printf '%-5s %-8s %s | peers missing: %s | install %ds, tests %ds' \
            "${result%% *}" "$ver" "${counts:-${result#* }}" "$missing" $((t1 - t0)) $((t2 - t1)))
        summary+=("$line")
        echo "$line"
        if [ "$result" != PASS ]; then
            failed=1
            echo "--- last lines of the log for $ver:"
            tail -n 40 "$log"
        fi
done

printf '\n=== CPython 3.9+ under %s (%ds in all)\n' "$versions_dir" $(( $(date +%s) - started ))
if [ ${#summary[@]} -eq 0 ]; then
    echo "no CPython 3.9+ found"
    exit 1
fi
printf '%s\n' "${summary[@]}"
exit $failed
