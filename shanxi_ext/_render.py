"""HTML tables for notebooks: what ``_repr_html_`` of Dataset, Project and Metric calls.

Every piece of text is escaped with ``html.escape``; integers get thousands
separators, floats are shown as ``repr`` gives them, dates as ISO strings and
None as an empty cell.
"""
import html as _html

# Longer tables show their first and last rows around an ellipsis row.
MAX_ROWS = 60

_RIGHT = ' style="text-align: right"'


def html(obj):
    """The HTML of a Dataset, Project or Metric."""
    from ._shanxi import Dataset, Metric, Project

    if isinstance(obj, Dataset):
        return _dataset_html(obj)
    if isinstance(obj, Project):
        return _project_html(obj)
    if isinstance(obj, Metric):
        return _metric_html(obj)
    raise TypeError("html() takes a Dataset, Project or Metric, not %s" % type(obj).__name__)


def text(value):
    """A value as plain text, before escaping."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return "{:,}".format(value)
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def percent(fraction):
    """A share as a percent with two decimals: 0.80967... -> '80.97%'."""
    return "{:.2f}%".format(fraction * 100)


def _esc(value):
    return _html.escape(text(value), quote=True)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _table(css_class, header, rows, caption=None):
    """An HTML table of rows of raw values (escaped here)."""
    out = ['<table class="%s">' % css_class]
    if caption is not None:
        out.append("<caption>%s</caption>" % _html.escape(caption, quote=True))
    if header:
        out.append("<thead><tr>%s</tr></thead>"
                   % "".join("<th>%s</th>" % _html.escape(h, quote=True) for h in header))
    out.append("<tbody>")
    shown = rows
    if len(rows) > MAX_ROWS:
        half = MAX_ROWS // 2
        shown = list(rows[:half]) + [None] + list(rows[-half:])
    for row in shown:
        if row is None:
            out.append('<tr>%s</tr>' % "".join("<td>&hellip;</td>" for _ in header))
            continue
        cells = []
        for value in row:
            align = _RIGHT if _is_number(value) else ""
            cells.append("<td%s>%s</td>" % (align, _esc(value)))
        out.append("<tr>%s</tr>" % "".join(cells))
    out.append("</tbody></table>")
    return "\n".join(out)


def _dataset_html(ds):
    projects = ds.projects()
    counts = ds.aggregate("count", by="project") if len(ds) else {}
    # Project numbers are names, not quantities: no thousands separators.
    rows = [[str(p.number), p.key, p.title, p.category, p.as_of, counts.get(p.number, 0)]
            for p in projects]
    caption = "%s: %s figures, %s projects" % (ds.source, text(len(ds)), text(len(projects)))
    return _table("shanxi-dataset", ["number", "key", "title", "category", "as_of", "figures"],
                  rows, caption=caption)


def shares(metrics):
    """{index: share} for the figures of metrics that are part of another one there.

    The whole is the figure whose key is the part's part_of, for the same
    region and as_of; none where it is missing, ambiguous or zero.
    """
    wholes = {}
    for m in metrics:
        at = (m.key, m.region, m.as_of)
        wholes[at] = None if at in wholes else m.value
    out = {}
    for i, m in enumerate(metrics):
        if m.part_of is not None:
            whole = wholes.get((m.part_of, m.region, m.as_of))
            if whole:
                out[i] = m.value / whole
    return out


def _project_html(p):
    metrics = p.metrics
    part_shares = shares(metrics)
    header = ["metric", "label", "value", "unit", "as_of"]
    if part_shares:
        header.append("share")
    rows = []
    for i, m in enumerate(metrics):
        row = [m.key, m.label, m.value, m.unit, m.as_of]
        if part_shares:
            row.append(percent(part_shares[i]) if i in part_shares else None)
        rows.append(row)
    heading = ["<strong>%d</strong>" % p.number]
    if p.title is not None:
        heading.append(_esc(p.title))
    details = [_esc(x) for x in (p.key, p.category) if x is not None]
    if p.as_of is not None:
        details.append("as of %s" % _esc(p.as_of))
    if details:
        heading.append("<small>(%s)</small>" % ", ".join(details))
    return '<div class="shanxi-project">\n<p>%s</p>\n%s\n</div>' % (
        " ".join(heading), _table("shanxi-metrics", header, rows))


_METRIC_FIELDS = ("key", "project", "label", "value", "unit", "as_of", "period_start",
                  "part_of", "region", "category")


def _metric_html(m):
    rows = [[name, str(m.project) if name == "project" else getattr(m, name)]
            for name in _METRIC_FIELDS]
    return _table("shanxi-metric", ["field", "value"], rows)
