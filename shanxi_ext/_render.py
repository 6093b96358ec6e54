"""HTML for notebooks: what ``_repr_html_`` of Dataset, Project, Metric and of
the tuples ``metrics()`` and ``search()`` return calls.

What a reader wants at a glance, whatever the notebook's stylesheet: every
cell carries its own ``style`` (text left-aligned, numbers right-aligned in
tabular digits, dates and numbers never wrapped), numbers are written one
way (thousands separators, floats as short as ``repr`` gives them: 1,234,
1,234.5, 93.41), dates as ISO strings, and every piece of text is escaped
with ``html.escape``.  Long tables show their first and last rows around an
ellipsis row; a dataset shows what it holds (figures, projects, regions,
units, the date range) and then a bounded preview of its figures, without a
Python object per row.
"""
import html as _html

# A table of more rows than MAX_ROWS shows only its first and last
# PREVIEW_ROWS around an ellipsis row, as pandas does (max_rows, min_rows);
# so does a dataset's preview of its figures, always.
MAX_ROWS = 60
PREVIEW_ROWS = 5
# How many regions or units the summary names before "and N more".
MAX_NAMES = 12

TEXT, NUMBER, DATE = "text", "number", "date"
_STYLE = {
    TEXT: "text-align:left",
    NUMBER: "text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums",
    DATE: "text-align:left;white-space:nowrap",
}


def html(obj):
    """The HTML of a Dataset, Project, Metric or a tuple of Metrics."""
    from ._shanxi import Dataset, Metric, Project

    if isinstance(obj, Dataset):
        return _dataset_html(obj)
    if isinstance(obj, Project):
        return _project_html(obj)
    if isinstance(obj, Metric):
        return _metric_html(obj)
    if isinstance(obj, tuple) and all(isinstance(m, Metric) for m in obj):
        return _metrics_html(obj)
    raise TypeError("html() takes a Dataset, Project, Metric or a tuple of Metrics, not %s"
                    % type(obj).__name__)


# ------------------------------------------------------------------ text

def text(value):
    """A value as plain text, before escaping."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return "{:,}".format(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def percent(fraction):
    """A share as a percent with two decimals: 0.80967... -> '80.97%'."""
    return "{:.2f}%".format(fraction * 100)


def _esc(value):
    return _html.escape(text(value), quote=True)


def _kind(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return NUMBER
    if hasattr(value, "isoformat"):
        return DATE
    return TEXT


def _cell(tag, content, kind):
    return '<%s style="%s">%s</%s>' % (tag, _STYLE[kind], content, tag)


def _table(css_class, columns, rows, caption=None, noun="rows", total=None):
    """An HTML table of rows of raw values (escaped here).  columns are
    (name, kind) pairs; a cell's kind is its column's, so a column's header
    lines up with its values.  A value wrapped in Raw is already HTML.
    rows may be cut already (None for the rows left out; total says how
    many there are)."""
    out = ['<table class="%s">' % css_class]
    shown = list(rows)
    if total is None:
        total = len(shown)
    if len(shown) > MAX_ROWS:
        shown = shown[:PREVIEW_ROWS] + [None] + shown[-PREVIEW_ROWS:]
    if None in shown:
        cut = "the first and last %d of %s %s" % (PREVIEW_ROWS, text(total), noun)
        caption = cut if caption is None else "%s; %s" % (caption, cut)
    if caption is not None:
        out.append('<caption style="text-align:left">%s</caption>' % caption)
    out.append("<thead><tr>%s</tr></thead>"
               % "".join(_cell("th", _html.escape(name, quote=True), kind)
                         for name, kind in columns))
    out.append("<tbody>")
    for row in shown:
        if row is None:
            out.append("<tr>%s</tr>" % "".join(_cell("td", "&hellip;", kind)
                                                for _, kind in columns))
            continue
        out.append("<tr>%s</tr>" % "".join(
            _cell("td", value if isinstance(value, Raw) else _esc(value), kind)
            for value, (_, kind) in zip(row, columns)))
    out.append("</tbody></table>")
    return "\n".join(out)


class Raw(str):
    """Text that is already HTML."""


def _names(names):
    """Up to MAX_NAMES names, then how many more."""
    shown = ", ".join(text(n) for n in names[:MAX_NAMES])
    if len(names) > MAX_NAMES:
        shown += ", \N{HORIZONTAL ELLIPSIS} (%s more)" % text(len(names) - MAX_NAMES)
    return shown


# ------------------------------------------------------------------ dataset

def _dataset_html(ds):
    projects = ds.projects()
    counts = ds.aggregate("count", by="project") if len(ds) else {}
    native = ds._columns() if hasattr(ds, "_columns") else None
    # sorted, as the dataset says them; rows without a region are no region
    regions = [r for r in ds.regions if r is not None]
    units = _distinct(ds, native, "unit")
    dates = list(ds.aggregate("count", by="as_of")) if len(ds) else []

    summary = []
    if regions:
        summary.append(("regions", "%s: %s" % (text(len(regions)), _names(regions))))
    summary.append(("units", "%s: %s" % (text(len(units)), _names(units)) if units else ""))
    if dates:
        span = dates[0].isoformat()
        if len(dates) > 1:
            span += " \N{EN DASH} %s (%s dates)" % (dates[-1].isoformat(), text(len(dates)))
        summary.append(("as_of", span))
    source = ds.source
    if isinstance(source, tuple):  # load() of many files
        source = "%d file%s" % (len(source), "" if len(source) == 1 else "s")
    caption = "<strong>%s</strong>: %s, %s" % (
        _html.escape(source, quote=True), _count(len(ds), "figure"),
        _count(len(projects), "project"))
    parts = ['<div class="shanxi-dataset">', _card("shanxi-summary", summary, caption=caption)]

    # Project numbers are names, not quantities: no thousands separators.
    rows = [[str(p.number), p.key, p.title, p.category, p.as_of, counts.get(p.number, 0)]
            for p in projects]
    columns = [("number", NUMBER), ("key", TEXT), ("title", TEXT), ("category", TEXT),
               ("as_of", DATE), ("figures", NUMBER)]
    parts.append(_table("shanxi-projects", _without_empty(columns, rows, keep=("number",)),
                        _drop_empty_cells(columns, rows, keep=("number",)), noun="projects"))
    preview = _preview(ds, native)
    if preview is not None:
        parts.append(preview)
    parts.append("</div>")
    return "\n".join(parts)


def _distinct(ds, native, name):
    """The distinct strings of a text column (empty where none), in order of
    first appearance."""
    if native is not None:
        item = native.get(name)
        return list(item[1]) if item is not None else []
    seen = {}
    for m in ds.metrics():
        value = getattr(m, name)
        if value is not None:
            seen.setdefault(value, None)
    return list(seen)


def _count(n, noun):
    """'1 figure', '2 figures'."""
    return "%s %s%s" % (text(n), noun, "" if n == 1 else "s")


def _preview(ds, native):
    """The first and last PREVIEW_ROWS figures of ds, read from its native
    columns (no Python object per row), or None when it has none."""
    n = len(ds)
    if n == 0:
        return None
    rows = list(range(n)) if n <= 2 * PREVIEW_ROWS else (
        list(range(PREVIEW_ROWS)) + [None] + list(range(n - PREVIEW_ROWS, n)))
    if native is not None:
        figures = {i: _native_row(native, i) for i in rows if i is not None}
    else:
        every = ds.to_dicts()
        figures = {i: every[i] for i in rows if i is not None}
    columns = [("project", NUMBER), ("metric", TEXT), ("value", NUMBER), ("unit", TEXT),
               ("as_of", DATE), ("region", TEXT), ("share", NUMBER)]
    table_rows = []
    for i in rows:
        if i is None:
            table_rows.append(None)
            continue
        f = figures[i]
        share = f.get("share")
        table_rows.append([str(f["project"]), f["metric"], f["value"], f["unit"], f["as_of"],
                           f.get("region"), None if share is None else percent(share)])
    kept = _without_empty(columns, [r for r in table_rows if r is not None],
                          keep=("project", "metric", "value", "unit", "as_of"))
    index = [columns.index(c) for c in kept]
    table_rows = [None if r is None else [r[k] for k in index] for r in table_rows]
    caption = ("all %s figures" % text(n) if n <= 2 * PREVIEW_ROWS else
               "the first and last %d of %s figures" % (PREVIEW_ROWS, text(n)))
    # The ellipsis row of a cut preview is made here, not by MAX_ROWS.
    out = ['<table class="shanxi-figures">',
           '<caption style="text-align:left">%s</caption>' % caption,
           "<thead><tr>%s</tr></thead>" % "".join(
               _cell("th", _html.escape(name, quote=True), kind) for name, kind in kept),
           "<tbody>"]
    for row in table_rows:
        if row is None:
            out.append("<tr>%s</tr>" % "".join(_cell("td", "&hellip;", kind)
                                                for _, kind in kept))
        else:
            out.append("<tr>%s</tr>" % "".join(_cell("td", _esc(v), kind)
                                                for v, (_, kind) in zip(row, kept)))
    out.append("</tbody></table>")
    return "\n".join(out)


def _native_row(native, i):
    """Row i of Dataset._columns() as a to_dicts()-like dict of the preview's fields."""
    import datetime

    def string(name):
        item = native.get(name)
        if item is None:
            return None
        codes, strings = item
        code = codes[i]
        return strings[code] if code >= 0 else None

    value = native["value"][i]
    if native["is_int"][i]:
        value = int(value)
    share = native["share"][i]
    return {"project": native["project"][i], "metric": string("metric"), "value": value,
            "unit": string("unit"),
            "as_of": datetime.date(1970, 1, 1) + datetime.timedelta(days=native["as_of"][i]),
            "region": string("region"), "share": None if share != share else share}


def _without_empty(columns, rows, keep=()):
    """The columns with at least one non-empty value (or named in keep);
    None rows stand for rows left out."""
    return [c for k, c in enumerate(columns)
            if c[0] in keep or any(r is not None and r[k] is not None and r[k] != ""
                                   for r in rows)]


def _drop_empty_cells(columns, rows, keep=()):
    kept = _without_empty(columns, rows, keep)
    index = [columns.index(c) for c in kept]
    return [None if r is None else [r[k] for k in index] for r in rows]


# ------------------------------------------------------------------ figures

def dataset_shares(metrics):
    """Each figure's share as the dataset that made metrics computed it (its
    share column: doubles, NaN for none), or None for figures no dataset
    made (a tuple made by hand or unpickled), or that hold no part."""
    native = getattr(metrics, "_shares", None)
    if native is None or len(native) != 8 * len(metrics):
        return None
    return memoryview(native).cast("d")


def shares(metrics):
    """{index: share} for the figures of metrics that have a share.

    Figures a dataset made have the shares of its share column (the rule of
    Dataset.share(): the whole is the figure of the same project whose key
    is the part's part_of, for the same region and as_of; none where it is
    missing, ambiguous or zero), their wholes among them or not.  Figures
    made by hand have that rule among themselves (_shares.py).
    """
    native = dataset_shares(metrics)
    if native is not None:
        return {i: s for i, s in enumerate(native) if s == s}
    from ._shares import metric_shares

    return metric_shares(metrics)


def _figures_table(css_class, metrics, with_project):
    """A table of figures: the columns that have a value somewhere, a region
    column when they cover more than one region, a share column when one of
    them has a share (shares())."""
    part_shares = shares(metrics)
    regions = {m.region for m in metrics}
    columns = [("project", NUMBER)] if with_project else []
    columns += [("metric", TEXT), ("label", TEXT), ("value", NUMBER), ("unit", TEXT),
                ("as_of", DATE)]
    if len(regions) > 1:
        columns.append(("region", TEXT))
    if part_shares:
        columns.append(("share", NUMBER))
    rows = []
    for i, m in _shown(metrics):
        if m is None:
            rows.append(None)
            continue
        row = [str(m.project)] if with_project else []
        row += [m.key, m.label, m.value, m.unit, m.as_of]
        if len(regions) > 1:
            row.append(m.region)
        if part_shares:
            row.append(percent(part_shares[i]) if i in part_shares else None)
        rows.append(row)
    kept = _without_empty(columns, rows, keep=("metric", "value", "unit", "as_of"))
    return _table(css_class, kept, _drop_empty_cells(columns, rows,
                                                     keep=("metric", "value", "unit", "as_of")),
                  noun="figures", total=len(metrics))


def _shown(items):
    """(index, item) of what a table of items shows; (None, None) stands for
    the rows it leaves out, so a long table's cells are made only for the
    rows it shows."""
    n = len(items)
    if n <= MAX_ROWS:
        return list(enumerate(items))
    return ([(i, items[i]) for i in range(PREVIEW_ROWS)] + [(None, None)]
            + [(i, items[i]) for i in range(n - PREVIEW_ROWS, n)])


def _project_html(p):
    heading = ["<strong>%d</strong>" % p.number]
    if p.title is not None:
        heading.append(_esc(p.title))
    details = [_esc(x) for x in (p.key, p.category) if x is not None]
    if p.as_of is not None:
        details.append("as of %s" % _esc(p.as_of))
    if details:
        heading.append("<small>(%s)</small>" % ", ".join(details))
    return '<div class="shanxi-project">\n<p>%s</p>\n%s\n</div>' % (
        " ".join(heading), _figures_table("shanxi-metrics", p.metrics, with_project=False))


def _metrics_html(metrics):
    caption = "%s figure%s" % (text(len(metrics)), "" if len(metrics) == 1 else "s")
    if not metrics:
        return '<div class="shanxi-figures"><p>no figures</p></div>'
    projects = {m.project for m in metrics}
    return '<div class="shanxi-figures">\n<p>%s</p>\n%s\n</div>' % (
        caption, _figures_table("shanxi-metrics", metrics, with_project=len(projects) > 1))


_METRIC_FIELDS = ("key", "project", "label", "value", "unit", "as_of", "period_start",
                  "part_of", "region", "category")


def _metric_html(m):
    # A card of the fields that have a value: an empty one tells nothing.
    rows = []
    for name in _METRIC_FIELDS:
        value = getattr(m, name)
        if value is not None:
            rows.append((name, str(value) if name == "project" else value))
    return _card("shanxi-metric", rows)


def _card(css_class, rows, caption=None):
    """A table of (name, value) rows: the name a row header, the value in
    the style of its kind."""
    out = ['<table class="%s">' % css_class]
    if caption is not None:
        out.append('<caption style="text-align:left">%s</caption>' % caption)
    out.append("<tbody>")
    for name, value in rows:
        out.append("<tr>%s%s</tr>" % (_cell("th", _html.escape(name, quote=True), TEXT),
                                      _cell("td", _esc(value), _kind(value))))
    out.append("</tbody></table>")
    return "\n".join(out)
