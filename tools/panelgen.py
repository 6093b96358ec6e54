"""Generate panels in the data/ format: the one generator of the benchmarks and the tests.

A panel repeats a set of figures (by default the 33 of the shipped dataset)
for many regions and dates: rows run date by date, region by region, figure
by figure, and stop after exactly ``nrows`` rows.  Values are drawn with a
seeded generator, so the same arguments always give the same bytes.  The
same options give the text (``panel_text``, ``iter_chunks``, ``write_panel``)
and the rows as ``Dataset.to_dicts()`` gives them (``panel_rows``), so a
test can compare what shanxi read with what was written.

Options (keyword arguments of every function):

``figures``
    a sequence of ``Figure`` (default: ``template()``, the shipped figures;
    ``full_template()`` gives them with every text column filled).
``regions``
    a sequence of region names, ``None`` for an empty region (default: the
    eleven prefecture-level cities of Shanxi with a district number,
    ``Taiyuan-03``, as many as the rows need, up to 110; ``Lüliang`` is not
    ASCII, so the UTF-8 path is exercised).
``dates``
    a sequence of ``datetime.date`` (default: daily from 2015-01-01, as
    many as the rows need).  With ``nrows=None`` the panel is every date x
    region x figure.
``columns``
    the file's columns, in order (default: ``SHORT_COLUMNS``; ``COLUMNS`` are
    all of data/'s).  Another name is a column shanxi ignores, filled with
    ``EXTRA_VALUE``.  Fields are quoted as the csv module quotes them.
``seed``
    the random generator's seed (default 2022).
``values``
    ``None`` (draw by the figure's kind) or ``f(block, figure) -> int | float``
    where ``block`` counts the (date, region) blocks from 0.
``newline``
    the line ending (default ``"\\n"``).

A figure's ``kind`` says how its values are drawn: ``"int"`` (around its
base, -50% .. +50%), ``"percent"`` (two decimals, 50.00 .. 100.00),
``"cents"`` (two decimals, 0.00 .. 99.99), ``"eighths"`` (exact binary
fractions up to 1.25e8, so sums do not depend on their order), ``"exp"``
(integers times 1e-3 written with an exponent, ``"123e-3"``), ``"digits"``
(floats with up to 17 significant digits, ``repr`` of a uniform draw).

From the command line: ``python tools/panelgen.py 1000000 /tmp/p.csv`` (with
``--full``: every column, from ``full_template()``).
Only the standard library is used, and the template figures are read from
``data/shanxi_2022.csv`` beside this directory (or, when that file is not
there, from the installed ``shanxi`` package).
"""
import csv
import datetime
import io
import os
import random
import sys
from collections import namedtuple
from pathlib import Path

__all__ = ["CITIES", "COLUMNS", "EXTRA_VALUE", "Figure", "SHORT_COLUMNS", "full_template",
           "iter_chunks", "layout", "panel_rows", "panel_text", "template", "write_panel"]

# The columns of the data/ format, in the shipped file's order.
COLUMNS = ("project", "project_key", "project_title", "category", "metric", "label", "value",
           "unit", "as_of", "period_start", "part_of", "region")
# The default columns of a generated file: the required ones and the region.
SHORT_COLUMNS = ("project", "metric", "value", "unit", "as_of", "region")
# What a column shanxi does not know holds (it holds a comma: quoted).
EXTRA_VALUE = "?, ignored"

# The prefecture-level cities of Shanxi.
CITIES = ("Taiyuan", "Datong", "Shuozhou", "Xinzhou", "Yangquan", "Jinzhong",
          "Lüliang", "Changzhi", "Jincheng", "Linfen", "Yuncheng")
DISTRICTS_PER_CITY = 10
FIRST_DATE = datetime.date(2015, 1, 1)

KINDS = ("int", "percent", "cents", "eighths", "exp", "digits")

# One figure of each (date, region) block.  period_start is None, a date, or
# "year" for 1 January of the row's as_of year.
Figure = namedtuple("Figure", ["project", "metric", "unit", "base", "kind", "project_key",
                               "project_title", "category", "label", "part_of",
                               "period_start"],
                    defaults=[None] * 6)

_DATA = Path(__file__).resolve().parent.parent / "data" / "shanxi_2022.csv"


def template():
    """The shipped figures (project, metric, unit and base value; kind int or percent)."""
    figures = []
    if _DATA.is_file():
        with open(_DATA, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                text = r["value"]
                is_int = text.lstrip("-").isdigit()
                figures.append(Figure(int(r["project"]), r["metric"], r["unit"],
                                      int(text) if is_int else float(text),
                                      "int" if is_int else "percent"))
    else:  # pragma: no cover - only outside a source checkout
        import shanxi
        for m in shanxi.metrics():
            is_int = isinstance(m.value, int)
            figures.append(Figure(m.project, m.key, m.unit, m.value,
                                  "int" if is_int else "percent"))
    return figures


def full_template():
    """The shipped figures with every column of the data/ format filled: each
    project's key, title (with ", Shanxi 2022" added, so every title holds a
    comma and is quoted), category, each figure's label and part_of, and a
    period_start of 1 January of the row's year where the shipped figure has
    one.  With ``columns=COLUMNS`` this is a panel in the full data/ format."""
    if not _DATA.is_file():  # pragma: no cover - only outside a source checkout
        raise FileNotFoundError("full_template() reads %s" % _DATA)
    figures = []
    with open(_DATA, encoding="utf-8", newline="") as f:
        for fig, r in zip(template(), csv.DictReader(f)):
            figures.append(fig._replace(
                project_key=r["project_key"] or None,
                project_title=(r["project_title"] + ", Shanxi 2022") if r["project_title"]
                else None,
                category=r["category"] or None, label=r["label"] or None,
                part_of=r["part_of"] or None,
                period_start="year" if r["period_start"] else None))
    return figures


def _city_regions(n):
    out = []
    for k in range(DISTRICTS_PER_CITY):
        for city in CITIES:
            out.append("%s-%02d" % (city, k + 1))
    return out[:n]


def layout(nrows, figures=None, regions=None, dates=None):
    """(number of regions, number of dates) a panel of nrows rows spans."""
    per_block = len(template() if figures is None else figures)
    if nrows is None:
        if dates is None:
            raise ValueError("nrows=None needs the dates")
        nregions = 1 if regions is None else len(regions)
        return nregions, len(dates)
    blocks = -(-nrows // per_block) if nrows > 0 else 0
    if regions is None:
        nregions = max(1, min(len(CITIES) * DISTRICTS_PER_CITY, blocks))
    else:
        nregions = len(regions)
    ndates = -(-blocks // nregions) if blocks else 0
    if dates is not None and ndates > len(dates):
        raise ValueError("%d rows need %d dates, %d given" % (nrows, ndates, len(dates)))
    return nregions, ndates


def _field(text):
    """A CSV field as the csv module writes it (quoted only when it must be)."""
    if any(c in text for c in ',"\r\n'):
        return '"%s"' % text.replace('"', '""')
    return text


def _plan(nrows, figures, regions, dates, columns):
    figures = template() if figures is None else list(figures)
    for fig in figures:
        if fig.kind not in KINDS:
            raise ValueError("unknown kind %r of figure %r" % (fig.kind, fig.metric))
    nregions, ndates = layout(nrows, figures, regions, dates)
    if nrows is None:
        nrows = nregions * ndates * len(figures)
    regions = _city_regions(nregions) if regions is None else list(regions)
    if dates is None:
        dates = [FIRST_DATE + datetime.timedelta(days=d) for d in range(ndates)]
    else:
        dates = list(dates[:ndates])
    columns = tuple(SHORT_COLUMNS if columns is None else columns)
    return nrows, figures, regions, dates, columns


def _drawers(seed):
    """{kind: draw(base) -> value text}: one generator for every kind, in row order."""
    rng = random.Random(seed)
    bits = rng.getrandbits

    def draw_int(base):
        # base * (k / 1024) with k uniform in [512, 1536): -50% .. +50% of base
        return str((base * (512 + bits(10))) >> 10)

    def draw_percent(base):
        c = 5000 + bits(13) % 5001
        return "%d.%02d" % (c // 100, c % 100)

    def draw_cents(base):
        c = rng.randrange(10000)
        return "%d.%02d" % (c // 100, c % 100)

    def draw_eighths(base):
        return repr(rng.randrange(10 ** 9) / 8)

    def draw_exp(base):
        return "%de-3" % rng.randrange(-10 ** 7, 10 ** 9)

    def draw_digits(base):
        return repr(rng.uniform(-1e4, 1e6))

    return {"int": draw_int, "percent": draw_percent, "cents": draw_cents,
            "eighths": draw_eighths, "exp": draw_exp, "digits": draw_digits}


def _number(text):
    """The Python value shanxi reads from a value field: int when it is one."""
    stripped = text.lstrip("-")
    return int(text) if stripped.isdigit() else float(text)


def _period_start(fig, as_of):
    if fig.period_start == "year":
        return datetime.date(as_of.year, 1, 1)
    return fig.period_start


def _cells(nrows, figures, regions, dates, seed, values):
    """Yield (date index, rows of that date as (figure, region, value text))."""
    draws = _drawers(seed)
    kinds = [draws[fig.kind] for fig in figures]
    left = nrows
    block = 0
    for d in range(len(dates)):
        if left <= 0:
            break
        out = []
        for region in regions:
            for fig, draw in zip(figures, kinds):
                if left <= 0:
                    break
                left -= 1
                if values is None:
                    text = draw(fig.base)
                else:
                    v = values(block, fig)
                    text = repr(v) if isinstance(v, float) else str(v)
                out.append((fig, region, text))
            block += 1
            if left <= 0:
                break
        yield d, out


def panel_rows(nrows=None, *, figures=None, regions=None, dates=None, columns=None, seed=2022,
               values=None, header=True, newline="\n"):
    """The panel's rows as Dataset.to_dicts() gives them (all of COLUMNS as keys).

    The options are those of the text (header and newline change nothing here).

    Fields of a column the file does not have are None (and project_key,
    project_title, category take what a loaded file gives: None too).
    """
    nrows, figures, regions, dates, columns = _plan(nrows, figures, regions, dates, columns)
    present = set(columns)
    rows = []
    for d, cells in _cells(nrows, figures, regions, dates, seed, values):
        as_of = dates[d]
        for fig, region, text in cells:
            row = {
                "project": fig.project, "project_key": fig.project_key,
                "project_title": fig.project_title, "category": fig.category,
                "metric": fig.metric, "label": fig.label, "value": _number(text),
                "unit": fig.unit, "as_of": as_of, "period_start": _period_start(fig, as_of),
                "part_of": fig.part_of, "region": region,
            }
            rows.append({k: (row[k] if k in present else None) for k in COLUMNS})
    return rows


def _row_format(fig, columns):
    """The figure's line as a format: {0} value, {1} as_of, {2} period_start, {3} region."""
    fixed = {"project": str(fig.project), "project_key": fig.project_key,
             "project_title": fig.project_title, "category": fig.category,
             "metric": fig.metric, "label": fig.label, "unit": fig.unit,
             "part_of": fig.part_of}
    pieces = []
    for name in columns:
        if name == "value":
            pieces.append("{0}")
        elif name == "as_of":
            pieces.append("{1}")
        elif name == "period_start":
            if fig.period_start == "year":
                pieces.append("{2}")
            elif fig.period_start is None:
                pieces.append("")
            else:
                pieces.append(fig.period_start.isoformat())
        elif name == "region":
            pieces.append("{3}")
        elif name in fixed:
            text = fixed[name]
            pieces.append("" if text is None else _field(text).replace("{", "{{")
                          .replace("}", "}}"))
        else:
            pieces.append(_field(EXTRA_VALUE))
    return ",".join(pieces)


def iter_chunks(nrows, *, figures=None, regions=None, dates=None, columns=None, seed=2022,
                values=None, header=True, newline="\n"):
    """Yield the file's text in chunks (one date of rows per chunk)."""
    nrows, figures, regions, dates, columns = _plan(nrows, figures, regions, dates, columns)
    formats = {id(fig): _row_format(fig, columns) + newline for fig in figures}
    region_text = {r: "" if r is None else _field(r) for r in regions}
    if header:
        yield ",".join(_field(c) for c in columns) + newline
    for d, cells in _cells(nrows, figures, regions, dates, seed, values):
        as_of = dates[d]
        date = as_of.isoformat()
        year = datetime.date(as_of.year, 1, 1).isoformat()
        yield "".join([formats[id(fig)].format(text, date, year, region_text[region])
                       for fig, region, text in cells])


def panel_text(nrows=None, **options):
    """A panel as one str (for small sizes); options as iter_chunks takes them."""
    buf = io.StringIO()
    for chunk in iter_chunks(nrows, **options):
        buf.write(chunk)
    return buf.getvalue()


def write_panel(path, nrows, **options):
    """Write a panel of exactly nrows data rows to path (UTF-8).

    Returns a dict: path, rows, bytes, regions, dates, first_date, last_date.
    """
    nrows, figures, regions, dates, _ = _plan(nrows, options.get("figures"),
                                              options.get("regions"), options.get("dates"),
                                              options.get("columns"))
    size = 0
    with open(path, "wb") as f:
        for chunk in iter_chunks(nrows, **options):
            b = chunk.encode("utf-8")
            size += len(b)
            f.write(b)
    first = dates[0] if dates else FIRST_DATE
    last = dates[-1] if dates else FIRST_DATE
    return {"path": os.fspath(path), "rows": nrows, "bytes": size, "regions": len(regions),
            "dates": len(dates), "first_date": first.isoformat(),
            "last_date": last.isoformat()}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    usage = "usage: python tools/panelgen.py [--full] ROWS OUT.csv"
    full = "--full" in argv
    argv = [a for a in argv if a != "--full"]
    if len(argv) != 2:
        print(usage, file=sys.stderr)
        return 2
    try:
        nrows = int(argv[0].replace("_", ""))
    except ValueError:
        print(usage + " (ROWS: an integer)", file=sys.stderr)
        return 2
    options = {"figures": full_template(), "columns": COLUMNS} if full else {}
    info = write_panel(argv[1], nrows, **options)
    print("%(path)s: %(rows)d rows, %(bytes)d bytes, %(regions)d regions x %(dates)d dates"
          % info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
