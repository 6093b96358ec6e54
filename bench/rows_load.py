"""Rows 5-7 and 11: load() of generated panels against the peers, with two
threads and with one; the full data/ format; the peak memory of a load in a
fresh process against the table's own size; time per row from 1M rows up
(100M only when asked: --huge)."""
import gc
import time
from pathlib import Path

import panelgen
from peers import PEERS_LOAD, aggregator, loader, table_bytes
from timing import (
    Timed,
    add_row,
    failed,
    fmt_ns,
    fmt_rows,
    have,
    interleave,
    log,
    not_installed,
    peak_growth_kib,
    proc_status,
    run_child,
    spread,
    spread_text,
    status_of,
    times_text,
)

TWO_THREADS_MBS = 1500       # the limits, MB/s
ONE_THREAD_MBS = 750
PEER_GOAL = 3.0              # at least 3x each peer
TABLE_GOAL = 1.1             # peak at most 1.1x the table
FLAT = 0.2                   # time per row within 20%

# nrows -> {"load_ns", "agg_ns", "source"}: ours at each size, for row 11
SCALE = {}


def write(path, nrows, full):
    log("generating %s rows%s -> %s" % (fmt_rows(nrows), " of every column" if full else "",
                                         path))
    options = {"figures": panelgen.full_template(), "columns": panelgen.COLUMNS} if full else {}
    info = panelgen.write_panel(path, nrows, **options)
    log("  %.1f MB written" % (info["bytes"] / 1e6))
    return info


def columns_of(full):
    return panelgen.COLUMNS if full else panelgen.SHORT_COLUMNS


# ---------------------------------------------------------------- fresh processes


def memory_child(lib, path, which):
    """In a fresh interpreter: import lib, load path once, print the peak RSS
    growth (VmHWM over the VmRSS before) and, for shanxi, the table's size."""
    load = loader(lib, path, columns_of(which == "full"))
    gc.collect()
    before = proc_status()
    t0 = time.perf_counter_ns()
    obj = load()
    t1 = time.perf_counter_ns()
    after = proc_status()
    out = {"lib": lib, "load_ns": t1 - t0, "peak_kib": peak_growth_kib(before, after),
           "rss_before_kib": before["VmRSS"], "hwm_after_kib": after["VmHWM"],
           "rss_after_kib": after["VmRSS"]}
    if lib == "shanxi" and have("pyarrow"):
        out["table_bytes"] = table_bytes(obj)     # measured after the peak was read
    if which == "scale":                          # row 11: the aggregate too
        f, _ = aggregator("shanxi", obj)
        f()
        samples = []
        for _ in range(3):
            t0 = time.perf_counter_ns()
            f()
            samples.append(time.perf_counter_ns() - t0)
        out["agg_ns"] = sorted(samples)[1]
    return out


def measure_memory(lib, path, which, cwd):
    return run_child(["--memory-child", lib, path, which], cwd)


def memory_rows(section, what, size, ours, judged, peers=None, pandas_judged=None):
    """Our peak against the table's size (and, for the short panel, against
    pandas' peak as issue 5 asked)."""
    peak, table = ours["peak_kib"] * 1024, ours.get("table_bytes")
    if table:
        ratio = peak / table
        add_row(section, what, size, "%.1f MB" % (peak / 1e6), "the table's own size",
                "%.1f MB" % (table / 1e6), 1 / ratio, "%.2fx the table" % ratio,
                "<= %.1fx the table" % TABLE_GOAL, status_of(ratio <= TABLE_GOAL, judged),
                goal=1 / TABLE_GOAL, peak_bytes=peak, table_bytes=table, ours_detail=ours)
    else:
        not_installed(section, what, size, "pyarrow (the table's size)", "<= 1.1x the table")
    for lib, d in (peers or {}).items():
        target = "<= 0.5x pandas'" if lib == "pandas" and pandas_judged is not None \
            else "(for information)"
        if isinstance(d, Exception):
            failed(section, what, size, lib, target, d)
            continue
        p = d["peak_kib"] * 1024
        ratio = peak / p if p else float("inf")
        add_row(section, what, size, "%.1f MB" % (peak / 1e6), lib, "%.1f MB" % (p / 1e6),
                1 / ratio if ratio else None, "%.2fx the peak of %s" % (ratio, lib), target,
                status_of(ratio <= 0.5, pandas_judged) if target.startswith("<=") else "-",
                goal=2.0 if target.startswith("<=") else None, peak_bytes=peak,
                peer_peak_bytes=p)


# ---------------------------------------------------------------- rows 5 and 6


def time_loads(args, path, nrows, columns, with_one_thread):
    """Interleaved loads: ours (and ours with threads=1) and every peer."""
    timeds = [Timed("shanxi", func=loader("shanxi", str(path), columns), after=gc.collect)]
    if with_one_thread:
        timeds.append(Timed("shanxi threads=1", func=loader("shanxi", str(path), columns, 1),
                            after=gc.collect))
    for lib in PEERS_LOAD:
        if have(lib):
            timeds.append(Timed(lib, func=loader(lib, str(path), columns), after=gc.collect))
    interleave(timeds, args.repeat, args.budget_ns if nrows < 1_000_000 else 1)
    return {t.name: t for t in timeds}


def peer_rows(section, what, size, mb, timeds, judged, file_bytes):
    ours = timeds["shanxi"]
    ours_mbs = mb / (ours.median / 1e9)
    target = ">= %gx the peer's MB/s" % PEER_GOAL
    for lib in PEERS_LOAD:
        if lib not in timeds:
            not_installed(section, what, size, lib, target)
            continue
        t = timeds[lib]
        if t.error is not None:
            failed(section, what, size, lib, target, t.error)
            continue
        x = t.median / ours.median
        add_row(section, what, size, "%.0f MB/s" % ours_mbs, lib,
                "%.0f MB/s" % (mb / (t.median / 1e9)), x,
                times_text(x) + spread_text(spread(ours.samples, t.samples)), target,
                status_of(x >= PEER_GOAL, judged), ours_ns=ours.median, peer_ns=t.median,
                ours_samples=ours.samples, peer_samples=t.samples, goal=PEER_GOAL,
                file_bytes=file_bytes)


def limit_row(section, what, size, mb, t, limit, judged, file_bytes):
    mbs = mb / (t.median / 1e9)
    add_row(section, what, size, "%.0f MB/s" % mbs, "limit", "%d MB/s" % limit, mbs / limit,
            "%.2fx the limit" % (mbs / limit), ">= %.2f GB/s" % (limit / 1000),
            status_of(mbs >= limit, judged), ours_ns=t.median, ours_samples=t.samples,
            goal=1.0, file_bytes=file_bytes)


def bench_load(args, tmp, path, info, judged):
    """Row 5 (the short panel: two threads, one thread, the peers) and its
    peak memory (row 7)."""
    nrows, mb = info["rows"], info["bytes"] / 1e6
    log("  load: ours (two threads, one thread) vs %s" % ", ".join(PEERS_LOAD))
    timeds = time_loads(args, path, nrows, panelgen.SHORT_COLUMNS, True)
    if timeds["shanxi threads=1"].error is not None:
        raise timeds["shanxi threads=1"].error
    limit_row(5, "load() MB/s, two threads (default)", nrows, mb, timeds["shanxi"],
              TWO_THREADS_MBS, judged, info["bytes"])
    limit_row(5, "load(threads=1) MB/s", nrows, mb, timeds["shanxi threads=1"],
              ONE_THREAD_MBS, judged, info["bytes"])
    peer_rows(5, "load() MB/s", nrows, mb, timeds, judged, info["bytes"])
    SCALE.setdefault(nrows, {})["load_ns"] = timeds["shanxi"].median
    if args.memory_all or judged:
        log("  peak memory of a load (fresh process each)")
        ours = measure_memory("shanxi", path, "short", tmp)
        peers = {}
        # --quick keeps the judged peer only (the others are for information)
        for lib in ("pandas",) if args.quick else PEERS_LOAD:
            if have(lib):
                try:
                    peers[lib] = measure_memory(lib, path, "short", tmp)
                except Exception as exc:
                    peers[lib] = exc
        # the 1.1x target is the full format's (row 6); here for information
        memory_rows(7, "peak memory of load() (VmHWM growth)", nrows, ours, False, peers,
                    pandas_judged=judged)


def bench_full(args, tmp, path, info, judged):
    """Row 6: a panel in the full data/ format (at path) against the peers;
    row 7: the peak memory of its load against the table's own size."""
    nrows, mb = info["rows"], info["bytes"] / 1e6
    log("  load of every column: ours vs %s" % ", ".join(PEERS_LOAD))
    timeds = time_loads(args, path, nrows, panelgen.COLUMNS, False)
    peer_rows(6, "load() MB/s, every column", nrows, mb, timeds, judged, info["bytes"])
    log("  peak memory of that load (fresh process)")
    try:
        ours = measure_memory("shanxi", path, "full", tmp)
    except Exception as exc:
        failed(7, "peak memory of load(), every column", nrows, "the table", "-", exc)
    else:
        memory_rows(7, "peak memory of load(), every column (VmHWM growth)", nrows, ours,
                    judged)


# ---------------------------------------------------------------- row 11


def bench_huge(args, tmp, nrows):
    """--huge: a panel of nrows (100M: about 6 GB) loaded and aggregated once
    in a fresh process, for the time per row and the peak against the table."""
    path = Path(tmp) / ("huge_%d.csv" % nrows)
    info = write(path, nrows, False)
    try:
        log("  load + aggregate in a fresh process")
        d = measure_memory("shanxi", path, "scale", tmp)
    finally:
        path.unlink()
    SCALE[nrows] = {"load_ns": d["load_ns"], "agg_ns": d["agg_ns"],
                    "source": "one load in a fresh process"}
    memory_rows(11, "peak memory of load() (VmHWM growth)", nrows, d, True)
    return info


def scale_rows(judged_from=1_000_000):
    """Time per row of load + aggregate at each size against the smallest
    size of 1M rows or more (with --quick: the smallest size)."""
    sizes = sorted(n for n, d in SCALE.items() if "load_ns" in d and "agg_ns" in d)
    base = [n for n in sizes if n >= judged_from] or sizes[:1]
    if not base:
        return
    first = base[0]
    per = {n: (SCALE[n]["load_ns"] + SCALE[n]["agg_ns"]) / n for n in sizes}
    for n in sizes:
        if n < first:
            continue
        ratio = per[n] / per[first]
        flat = abs(ratio - 1) <= FLAT
        add_row(11, "load() + aggregate('sum', by='project'), time per row", n,
                fmt_ns(per[n]), "at %s rows" % fmt_rows(first), fmt_ns(per[first]), 1 / ratio,
                "%.2fx its time per row" % ratio, "within %d%% of %s" % (FLAT * 100,
                                                                          fmt_rows(first)),
                status_of(flat, n != first), goal=None, per_row_ns=per[n],
                load_ns=SCALE[n]["load_ns"], agg_ns=SCALE[n]["agg_ns"],
                measured=SCALE[n].get("source", "medians in this process"))
