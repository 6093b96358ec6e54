"""pandas DataFrames of a Dataset: what ``Dataset.to_frame()`` calls.

pandas (and numpy, which comes with it) are imported only when a frame is
asked for, so ``import shanxi`` stays light.  The columns are built straight
from the dataset: from ``to_dicts()`` in general, or, for a large loaded file
when pyarrow is installed, from the dataset's Arrow stream, which hands over
the numeric columns without a Python object per row.  Both give the same
frame.
"""

KINDS = ("metrics", "projects")

METRIC_COLUMNS = (
    "project", "project_key", "metric", "label", "value", "unit", "category",
    "as_of", "period_start", "part_of", "region", "share",
)
PROJECT_COLUMNS = ("number", "key", "title", "category", "as_of", "figures")

# The Arrow stream is used from this many figures on (when pyarrow is there);
# below it, to_dicts() is as fast and spares importing pyarrow.
ARROW_MIN_ROWS = 50_000

_EPOCH_ORDINAL = 719163      # datetime.date(1970, 1, 1).toordinal()
_NAT = -(2 ** 63)            # NaT as the int64 behind a numpy datetime64


def to_frame(ds, kind="metrics"):
    """A pandas DataFrame of ds: one row per figure, or per project."""
    if not isinstance(kind, str):
        raise TypeError("to_frame() kind must be a str, not %s" % type(kind).__name__)
    if kind not in KINDS:
        raise ValueError("unknown to_frame() kind %r; expected one of %s"
                         % (kind, ", ".join(repr(k) for k in KINDS)))
    pd = _import_pandas()
    if kind == "projects":
        return _projects_frame(pd, ds)
    return _metrics_frame(pd, ds)


def _import_pandas():
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_frame() needs pandas: pip install pandas", name="pandas") from exc
    return pandas


# ------------------------------------------------------------------ dtypes

def _str_dtype(pd):
    """The dtype pandas gives a column of text: object (pandas 2) or str (pandas 3)."""
    return pd.Series(["x"]).dtype


def _strings(pd, values):
    return pd.Series(values, dtype=_str_dtype(pd))


def _datetimes(pd, days):
    """A datetime64 Series from an int64 array of days since 1970 (_NAT for none).

    The unit is the one pd.to_datetime gives a datetime.date (ns in pandas 2,
    s in pandas 3), unless a date lies outside the range of ns: then s.
    """
    import datetime

    days = days.view("datetime64[D]")
    target = pd.to_datetime([datetime.date(2000, 1, 1)]).dtype
    series = pd.Series(days.astype("datetime64[s]"))
    if series.dtype != target:
        try:
            series = series.astype(target)
        except (ValueError, OverflowError):   # OutOfBoundsDatetime is a ValueError
            pass
    return series


def _days(np, dates):
    """int64 days since 1970 of a sequence of datetime.date or None."""
    epoch, nat = _EPOCH_ORDINAL, _NAT
    return np.array([nat if d is None else d.toordinal() - epoch for d in dates], dtype="int64")


# ------------------------------------------------------------------ metrics

def _metrics_frame(pd, ds):
    import numpy as np

    columns = None
    if len(ds) >= ARROW_MIN_ROWS:
        columns = _columns_from_arrow(pd, np, ds)
    if columns is None:
        columns = _columns_from_dicts(np, ds)
    (project, project_key, metric, label, value, unit, category, as_of, period_start,
     part_of, region) = columns

    data = {
        "project": np.asarray(project, dtype="int64"),
        "project_key": _strings(pd, project_key),
        "metric": _strings(pd, metric),
        "label": _strings(pd, label),
        "value": np.asarray(value, dtype="float64"),
        "unit": pd.Categorical(_strings(pd, unit)),
        "category": pd.Categorical(_strings(pd, category)),
        "as_of": _datetimes(pd, as_of),
        "period_start": _datetimes(pd, period_start),
        "part_of": _strings(pd, part_of),
        "region": _strings(pd, region),
    }
    frame = pd.DataFrame(data, columns=list(METRIC_COLUMNS[:-1]))
    frame["share"] = _shares(pd, np, frame)
    return frame


def _shares(pd, np, frame):
    """Each figure's value over the value of its part_of figure (float64, NaN where none).

    The whole is the figure of the same project whose metric key is the
    part_of key, for the same region and as_of (a missing region matches a
    missing one).  Where there is no such figure, more than one, or it is
    zero, the share is NaN.
    """
    share = np.full(len(frame), np.nan)
    has_part = frame["part_of"].notna().to_numpy(dtype=bool)
    if not has_part.any():
        return share
    keys = ["metric", "project", "region", "as_of"]
    wanted = frame["part_of"][has_part].unique()
    wholes = frame.loc[frame["metric"].isin(wanted), keys + ["value"]]
    wholes = wholes[~wholes.duplicated(keys, keep=False)]
    parts = frame.loc[has_part, ["part_of", "project", "region", "as_of"]]
    parts = parts.rename(columns={"part_of": "metric"})
    # A left merge on unique right keys keeps the parts' rows and order.
    merged = parts.merge(wholes.rename(columns={"value": "_whole"}), how="left", on=keys)
    whole = merged["_whole"].to_numpy(dtype="float64", copy=True)
    whole[whole == 0] = np.nan
    share[has_part] = frame["value"].to_numpy()[has_part] / whole
    return share


def _columns_from_dicts(np, ds):
    rows = ds.to_dicts()

    def column(name):
        return [row[name] for row in rows]

    return (
        column("project"), column("project_key"), column("metric"), column("label"),
        column("value"), column("unit"), column("category"),
        _days(np, column("as_of")), _days(np, column("period_start")),
        column("part_of"), column("region"),
    )


def _columns_from_arrow(pd, np, ds):
    """The same columns read through the Arrow stream, or None to use to_dicts()."""
    if not hasattr(ds, "__arrow_c_stream__"):
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    try:
        table = pa.table(ds)
    except (TypeError, ValueError, NotImplementedError, pa.ArrowException):
        return None
    schema = table.schema
    if table.num_rows != len(ds):
        return None

    def is_text(t):
        return pa.types.is_string(t) or pa.types.is_large_string(t) or (
            pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type)
                                           or pa.types.is_large_string(t.value_type)))

    expected = {"project": pa.types.is_integer, "value": pa.types.is_floating,
                "as_of": pa.types.is_date32, "period_start": pa.types.is_date32}
    for name in ("metric", "label", "unit", "category", "part_of", "region"):
        expected[name] = is_text
    for name, check in expected.items():
        i = schema.get_field_index(name)
        if i < 0 and name in ("project", "metric", "value", "unit", "as_of"):
            return None
        if i >= 0 and not check(schema.field(name).type):
            return None

    n = table.num_rows

    def text(name):
        if schema.get_field_index(name) < 0:
            return [None] * n
        return pc.cast(table.column(name), pa.string()).to_pandas()

    def days(name):
        if schema.get_field_index(name) < 0:
            return np.full(n, _NAT, dtype="int64")
        col = pc.cast(table.column(name), pa.int32())
        values = np.asarray(pc.fill_null(col, 0).to_numpy(), dtype="int64")
        if col.null_count:
            values[np.asarray(pc.is_null(col).to_numpy(), dtype=bool)] = _NAT
        return values

    project = np.asarray(table.column("project").to_numpy(), dtype="int64")
    # Keys come from the project, as to_dicts() takes them.
    projects = ds.projects()
    numbers = np.array([p.number for p in projects], dtype="int64")
    keys = np.array([p.key for p in projects] + [None], dtype=object)
    at = np.searchsorted(numbers, project)
    if len(numbers):
        at[numbers[np.minimum(at, len(numbers) - 1)] != project] = len(numbers)
    return (
        project, keys[at], text("metric"), text("label"),
        np.asarray(table.column("value").to_numpy(), dtype="float64"), text("unit"),
        text("category"), days("as_of"), days("period_start"), text("part_of"), text("region"),
    )


# ------------------------------------------------------------------ projects

def _projects_frame(pd, ds):
    import numpy as np

    projects = ds.projects()
    counts = ds.aggregate("count", by="project") if len(ds) else {}
    category = pd.Categorical(_strings(pd, [p.category for p in projects]))
    data = {
        "number": np.array([p.number for p in projects], dtype="int64"),
        "key": _strings(pd, [p.key for p in projects]),
        "title": _strings(pd, [p.title for p in projects]),
        "category": category,
        "as_of": _datetimes(pd, _days(np, [p.as_of for p in projects])),
        "figures": np.array([counts.get(p.number, 0) for p in projects], dtype="int64"),
    }
    return pd.DataFrame(data, columns=list(PROJECT_COLUMNS))
