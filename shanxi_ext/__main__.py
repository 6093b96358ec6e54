"""Print the shanxi data, or your own file of figures: ``python -m shanxi`` or ``shanxi``.

    shanxi                          the twelve projects and their figures, as a table
    shanxi FILE                     the figures of FILE (a CSV in the data/ format, maybe
                                    compressed; - for stdin)
    shanxi FILE --encoding gb18030  FILE in another text encoding than UTF-8
    shanxi --format csv             the data file's columns (and share), readable by shanxi.loads
    shanxi --format json            a list of objects, one per figure
    shanxi --format markdown        a GitHub table
    shanxi --project 7              one project (number, key or title word)
    shanxi FILE --region Taiyuan --since 2022-07-01     filters, as metrics() takes them
    shanxi FILE --by month --unit people                a sum per month; --func count|mean|min|max

Listing: the table has a share column ("80.97% of elevators_started") for each
figure that is part of another figure of the file (same project, region and
date), and then csv and json have a ``share`` column too.  A region column
appears when the figures listed cover more than one region.  The table and
markdown formats show the first 50 figures and a "... N more figures" line;
``--all`` shows every one, ``--limit N`` at most N in any format.  csv and json
are for other programs and give every figure unless ``--limit`` is given.

Aggregation (``--by`` or ``--func``): one row per group, the key then the
value, in the same four formats; ``--func`` defaults to sum and, as in
``aggregate()``, figures of different units never add up: pass ``--unit`` or
``--by unit``.

Every option may be given once: a second ``--format`` (or ``--by``, ...) is a
usage error, not "the last one wins".

Exit status, as ``python -m json.tool`` has it: 0 on success; 1 when FILE is
not valid data (a truncated or corrupt compressed file too), with
``shanxi: FILE:LINE:COLUMN: reason`` on stderr; 2 for a
usage error (an unknown option or value, a FILE that cannot be opened, a
project, metric, region, unit or category the data does not have, a bad date,
an aggregation over mixed units), with a usage line and ``shanxi: error: ...``.
A header field of FILE that looks like a slip for a column (a ParseWarning)
is said as ``shanxi: warning: ...`` on stderr, and the data printed.
"""
import argparse
import errno
import os
import sys

FORMATS = ("table", "csv", "json", "markdown")

# The data file's columns: what Dataset.to_dicts() gives, in this order.
COLUMNS = (
    "project", "project_key", "project_title", "category", "metric", "label", "value",
    "unit", "as_of", "period_start", "part_of", "region",
)

# aggregate()'s by keys and funcs.
BY_KEYS = ("project", "metric", "category", "unit", "region", "as_of", "month")
FUNCS = ("sum", "count", "mean", "min", "max")

# metrics()'s filters, each also an option of the same name.
FILTERS = ("project", "metric", "unit", "category", "region", "since", "until")

# The table and markdown formats list this many figures unless --all or --limit.
PREVIEW_ROWS = 50

# Output is written in pieces of about this many characters.
_WRITE_CHUNK = 1 << 16


class _Once(argparse.Action):
    """Store an option's value, and refuse a second one: no silent "last one wins".

    Options using it default to None (the real defaults are applied after
    parsing), so a value already there means the option came before.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        before = getattr(namespace, self.dest, None)
        if before is not None:
            raise argparse.ArgumentError(
                self, "given more than once (%r, then %r)" % (before, values))
        setattr(namespace, self.dest, values)


def _count(text):
    """A --limit argument: a non-negative integer."""
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit()):
        raise argparse.ArgumentTypeError("expected a whole number >= 0, not %r" % text)
    return int(stripped)


def _parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="shanxi",
        description="Print the figures of the twelve 2022 Shanxi livelihood projects, or of "
                    "FILE, a CSV file in the same format; or aggregate them.",
        epilog="Source of the embedded data: China Daily, 'Deeds benefit residents of Shanxi' "
               "(updated 2023-01-12). Exit status: 0 on success, 1 if FILE is not valid data, "
               "2 for a usage error.",
    )
    parser.add_argument(
        "file", nargs="?", metavar="FILE",
        help="a CSV file in the data/ format (- reads stdin); default: the embedded data")
    parser.add_argument(
        "--encoding", type=_encoding, action=_Once,
        help="FILE's text encoding, such as gb18030 or utf-16 (default: UTF-8)")
    parser.add_argument(
        "--format", choices=FORMATS, action=_Once,
        help="output format (default: table); csv has the data file's columns, "
             "and share when a figure has one")
    filters = parser.add_argument_group("filters (as metrics() takes them)")
    filters.add_argument(
        "--project", metavar="N", action=_Once,
        help="only this project, by number, key or a word of its title")
    filters.add_argument("--metric", metavar="KEY", action=_Once, help="only this metric key")
    filters.add_argument("--unit", action=_Once, help="only figures in this unit")
    filters.add_argument("--category", action=_Once, help="only this category")
    filters.add_argument("--region", action=_Once, help="only this region")
    filters.add_argument(
        "--since", metavar="DATE", action=_Once,
        help="only figures as of DATE (YYYY-MM-DD) or later")
    filters.add_argument(
        "--until", metavar="DATE", action=_Once, help="only figures as of DATE or earlier")
    agg = parser.add_argument_group("aggregation (instead of the listing)")
    agg.add_argument(
        "--by", choices=BY_KEYS, action=_Once,
        help="one row per group of this key")
    agg.add_argument(
        "--func", choices=FUNCS, action=_Once,
        help="what to compute over each group (default: sum)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--limit", metavar="N", type=_count, action=_Once,
        help="print at most N rows (default: %d in table and markdown, all in csv and json)"
             % PREVIEW_ROWS)
    size.add_argument("--all", action="store_true", help="print every row in every format")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser


def _project_key(text):
    """A --project argument as shanxi.project() takes it: digits are a number."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit():
        return int(stripped)
    return text


def main(argv=None):
    """Run the command line: print the data in the asked format; 0 on success.

    FILE that is not valid data exits with status 1 and
    ``shanxi: FILE:LINE:COLUMN: reason`` on stderr; bad arguments, a FILE
    that cannot be opened and a filter the data has no match for exit with
    status 2 and a usage line on stderr, as argparse does.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    fmt = args.format or "table"

    if args.encoding is not None and args.file is None:
        parser.error("--encoding is for FILE; the embedded data has none")
    dataset = _dataset(parser, args.file, args.encoding)
    if isinstance(dataset, int):
        return dataset
    try:
        filters = _filters(dataset, args)
        if args.by is not None or args.func is not None:
            pieces = _aggregation(dataset, args, filters, fmt)
        else:
            pieces = _listing(dataset, args, filters, fmt)
    except (KeyError, TypeError, ValueError) as exc:
        parser.error(_message(exc))
    _write(pieces)
    return 0


def _dataset(parser, path, encoding=None):
    """The Dataset to print: the embedded one, FILE's, or 1 after reporting bad data."""
    from . import ParseError, data

    if path is None:
        return data
    name = "<stdin>" if path == "-" else path
    try:
        return _load(path, encoding)
    except ParseError as exc:
        # (a directory's error is in one of its files: exc.source names it)
        where = name if path == "-" else exc.source
        sys.stderr.write("shanxi: %s:%d:%d: %s\n" % (where, exc.line, exc.column, exc.reason))
    except OSError as exc:
        parser.error("can't open %r: %s" % (path, exc.strerror or exc))
    except ValueError as exc:
        sys.stderr.write("shanxi: %s: %s\n" % (name, _message(exc)))
    return 1


def _load(path, encoding):
    """load() of FILE, or of stdin (a binary file: decompressed, transcoded,
    streamed), with its ParseWarnings said as ``shanxi: warning: ...``."""
    import warnings

    from . import ParseWarning, load

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ParseWarning):
            sys.stderr.write("shanxi: warning: %s\n" % message)
        else:
            shown(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        # said once each, whatever -W says of the rest (-W error too)
        warnings.simplefilter("always", ParseWarning)
        warnings.showwarning = show
        if path == "-" and sys.stdin is None:
            raise OSError(errno.EBADF, "standard input is closed")
        return load(sys.stdin.buffer if path == "-" else path, encoding=encoding)


def _encoding(text):
    """An --encoding argument: a text encoding Python knows."""
    import codecs

    try:
        codec = codecs.lookup(text)
    except LookupError:
        raise argparse.ArgumentTypeError("unknown encoding %r" % text) from None
    if not getattr(codec, "_is_text_encoding", True):
        raise argparse.ArgumentTypeError("%s is not a text encoding" % text)
    return text


def _filters(dataset, args):
    """The keyword filters of metrics() and aggregate() from the options."""
    filters = {}
    for name in FILTERS:
        value = getattr(args, name)
        if value is None:
            continue
        if name == "project":
            # Resolved first for project()'s messages: no such number, did you mean.
            value = dataset.project(_project_key(value)).number
        filters[name] = value
    return filters


def _message(exc):
    """An exception's message for the command line: its options, not the API's keywords."""
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    return text.replace('pass unit=... or by="unit"', "pass --unit UNIT or --by unit")


def _write(pieces):
    """Write the pieces of text to stdout, quietly stopping if the reader has gone."""
    out = sys.stdout
    try:
        buf, size = [], 0
        for piece in pieces:
            buf.append(piece)
            size += len(piece)
            if size >= _WRITE_CHUNK:
                out.write("".join(buf))
                buf, size = [], 0
        out.write("".join(buf))
        out.flush()
    except BrokenPipeError:
        # The reader (head, less) has gone: stop quietly, and point stdout at
        # devnull so the interpreter's last flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)


# ------------------------------------------------------------------ listing

def _listing(dataset, args, filters, fmt):
    """The pieces of the listing of the figures the filters select."""
    metrics = dataset.metrics(**filters)
    limit = args.limit
    if limit is None and not args.all and fmt in ("table", "markdown"):
        limit = PREVIEW_ROWS
    shown = metrics if limit is None or limit >= len(metrics) else metrics[:limit]
    more = len(metrics) - len(shown)
    share_list = _share_list(metrics, len(shown))
    if not any(s is not None for s in share_list):
        share_list = None
    # Decided on the whole selection, so that a preview has the full listing's columns.
    with_region = bool(metrics) and len(dataset.aggregate("count", by="region", **filters)) > 1
    if fmt == "table":
        return _table(dataset, shown, share_list, with_region, more)
    if fmt == "csv":
        return _csv(dataset, shown, share_list)
    if fmt == "json":
        return _json(dataset, shown, share_list)
    return _markdown(shown, share_list, with_region, more)


def _share_list(metrics, count):
    """The share of each of the first count figures of metrics, or None: the
    dataset's share column, so the wholes may be unshown."""
    from ._render import dataset_shares

    native = dataset_shares(metrics)
    if native is None:      # no part among them
        return [None] * count
    return [None if s != s else s for s in native[:count]]


def _more(count, what):
    return "... %s more %s (--all shows every one)" % ("{:,}".format(count), what)


def _number(value):
    """A value for people: thousands separators, floats otherwise as repr gives them."""
    return "{:,}".format(value)


def _when(metric):
    """as_of, or the period start..end for a figure counted over a period."""
    if metric.period_start is not None:
        return "%s..%s" % (metric.period_start.isoformat(), metric.as_of.isoformat())
    return metric.as_of.isoformat()


def _share_text(metric, share):
    from ._render import percent

    if share is None:
        return ""
    return "%s of %s" % (percent(share), metric.part_of)


def _width(text):
    """Columns text takes in a terminal: two for wide (CJK) characters, none for combining."""
    if text.isascii():
        return len(text)
    import unicodedata

    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _ljust(text, width):
    return text + " " * (width - _width(text))


def _rjust(text, width):
    return " " * (width - _width(text)) + text


def _table(dataset, metrics, share_list, with_region, more):
    shares = share_list or [None] * len(metrics)
    by_project = {}
    for metric, share in zip(metrics, shares):
        cells = [metric.key]
        if with_region:
            cells.append(metric.region or "")
        cells += [_number(metric.value), metric.unit, _when(metric), _share_text(metric, share)]
        by_project.setdefault(metric.project, []).append(cells)
    projects = [p for p in dataset.projects() if p.number in by_project]
    rows = [cells for lines in by_project.values() for cells in lines]
    ncols = 6 if with_region else 5
    value_col = ncols - 4
    widths = [max([_width(c[i]) for c in rows] or [0]) for i in range(ncols)]
    width_num = max([len(str(p.number)) for p in projects] or [1])
    indent = " " * (width_num + 2)
    for p in projects:
        heading = [str(p.number).rjust(width_num)]
        heading += [x for x in (p.title or p.key,) if x]
        if p.category:
            heading.append("[%s]" % p.category)
        yield "  ".join(heading) + "\n"
        for cells in by_project[p.number]:
            line = "  ".join(
                _rjust(c, widths[i]) if i == value_col else
                c if i == ncols - 1 else _ljust(c, widths[i])
                for i, c in enumerate(cells))
            yield (indent + line).rstrip() + "\n"
    if more:
        yield _more(more, "figures") + "\n"


def _plain(value):
    """A value as the data file writes it: ints as ints, floats via repr, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _rows(dataset, metrics):
    """The figures as to_dicts() rows, in the data file's columns."""
    projects = {p.number: p for p in dataset.projects()}
    for m in metrics:
        p = projects[m.project]
        yield {
            "project": m.project, "project_key": p.key, "project_title": p.title,
            "category": m.category, "metric": m.key, "label": m.label, "value": m.value,
            "unit": m.unit, "as_of": m.as_of, "period_start": m.period_start,
            "part_of": m.part_of, "region": m.region,
        }


def _csv_lines(header, records):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    yield buf.getvalue()
    for fields in records:
        buf.seek(0)
        buf.truncate()
        writer.writerow([_plain(v) for v in fields])
        yield buf.getvalue()


def _csv(dataset, metrics, share_list):
    header = list(COLUMNS) + (["share"] if share_list is not None else [])

    def records():
        for i, row in enumerate(_rows(dataset, metrics)):
            fields = [row[name] for name in COLUMNS]
            if share_list is not None:
                fields.append(share_list[i])
            yield fields

    return _csv_lines(header, records())


def _json_lines(objects):
    """json.dumps(list(objects), indent=2), a piece per object."""
    import json

    first = True
    for obj in objects:
        text = json.dumps(obj, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        yield ("[\n  " if first else ",\n  ") + text
        first = False
    yield "[]\n" if first else "\n]\n"


def _json_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _json(dataset, metrics, share_list):
    def objects():
        for i, row in enumerate(_rows(dataset, metrics)):
            obj = {name: _json_value(row[name]) for name in COLUMNS}
            if share_list is not None:
                obj["share"] = share_list[i]
            yield obj

    return _json_lines(objects())


def _md_cell(text):
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", " ").replace(
        "\n", " ").replace("\r", " ")


def _md_row(cells):
    return "| %s |\n" % " | ".join(_md_cell(c) for c in cells)


def _markdown(metrics, share_list, with_region, more):
    header = ["project", "metric", "label", "value", "unit", "as_of"]
    align = ["---:", "---", "---", "---:", "---", "---"]
    if with_region:
        header.insert(2, "region")
        align.insert(2, "---")
    if share_list is not None:
        header.append("share")
        align.append("---:")
    yield _md_row(header)
    yield "| %s |\n" % " | ".join(align)
    for i, metric in enumerate(metrics):
        cells = [str(metric.project), metric.key, metric.label or "", _number(metric.value),
                 metric.unit, _when(metric)]
        if with_region:
            cells.insert(2, metric.region or "")
        if share_list is not None:
            cells.append(_share_text(metric, share_list[i]))
        yield _md_row(cells)
    if more:
        yield "\n" + _more(more, "figures") + "\n"


# ------------------------------------------------------------------ aggregation

def _aggregation(dataset, args, filters, fmt):
    """The pieces of aggregate(func, by=..., **filters) in the asked format."""
    func = args.func or "sum"
    result = dataset.aggregate(func, by=args.by, **filters)
    if args.by is None:
        header, rows = [func], [(result,)]
    else:
        header, rows = [args.by, func], list(result.items())
    more = 0
    if args.limit is not None and args.limit < len(rows):
        more = len(rows) - args.limit
        rows = rows[:args.limit]
    if fmt == "csv":
        return _csv_lines(header, rows)
    if fmt == "json":
        return _json_lines({h: _json_value(v) for h, v in zip(header, row)} for row in rows)
    if fmt == "markdown":
        return _groups_markdown(header, rows, more)
    return _groups_table(header, rows, more)


def _key_text(key):
    # Project numbers are names, not quantities: no thousands separators.
    return key.isoformat() if hasattr(key, "isoformat") else str(key)


def _groups_table(header, rows, more):
    if len(header) == 1:      # one number: just the number
        yield _number(rows[0][0]) + "\n"
        return
    keys = [_key_text(k) for k, _ in rows]
    values = [_number(v) for _, v in rows]
    kw = max([_width(k) for k in keys + [header[0]]])
    vw = max([_width(v) for v in values + [header[1]]])
    yield _ljust(header[0], kw) + "  " + _rjust(header[1], vw) + "\n"
    for key, value in zip(keys, values):
        yield _ljust(key, kw) + "  " + _rjust(value, vw) + "\n"
    if more:
        yield _more(more, "groups") + "\n"


def _groups_markdown(header, rows, more):
    yield _md_row(header)
    yield "| %s |\n" % " | ".join(["---"] * (len(header) - 1) + ["---:"])
    for row in rows:
        yield _md_row([_key_text(v) for v in row[:-1]] + [_number(row[-1])])
    if more:
        yield "\n" + _more(more, "groups") + "\n"


if __name__ == "__main__":
    sys.exit(main())
