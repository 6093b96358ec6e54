#!/usr/bin/env bash
# Memcheck (valgrind) over the C core's unit tests, and optionally the
# extension under the Python tests.
#
#   tools/ci/valgrind.sh                          # the C tests (what CI runs)
#   tools/ci/valgrind.sh --python [VENV [FILES...]]  # and then FILES under memcheck
#       VENV: a venv to install shanxi into (made if missing; default: a temp
#       one); FILES: the Python tests (default: tests/test_lookup.py
#       tests/test_load.py)
#   Environment: JOBS (default: the number of CPUs): C tests run at once.
#
# 1. The C unit tests built without sanitizers (make -C tests/c SAN=, in a
#    copy of the tree, so tests/c/build keeps its sanitized binaries), each:
#      valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all ./test_x
#    Any memory error or leaked block fails.  JOBS of them run at once.
#    Every test program in its plain build, and the chunked reader's and the
#    Arrow export's tests in their threads build (inputs parsed in two halves
#    from 64 bytes on, files read 16 bytes at a time).  The other variants
#    (nosimd, threads, the small limits) are the same code with other
#    defines; they run under ASan + UBSan in the C lane, and under memcheck
#    they would triple this step's time (the threads build of the group-key
#    tests alone takes 3 minutes here).
#
# 2. With --python: the Python tests against a plain build of the extension
#    (with -g, so frames name our files):
#      env -u SHANXI_SLOW -u SHANXI_SDIST PYTHONMALLOC=malloc valgrind --suppressions=/usr/lib/valgrind/python3.supp \
#          --leak-check=full --show-leak-kinds=definite --num-callers=40 \
#          --fullpath-after= --log-file=LOG python -m pytest FILES
#    python3.supp is CPython's Misc/valgrind-python.supp as Debian's python3
#    package installs it.  PYTHONMALLOC=malloc gives each object its own
#    malloc block, so valgrind sees object lifetimes (pymalloc's arenas would
#    hide them and raise false reports).  CPython, numpy, pandas and pyarrow
#    keep memory until exit and have their own valgrind noise, so the log is
#    filtered (tools/ci/valgrind_filter.py): it fails on any error record (an
#    invalid read or write, a use of uninitialised memory, a bad free) and any
#    definitely-lost block whose stack has a frame in our code (_shanxi*.so,
#    shanxi_ext/).  Everything else is counted and reported, not failed on.
#    CI leaves this out (ten minutes of memcheck): the binding is checked
#    under ASan + UBSan by the whole suite (tools/ci/sanitize.sh) and for
#    leaks by tests/test_reliability.py's leak loops in the main run.
#    What it leaves out was looked at with VALGRIND_TRACK_ORIGINS=1 (adds
#    --track-origins=yes; the run takes ~3x as long): the uninitialised values
#    all come from CPython 3.11's own int objects (_PyLong_New via
#    PyLong_FromString and int.from_bytes), the invalid reads are glibc's
#    AVX2 wmemcmp reading whole vectors inside unicode_compare, and the
#    definitely-lost blocks are numpy's import-time allocations
#    (init_string_ufuncs, InitOperators).
# Debian packages: valgrind (python3 for python3.supp).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
with_python=0
if [ "${1:-}" = --python ]; then
    with_python=1
    shift
fi
venv=${1:-$tmp/venv}
[ $# -gt 0 ] && shift
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/test_lookup.py tests/test_load.py)
supp=/usr/lib/valgrind/python3.supp
coresupp="$PWD/tools/ci/valgrind-core.supp" # what the core keeps until exit on purpose

command -v valgrind >/dev/null || { echo "valgrind.sh: apt-get install -y valgrind" >&2; exit 2; }
[ -f "$supp" ] || { echo "valgrind.sh: no $supp (Debian package python3)" >&2; exit 2; }

mkdir -p "$tmp/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tmp/src"
export CCACHE_BASEDIR=$tmp/src  # (CI's ccache, if any: paths relative to the copy)

jobs=${JOBS:-$(nproc)}
t0=$SECONDS
echo "== valgrind: C unit tests (make -C tests/c SAN=), $jobs at a time"
programs=(build/test_chunks_threads build/test_arrow_threads)
for c in "$tmp"/src/tests/c/test_*.c; do
    programs+=("build/$(basename "$c" .c)")
done
make -s -C "$tmp/src/tests/c" -j"$jobs" SAN= "${programs[@]}"
mkdir -p "$tmp/c-logs"
# Each program's report goes to its own log, printed when it fails.
# SHANXI_TEST_STRIDE: the tests that loop over many generated or corpus
# inputs take every 8th (tests/c/check.h): under memcheck the threads
# variant of test_chunks alone took 646 s of a 745 s step, while the ASan,
# TSan and plain builds of the C lane run every input.
export tmp coresupp SHANXI_TEST_STRIDE=8
# (Never the ThreadSanitizer build: TSan maps terabytes of shadow memory,
# which memcheck cannot run under; it runs in the C lane.)
printf '%s\0' "${programs[@]/#/$tmp/src/tests/c/}" | xargs -0 -P "$jobs" -I{} sh -c '
    name=$(basename "$1"); log=$tmp/c-logs/$name.log; t=$(date +%s)
    if (cd "$tmp/src/tests/c" && valgrind -q --error-exitcode=1 --leak-check=full \
            --suppressions="$coresupp" \
            --errors-for-leak-kinds=all --show-leak-kinds=all "$1") >"$log" 2>&1; then
        echo "-- $name ($(($(date +%s) - t))s): $(tail -n 1 "$log")"
    else
        echo "-- $name FAILED under memcheck:"; cat "$log"; exit 1
    fi' sh {} || { echo "valgrind.sh: a C test failed under memcheck" >&2; exit 1; }
echo "   (C tests: $((SECONDS - t0))s)"
[ "$with_python" = 1 ] || exit 0
t0=$SECONDS

echo "== valgrind: ${files[*]} (python under memcheck)"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
py=$venv/bin/python
"$py" -m pip install --quiet --upgrade pip
if ! CFLAGS="-g" "$py" -m pip install --quiet "$tmp/src[test]" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    exit 1
fi
log=$tmp/memcheck.log
set +e
origins=()
[ -n "${VALGRIND_TRACK_ORIGINS:-}" ] && origins=(--track-origins=yes)
env -u SHANXI_SLOW -u SHANXI_SDIST PYTHONMALLOC=malloc valgrind --suppressions="$supp" --leak-check=full --show-leak-kinds=definite \
    --num-callers=40 --fullpath-after= "${origins[@]+"${origins[@]}"}" --log-file="$log" \
    "$py" -m pytest -p no:cacheprovider -q -n 0 "${files[@]}"
status=$?
set -e
"$python" tools/ci/valgrind_filter.py "$log" || status=1
echo "   (Python tests under memcheck: $((SECONDS - t0))s)"
exit "$status"
