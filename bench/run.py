"""Benchmark shanxi against its peers and check the performance targets.

    python bench/run.py [--rows 1000,100000,1000000,10000000] [--full-rows 2000000,10000000]
                        [--huge] [--repeat 5] [--json FILE] [--png FILE] [--quick]

Prints one table: for each target, ours (time, throughput or memory), the
peer's or the limit, their ratio and whether the target is met.  Every time
is the median of --repeat interleaved repeats (ours, peer, ours, peer, ...
with the order flipped on every repeat).  Panels are generated with
tools/panelgen.py into a temporary directory and deleted afterwards.  A peer
that is not installed gets a row saying so.  The rows live in bench/rows_*.py
(shared tools in timing.py and peers.py, the table in report.py); see
bench/README.md for what each row does.
"""
import argparse
import datetime
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from report import SECTIONS, render_table, write_png
from rows_aggregate import bench_aggregate, bench_export
from rows_embedded import bench_embedded, bench_import
from rows_frame import bench_frame, frame_child
from rows_load import bench_full, bench_huge, bench_load, memory_child, scale_rows, write
from timing import ROWS, failed, fmt_rows, have, log, machine, versions

HUGE = 100_000_000           # --huge: the 100M rows (about 6 GB)
HUGE_FROM = 20_000_000       # a --rows size this large is run as a huge one: ours only
QUICK_HUGE = 30_000          # --quick runs the huge step's code at this size


def sizes_of(p, text, default):
    try:
        sizes = [int(s.replace("_", "")) for s in (text or default).split(",") if s.strip()]
    except ValueError:
        p.error("--rows and --full-rows take comma-separated integers")
    if not sizes or min(sizes) < 1:
        p.error("--rows and --full-rows take positive integers")
    return sorted(set(sizes))


def panel_step(args, tmp, n, judged, files):
    """Rows 5, 7 and 8 on a short panel of n rows, then row 10."""
    path = Path(tmp) / ("panel_%d.csv" % n)
    info = write(path, n, False)
    files.append(info)
    try:
        bench_load(args, tmp, path, info, judged)
        bench_aggregate(args, path, n, judged)
    finally:
        path.unlink()
    if judged or not args.quick:        # --quick: at its largest size only
        bench_frame(args, tmp, n, judged)


def full_step(args, tmp, n, judged_export, files):
    """Rows 6, 7 and 9 on a panel of every column of n rows."""
    import shanxi
    path = Path(tmp) / ("full_%d.csv" % n)
    info = write(path, n, True)
    info["full"] = True
    files.append(info)
    try:
        bench_full(args, tmp, path, info, True)
        ds = shanxi.load(str(path))
        bench_export(args, ds, n, judged_export)
        del ds
    finally:
        path.unlink()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default=None,
                   help="comma-separated panel sizes (default 1000,100000,1000000,10000000; "
                        "--quick: 1000,20000); a size of 20M or more is run as --huge is")
    p.add_argument("--full-rows", default=None,
                   help="sizes of the panels of every column (default 2000000,10000000, or "
                        "the largest --rows when --rows is given; --quick: 2000)")
    p.add_argument("--huge", action="store_true",
                   help="also load and aggregate 100M rows (about 6 GB, written and deleted; "
                        "ours only, in a fresh process): time per row and peak memory")
    p.add_argument("--repeat", type=int, default=None,
                   help="interleaved repeats per measurement (default 5; --quick: 3)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--png", metavar="FILE", help="also draw the results as a PNG chart "
                   "(needs matplotlib)")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes and few repeats: a smoke test for CI (< 30 s)")
    p.add_argument("--memory-all", action="store_true",
                   help="measure peak memory at every size, not only the largest")
    p.add_argument("--memory-child", nargs=3, metavar=("LIB", "PATH", "WHICH"),
                   help=argparse.SUPPRESS)
    p.add_argument("--frame-child", nargs=2, metavar=("PATH", "REPEAT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(*args.memory_child)))
        return 0
    if args.frame_child:
        print(json.dumps(frame_child(args.frame_child[0], int(args.frame_child[1]))))
        return 0
    sizes = sizes_of(p, args.rows, "1000,20000" if args.quick else "1000,100000,1000000,10000000")
    huge = [n for n in sizes if n >= HUGE_FROM]
    sizes = [n for n in sizes if n < HUGE_FROM] or [min(huge)]
    huge = [n for n in huge if n not in sizes]
    if args.huge and HUGE not in huge:
        huge.append(HUGE)
    if args.quick and not huge:
        huge = [QUICK_HUGE]                  # the huge step's code, at a tiny size
    full_default = ("2000" if args.quick else str(sizes[-1]) if args.rows
                    else "2000000,10000000")
    full_sizes = sizes_of(p, args.full_rows, full_default)
    args.repeat = args.repeat or (3 if args.quick else 5)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    args.budget_ns = 2_000_000 if args.quick else 20_000_000   # per timed sample
    args.import_repeat = 5 if args.quick else 21
    if args.png and not have("matplotlib"):
        p.error("--png needs matplotlib (pip install matplotlib)")
    try:
        import shanxi  # noqa: F401
    except ImportError:
        p.error("shanxi is not installed: pip install . from the repository first")

    started = time.time()
    meta = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": machine(), "versions": versions(),
            "args": {"rows": sizes, "full_rows": full_sizes, "huge": huge,
                     "repeat": args.repeat, "quick": args.quick},
            "targets_judged_at_rows": sizes[-1]}
    files = []
    with tempfile.TemporaryDirectory(prefix="shanxi-bench-") as tmp:
        steps = [("embedded data: lookups and aggregations", 1, None,
                  lambda: bench_embedded(args)),
                 ("import time", 4, None, lambda: bench_import(args, tmp))]
        for n in sizes:
            steps.append(("panel of %s rows" % fmt_rows(n), 5, n,
                          lambda n=n: panel_step(args, tmp, n, n == sizes[-1], files)))
        for n in full_sizes:
            steps.append(("panel of every column, %s rows" % fmt_rows(n), 6, n,
                          lambda n=n: full_step(args, tmp, n, n == full_sizes[-1], files)))
        for n in sorted(huge):
            steps.append(("huge panel, %s rows (ours only)" % fmt_rows(n), 11, n,
                          lambda n=n: files.append(bench_huge(args, tmp, n))))
        steps.append(("time per row as the panel grows", 11, None, scale_rows))
        for what, section, size, step in steps:
            log(what)
            try:
                step()
            except Exception as exc:
                traceback.print_exc()
                failed(section, what, size, "-", "-", exc)
    meta["files"] = [{k: v for k, v in f.items() if k != "path"} for f in files]
    meta["seconds"] = round(time.time() - started, 1)
    if hasattr(os, "getloadavg"):
        meta["machine"]["load_average_at_end"] = "%.2f %.2f %.2f" % os.getloadavg()

    v, m = meta["versions"], meta["machine"]
    print("shanxi benchmark, %s" % meta["date"])
    print("machine: %s, %s cores, %s RAM, %s; load average at start %s, at end %s"
          % (m["cpu"], m["cores"], m["memory"], m["platform"], m["load_average_at_start"],
             m.get("load_average_at_end")))
    busy = [x for x in (m["load_average_at_start"], m.get("load_average_at_end")) if x]
    if any(float(x.split()[0]) > 0.5 * (m["cores"] or 1) for x in busy):
        print("WARNING: the machine was busy (1-minute load average above half the cores): "
              "other processes competed for the CPU, so times are noisy")
    print("versions: " + ", ".join("%s %s" % (k, v[k] or "not installed") for k in v))
    print("panel files: " + ", ".join("%s rows%s = %.1f MB" % (
        fmt_rows(f["rows"]), " of every column" if f.get("full") else "", f["bytes"] / 1e6)
        for f in files) + " (generated with tools/panelgen.py, deleted after)")
    print("times are medians of %d interleaved repeats; MET/MISSED is judged at %s rows for "
          "rows 5, 7, 8 and 10, at every size for rows 6 and 11, at %s rows for row 9%s"
          % (args.repeat, fmt_rows(sizes[-1]), fmt_rows(full_sizes[-1]),
             " (--quick: smoke test, not a measurement)" if args.quick else ""))
    print()
    ROWS.sort(key=lambda r: (r["section"], r["rows"] or 0))   # stable: peers keep their order
    print(render_table(ROWS))
    met = sum(r["status"] == "MET" for r in ROWS)
    missed = sum(r["status"] == "MISSED" for r in ROWS)
    other = sum(r["status"] not in ("MET", "MISSED", "-") for r in ROWS)
    print()
    print("targets met: %d, missed: %d%s; %.0f s" % (
        met, missed, ", not measured: %d" % other if other else "", meta["seconds"]))

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"meta": meta, "sections": SECTIONS, "rows": ROWS}, f, indent=1)
            f.write("\n")
        log("wrote %s" % args.json)
    if args.png:
        title = "shanxi %s vs peers, %s, %s (%s cores), python %s" % (
            v["shanxi"], meta["date"][:10], m["cpu"], m["cores"], v["python"])
        write_png(ROWS, args.png, title)
        log("wrote %s" % args.png)
    return 1 if any(r["status"] == "ERROR" for r in ROWS) else 0


if __name__ == "__main__":
    sys.exit(main())
