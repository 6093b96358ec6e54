#!/usr/bin/env bash
# Static checks; any finding fails the script.
#
#   tools/ci/static.sh [VENV]
#       VENV: a venv to install shanxi and the tools into (made if missing or
#       of another interpreter, used by one run at a time; default: a new
#       one in a temp dir)
#   SHANXI_TIDY_CACHE=DIR (CI sets it): clang-tidy skips a file whose input
#       passed before: the same preprocessed text (comments kept, so NOLINT
#       counts), flags, .clang-tidy and clang-tidy version.  A finding is
#       never cached: a file that fails is checked again on every run.
#
#  1. ruff            the Python files; rules in pyproject.toml [tool.ruff.lint]
#  2. mypy.stubtest   the stubs (shanxi/*.pyi) agree with the built module
#  3. clang-tidy      the C sources (core and binding); checks in .clang-tidy
#  4. cppcheck        the same sources; settings below, suppressions in
#                     tools/ci/cppcheck-suppressions.txt and inline
#                     (/* cppcheck-suppress id */ with the reason beside it)
#  5. clang-format    every C file of the repo (*.c, *.h: core, binding,
#                     headers, C tests, fuzz harnesses) is laid out as
#                     .clang-format says: clang-format --dry-run -Werror
# The C files are found by globs (shanxi_ext/*.c, shanxi_ext/core/*.c, git's
# list of *.c and *.h), never listed here.  Each check prints its time.
# Debian packages: clang-tidy cppcheck clang-format (and python3-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
venv=${1:-$tmp/venv}
failed=()
# The tool versions are pinned so that a new release cannot turn the build red
# by itself; raise them on purpose.
RUFF=ruff==0.17.6
MYPY=mypy==2.4.1

for tool in clang-tidy cppcheck clang-format; do
    if ! command -v "$tool" >/dev/null; then
        echo "static.sh: $tool not found (apt-get install -y clang-tidy cppcheck clang-format)" >&2
        exit 2
    fi
done

t0=$SECONDS
took() { echo "   (${SECONDS}s in all, $((SECONDS - t0))s for this check)"; t0=$SECONDS; }

echo "== static: clang-format --dry-run -Werror (.clang-format), every C file"
mapfile -d '' c_files < <(git ls-files -z --cached --others --exclude-standard -- '*.c' '*.h')
if [ ${#c_files[@]} -eq 0 ]; then
    echo "static.sh: no C files found" >&2
    failed+=(clang-format)
elif ! clang-format --dry-run -Werror "${c_files[@]}"; then
    echo "static.sh: reformat with: clang-format -i FILE (clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -n 1))" >&2
    failed+=(clang-format)
else
    echo "   ${#c_files[@]} files laid out as .clang-format says"
fi
took

echo "== static: venv at $venv (shanxi built from a copy of the tree, $RUFF, $MYPY)"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
py=$venv/bin/python
if [ "$("$py" -c 'import sys; print(sys.version)' 2>/dev/null)" != \
     "$("$python" -c 'import sys; print(sys.version)')" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$py" -m pip install --quiet --upgrade pip
fi
# A copy: a build/ left in the checkout (say, a sanitized one) is not reused.
mkdir -p "$tmp/src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tmp/src"
export CCACHE_BASEDIR=$tmp/src  # (CI's ccache, if any: paths relative to the copy)
# The tools (pip keeps what is there already), then shanxi from the copy.
if ! { "$py" -m pip install --quiet "$RUFF" "$MYPY" dask \
        && "$py" -m pip install --quiet --no-deps --force-reinstall "$tmp/src"; } \
        >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    exit 1
fi
took

echo "== static: ruff check"
"$py" -m ruff check --no-cache . || failed+=(ruff)
took

echo "== static: mypy.stubtest shanxi"
# Run outside the checkout so the installed package is the one checked.
# pandas ships no stubs of its own: missing imports are not ours to check.
# dask is installed (core only) because shanxi.dask imports it at its top.
printf '[mypy]\nignore_missing_imports = True\ncache_dir = %s\n' "$tmp/mypy-cache" >"$tmp/mypy.ini"
(cd "$tmp" && "$py" -m mypy.stubtest shanxi --mypy-config-file "$tmp/mypy.ini") || failed+=(stubtest)
took

echo "== static: clang-tidy (.clang-tidy)"
# The binding includes the header that the build generates from the dataset.
"$py" tools/embed_data.py data/shanxi_2022.csv "$tmp/generated/shanxi_embedded_data.h"
pyinc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
sources=(shanxi_ext/core/*.c shanxi_ext/*.c)
cflags=(-std=c11 -Iinclude -I"$tmp/generated" -I"$pyinc" -D_GNU_SOURCE=1)
tidy_cache=${SHANXI_TIDY_CACHE:-}
[ -z "$tidy_cache" ] || mkdir -p "$tidy_cache"
tidy_version=$(clang-tidy --version)
tidy_failed=0 tidy_skipped=0
for src in "${sources[@]}"; do
    key=
    if [ -n "$tidy_cache" ]; then
        # the temp dir's name, in the generated header's path, is not input
        key=$({ echo "$tidy_version"; cat .clang-tidy; echo "$src ${cflags[*]}"; \
                clang -E -C "${cflags[@]}" "$src"; } | sed "s#$tmp#TMP#g" | sha256sum | cut -c1-64)
        if [ -e "$tidy_cache/$key" ]; then
            tidy_skipped=$((tidy_skipped + 1))
            continue
        fi
    fi
    # (its "N warnings generated" counts what is outside our code and suppressed)
    if clang-tidy --quiet "$src" -- "${cflags[@]}" 2> >(grep -v "warnings generated" >&2); then
        [ -z "$key" ] || touch "$tidy_cache/$key"
    else
        tidy_failed=1
    fi
done
[ "$tidy_failed" -eq 0 ] || failed+=(clang-tidy)
[ -z "$tidy_cache" ] || echo "   ${#sources[@]} files, $tidy_skipped passed before with the same input"
took

echo "== static: cppcheck"
# --library=python: Py_BEGIN_ALLOW_THREADS and friends, which cppcheck would
# otherwise misread.  System headers are not read (missingIncludeSystem is
# suppressed), so the configuration of this platform is given with -D:
# gcc/clang on x86-64 Linux with glibc, where FLT_EVAL_METHOD is 0.
cppcheck --std=c11 --enable=warning,style,performance,portability --inline-suppr \
    --library=posix --library=gnu --library=python \
    --suppressions-list=tools/ci/cppcheck-suppressions.txt \
    --error-exitcode=1 --quiet \
    -Iinclude -I"$tmp/generated" \
    -D_GNU_SOURCE=1 -D__GNUC__=12 -D__x86_64__=1 -D__SSE2__=1 -D__linux__=1 -D__GLIBC__=2 \
    -DFLT_EVAL_METHOD=0 \
    "${sources[@]}" || failed+=(cppcheck)
took

if [ ${#failed[@]} -gt 0 ]; then
    echo "static.sh: findings from: ${failed[*]}" >&2
    exit 1
fi
echo "static: clang-format, ruff, stubtest, clang-tidy and cppcheck report nothing"
