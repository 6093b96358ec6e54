"""Read a memcheck log of the Python test run and fail on what is ours.

    python3 tools/ci/valgrind_filter.py MEMCHECK.LOG

Fails (exit 1, printing each record) on:
  - any error record (invalid read/write, use of uninitialised memory, bad or
    mismatched free, overlapping copy, ...) with a frame in our code;
  - any definitely-lost block with a frame in our code.
Our code: the extension (_shanxi*.so) or a source file under shanxi_ext/
(the log is written with --fullpath-after= so frames carry full paths).
Records without such a frame (CPython's own allocations kept until exit,
numpy, pandas, pyarrow) are counted and summarized, not failed on.
"""
import re
import sys

OURS = re.compile(r"_shanxi[^/ ]*\.so|shanxi_ext/")
PREFIX = re.compile(r"^==\d+== ?")


def records(lines):
    block = []
    for line in lines:
        text = PREFIX.sub("", line.rstrip("\n"))
        if not text.strip():
            if block:
                yield block
            block = []
        else:
            block.append(text)
    if block:
        yield block


def main(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    ours, theirs, summary = [], {}, []
    for block in records(lines):
        title = block[0].strip()
        is_leak = "are definitely lost" in title
        has_stack = len(block) > 1 and block[1].lstrip().startswith("at 0x")
        is_error = has_stack and "lost in loss record" not in title
        if title.startswith(("LEAK SUMMARY", "ERROR SUMMARY", "HEAP SUMMARY")) or \
                title.startswith(("definitely lost:", "indirectly lost:")):
            summary.extend(b.strip() for b in block)
            continue
        if not (is_leak or is_error):
            continue
        if any(OURS.search(line) for line in block):
            ours.append(block)
        else:
            kind = "definitely lost" if is_leak else re.sub(r"0x[0-9A-Fa-f]+|\d+", "N", title)
            theirs[kind] = theirs.get(kind, 0) + 1
    for line in summary:
        if line.startswith(("definitely lost:", "ERROR SUMMARY")):
            print("memcheck:", line)
    for kind, n in sorted(theirs.items()):
        print("memcheck: not ours (no frame in _shanxi*.so or shanxi_ext/): %d x %s" % (n, kind))
    if ours:
        for block in ours:
            print("\n".join(block), file=sys.stderr)
            print(file=sys.stderr)
        print("memcheck: %d record(s) in our code, above" % len(ours), file=sys.stderr)
        return 1
    print("memcheck: no error and no definitely-lost block from our code")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
