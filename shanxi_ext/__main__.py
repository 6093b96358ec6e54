"""Print the shanxi data: ``python -m shanxi`` or the ``shanxi`` command.

    shanxi                         the twelve projects and their figures, as a table
    shanxi --format csv            the data file's columns, readable by shanxi.loads and pandas
    shanxi --format json           a list of objects, one per figure
    shanxi --format markdown       a GitHub table
    shanxi --project 7             one project (number, key or title word), with shares
"""
import os
import sys

FORMATS = ("table", "csv", "json", "markdown")

# The data file's columns: what Dataset.to_dicts() gives, in this order.
COLUMNS = (
    "project", "project_key", "project_title", "category", "metric", "label", "value",
    "unit", "as_of", "period_start", "part_of", "region",
)


def _parser():
    import argparse

    from . import __version__

    parser = argparse.ArgumentParser(
        prog="shanxi",
        description="Print the figures of the twelve 2022 Shanxi livelihood projects.",
        epilog="Source: China Daily, 'Deeds benefit residents of Shanxi' (updated 2023-01-12).",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="table",
        help="output format (default: table); csv has the data file's columns")
    parser.add_argument(
        "--project", metavar="N",
        help="only this project, by number, key or a word of its title; "
             "adds each figure's share of the whole it is part of")
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

    Bad arguments and an unknown project exit with status 2 and a usage line
    on stderr, as argparse does.
    """
    parser = _parser()
    args = parser.parse_args(argv)

    from . import data
    from ._render import shares

    if args.project is not None:
        try:
            chosen = data.project(_project_key(args.project))
        except (KeyError, TypeError) as exc:
            parser.error(exc.args[0] if exc.args else str(exc))
        projects = (chosen,)
        metrics = chosen.metrics
        rows = [row for row in data.to_dicts() if row["project"] == chosen.number]
    else:
        projects = data.projects()
        metrics = data.metrics()
        rows = data.to_dicts()
    part_shares = shares(metrics)
    share_list = [part_shares.get(i) for i in range(len(metrics))]

    with_share = args.project is not None
    if args.format == "table":
        out = _table(projects, metrics, share_list)
    elif args.format == "csv":
        out = _csv(rows, share_list if with_share else None)
    elif args.format == "json":
        out = _json(rows, share_list if with_share else None)
    else:
        out = _markdown(metrics, share_list)

    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (head, less) has gone: stop quietly, and point stdout at
        # devnull so the interpreter's last flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0


# ------------------------------------------------------------------ formats

def _number(value):
    """A value for people: ints with thousands separators, floats as repr."""
    if isinstance(value, int):
        return "{:,}".format(value)
    return repr(value)


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


def _table(projects, metrics, share_list):
    by_project = {}
    for metric, share in zip(metrics, share_list):
        by_project.setdefault(metric.project, []).append(
            (metric.key, _number(metric.value), metric.unit, _when(metric),
             _share_text(metric, share)))
    cells = [line for lines in by_project.values() for line in lines]
    width_num = max([len(str(p.number)) for p in projects] or [1])
    widths = [max([len(c[i]) for c in cells] or [0]) for i in range(5)]
    indent = " " * (width_num + 2)
    out = []
    for p in projects:
        heading = [str(p.number).rjust(width_num)]
        heading += [x for x in (p.title or p.key,) if x]
        if p.category:
            heading.append("[%s]" % p.category)
        out.append("  ".join(heading))
        for key, value, unit, when, share in by_project.get(p.number, ()):
            line = "  ".join((key.ljust(widths[0]), value.rjust(widths[1]),
                              unit.ljust(widths[2]), when.ljust(widths[3]), share))
            out.append((indent + line).rstrip())
    return "\n".join(out) + "\n"


def _plain(value):
    """A value as the data file writes it: ints as ints, floats via repr, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _csv(rows, share_list):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = list(COLUMNS) + (["share"] if share_list is not None else [])
    writer.writerow(header)
    for i, row in enumerate(rows):
        fields = [_plain(row[name]) for name in COLUMNS]
        if share_list is not None:
            fields.append(_plain(share_list[i]))
        writer.writerow(fields)
    return buf.getvalue()


def _json(rows, share_list):
    import json

    objects = []
    for i, row in enumerate(rows):
        obj = {}
        for name in COLUMNS:
            value = row[name]
            obj[name] = value.isoformat() if hasattr(value, "isoformat") else value
        if share_list is not None:
            obj["share"] = share_list[i]
        objects.append(obj)
    return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"


def _md_cell(text):
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", " ").replace(
        "\n", " ").replace("\r", " ")


def _markdown(metrics, share_list):
    with_share = any(s is not None for s in share_list)
    header = ["project", "metric", "label", "value", "unit", "as_of"]
    align = ["---:", "---", "---", "---:", "---", "---"]
    if with_share:
        header.append("share")
        align.append("---:")
    out = ["| %s |" % " | ".join(header), "| %s |" % " | ".join(align)]
    for metric, share in zip(metrics, share_list):
        cells = [str(metric.project), metric.key, metric.label or "", _number(metric.value),
                 metric.unit, _when(metric)]
        if with_share:
            cells.append(_share_text(metric, share))
        out.append("| %s |" % " | ".join(_md_cell(c) for c in cells))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
