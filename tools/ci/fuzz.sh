#!/usr/bin/env bash
# Bounded fuzzing of the C core: each libFuzzer harness in tests/fuzz/ (built
# with clang, ASan, UBSan; LeakSanitizer on) runs for SECONDS from its seed
# corpus, with one worker.  Any crash, leak, sanitizer report, failed
# invariant or slow input fails the script and leaves the input in
# ARTIFACTS (default: a temp dir that is printed and kept).
#
#   tools/ci/fuzz.sh [SECONDS]      # default 60 per harness
#
# First the seed corpora are replayed once through harnesses built with the
# default compiler (cc) and ASan/UBSan without libFuzzer (make replay), so the
# regression inputs (corpus/*/regress-*) are checked by a second compiler.
# New inputs that the run finds go to a scratch corpus, never into the repo;
# with SHANXI_FUZZ_CORPUS=DIR (CI sets it) that corpus is DIR/<harness> and is
# kept, so that each bounded run starts where the last one stopped and short
# runs add up (it is emptied when it passes 20000 inputs).
#
# A long run by hand (figures for the note):
#   make -C tests/fuzz && mkdir -p /tmp/fz
#   tests/fuzz/build/fuzz_parse -runs=10000000 -print_final_stats=1 /tmp/fz tests/fuzz/corpus/parse
# A crash: minimize it, keep it, and add it as a case in tests/c:
#   tests/fuzz/build/fuzz_parse -minimize_crash=1 -runs=100000 \
#       -exact_artifact_path=tests/fuzz/corpus/parse/regress-NAME CRASH_FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
names=(parse query)
scratch=$(mktemp -d)
artifacts=${ARTIFACTS:-$(mktemp -d)}
trap 'rm -rf "$scratch"' EXIT

echo "== fuzz: build (clang -fsanitize=fuzzer,address,undefined)"
make -s -C tests/fuzz all
echo "== fuzz: replay the seed corpora (cc, ASan+UBSan, no libFuzzer)"
make -s -C tests/fuzz replay

failed=0
for name in "${names[@]}"; do
    corpus=$scratch/$name
    if [ -n "${SHANXI_FUZZ_CORPUS:-}" ]; then
        corpus=$SHANXI_FUZZ_CORPUS/$name
        mkdir -p "$corpus"
        if [ "$(find "$corpus" -type f | wc -l)" -gt 20000 ]; then
            find "$corpus" -type f -delete
        fi
    fi
    echo "== fuzz: fuzz_$name for ${seconds}s (from $(find "$corpus" -type f | wc -l) kept inputs and the seeds)"
    mkdir -p "$corpus"
    log=$scratch/$name.log
    # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: a leak or
    # blow-up; -max_len: the largest seed (the data file) and a little more.
    set +e
    tests/fuzz/build/fuzz_"$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=8192 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
        "$corpus" tests/fuzz/corpus/"$name" >"$log" 2>&1
    status=$?
    set -e
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done [0-9]+ runs|^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" || true
    if [ "$status" -ne 0 ]; then
        failed=1
        echo "fuzz.sh: fuzz_$name failed (exit $status); its report:" >&2
        grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -60 >&2
        echo "fuzz.sh: the input is in $artifacts (minimize it, keep it as" \
             "tests/fuzz/corpus/$name/regress-NAME, add a case to tests/c)" >&2
    fi
done
if [ "$failed" -ne 0 ]; then
    exit 1
fi
rmdir "$artifacts" 2>/dev/null || true
echo "fuzz: ${#names[@]} harnesses ran ${seconds}s each with no crash"
