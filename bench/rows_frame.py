"""Row 10: ds.to_frame() of a panel of every column, with pyarrow (against
pyarrow.table(ds).to_pandas()) and without it (a fresh process that hides
pyarrow), and the peak memory of the one without against the frame's size."""
import functools
import gc
import sys
import time
from pathlib import Path

import panelgen
from timing import (
    Timed,
    add_row,
    fmt_ns,
    fmt_rows,
    have,
    interleave,
    log,
    median,
    not_installed,
    proc_status,
    run_child,
    spread,
    spread_text,
    status_of,
)


def frame_panel(path, nrows):
    """A panel of every column of the data/ format (panelgen's full_template:
    labels, categories, project keys and titles, part_of keys), so the frame
    has text in every column and a share for every part."""
    return panelgen.write_panel(path, nrows, figures=panelgen.full_template(),
                                columns=panelgen.COLUMNS)


def frame_child(path, repeat):
    """Run in a fresh interpreter without pyarrow (sys.modules["pyarrow"] is
    None, as when it is not installed): time ds.to_frame() and report its
    peak RSS growth and the frame's own size."""
    sys.modules["pyarrow"] = None
    import shanxi

    ds = shanxi.load(path)
    frame = ds.to_frame()              # warm-up: pandas imported, shares computed
    del frame
    gc.collect()
    before = proc_status()
    try:
        with open("/proc/self/clear_refs", "w") as f:   # VmHWM counts from here on
            f.write("5")
    except OSError:
        pass                            # not Linux: the peak of the whole process
    t0 = time.perf_counter_ns()
    frame = ds.to_frame()
    first = time.perf_counter_ns() - t0
    peak = proc_status()["VmHWM"] - before["VmRSS"]
    size = int(frame.memory_usage(deep=True).sum())
    samples = [first]
    for _ in range(repeat - 1):
        del frame
        gc.collect()
        t0 = time.perf_counter_ns()
        frame = ds.to_frame()
        samples.append(time.perf_counter_ns() - t0)
    return {"samples": samples, "peak_kib": peak, "frame_bytes": size,
            "columns": list(frame.columns)}


def bench_frame(args, tmp, nrows, judged):
    """Row 10: ds.to_frame() against pyarrow.table(ds).to_pandas(), with
    pyarrow (in this process, interleaved) and without it (a child process
    that hides pyarrow), and the peak memory of the one without."""
    what = "to_frame()"
    target = "<= 2x pyarrow.table(ds).to_pandas()"
    if not have("pandas"):
        not_installed(10, what, nrows, "pandas", target)
        return
    if not have("pyarrow"):
        not_installed(10, what, nrows, "pyarrow.table(ds).to_pandas()", target)
        return
    import pyarrow as pa

    import shanxi

    def to_pandas(ds):
        return pa.table(ds).to_pandas()

    path = Path(tmp) / ("frame_%d.csv" % nrows)
    log("  to_frame(): generating %s rows of every column -> %s" % (fmt_rows(nrows), path))
    frame_panel(path, nrows)
    try:
        ds = shanxi.load(str(path))
        ds.to_frame()                      # warm-up: imports, the share column
        ours = Timed("shanxi", func=ds.to_frame, after=gc.collect)
        peer = Timed("pyarrow", func=functools.partial(to_pandas, ds), after=gc.collect)
        interleave([ours, peer], args.repeat, args.budget_ns if nrows < 1_000_000 else 1)
        x = peer.median / ours.median
        add_row(10, what + " with pyarrow", nrows, fmt_ns(ours.median),
                "pyarrow.table(ds).to_pandas()", fmt_ns(peer.median), x,
                "%.2fx its time" % (1 / x) + spread_text(spread(ours.samples, peer.samples,
                                                                invert=True)),
                target, status_of(x >= 0.5, judged), ours_ns=ours.median, peer_ns=peer.median,
                ours_samples=ours.samples, peer_samples=peer.samples, goal=0.5)

        log("  to_frame() without pyarrow (fresh process)")
        child = run_child(["--frame-child", path, args.repeat], tmp)
        alone = median(child["samples"])
        x = peer.median / alone
        add_row(10, what + " without pyarrow", nrows, fmt_ns(alone),
                "pyarrow.table(ds).to_pandas()", fmt_ns(peer.median), x,
                "%.2fx its time" % (1 / x), target, status_of(x >= 0.5, judged),
                ours_ns=alone, peer_ns=peer.median, ours_samples=child["samples"], goal=0.5)
        peak, size = child["peak_kib"] * 1024, child["frame_bytes"]
        ratio = peak / size if size else float("inf")
        add_row(10, "peak memory of to_frame() without pyarrow (RSS growth)", nrows,
                "%.1f MB" % (peak / 1e6), "the frame's own size", "%.1f MB" % (size / 1e6),
                1 / ratio if ratio else None, "%.2fx the frame" % ratio,
                "<= 2x the frame's size", status_of(ratio <= 2.0, judged), goal=0.5,
                peak_bytes=peak, frame_bytes=size)
        del ds
        gc.collect()
    finally:
        try:
            path.unlink()
        except OSError:
            pass
