"""pandas DataFrames of a Dataset: what ``Dataset.to_frame()`` calls.

pandas (and numpy, which comes with it) are imported only when a frame is
asked for, so ``import shanxi`` stays light.  The columns are built from the
dataset's native ones, never from a Python object per row: through its
Arrow stream when pyarrow is installed and the dataset is large, else from
the raw buffers ``Dataset._columns()`` hands out.  Both give the same
frame, with the columns and order of ``to_dicts()`` and the Arrow export
(``COLUMNS``) and these dtypes, under pandas 2 and 3 alike:

=============  ==================================================
project        int64
text columns   category (categories: the distinct strings, in
               order of first appearance; NaN where empty)
value, share   float64 (share NaN where a figure has none)
as_of,         datetime64[s] (NaT where empty); seconds hold every
period_start   date of the data/ format, 0001-01-01 to 9999-12-31
=============  ==================================================
"""

KINDS = ("metrics", "projects")

# One schema: the columns of to_dicts() and of the Arrow export, in order.
COLUMNS = (
    "project", "project_key", "project_title", "category", "metric", "label", "value",
    "unit", "as_of", "period_start", "part_of", "region", "share",
)
TEXT_COLUMNS = ("project_key", "project_title", "category", "metric", "label", "unit",
                "part_of", "region")
DATE_COLUMNS = ("as_of", "period_start")
# Kept for callers of the old name.
METRIC_COLUMNS = COLUMNS
PROJECT_COLUMNS = ("number", "key", "title", "category", "as_of", "figures")

# The Arrow stream is used from this many figures on (when pyarrow is there);
# below it the raw buffers are as fast and spare importing pyarrow.
ARROW_MIN_ROWS = 50_000

DATE_DTYPE = "datetime64[s]"
_NO_DATE = -(2 ** 31)          # SX_NO_DATE: an empty date in the native columns
_SECONDS_PER_DAY = 86400


def to_frame(ds, kind="metrics"):
    """A pandas DataFrame of ds: one row per figure, or per project."""
    if not isinstance(kind, str):
        raise TypeError("to_frame() kind must be a str, not %s" % type(kind).__name__)
    if kind not in KINDS:
        raise ValueError("unknown to_frame() kind %r; expected one of %s"
                         % (kind, ", ".join(repr(k) for k in KINDS)))
    pd = _import_pandas()
    import numpy as np

    if kind == "projects":
        return _projects_frame(pd, np, ds)
    columns = None
    if len(ds) >= ARROW_MIN_ROWS:
        columns = _columns_from_arrow(np, ds)
    if columns is None:
        columns = _columns_from_buffers(np, ds)
    return _metrics_frame(pd, np, columns)


def _import_pandas():
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_frame() needs pandas: pip install pandas", name="pandas") from exc
    return pandas


# ------------------------------------------------------------------ building the frame

def _dates(np, days):
    """datetime64[s] of an array of int32 days since 1970 (_NO_DATE for none)."""
    seconds = days.astype("int64")
    seconds *= _SECONDS_PER_DAY
    out = seconds.view(DATE_DTYPE)
    missing = days == _NO_DATE
    if missing.any():
        out[missing] = np.datetime64("NaT", "s")
    return out


def _categorical(pd, np, codes, categories):
    """A Categorical of int codes (-1 for empty) into a tuple of str."""
    dtype = pd.CategoricalDtype(pd.Index(list(categories), dtype=_text_dtype(pd)))
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _text_dtype(pd):
    """What pandas makes of a list of str: object (pandas 2) or str (pandas 3)."""
    return pd.Index(["x"]).dtype


def _metrics_frame(pd, np, columns):
    """The frame of a dict of native columns, as _columns_from_* give them:
    project, value, share (ndarrays), as_of, period_start (int32 days),
    and (codes, categories) for each text column."""
    data = {}
    for name in COLUMNS:
        column = columns[name]
        if name == "project":
            data[name] = np.array(column, dtype="int64")
        elif name in ("value", "share"):
            data[name] = np.array(column, dtype="float64")
        elif name in DATE_COLUMNS:
            data[name] = _dates(np, column)
        else:
            data[name] = _categorical(pd, np, *column)
    return pd.DataFrame(data, columns=list(COLUMNS), copy=False)


def _project_codes(np, projects, project, categories, attribute):
    """Each row's code of its project's key or title (-1 where none)."""
    at = {s: i for i, s in enumerate(categories)}
    # a table of the distinct numbers, sorted (not one indexed by number:
    # project 2147483647 would make it 8 GiB), each row found by bisection
    ordered = sorted(projects, key=lambda p: p.number)
    numbers = np.array([p.number for p in ordered], dtype="int32")
    codes = np.array([at.get(getattr(p, attribute), -1) for p in ordered], dtype="int32")
    if not len(numbers):
        return np.empty(len(project), dtype="int32")
    return codes[np.searchsorted(numbers, project)]


def _columns_from_buffers(np, ds):
    """The native columns as numpy arrays over Dataset._columns()'s buffers."""
    raw = ds._columns()
    out = {"project": np.frombuffer(raw["project"], dtype="int32"),
           "value": np.frombuffer(raw["value"], dtype="float64"),
           "share": np.frombuffer(raw["share"], dtype="float64"),
           "as_of": np.frombuffer(raw["as_of"], dtype="int32")}
    n = len(out["project"])
    period = raw["period_start"]
    out["period_start"] = (np.full(n, _NO_DATE, dtype="int32") if period is None
                           else np.frombuffer(period, dtype="int32"))
    projects = None
    for name in TEXT_COLUMNS:
        item = raw[name]
        if item is None:
            out[name] = (np.full(n, -1, dtype="int8"), ())
            continue
        codes, categories = item
        if name in ("project_key", "project_title"):
            if projects is None:
                projects = ds.projects()
            codes = _project_codes(np, projects, out["project"], categories,
                                   name[len("project_"):])
        else:
            codes = np.frombuffer(codes, dtype="int%d" % (8 * codes.itemsize))
        out[name] = (codes, categories)
    return out


def _columns_from_arrow(np, ds):
    """The same columns read through the Arrow stream, or None to use the buffers."""
    try:
        import pyarrow as pa
    except ImportError:
        return None
    table = pa.table(ds).combine_chunks()
    if table.num_rows != len(ds) or tuple(table.column_names) != COLUMNS:
        return None

    def chunk(name):
        column = table.column(name)
        return column.chunk(0) if column.num_chunks else pa.array([], column.type)

    # What a null slot holds is the producer's to say, and this producer
    # (core/arrow.c) says it: -1 in a text column's indices, SX_NO_DATE in
    # period_start, NaN in share, as in the native columns; only a column the
    # file lacks (every slot null) holds zeros.  So no mask is made here.
    out = {}
    for name in ("project", "value", "share"):
        out[name] = _values(np, chunk(name))
    n = table.num_rows
    for name in DATE_COLUMNS:
        array = chunk(name)
        out[name] = (np.full(n, _NO_DATE, dtype="int32") if n and array.null_count == n
                     else _values(np, array.view(pa.int32())))
    for name in TEXT_COLUMNS:
        array = chunk(name)
        codes = (np.full(n, -1, dtype="int8") if n and array.null_count == n
                 else _values(np, array.indices))
        out[name] = (codes, tuple(array.dictionary.to_pylist()))
    return out


def _values(np, array):
    """The values buffer of a primitive Arrow array as a numpy array, nulls
    and all (what a null slot holds is the caller's to mask)."""
    dtype = np.dtype(array.type.to_pandas_dtype())
    buffer = array.buffers()[1]
    if buffer is None or len(array) == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(buffer, dtype=dtype, count=len(array),
                         offset=array.offset * dtype.itemsize)


# ------------------------------------------------------------------ projects

def _projects_frame(pd, np, ds):
    projects = ds.projects()
    counts = ds.aggregate("count", by="project") if len(ds) else {}
    text = _text_dtype(pd)
    categories = []
    for p in projects:
        if p.category is not None and p.category not in categories:
            categories.append(p.category)
    as_of = [_NO_DATE if p.as_of is None else p.as_of.toordinal() - 719163 for p in projects]
    data = {
        "number": np.array([p.number for p in projects], dtype="int64"),
        "key": pd.Series([p.key for p in projects], dtype=text),
        "title": pd.Series([p.title for p in projects], dtype=text),
        "category": pd.Categorical([p.category for p in projects],
                                   dtype=pd.CategoricalDtype(pd.Index(categories, dtype=text))),
        "as_of": _dates(np, np.array(as_of, dtype="int32")),
        "figures": np.array([counts.get(p.number, 0) for p in projects], dtype="int64"),
    }
    return pd.DataFrame(data, columns=list(PROJECT_COLUMNS))
