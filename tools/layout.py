"""Check README.md's Layout tables against the tree.

    python tools/layout.py            # print each mismatch; exit 1 if any
    python tools/layout.py --write    # rewrite the size cells, add missing rows

The tables are the one under "## Layout" (paths from the top of the
checkout) and the one under "### The C core, file by file" (names in
shanxi_ext/core/).  A row whose path cell is one file must give that file's
line count in its last cell; a row of a directory (`data/`) or a glob
(`shanxi_ext/*.py`, `*.pyi`) gives none, and a glob row lists the files it
matches.  Every source file (C, header, Python) that git tracks under
shanxi_ext/, include/ and tools/ must be listed.

--write changes only the size cells, and appends a row for each unlisted
file with TODO for its job, for a person to fill in.  A listed file that is
not in the tree is reported and left for a person too.
"""
import argparse
import fnmatch
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SOURCE_DIRS = ("shanxi_ext", "include", "tools")
SOURCE_SUFFIXES = (".c", ".h", ".py", ".pyi")
# The heading of each checked table and the folder its paths are relative to.
TABLES = {"## Layout": "", "### The C core, file by file": "shanxi_ext/core/"}
CELL = re.compile(r"(?:`[^`]*`|[^|`])+")


class Row:
    def __init__(self, index, cells, folder):
        self.index = index  # line number in README (0-based)
        self.cells = cells
        names = re.findall(r"`([^`]*)`", cells[0])
        # a second name without a folder shares the first one's (`shanxi_ext/*.py`, `*.pyi`)
        base = names[0].rpartition("/")[0] + "/" if names else ""
        self.paths = [folder + (n if "/" in n or n is names[0] else base + n) for n in names]

    @property
    def file(self):
        """The one file this row is about, or None (a directory or glob row)."""
        if len(self.paths) == 1 and "*" not in self.paths[0] and not self.paths[0].endswith("/"):
            return self.paths[0]
        return None

    def covers(self, path):
        return any("*" in p and fnmatch.fnmatchcase(path, p) for p in self.paths)


def split_cells(line):
    inner = line.strip()
    inner = inner[1:-1] if inner.endswith("|") else inner[1:]
    return [c.strip() for c in CELL.findall(inner)] if inner.strip() else []


def read_tables(lines):
    """{heading: (rows, index of the line after the table's last row)}."""
    tables = {}
    heading = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.strip() if line.strip() in TABLES else None
        if heading and line.startswith("|") and heading not in tables:
            header = split_cells(line)
            i += 2  # the header and the |---| line
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(Row(i, split_cells(lines[i]), TABLES[heading]))
                i += 1
            if header and header[-1] == "lines":
                tables[heading] = (rows, i)
            continue
        i += 1
    return tables


def tracked_sources(root):
    try:
        out = subprocess.run(["git", "ls-files", "--", *SOURCE_DIRS], cwd=str(root),
                             capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = [str(p.relative_to(root)).replace(os.sep, "/")
               for d in SOURCE_DIRS for p in (root / d).rglob("*") if p.is_file()]
    return sorted(p for p in out if p.endswith(SOURCE_SUFFIXES))


def line_count(path):
    return path.read_bytes().count(b"\n")


def check(root=ROOT, write=False):
    """The mismatches (strings); with write, README fixed where it can be."""
    readme = root / "README.md"
    lines = readme.read_text(encoding="utf-8").split("\n")
    tables = read_tables(lines)
    problems = [f"README.md: no table under {h!r} with a last column 'lines'"
                for h in TABLES if h not in tables]
    rows = [row for rows, _ in tables.values() for row in rows]
    listed = {row.file for row in rows if row.file}
    for row in rows:
        if not row.file:
            continue
        path = root / row.file
        if not path.is_file():
            problems.append(f"{row.file}: listed, but not in the tree")
            continue
        have = str(line_count(path))
        if row.cells[-1] != have:
            problems.append(f"{row.file}: listed with {row.cells[-1] or 'no size'}, "
                            f"has {have} lines")
            if write:
                lines[row.index] = re.sub(r"\|[^|]*\|\s*$", f"| {have} |", lines[row.index])
    added = {h: [] for h in tables}
    for path in tracked_sources(root):
        if path in listed or any(row.covers(path) for row in rows):
            continue
        problems.append(f"{path}: not listed")
        heading = next((h for h in ("### The C core, file by file",)
                        if h in tables and path.startswith(TABLES[h])), "## Layout")
        if heading in tables:
            name = path[len(TABLES[heading]):]
            added[heading].append(f"| `{name}` | TODO | {line_count(root / path)} |")
    if write:
        # from the last table up, so that earlier line numbers hold
        for heading, (_, end) in sorted(tables.items(), key=lambda t: -t[1][1]):
            lines[end:end] = added[heading]
        readme.write_text("\n".join(lines), encoding="utf-8")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="rewrite the size cells and add rows for unlisted files (job: TODO)")
    args = parser.parse_args(argv)
    problems = check(write=args.write)
    for p in problems:
        print(p)
    if args.write:
        # what --write cannot fix: a listed file that is gone, a missing table
        left = [p for p in problems if "not in the tree" in p or p.startswith("README.md:")]
        return 1 if left else 0
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
