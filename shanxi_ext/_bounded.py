"""Aggregating files larger than memory: ``shanxi.aggregate_files`` and
``shanxi.partial_files``.

Each file is parsed once, in order, by one parser (so every error is the one
``load()`` gives, at the same line and column); every ``chunk_size`` bytes the
rows parsed so far become a small Dataset, reduced to its exact Partial
(``seq`` = the file's index, then the chunk's, so min/max ties go as in
``load()``'s row order) and dropped.  The parser keeps no rows, only the
strings and projects seen, so the peak is about one chunk's table plus the
groups, whatever the files' size.  At the end the files are checked and
joined as ``load()`` joins them, which gives the Dataset ``load()`` would
make without its rows: the filters are looked up there too, so a value no
file has raises ``aggregate()``'s ``KeyError``, word for word.

Two things depend on rows the parser has not met yet when a chunk is
reduced: a row with an empty category takes its project's category, which a
later row may give; and a project named by its key or a word of its title
may be named so only by later rows.  A chunk records when either could have
mattered, and then the files are read a second time with the whole's
projects known (rare: it takes a file whose first rows of a project leave
its category or key empty and later ones give it).
"""
import os

from . import _shanxi

# The default chunk: 64 MiB of input, about a 35 MB table at the panel's
# 60 bytes a row.
CHUNK_SIZE = 64 << 20


def _files(arg, fname):
    """(files, many): the list _read_chunks takes and whether it is many."""
    from ._paths import paths  # glob and its imports only when called

    found = paths(arg)
    if found is not None:
        return found, True
    if isinstance(arg, (str, bytes)) or hasattr(arg, "__fspath__"):
        return [os.fsdecode(os.fsencode(os.path.expanduser(os.fsdecode(os.fspath(arg)))))], False
    if hasattr(arg, "readinto") or hasattr(arg, "read"):
        return [arg], False
    raise TypeError(
        "%s() takes a path or a binary file object, not %s" % (fname, type(arg).__name__)
    )


def _chunk_size(value, fname):
    if value is None:
        return CHUNK_SIZE
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError("%s() chunk_size must be an int, not %s" % (fname, type(value).__name__))
    value = value.__index__()
    if value < 1:
        raise ValueError("%s() chunk_size must be at least 1, not %d" % (fname, value))
    return value


def _check_encoding(encoding, fname):
    # checked first, as load() checks it
    if encoding is not None and not isinstance(encoding, str):
        raise TypeError("%s() encoding must be a str or None, not %s"
                        % (fname, type(encoding).__name__))


def _start_of(f):
    """Where a second reading of f would start: its position for a seekable
    file object, True for a regular file (opened again), else None."""
    if not isinstance(f, str):
        try:
            return f.tell() if f.seekable() else None
        except (AttributeError, OSError, ValueError):
            return None
    try:
        import stat

        return True if stat.S_ISREG(os.stat(f).st_mode) else None
    except OSError:
        return None


def _rewind(files, starts):
    """Makes the files ready to be read again, or raises ValueError for one
    that cannot be (a pipe, a terminal, a stream that does not seek)."""
    for f, start in zip(files, starts):
        if start is None:
            name = f if isinstance(f, str) else getattr(f, "name", type(f).__name__)
            raise ValueError(
                "%s must be read twice (a project's category or key is given only by rows "
                "after a chunk that needed it) and cannot be read again: give a regular file, "
                "a seekable file object, or a larger chunk_size, or use load()" % (name,))
    for f, start in zip(files, starts):
        if start is not True:
            f.seek(start)


def _keys(by):
    return by if isinstance(by, tuple) else (by,)


def _run(files, many, func, by, size, encoding, filters, project, seed):
    """One pass: the merged partial of the chunks, the finished Dataset
    without rows, the late projects, and whether a project named by text
    may have missed rows (see the module's docstring)."""
    acc = []
    missed = []
    named = isinstance(project, str)

    def on_chunk(ds, seq):
        chunk_filters = filters
        if named:
            try:
                number = ds.project(project).number
            except (KeyError, ValueError):
                number = None
            # what the chunk resolved, and the projects whose rows it may hold
            missed.append((number, ds.unique("project")))
            if number is None:
                return
            chunk_filters = dict(filters, project=number)
        part = ds.partial(func, by=by, seq=seq, **chunk_filters)
        acc[:] = [acc[0].merge(part)] if acc else [part]

    whole, late = _shanxi._read_chunks(files, many, on_chunk, size, encoding=encoding, seed=seed)
    return (acc[0] if acc else None), whole, late, missed


def partial_files(paths, func="sum", *, by=None, chunk_size=None, encoding=None, project=None,
                  metric=None, unit=None, category=None, region=None, since=None, until=None):
    """partial_files(paths, func='sum', *, by=None, chunk_size=None, encoding=None,
    project=None, metric=None, unit=None, category=None, region=None, since=None, until=None)

    The exact Partial of the figures of the files paths names (what load()
    takes: a path, a list or tuple of paths, a directory or a glob pattern),
    read chunk_size bytes at a time (64 MiB) without building their table:
    its result() is load(paths).aggregate(func, by=by, **filters), bit for
    bit, and so are its errors.  See aggregate_files.
    """
    _check_encoding(encoding, "partial_files")
    files, many = _files(paths, "partial_files")
    size = _chunk_size(chunk_size, "partial_files")
    given = {"project": project, "metric": metric, "unit": unit, "category": category,
             "region": region, "since": since, "until": until}
    filters = {k: v for k, v in given.items() if v is not None}
    # the arguments checked before the files are read (a project named by
    # text is looked up in the files only)
    checked = dict(filters, project=None) if isinstance(project, str) else filters
    _shanxi.data.partial(func, by=by, **checked)
    starts = [_start_of(f) for f in files]
    acc, whole, late, missed = _run(files, many, func, by, size, encoding, filters, project, None)
    # looked up in the whole: aggregate()'s errors, and the filter misses
    base = whole.partial(func, by=by, seq=-1, **filters)
    again = False
    rerun_filters = filters
    if isinstance(project, str):
        try:
            number = whole.project(project).number
        except KeyError:  # no file has it: base.result() raises aggregate()'s KeyError
            return base if acc is None else base.merge(acc)
        again = any(n != number and (n is not None or number in known) for n, known in missed)
        rerun_filters = dict(filters, project=number)
    wants_category = "category" in _keys(by) or filters.get("category") is not None
    if wants_category and any(whole.project(n).category is not None for n in late):
        again = True
    if again:
        import warnings

        _rewind(files, starts)

        with warnings.catch_warnings():  # the first reading said them
            warnings.simplefilter("ignore")
            acc, _, _, _ = _run(files, many, func, by, size, encoding, rerun_filters, None, whole)
    return base if acc is None else base.merge(acc)


def aggregate_files(paths, func="sum", *, by=None, chunk_size=None, encoding=None, project=None,
                    metric=None, unit=None, category=None, region=None, since=None, until=None):
    """aggregate_files(paths, func='sum', *, by=None, chunk_size=None, encoding=None,
    project=None, metric=None, unit=None, category=None, region=None, since=None, until=None)

    load(paths).aggregate(func, by=by, **filters), exactly, without building
    the table: each file is parsed in chunks of chunk_size bytes (64 MiB),
    each chunk reduced to an exact partial and dropped, so memory stays near
    one chunk's table plus the groups whatever the files' size.  paths is
    what load() takes; encoding= and compressed files as load() reads them.
    A parse error, a project that disagrees with itself, a filter value no
    file has and units that mix raise what load() and aggregate() raise.
    """
    _check_encoding(encoding, "aggregate_files")
    return partial_files(
        paths, func, by=by, chunk_size=chunk_size, encoding=encoding, project=project,
        metric=metric, unit=unit, category=category, region=region, since=since, until=until,
    ).result()
