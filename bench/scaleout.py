"""Benchmark shanxi beyond one file (issue 12): many files as one dataset, and
exact aggregation on a Dask cluster.

    python bench/scaleout.py [--rows 3000000] [--files 8] [--recut 5] [--repeat 3]
                             [--workers 2] [--json FILE]
    python bench/scaleout.py --bounded-rows 20000000 [--duckdb-memory 1GB]
    python bench/scaleout.py --bounded-file BIG.csv [--duckdb-memory 1GB]

One panel (tools/panelgen.py, every figure's values of --kind, "digits" =
floats of up to 17 significant digits) of --rows rows is cut into --files
files (partitioning A) and, the same rows, into --recut files (B).

* load: shanxi.load(list of A) vs polars.read_csv(glob of A) vs DuckDB
  read_csv(glob of A) materialized as an Arrow table; median of --repeat,
  interleaved.
* dask: on one distributed.LocalCluster (--workers processes, one thread
  each), shanxi.dask.aggregate(A, "sum", by="metric") vs
  dask.dataframe.read_csv(glob of A).groupby("metric").value.sum(); and for
  every engine, whether its float sums are bit-identical between A and B
  (and how many groups differ from the exact sums, math.fsum of the values).

Prints a table of times and ratios; --json writes the figures.

With --bounded-rows N (a panel of N rows, generated and deleted) or
--bounded-file PATH (an existing file), only the bounded-memory row runs:
shanxi.aggregate_files(PATH, "sum", by=("region", "unit")) against DuckDB's
``select region, unit, sum(value) ... group by`` under
``SET memory_limit`` (--duckdb-memory), each in a fresh process: wall time
and peak RSS (VmHWM of that process, which includes the interpreter).
"""
import argparse
import json
import math
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))
import panelgen  # noqa: E402  (the one panel generator)

import shanxi  # noqa: E402


def log(msg):
    print("[scaleout %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def cut(lines, header, k, folder):
    """lines (bytes, each ending in a line break) cut into k files."""
    os.makedirs(folder, exist_ok=True)
    step = -(-len(lines) // k)
    paths = []
    for i in range(k):
        path = os.path.join(folder, "part%03d.csv" % i)
        with open(path, "wb") as f:
            f.write(header)
            f.writelines(lines[i * step:(i + 1) * step])
        paths.append(path)
    return paths


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median_times(fns, repeat):
    """{name: median seconds}, the calls interleaved, the order flipped each round."""
    times = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeat):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].append(timed(fns[name]))
    return {name: statistics.median(ts) for name, ts in times.items()}


def bits(d):
    return {str(k): struct.pack("<d", float(v)) for k, v in d.items()}


# One aggregation in a fresh process: prints seconds, peak RSS and groups as JSON.
BOUNDED = r"""
import json, sys, time
engine, path, limit = sys.argv[1:4]
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
t = time.perf_counter()
if engine == "shanxi":
    import shanxi
    got = shanxi.aggregate_files(path, "sum", by=("region", "unit"))
    groups = len(got)
else:
    import duckdb
    con = duckdb.connect()
    con.execute("SET memory_limit='%s'" % limit)
    con.execute("SET enable_progress_bar=false")
    got = con.execute("select region, unit, sum(value) from read_csv('%s') group by all"
                      % path.replace("'", "''")).fetchall()
    groups = len(got)
print(json.dumps({"seconds": time.perf_counter() - t, "peak": peak(), "groups": groups}))
"""


def bounded(args):
    """The bounded-memory row: aggregate_files vs DuckDB with a memory limit."""
    import subprocess

    tmp = None
    path = args.bounded_file
    try:
        if path is None:
            tmp = tempfile.mkdtemp(prefix="shanxi-bounded-")
            path = os.path.join(tmp, "panel.csv")
            log("generating %d rows" % args.bounded_rows)
            panelgen.write_panel(path, args.bounded_rows)
        size = os.path.getsize(path)
        rows = {}
        for engine in ("shanxi", "duckdb"):
            log("%s on %d MB" % (engine, size >> 20))
            run = subprocess.run([sys.executable, "-c", BOUNDED, engine, path, args.duckdb_memory],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                rows[engine] = {"error": run.stderr.strip().splitlines()[-1:]}
                continue
            rows[engine] = json.loads(run.stdout.strip().splitlines()[-1])
        with open("/proc/loadavg") as f:
            load = f.read().split()[:3]
        print("sum by (region, unit) of %s: %.2f GB, load average %s"
              % (path, size / 1e9, " ".join(load)))
        print("%-44s %10s %10s %8s" % ("", "seconds", "peak RSS", "groups"))
        for engine, r in rows.items():
            name = ("shanxi.aggregate_files" if engine == "shanxi"
                    else "DuckDB, memory_limit=%s" % args.duckdb_memory)
            if "error" in r:
                print("%-44s %s" % (name, r["error"]))
            else:
                print("%-44s %10.1f %7d MB %8d" % (name, r["seconds"], r["peak"] >> 20,
                                                   r["groups"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"bytes": size, "loadavg": load, "bounded": rows}, f, indent=2)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--recut", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kind", default="digits", choices=panelgen.KINDS,
                    help="how every figure's values are drawn (tools/panelgen.py)")
    ap.add_argument("--json")
    ap.add_argument("--bounded-rows", type=int,
                    help="only the bounded-memory row, on a generated panel of this many rows")
    ap.add_argument("--bounded-file", help="only the bounded-memory row, on this file")
    ap.add_argument("--duckdb-memory", default="1GB", help="DuckDB's memory_limit (1GB)")
    args = ap.parse_args(argv)
    if args.bounded_rows or args.bounded_file:
        return bounded(args)
    out = {"rows": args.rows, "files": args.files, "recut": args.recut,
           "cpus": os.cpu_count(), "load": {}, "dask": {}}
    tmp = tempfile.mkdtemp(prefix="shanxi-scaleout-")
    try:
        log("generating %d rows" % args.rows)
        big = os.path.join(tmp, "panel.csv")
        # every figure a float of up to 17 digits (panelgen's "digits"), so
        # sums depend on the order of adding unless they are exact
        figures = [f._replace(kind=args.kind) for f in panelgen.template()]
        info = panelgen.write_panel(big, args.rows, figures=figures)
        with open(big, "rb") as f:
            header = f.readline()
            lines = f.readlines()
        os.remove(big)
        files_a = cut(lines, header, args.files, os.path.join(tmp, "a"))
        files_b = cut(lines, header, args.recut, os.path.join(tmp, "b"))
        del lines
        glob_a = os.path.join(tmp, "a", "*.csv")
        glob_b = os.path.join(tmp, "b", "*.csv")
        out["bytes"] = info["bytes"]
        log("%d MB in %d files (A), %d files (B)" % (info["bytes"] >> 20, args.files, args.recut))

        # ------------------------------------------------------------ load
        fns = {"shanxi": lambda: shanxi.load(files_a)}
        try:
            import polars as pl
            fns["polars"] = lambda: pl.read_csv(glob_a)
        except ImportError:
            pass
        try:
            import duckdb
            # a pyarrow.Table: .arrow() is a lazy RecordBatchReader from DuckDB 1.4 on,
            # which reads hardly anything before it is consumed
            fns["duckdb"] = lambda: duckdb.sql(
                "select * from read_csv('%s')" % glob_a).fetch_arrow_table()
        except ImportError:
            pass
        assert len(shanxi.load(files_a)) == args.rows
        times = median_times(fns, args.repeat)
        out["load"] = times

        # ------------------------------------------------------------ exact reference
        # (math.fsum of each metric's values, read through the Arrow export)
        import pyarrow as pa
        whole = shanxi.load(files_a)
        exact = whole.aggregate("sum", by="metric")
        frame = pa.table(whole).select(["metric", "value"]).to_pandas()
        reference = {k: math.fsum(v) for k, v in frame.groupby("metric", observed=True)["value"]}
        assert bits(reference) == bits(exact)
        del whole, frame

        # ------------------------------------------------------------ dask
        try:
            import dask.dataframe as dd
            import distributed

            import shanxi.dask as sd
        except ImportError:
            dd = None
        if dd is not None:
            log("LocalCluster of %d worker processes" % args.workers)
            with distributed.LocalCluster(n_workers=args.workers, processes=True,
                                          threads_per_worker=1, dashboard_address=None) as c, \
                    distributed.Client(c) as client:
                def ours(paths):
                    return sd.aggregate(paths, "sum", by="metric", client=client)

                def theirs(pattern):
                    ddf = dd.read_csv(pattern, blocksize=None)  # a partition per file
                    return ddf.groupby("metric")["value"].sum().compute().to_dict()

                ours(files_a), theirs(glob_a)  # warm the workers
                times = median_times({"shanxi.dask": lambda: ours(files_a),
                                      "dask.dataframe": lambda: theirs(glob_a)}, args.repeat)
                results = {
                    "shanxi.dask": (ours(files_a), ours(files_b)),
                    "dask.dataframe": (theirs(glob_a), theirs(glob_b)),
                }
                for name, (a, b) in results.items():
                    out["dask"][name] = {
                        "seconds": times[name],
                        "identical_across_partitionings": bits(a) == bits(b),
                        "groups_not_exact": sum(
                            struct.pack("<d", v) != struct.pack("<d", reference[k])
                            for k, v in a.items()),
                        "groups": len(a),
                    }

        # ------------------------------------------------------------ table
        print("rows %d, %d MB, %d files (A) / %d files (B), %s cores"
              % (args.rows, out["bytes"] >> 20, args.files, args.recut, out["cpus"]))
        print("%-34s %10s %10s" % ("load (median of %d)" % args.repeat, "seconds", "vs shanxi"))
        for name, t in out["load"].items():
            print("%-34s %10.3f %9.2fx" % (name, t, t / out["load"]["shanxi"]))
        if out["dask"]:
            print("%-34s %10s %10s %12s %10s" % ("sum by metric on LocalCluster", "seconds",
                                                 "vs shanxi", "A == B bits", "not exact"))
            base = out["dask"]["shanxi.dask"]["seconds"]
            for name, r in out["dask"].items():
                print("%-34s %10.3f %9.2fx %12s %6d/%d" % (
                    name, r["seconds"], r["seconds"] / base,
                    "yes" if r["identical_across_partitionings"] else "NO",
                    r["groups_not_exact"], r["groups"]))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
