"""Generate large panel files in the data/ format, for benchmarks and tests.

A panel repeats the 33 figures of the shipped dataset for many regions and
dates: rows run date by date, region by region, metric by metric (in the
shipped file's order), and stop after exactly ``nrows`` rows.  Values are
drawn with a seeded generator, so the same arguments always give the same
bytes.  Integer units get integers around the shipped figure; percentages
get two decimals.  Region names are the eleven prefecture-level cities of
Shanxi with a district number (``Taiyuan-03``); one of them, ``Lüliang``,
is not ASCII, so the UTF-8 path is exercised.

Usable as a module::

    from panel import write_panel, panel_text
    info = write_panel("/tmp/p.csv", 1_000_000)   # -> dict: rows, bytes, ...
    text = panel_text(1000)                        # small panels as a str

or from the command line: ``python bench/panel.py 1000000 /tmp/p.csv``.

Only the standard library is used, and the template figures are read from
``data/shanxi_2022.csv`` next to this directory (or, when that file is not
there, from the installed ``shanxi`` package).
"""
import csv
import datetime
import io
import os
import random
import sys
from pathlib import Path

__all__ = ["CITIES", "COLUMNS", "iter_chunks", "layout", "panel_text", "template",
           "write_panel"]

# The columns of a generated file, in order (all required ones + region).
COLUMNS = ("project", "metric", "value", "unit", "as_of", "region")

# The prefecture-level cities of Shanxi.
CITIES = ("Taiyuan", "Datong", "Shuozhou", "Xinzhou", "Yangquan", "Jinzhong",
          "Lüliang", "Changzhi", "Jincheng", "Linfen", "Yuncheng")
DISTRICTS_PER_CITY = 10
FIRST_DATE = datetime.date(2015, 1, 1)

_DATA = Path(__file__).resolve().parent.parent / "data" / "shanxi_2022.csv"


def template():
    """The shipped figures as (project, metric, unit, base value, is_int) tuples."""
    rows = []
    if _DATA.is_file():
        with open(_DATA, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                text = r["value"]
                is_int = text.lstrip("-").isdigit()
                rows.append((int(r["project"]), r["metric"], r["unit"],
                             int(text) if is_int else float(text), is_int))
    else:  # pragma: no cover - only outside a source checkout
        import shanxi
        for m in shanxi.metrics():
            rows.append((m.project, m.key, m.unit, m.value, isinstance(m.value, int)))
    return rows


def layout(nrows):
    """(number of regions, number of dates) a panel of nrows rows spans."""
    per_block = len(template())
    blocks = -(-nrows // per_block) if nrows > 0 else 0
    nregions = max(1, min(len(CITIES) * DISTRICTS_PER_CITY, blocks))
    ndates = -(-blocks // nregions) if blocks else 0
    return nregions, ndates


def _regions(n):
    out = []
    for k in range(DISTRICTS_PER_CITY):
        for city in CITIES:
            out.append("%s-%02d" % (city, k + 1))
    return out[:n]


def iter_chunks(nrows, seed=2022, header=True):
    """Yield the file's text in chunks (one date of rows per chunk)."""
    tmpl = template()
    nregions, ndates = layout(nrows)
    regions = _regions(nregions)
    rng = random.Random(seed)
    bits = rng.getrandbits
    # Per metric: the text before the value, the text between value and date,
    # and how to draw a value.  Integers are drawn as base * (k / 1024) with k
    # uniform in [512, 1536), i.e. within -50% .. +50% of the shipped figure.
    pre = []
    for project, key, unit, base, is_int in tmpl:
        pre.append(("%d,%s," % (project, key), ",%s," % unit, base, is_int))
    if header:
        yield ",".join(COLUMNS) + "\n"
    left = nrows
    for d in range(ndates):
        if left <= 0:
            break
        date = (FIRST_DATE + datetime.timedelta(days=d)).isoformat()
        lines = []
        append = lines.append
        for region in regions:
            tail = "%s,%s\n" % (date, region)
            for head, mid, base, is_int in pre:
                if left <= 0:
                    break
                left -= 1
                if is_int:
                    v = str((base * (512 + bits(10))) >> 10)
                else:
                    # percent-like: two decimals between 50.00 and 100.00
                    c = 5000 + bits(13) % 5001
                    v = "%d.%02d" % (c // 100, c % 100)
                append(head + v + mid + tail)
            if left <= 0:
                break
        yield "".join(lines)


def write_panel(path, nrows, seed=2022):
    """Write a panel of exactly nrows data rows to path (UTF-8, LF).

    Returns a dict: path, rows, bytes, regions, dates, first_date, last_date.
    """
    nregions, ndates = layout(nrows)
    size = 0
    with open(path, "wb") as f:
        for chunk in iter_chunks(nrows, seed):
            b = chunk.encode("utf-8")
            size += len(b)
            f.write(b)
    last = FIRST_DATE + datetime.timedelta(days=max(ndates - 1, 0))
    return {"path": os.fspath(path), "rows": nrows, "bytes": size, "regions": nregions,
            "dates": ndates, "first_date": FIRST_DATE.isoformat(),
            "last_date": last.isoformat()}


def panel_text(nrows, seed=2022):
    """A panel of nrows rows as one str (for small sizes)."""
    buf = io.StringIO()
    for chunk in iter_chunks(nrows, seed):
        buf.write(chunk)
    return buf.getvalue()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python bench/panel.py ROWS OUT.csv", file=sys.stderr)
        return 2
    try:
        nrows = int(argv[0].replace("_", ""))
    except ValueError:
        print("usage: python bench/panel.py ROWS OUT.csv (ROWS: an integer)", file=sys.stderr)
        return 2
    info = write_panel(argv[1], nrows)
    print("%(path)s: %(rows)d rows, %(bytes)d bytes, %(regions)d regions x %(dates)d dates"
          % info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
