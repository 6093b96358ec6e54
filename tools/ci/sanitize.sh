#!/usr/bin/env bash
# The whole Python test suite against an AddressSanitizer + UndefinedBehavior-
# Sanitizer build of the extension (SHANXI_SANITIZE=1, gcc).
#
#   tools/ci/sanitize.sh [VENV [PYTEST ARGS...]]
#       VENV: the venv to make or reuse (default: a new one in a temp dir);
#       PYTEST ARGS: passed on (default: the whole suite)
#
# How, and why each setting:
# - The extension is built from a copy of the source tree: setuptools reuses
#   build/ when its objects look up to date, so building in the checkout after
#   a plain build would silently install the unsanitized module.
# - python itself is not instrumented, so the ASan and UBSan runtimes must be
#   loaded first: LD_PRELOAD of gcc's libasan.so and libubsan.so (the runtimes
#   the extension was linked against; found with gcc -print-file-name).
# - PYTHONMALLOC=malloc sends every Python allocation through malloc, so ASan
#   sees objects and buffers (pymalloc's arenas would hide overflows inside
#   them).
# - ASAN_OPTIONS: halt_on_error/abort_on_error stop at the first report.
#   detect_leaks=0: LeakSanitizer at exit reports memory that other code
#   never frees; here, numpy's import-time allocations (init_string_ufuncs,
#   init_promoter: 3 KB in 53 objects).  CPython is built without frame
#   pointers, so with LSan's fast unwinder those stacks stop at CPython's
#   allocator and cannot be told apart from a leak of ours; the slow unwinder
#   (fast_unwind_on_malloc=0) that shows them makes the suite ~7x slower.
#   Leaks of our code are checked where they can be attributed: the C unit
#   tests (make -C tests/c, LSan on), the fuzzers (LSan on), and
#   tools/ci/valgrind.sh (memcheck, filtered to frames in our code).
# - UBSAN_OPTIONS: halt_on_error with stack traces (the build also uses
#   -fno-sanitize-recover=all, so any UB report aborts).
# - Third-party extensions (numpy, pandas, pyarrow, polars, duckdb) run under
#   the preloaded runtime too, and need no option of their own: with ASan's
#   defaults (alloc_dealloc_mismatch, detect_odr_violation and the rest left
#   on) they import, exchange Arrow streams with shanxi and pass.  No test is
#   skipped or deselected here: a test that skips says so in pytest's
#   summary (-ra).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
venv=${1:-$tmp/venv}
[ $# -gt 0 ] && shift

libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
for lib in "$libasan" "$libubsan"; do
    # gcc prints the bare name back when it has no such library
    if [ ! -e "$lib" ]; then
        echo "sanitize.sh: gcc has no $lib (install gcc's libasan/libubsan: Debian package gcc)" >&2
        exit 2
    fi
done
libasan=$(readlink -f "$libasan")
libubsan=$(readlink -f "$libubsan")

echo "== sanitize: copy the source tree"
mkdir -p "$tmp/src"
git ls-files -z --cached --others --exclude-standard | (cd "$root" && xargs -0 cp --parents -t "$tmp/src")
# (CI's ccache, if any, hashes paths in the copy relative to it)
export CCACHE_BASEDIR=$tmp/src

echo "== sanitize: venv at $venv, build with SHANXI_SANITIZE=1 SHANXI_STRICT=1 (gcc)"
# A venv that is kept (CI's, under /var/cache) is used by one run at a time,
# and made anew when its interpreter is not this one.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
version=$("$python" -c 'import sys; print(sys.version)')
if [ "$("$venv/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null)" != "$version" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
"$venv/bin/python" -m pip uninstall --quiet --yes shanxi 2>/dev/null || true
if ! CC=gcc SHANXI_SANITIZE=1 SHANXI_STRICT=1 \
        "$venv/bin/python" -m pip install --quiet --no-compile "$tmp/src[test]" >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    exit 1
fi
# (the module cannot be imported to find it: it needs the preloaded runtime)
platlib=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
so=$(ls "$platlib"/shanxi/_shanxi*.so)
if ! readelf -d "$so" | grep -q 'NEEDED.*libasan'; then
    echo "sanitize.sh: $so is not linked against libasan: the build was not sanitized" >&2
    exit 1
fi
echo "   $so is linked against $(readelf -d "$so" | grep -o 'lib[a-z]*san[^]]*' | tr '\n' ' ')"

echo "== sanitize: pytest under ASan+UBSan (LD_PRELOAD, PYTHONMALLOC=malloc)"
# detect_leaks=0: see the header.  Nothing else departs from ASan's defaults.
export LD_PRELOAD="$libasan $libubsan"
export PYTHONMALLOC=malloc
# log_path: pytest captures file descriptor 2 and loses what was captured when
# the process aborts, so the reports go to files (one per process, the
# interpreters that tests spawn included), printed below.
mkdir -p "$tmp/reports"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:log_path=$tmp/reports/asan
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$tmp/reports/ubsan
# Tests that measure memory growth (RSS, pymalloc blocks, mallinfo) measure
# nothing here (ASan's quarantine keeps freed memory resident): they skip,
# visibly, when this is set.
export SHANXI_SANITIZED=1
# Tests that spawn a fresh interpreter inherit these, so they run sanitized too.
# -p no:cacheprovider: write nothing into the checkout.
set +e
"$venv/bin/python" -m pytest -p no:cacheprovider "$@" 2>&1 | tee "$tmp/pytest.log"
status=${PIPESTATUS[0]}
set -e
if [ -n "$(ls -A "$tmp/reports")" ]; then
    for report in "$tmp"/reports/*; do
        echo "--- $(basename "$report")" >&2
        cat "$report" >&2
    done
    echo "sanitize.sh: the sanitizer reports above" >&2
    exit 1
fi
if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$tmp/pytest.log"; then
    echo "sanitize.sh: a sanitizer report is above" >&2
    exit 1
fi
exit "$status"
