"""Rows 8 and 9: aggregate() over a loaded panel against numpy.sum (the
memory's speed), pandas, polars and DuckDB, by one key and by two; and
pyarrow.table(ds) of a panel of every column (time, and that no column is
copied)."""
import functools
import gc

from peers import AGG_UNIT, PEERS_AGG, aggregator, aggregator_keys, agree, loader, table_bytes
from rows_load import SCALE
from timing import (
    Timed,
    add_row,
    failed,
    fmt_ns,
    have,
    interleave,
    log,
    not_installed,
    proc_status,
    spread,
    spread_text,
    status_of,
    times_text,
)

PEER_GOAL = 3.0              # at least 3x each peer
NUMPY_GOAL = 1.5             # at most 1.5x numpy.sum's time
EXPORT_NS = 50_000           # pyarrow.table(ds) under 50 us
COPY_SHARE = 0.05            # "no copy": RSS growth under 5% of the columns


def peer_rows(what, size, timeds, answers, judged):
    ours = timeds["shanxi"]
    target = ">= %gx faster" % PEER_GOAL
    for lib in PEERS_AGG:
        if lib not in answers:
            not_installed(8, what, size, lib, target)
            continue
        err = answers[lib] if isinstance(answers[lib], Exception) else None
        t = timeds.get(lib)
        if err is None and (t is None or t.error is not None):
            err = t.error if t is not None else RuntimeError("not timed")
        if err is not None:
            failed(8, what, size, lib, target, err)
            continue
        x = t.median / ours.median
        add_row(8, what, size, fmt_ns(ours.median), lib, fmt_ns(t.median), x,
                times_text(x) + spread_text(spread(ours.samples, t.samples))
                + ("" if answers[lib] else " (ANSWERS DIFFER)"), target,
                status_of(x >= PEER_GOAL and answers[lib], judged), ours_ns=ours.median,
                peer_ns=t.median, ours_samples=ours.samples, peer_samples=t.samples,
                goal=PEER_GOAL, answers_agree=answers[lib])


def grouped(args, make, ds, objs, what, size, judged, extra=()):
    """Time ours (made by make(lib, obj)) against each peer's, checking that
    every peer's answer agrees with ours; extra: more Timed to interleave."""
    log("  %s: ours vs %s" % (what, ", ".join(PEERS_AGG)))
    ours_f, conv = make("shanxi", ds)
    expect = conv(ours_f())
    timeds = [Timed("shanxi", func=ours_f)] + list(extra)
    answers = {}
    for lib, obj in objs.items():
        if isinstance(obj, Exception):
            answers[lib] = obj
            continue
        try:
            f, peer_conv = make(lib, obj)
            answers[lib] = agree(expect, peer_conv(f()))
            timeds.append(Timed(lib, func=f))
        except Exception as exc:
            answers[lib] = exc
    interleave(timeds, args.repeat, args.budget_ns)
    timeds = {t.name: t for t in timeds}
    peer_rows(what, size, timeds, answers, judged)
    return timeds


def bench_aggregate(args, path, nrows, judged):
    """Row 8 on the short panel at path."""
    import shanxi
    ds = shanxi.load(str(path))
    objs = {}
    for lib in PEERS_AGG:
        if have(lib):
            try:
                objs[lib] = loader(lib, str(path))()
            except Exception as exc:
                objs[lib] = exc
    what = "aggregate('sum', by='project', unit=%r)" % AGG_UNIT
    extra = []
    if have("numpy") and have("pyarrow"):
        import numpy as np
        import pyarrow as pa
        # the value column as numpy sees it, without a copy: the same doubles
        values = pa.table(ds).column("value").chunk(0).to_numpy(zero_copy_only=True)
        extra.append(Timed("numpy.sum", func=functools.partial(np.sum, values)))
    timeds = grouped(args, aggregator, ds, objs, what, nrows, judged, extra)
    ours = timeds["shanxi"]
    SCALE.setdefault(nrows, {})["agg_ns"] = ours.median
    target = "<= %gx numpy.sum's time" % NUMPY_GOAL
    t = timeds.get("numpy.sum")
    if t is None:
        not_installed(8, what, nrows, "numpy.sum over the value column", target)
    elif t.error is not None:
        failed(8, what, nrows, "numpy.sum over the value column", target, t.error)
    else:
        ratio = ours.median / t.median
        add_row(8, what, nrows, fmt_ns(ours.median), "numpy.sum of %d doubles" % nrows,
                fmt_ns(t.median), 1 / ratio,
                "%.2fx its time" % ratio + spread_text(spread(ours.samples, t.samples,
                                                              invert=True)),
                target, status_of(ratio <= NUMPY_GOAL, judged), ours_ns=ours.median,
                peer_ns=t.median, ours_samples=ours.samples, peer_samples=t.samples,
                goal=1 / NUMPY_GOAL)
    what = "aggregate('sum', by=('region', 'month'), unit=%r)" % AGG_UNIT
    grouped(args, aggregator_keys, ds, objs, what, nrows, judged)
    del objs, ds
    gc.collect()


def trim_heap():
    """Give freed heap memory back to the system where glibc can
    (malloc_trim): the first export computes the share column with
    temporaries that, once freed, glibc may keep in the heap, and RSS would
    count them as if a column had been copied."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def bench_export(args, ds, nrows, judged):
    """Row 9: pyarrow.table(ds) of a panel of every column."""
    what = "pyarrow.table(ds), every column"
    target = "< 50 us, no column copied"
    if not have("pyarrow"):
        not_installed(9, what, nrows, "pyarrow", target)
        return
    import pyarrow as pa
    gc.collect()
    trim_heap()
    before = proc_status()["VmRSS"] or 0
    table = pa.table(ds)                 # the first export: the share column is made here
    trim_heap()
    grown = ((proc_status()["VmRSS"] or 0) - before) * 1024
    share = table.column("share").get_total_buffer_size()
    columns = table_bytes(ds)
    made = sum(table.column(name).get_total_buffer_size() for name in table.column_names
               if name != "share") - (columns - nrows)   # less is_int, not exported
    # (made: the share column's validity and the bitmaps the export builds)
    del table
    t = Timed("shanxi", func=functools.partial(pa.table, ds))
    interleave([t], args.repeat, args.budget_ns)
    # what the export makes is new memory, not a copy; anything past it would be
    copied = max(0, grown - share - made)
    # at small sizes the page-granular RSS says nothing about a copy
    no_copy = copied < COPY_SHARE * columns if nrows >= 1_000_000 else None
    ok = t.median < EXPORT_NS and no_copy is not False
    add_row(9, what, nrows, fmt_ns(t.median), "limit", fmt_ns(EXPORT_NS),
            EXPORT_NS / t.median,
            "%.2fx the limit; first export RSS +%.1f MB (share column %.1f MB; "
            "bitmaps made %.1f MB; table %.1f MB)" % (
                t.median / EXPORT_NS, grown / 1e6, share / 1e6, made / 1e6, columns / 1e6),
            target, status_of(ok, judged), ours_ns=t.median, ours_samples=t.samples, goal=1.0,
            rss_growth_bytes=grown, share_bytes=share, made_bytes=made, table_bytes=columns)
