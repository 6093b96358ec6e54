"""shanxi on Dask: aggregate many files on a cluster, exactly, and read them
into a ``dask.dataframe``.

Optional: ``import shanxi`` never imports this module nor Dask; ``import
shanxi.dask`` needs ``dask`` (and ``distributed`` for a cluster).

``aggregate(paths, func, by=..., client=None, **filters)`` runs one task per
file on the workers, each ``shanxi.load(path).partial(func, by=by, seq=i,
...)`` (``by`` a key or a tuple of keys, as ``Dataset.aggregate`` takes it);
the partials (a few bytes per group, never the rows) are merged in a
tree on the workers, and the merged partial's ``result()`` is computed on the
client.  Partials are exact, so the answer is bit for bit what
``shanxi.load(paths).aggregate(func, by=by, ...)`` gives on one machine,
however the files are spread over workers and whatever order tasks finish
in, and a filter value no file has raises its ``KeyError`` (a file lacking a
value another file has is no error).  The paths are expanded here (a list, a
directory or a glob pattern, as ``shanxi.load`` takes them) and must name the
same files on every worker (a shared or replicated file system).

``read(paths)`` is a ``dask.dataframe`` with one partition per file, made
through the Arrow export: every partition has every column of the data/
format (null where a file lacks it), text as strings, dates as datetime64.
"""
import dask

import shanxi
from shanxi._paths import paths as _expand

__all__ = ["aggregate", "read", "files"]

# The columns of the Arrow export, in its order: every partition of read()
# has all of them.
_COLUMNS = ("project", "project_key", "project_title", "category", "metric", "label", "value",
            "unit", "as_of", "period_start", "part_of", "region")


def files(paths):
    """The files paths names, in order: a list or tuple of paths, a
    directory (its *.csv files by name), a glob pattern, or one path."""
    found = _expand(paths)
    if found is None:
        import os

        # ~ expanded here, on the client, as _expand does for many paths
        found = [os.path.expanduser(os.fsdecode(os.fspath(paths)))]
    return found


def _partial_of(path, seq, func, by, filters):
    # on a worker: the file's rows never leave it
    return shanxi.load(path).partial(func, by=by, seq=seq, **filters)


def _merge(*parts):
    return shanxi.Partial.merge_all(parts)


def partial(paths, func="sum", *, by=None, split_every=8, **filters):
    """The merged partial of the files' figures as a ``dask.delayed`` object
    (one task per file, merged in a tree of split_every partials a node).
    by is a key, a tuple of keys or None, as ``Dataset.partial`` takes it."""
    if split_every < 2:
        raise ValueError("split_every must be at least 2, not %r" % (split_every,))
    found = files(paths)
    load = dask.delayed(_partial_of, pure=True)
    merge = dask.delayed(_merge, pure=True)
    level = [load(path, i, func, by, filters, dask_key_name="shanxi-partial-%d-%s" % (
        i, dask.base.tokenize(path, func, by, filters))) for i, path in enumerate(found)]
    while len(level) > 1:
        level = [merge(*level[i:i + split_every]) for i in range(0, len(level), split_every)]
    return level[0]


def aggregate(paths, func="sum", *, by=None, client=None, split_every=8, **filters):
    """``shanxi.load(paths).aggregate(func, by=by, **filters)``, computed on
    Dask: on client (a ``distributed.Client``) when given, else on Dask's
    current scheduler (the default client, if one is active).  by is a key
    or a tuple of keys (a dict keyed by tuples).  Bit for bit the
    single-process answer, errors too: KeyError for a filter value no file
    has."""
    merged = partial(paths, func, by=by, split_every=split_every, **filters)
    if client is not None:
        part = client.compute(merged).result()
    else:
        (part,) = dask.compute(merged)
    return part.result()


def _frame(ds):
    """A pandas DataFrame of ds with every export column, text as strings."""
    import pyarrow as pa

    table = pa.table(ds)
    present = set(table.column_names)
    columns = []
    for name in _COLUMNS:
        if name in present:
            col = table.column(name)
            if pa.types.is_dictionary(col.type):
                col = col.cast(pa.string())
        else:
            kind = (pa.date32() if name == "period_start" else pa.string())
            col = pa.nulls(len(table), kind)
        columns.append(col)
    # dates as datetime64, which dask and pandas compute with (not objects)
    return pa.table(columns, names=list(_COLUMNS)).to_pandas(date_as_object=False)


def _frame_of_file(path):
    return _frame(shanxi.load(path))


def _meta():
    empty = shanxi.loads(",".join(_COLUMNS) + "\n")
    return _frame(empty)


def read(paths):
    """A ``dask.dataframe.DataFrame`` of the files, one partition per file
    (loaded on the workers), through the Arrow export."""
    import dask.dataframe as dd

    return dd.from_map(_frame_of_file, files(paths), meta=_meta(), enforce_metadata=False)
