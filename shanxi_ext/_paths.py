"""What files ``shanxi.load(arg)`` reads when arg names more than one.

The extension calls :func:`paths` first: None means one file (the usual
path, handled in C); else the list of paths (str, in the file system's
decoding, ``~`` expanded) to parse as one dataset, in this order.  A
directory means its CSV files: ``*.csv`` and their compressed forms
(``*.csv.gz``, ``.bz2``, ``.xz``, ``.zst``), by name.  Each file is then
opened as load() opens one: decompressed, transcoded with encoding=.
"""
import errno
import glob
import os

_GLOB_CHARS = frozenset("*?[")

# What a directory's files end with to be read: CSV, plain or compressed.
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zst")


def _one(arg, where):
    try:
        path = os.fspath(arg)
    except TypeError:
        raise TypeError(
            "load() takes a path, a list or tuple of paths, a directory or a glob "
            "pattern; %s is %s" % (where, type(arg).__name__)
        ) from None
    return os.path.expanduser(os.fsdecode(path))


def paths(arg):
    """None when arg names one file; else the files it names, in order."""
    if isinstance(arg, (list, tuple)):
        if not arg:
            raise ValueError("load() of an empty %s: no files to read" % type(arg).__name__)
        return [_one(a, "item %d" % i) for i, a in enumerate(arg)]
    try:
        path = os.path.expanduser(os.fsdecode(os.fspath(arg)))
    except TypeError:
        return None  # the one-file load says what it takes
    if os.path.isdir(path):
        # A list, not sorted() of a generator: CPython 3.12 and 3.13 crash
        # when an allocation fails inside a generator fed to sorted().
        found = [
            os.path.join(path, name)
            for name in os.listdir(path)
            if name.endswith(CSV_SUFFIXES) and os.path.isfile(os.path.join(path, name))
        ]
        found.sort()
        if not found:
            raise FileNotFoundError(errno.ENOENT, "the directory holds no .csv files", path)
        return found
    if _GLOB_CHARS.intersection(path) and not os.path.exists(path):
        # files only, as for a directory (a directory named x.csv is not one)
        found = [p for p in glob.glob(path) if os.path.isfile(p)]
        found.sort()
        if not found:
            raise FileNotFoundError(errno.ENOENT, "no files match the pattern", path)
        return found
    return None
