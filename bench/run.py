"""Benchmark shanxi against its peers and check the targets of issue #5.

    python bench/run.py [--rows 1000,100000,1000000,10000000] [--repeat 5]
                        [--json FILE] [--png FILE] [--quick]

Prints one table: for each target, our time (or throughput, or memory), the
peer's, their ratio and whether the target is met.  Every time is the median
of --repeat interleaved repeats (ours, peer, ours, peer, ... with the order
flipped on every repeat).  Large inputs are generated into a temporary
directory (see tools/panelgen.py) and deleted afterwards.  A peer that is not
installed gets a row saying so.  See bench/README.md for what each row does.
"""
import argparse
import datetime
import functools
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tools"))
import panelgen  # noqa: E402  (the panel generator the tests share)

# What the rows measure.
LOOKUP_PROJECT = 7
LOOKUP_METRIC = "legal_aid_cases_closed"
TOTAL_UNIT = "CNY"
AGG_UNIT = "people"          # the unit of aggregate("sum", by="project", unit=...)
PEERS_LOAD = ("pandas", "pyarrow", "polars")
PEERS_AGG = ("pandas", "polars", "duckdb")
UNROLL = 10                  # calls per loop iteration for microsecond-scale timings

# ---------------------------------------------------------------- small tools


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def have(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def version_of(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return None


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns < 1e3:
        return "%.1f ns" % ns
    if ns < 1e6:
        return "%.2f us" % (ns / 1e3)
    if ns < 1e9:
        return "%.2f ms" % (ns / 1e6)
    return "%.3f s" % (ns / 1e9)


def fmt_rows(n):
    if n is None:
        return "33"
    for div, suf in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % div == 0:
            return "%d%s" % (n // div, suf)
    return str(n)


def median(xs):
    return statistics.median(xs) if xs else None


def proc_status():
    """VmRSS and VmHWM of this process in KiB (None where unknown)."""
    out = {"VmRSS": None, "VmHWM": None, "RssAnon": None, "RssFile": None}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in out:
                    out[key] = int(line.split()[1])
    except OSError:
        import resource
        out["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


# ---------------------------------------------------------------- timing


class Timed:
    """A callable timed per call: loops of `number` calls (unrolled by UNROLL
    when it is a statement) so one sample lasts at least the budget."""

    def __init__(self, name, stmt=None, env=None, func=None, after=None):
        self.name = name
        self.after = after          # run outside the timing after each sample
        if stmt is not None:
            code = "; ".join([stmt] * UNROLL)
            self.timer = timeit.Timer(code, globals=env, timer=time.perf_counter_ns)
            self.per = UNROLL
        else:
            self.func = func
            self.timer = None
            self.per = 1
        self.number = 1
        self.samples = []
        self.error = None

    def _run(self, number):
        if self.timer is not None:
            return self.timer.timeit(number)
        func = self.func
        gcold = gc.isenabled()
        gc.disable()
        try:
            t0 = time.perf_counter_ns()
            for _ in range(number):
                r = func()
            t1 = time.perf_counter_ns()
            del r       # the last result is freed outside the timing
        finally:
            if gcold:
                gc.enable()
        return t1 - t0

    def calibrate(self, budget_ns):
        """Warm up and pick how many calls one sample makes."""
        number = 1
        while True:
            t = self._run(number)
            if t >= budget_ns or number >= 1 << 24:
                break
            number = min(number * 10, max(number * 2, int(number * budget_ns * 1.2 / max(t, 1))))
        self.number = number
        if self.after:
            self.after()

    def sample(self):
        t = self._run(self.number)
        self.samples.append(t / (self.number * self.per))
        if self.after:
            self.after()

    @property
    def median(self):
        return median(self.samples)


def interleave(timeds, repeat, budget_ns):
    """Calibrate, then sample every Timed once per repeat, flipping the order
    on every repeat: ours, peer, ... then ..., peer, ours.  A Timed whose
    call raises is dropped, with the exception in its .error."""
    for t in timeds:
        try:
            t.calibrate(budget_ns)
        except Exception as exc:
            t.error = exc
    for r in range(repeat):
        order = timeds if r % 2 == 0 else list(reversed(timeds))
        for t in order:
            if t.error is None:
                try:
                    t.sample()
                except Exception as exc:
                    t.error = exc
    for t in timeds:
        if t.name == "shanxi" and t.error is not None:
            raise t.error


# ---------------------------------------------------------------- result rows

# kind -> how the ratio reads.  `speedup` is always "how many times better
# ours is" (peer time / our time, budget / ours, ...) so the chart can use it.
ROWS = []


def add_row(section, what, size, ours, peer, peer_value, speedup, result, target, status,
            **extra):
    row = {"section": section, "measurement": what, "rows": size, "ours": ours,
           "peer": peer, "peer_value": peer_value, "speedup": speedup, "result": result,
           "target": target, "status": status}
    row.update(extra)
    if extra.get("ours_samples") and extra.get("peer_samples"):
        row["ratio_range"] = spread(extra["ours_samples"], extra["peer_samples"],
                                    invert=section in (1, 4))
    ROWS.append(row)
    return row


def status_of(ok, judged):
    if not judged:
        return "-"
    return "MET" if ok else "MISSED"


def times_text(x, better="faster"):
    if x is None:
        return "-"
    if x >= 1:
        return "%.2fx %s" % (x, better)
    return "%.2fx slower" % (1 / x) if better == "faster" else "%.2fx %s" % (x, better)


def spread(ours, peer, invert=False):
    """The lowest and highest per-repeat ratio (peer/ours, or ours/peer when
    invert): samples of one repeat were taken next to each other."""
    pairs = [(o, q) for o, q in zip(ours or (), peer or ()) if o and q]
    if len(pairs) < 2:
        return None
    r = sorted((o / q) if invert else (q / o) for o, q in pairs)
    return [r[0], r[-1]]


def spread_text(rng):
    return " [%.2f-%.2f]" % tuple(rng) if rng else ""


def not_installed(section, what, size, peer, target):
    add_row(section, what, size, None, peer, None, None, "not installed", target,
            "not installed")


def failed(section, what, size, peer, target, exc):
    msg = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:80] if str(exc) else "")
    log("%s / %s failed: %s" % (what, peer, msg))
    add_row(section, what, size, None, peer, None, None, "error", target, "ERROR", error=msg)


# ---------------------------------------------------------------- 1-3: embedded data


def py_total(rows, unit):
    return sum(r[2] for r in rows if r[3] == unit)


def py_count_by_project(rows):
    counts = {}
    for r in rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    return dict(sorted(counts.items()))


def pd_total(df, unit):
    return df.loc[df["unit"] == unit, "value"].sum()


def pd_count_by_project(df):
    return df.groupby("project", observed=True).size()


def bench_embedded(args):
    import shanxi
    budget = args.budget_ns
    # 1. lookups vs dict.get on a dict of the same objects
    by_number = {p.number: p for p in shanxi.projects()}
    by_key = {m.key: m for m in shanxi.metrics()}
    assert by_number.get(LOOKUP_PROJECT) is shanxi.project(LOOKUP_PROJECT)
    assert by_key.get(LOOKUP_METRIC) is shanxi.metric(LOOKUP_METRIC)
    cases = [
        ("project(%d)" % LOOKUP_PROJECT, "f(%d)" % LOOKUP_PROJECT,
         shanxi.project, by_number.get, "dict.get(%d)" % LOOKUP_PROJECT),
        ("metric(%r)" % LOOKUP_METRIC, "f(%r)" % LOOKUP_METRIC,
         shanxi.metric, by_key.get, "dict.get(key)"),
    ]
    for what, stmt, ours_f, dict_f, peer in cases:
        ours = Timed("ours", stmt, {"f": ours_f})
        ref = Timed(peer, stmt, {"f": dict_f})
        interleave([ours, ref], args.repeat, budget)
        ratio = ours.median / ref.median
        rng = spread(ours.samples, ref.samples, invert=True)
        add_row(1, what, None, fmt_ns(ours.median), peer, fmt_ns(ref.median), 1 / ratio,
                "%.2fx the dict's time" % ratio + spread_text(rng), "<= 1.3x the dict's time",

                status_of(ratio <= 1.3, True), ours_ns=ours.median, peer_ns=ref.median,
                ours_samples=ours.samples, peer_samples=ref.samples, goal=1 / 1.3)

    # 2-3. total / aggregate: pure Python over tuples, pandas over to_frame()
    tuples = [(m.project, m.key, m.value, m.unit, m.category, m.region, m.as_of)
              for m in shanxi.metrics()]
    ops = [
        ("total(%r)" % TOTAL_UNIT, "f(%r)" % TOTAL_UNIT, shanxi.total,
         "g(rows, %r)" % TOTAL_UNIT, py_total, "g(df, %r)" % TOTAL_UNIT, pd_total),
        ("aggregate('count', by='project')", "f('count', by='project')", shanxi.aggregate,
         "g(rows)", py_count_by_project, "g(df)", pd_count_by_project),
    ]
    assert py_total(tuples, TOTAL_UNIT) == shanxi.total(TOTAL_UNIT)
    assert py_count_by_project(tuples) == shanxi.aggregate("count", by="project")
    for what, stmt, ours_f, py_stmt, py_f, _, _ in ops:
        ours = Timed("ours", stmt, {"f": ours_f})
        ref = Timed("python", py_stmt, {"g": py_f, "rows": tuples})
        interleave([ours, ref], args.repeat, budget)
        x = ref.median / ours.median
        rng = spread(ours.samples, ref.samples)
        add_row(2, what, None, fmt_ns(ours.median), "pure Python on tuples",
                fmt_ns(ref.median), x, times_text(x) + spread_text(rng), ">= 10x faster",

                status_of(x >= 10, True), ours_ns=ours.median, peer_ns=ref.median,
                ours_samples=ours.samples, peer_samples=ref.samples, goal=10)
    if not have("pandas"):
        for what, *_ in ops:
            not_installed(3, what, None, "pandas on to_frame()", ">= 1000x faster")
        return
    df = shanxi.to_frame()
    for what, stmt, ours_f, _, _, pd_stmt, pd_f in ops:
        try:
            ours = Timed("ours", stmt, {"f": ours_f})
            ref = Timed("pandas", pd_stmt, {"g": pd_f, "df": df})
            interleave([ours, ref], args.repeat, budget)
            if ref.error is not None:
                raise ref.error
        except Exception as exc:
            failed(3, what, None, "pandas on to_frame()", ">= 1000x faster", exc)
            continue
        x = ref.median / ours.median
        rng = spread(ours.samples, ref.samples)
        add_row(3, what, None, fmt_ns(ours.median), "pandas on to_frame()",
                fmt_ns(ref.median), x, times_text(x) + spread_text(rng), ">= 1000x faster",

                status_of(x >= 1000, True), ours_ns=ours.median, peer_ns=ref.median,
                ours_samples=ours.samples, peer_samples=ref.samples, goal=1000)


# ---------------------------------------------------------------- 4: import


def import_cumulative_us(module, cwd):
    """Cumulative microseconds of the top-level `module` entry of -X importtime."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import " + module],
                          cwd=cwd, capture_output=True, text=True, check=True)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module and parts[2].startswith(" " + module):
            return int(parts[1])
    raise RuntimeError("no -X importtime entry for %s" % module)


def bench_import(args, tmp):
    n = args.import_repeat
    for mod in ("shanxi", "json"):      # warm .pyc caches and the page cache
        import_cumulative_us(mod, tmp)
    samples = {"shanxi": [], "json": []}
    for r in range(n):
        for mod in (("shanxi", "json") if r % 2 == 0 else ("json", "shanxi")):
            samples[mod].append(import_cumulative_us(mod, tmp))
    ours, ref = median(samples["shanxi"]), median(samples["json"])
    ratio = ours / ref
    rng = spread(samples["shanxi"], samples["json"], invert=True)
    add_row(4, "import shanxi (cumulative, -X importtime)", None, "%d us" % ours, "import json",
            "%d us" % ref, 1 / ratio, "%.2fx json's time" % ratio + spread_text(rng),
            "<= 1x json's time",
            status_of(ratio <= 1.0, True), ours_ns=ours * 1e3, peer_ns=ref * 1e3,
            ours_samples=samples["shanxi"], peer_samples=samples["json"], goal=1.0,
            unit="us")

    # The embedded parse, measured in-process as loads() of the same text.
    import shanxi
    text = embedded_text()
    t = Timed("ours", "f(text)", {"f": shanxi.loads, "text": text})
    interleave([t], args.repeat, args.budget_ns)
    ok = t.median < 50_000
    add_row(4, "parse embedded data (proxy: loads(text), %d bytes)" % len(text.encode()), None,
            fmt_ns(t.median), "budget", "50.00 us", 50_000 / t.median,
            "%.2fx under budget" % (50_000 / t.median) if ok
            else "%.2fx over budget" % (t.median / 50_000),
            "< 50 us", status_of(ok, True), ours_ns=t.median, ours_samples=t.samples, goal=1.0)


def embedded_text():
    path = REPO / "data" / "shanxi_2022.csv"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    import csv
    import io

    import shanxi
    rows = shanxi.to_dicts()
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


# ---------------------------------------------------------------- 5-8: big files


def loader(lib, path):
    """A zero-argument callable loading path with lib into its native table."""
    if lib == "shanxi":
        import shanxi
        return lambda: shanxi.load(path)
    if lib == "pandas":
        import pandas as pd
        dtype = {"project": "int32", "metric": "category", "value": "float64",
                 "unit": "category", "region": "category"}
        return lambda: pd.read_csv(path, dtype=dtype, parse_dates=["as_of"],
                                   date_format="%Y-%m-%d")
    if lib == "pyarrow":
        import pyarrow as pa
        import pyarrow.csv as pc
        d = pa.dictionary(pa.int32(), pa.string())
        opts = pc.ConvertOptions(column_types={
            "project": pa.int32(), "metric": d, "value": pa.float64(), "unit": d,
            "as_of": pa.date32(), "region": d})
        return lambda: pc.read_csv(path, convert_options=opts)
    if lib == "polars":
        import polars as pl
        schema = {"project": pl.Int32, "metric": pl.Categorical, "value": pl.Float64,
                  "unit": pl.Categorical, "as_of": pl.Date, "region": pl.Categorical}
        return lambda: pl.read_csv(path, schema_overrides=schema)
    if lib == "duckdb":
        import duckdb

        def load_duckdb():
            con = duckdb.connect()
            con.execute(
                "CREATE TABLE t AS SELECT * FROM read_csv(?, header=true, columns={"
                "'project': 'INTEGER', 'metric': 'VARCHAR', 'value': 'DOUBLE', "
                "'unit': 'VARCHAR', 'as_of': 'DATE', 'region': 'VARCHAR'})", [path])
            return con
        return load_duckdb
    raise ValueError(lib)


def aggregator(lib, obj):
    """A zero-argument callable computing sum(value) by project where unit is
    AGG_UNIT, and a function turning its result into {project: float}."""
    u = AGG_UNIT
    if lib == "shanxi":
        return (lambda: obj.aggregate("sum", by="project", unit=u),
                lambda r: {k: float(v) for k, v in r.items()})
    if lib == "pandas":
        return (lambda: obj.loc[obj["unit"] == u].groupby("project")["value"].sum(),
                lambda r: {int(k): float(v) for k, v in r.items()})
    if lib == "polars":
        import polars as pl
        return (lambda: obj.filter(pl.col("unit") == u).group_by("project")
                .agg(pl.col("value").sum()).sort("project"),
                lambda r: {int(k): float(v) for k, v in r.iter_rows()})
    if lib == "duckdb":
        sql = ("SELECT project, sum(value) FROM t WHERE unit = '%s' "
               "GROUP BY project ORDER BY project" % u)
        return (lambda: obj.execute(sql).fetchall(),
                lambda r: {int(k): float(v) for k, v in r})
    raise ValueError(lib)


def aggregator_keys(lib, obj):
    """As aggregator, by two keys: sum(value) by region and month where unit is
    AGG_UNIT, each library computing the month from as_of in the query; the
    result as {(region, "YYYY-MM"): float}."""
    u = AGG_UNIT
    if lib == "shanxi":
        return (lambda: obj.aggregate("sum", by=("region", "month"), unit=u),
                lambda r: {k: float(v) for k, v in r.items()})
    if lib == "pandas":
        def pd_by_region_month():
            s = obj.loc[obj["unit"] == u]
            return s.groupby([s["region"], s["as_of"].dt.to_period("M")],
                             observed=True)["value"].sum()
        return (pd_by_region_month,
                lambda r: {(str(k[0]), str(k[1])): float(v) for k, v in r.items()})
    if lib == "polars":
        import polars as pl
        return (lambda: obj.filter(pl.col("unit") == u)
                .group_by(["region", pl.col("as_of").dt.truncate("1mo").alias("month")])
                .agg(pl.col("value").sum()).sort(["region", "month"]),
                lambda r: {(k, m.strftime("%Y-%m")): float(v) for k, m, v in r.iter_rows()})
    if lib == "duckdb":
        sql = ("SELECT region, date_trunc('month', as_of) AS m, sum(value) FROM t "
               "WHERE unit = '%s' GROUP BY region, m ORDER BY region, m" % u)
        return (lambda: obj.execute(sql).fetchall(),
                lambda r: {(k, m.strftime("%Y-%m")): float(v) for k, m, v in r})
    raise ValueError(lib)


def agree(a, b):
    if a.keys() != b.keys():
        return False
    return all(abs(a[k] - b[k]) <= 1e-9 * max(1.0, abs(a[k])) for k in a)


def memory_child(lib, path):
    """Run in a fresh interpreter: import lib, load path, report peak RSS."""
    load = loader(lib, path)
    gc.collect()
    before = proc_status()
    t0 = time.perf_counter_ns()
    obj = load()
    t1 = time.perf_counter_ns()
    after = proc_status()
    del obj
    print(json.dumps({"lib": lib, "rss_before_kib": before["VmRSS"],
                      "hwm_before_kib": before["VmHWM"], "hwm_after_kib": after["VmHWM"],
                      "rss_after_kib": after["VmRSS"], "rss_anon_after_kib": after["RssAnon"],
                      "rss_file_after_kib": after["RssFile"], "load_ns": t1 - t0}))


def measure_memory(lib, path, cwd):
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--memory-child",
                           lib, str(path)], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip()
                           else "exit %d" % proc.returncode)
    d = json.loads(proc.stdout.strip().splitlines()[-1])
    base = d["rss_before_kib"] if d["rss_before_kib"] is not None else d["hwm_before_kib"]
    d["peak_delta_kib"] = d["hwm_after_kib"] - base
    return d


def bench_size(args, tmp, nrows, judged):
    import shanxi
    path = Path(tmp) / ("panel_%d.csv" % nrows)
    log("generating %s rows -> %s" % (fmt_rows(nrows), path))
    info = panelgen.write_panel(path, nrows)
    mb = info["bytes"] / 1e6
    log("  %.1f MB written" % mb)
    size = nrows
    try:
        # ---- 5. load throughput
        log("  load: ours vs %s" % ", ".join(PEERS_LOAD))
        timeds = [Timed("shanxi", func=loader("shanxi", str(path)), after=gc.collect)]
        for lib in PEERS_LOAD:
            if have(lib):
                timeds.append(Timed(lib, func=loader(lib, str(path)), after=gc.collect))
        interleave(timeds, args.repeat, args.budget_ns if nrows < 1_000_000 else 1)
        ours = timeds[0]
        ours_mbs = mb / (ours.median / 1e9)
        peer_t = {t.name: t for t in timeds[1:]}
        goals = {"pandas": (2.0, ">= 2x pandas' MB/s"), "pyarrow": (1.0, "ahead of pyarrow"),
                 "polars": (1.0, "ahead of polars")}
        for lib in PEERS_LOAD:
            goal, target = goals[lib]
            what = "load() MB/s"
            if lib not in peer_t:
                not_installed(5, what, size, lib, target)
                continue
            t = peer_t[lib]
            if t.error is not None:
                failed(5, what, size, lib, target, t.error)
                continue
            x = t.median / ours.median
            ok = x >= goal if goal > 1 else x > goal
            add_row(5, what, size, "%.0f MB/s" % ours_mbs, lib,
                    "%.0f MB/s" % (mb / (t.median / 1e9)), x,
                    times_text(x) + spread_text(spread(ours.samples, t.samples)), target,

                    status_of(ok, judged), ours_ns=ours.median, peer_ns=t.median,
                    ours_samples=ours.samples, peer_samples=t.samples, goal=goal,
                    file_bytes=info["bytes"])
        add_row(5, "load() MB/s", size, "%.0f MB/s" % ours_mbs, "aim", "1000 MB/s",
                ours_mbs / 1000, "%.2fx the aim" % (ours_mbs / 1000), "aim: 1 GB/s",
                status_of(ours_mbs >= 1000, judged), ours_ns=ours.median,
                ours_samples=ours.samples, goal=1.0, file_bytes=info["bytes"])

        # ---- 6. peak memory of the load, fresh process per library
        if args.memory_all or judged:
            log("  peak memory of a load (fresh process each)")
            mem = {}
            for lib in ("shanxi",) + PEERS_LOAD:
                if not have(lib):
                    continue
                try:
                    mem[lib] = measure_memory(lib, path, tmp)
                except Exception as exc:
                    mem[lib] = exc
            ours_m = mem.get("shanxi")
            for lib in PEERS_LOAD:
                what = "peak memory of load() (RSS growth)"
                target = "<= 0.5x pandas'" if lib == "pandas" else "(for information)"
                if lib not in mem:
                    not_installed(6, what, size, lib, target)
                    continue
                if isinstance(mem[lib], Exception) or isinstance(ours_m, Exception):
                    failed(6, what, size, lib, target,
                           mem[lib] if isinstance(mem[lib], Exception) else ours_m)
                    continue
                o, p = ours_m["peak_delta_kib"], mem[lib]["peak_delta_kib"]
                ratio = o / p if p else float("inf")
                add_row(6, what, size, "%.1f MB" % (o * 1024 / 1e6), lib,
                        "%.1f MB" % (p * 1024 / 1e6), 1 / ratio if ratio else None,
                        "%.2fx the peak of %s" % (ratio, lib), target,
                        status_of(ratio <= 0.5, judged) if lib == "pandas" else "-",
                        ours_kib=o, peer_kib=p, ours_detail=ours_m, peer_detail=mem[lib],
                        goal=2.0 if lib == "pandas" else None)

        # ---- 7. aggregate over the loaded panel
        log("  aggregate('sum', by='project', unit=%r): ours vs %s"
            % (AGG_UNIT, ", ".join(PEERS_AGG)))
        ds = shanxi.load(str(path))
        ours_f, ours_conv = aggregator("shanxi", ds)
        expect = ours_conv(ours_f())
        timeds = [Timed("shanxi", func=ours_f)]
        objs, answers = {}, {}
        for lib in PEERS_AGG:
            if not have(lib):
                continue
            try:
                objs[lib] = loader(lib, str(path))()
                f, conv = aggregator(lib, objs[lib])
                answers[lib] = agree(expect, conv(f()))
                timeds.append(Timed(lib, func=f))
            except Exception as exc:
                objs[lib] = exc
        interleave(timeds, args.repeat, args.budget_ns)
        ours = timeds[0]
        peer_t = {t.name: t for t in timeds[1:]}
        goals = {"pandas": (3.0, ">= 3x faster than pandas"),
                 "polars": (1.0, "ahead of polars"), "duckdb": (1.0, "ahead of DuckDB")}
        what = "aggregate('sum', by='project', unit=%r)" % AGG_UNIT
        for lib in PEERS_AGG:
            goal, target = goals[lib]
            if lib not in objs:
                not_installed(7, what, size, lib, target)
                continue
            if isinstance(objs[lib], Exception):
                failed(7, what, size, lib, target, objs[lib])
                continue
            t = peer_t[lib]
            if t.error is not None:
                failed(7, what, size, lib, target, t.error)
                continue
            x = t.median / ours.median
            ok = (x >= goal if goal > 1 else x > goal) and answers[lib]
            add_row(7, what, size, fmt_ns(ours.median), lib, fmt_ns(t.median), x,
                    times_text(x) + spread_text(spread(ours.samples, t.samples))
                    + ("" if answers[lib] else " (ANSWERS DIFFER)"), target,

                    status_of(ok, judged), ours_ns=ours.median, peer_ns=t.median,
                    ours_samples=ours.samples, peer_samples=t.samples, goal=goal,
                    answers_agree=answers[lib])

        # ---- 7b. the same by two keys, region and month (a panel's first question)
        what = "aggregate('sum', by=('region', 'month'), unit=%r)" % AGG_UNIT
        log("  %s: ours vs %s" % (what, ", ".join(PEERS_AGG)))
        ours_f, ours_conv = aggregator_keys("shanxi", ds)
        expect = ours_conv(ours_f())
        timeds = [Timed("shanxi", func=ours_f)]
        answers = {}
        for lib in PEERS_AGG:
            if lib in objs and not isinstance(objs[lib], Exception):
                try:
                    f, conv = aggregator_keys(lib, objs[lib])
                    answers[lib] = agree(expect, conv(f()))
                    timeds.append(Timed(lib, func=f))
                except Exception as exc:
                    answers[lib] = exc
        interleave(timeds, args.repeat, args.budget_ns)
        ours = timeds[0]
        peer_t = {t.name: t for t in timeds[1:]}
        for lib in PEERS_AGG:
            target = "(for information)"
            if lib not in objs:
                not_installed(7, what, size, lib, target)
                continue
            err = objs[lib] if isinstance(objs[lib], Exception) else answers.get(lib)
            if isinstance(err, Exception) or peer_t[lib].error is not None:
                failed(7, what, size, lib, target,
                       err if isinstance(err, Exception) else peer_t[lib].error)
                continue
            t = peer_t[lib]
            x = t.median / ours.median
            add_row(7, what, size, fmt_ns(ours.median), lib, fmt_ns(t.median), x,
                    times_text(x) + spread_text(spread(ours.samples, t.samples))
                    + ("" if answers[lib] else " (ANSWERS DIFFER)"), target, "-",
                    ours_ns=ours.median, peer_ns=t.median, ours_samples=ours.samples,
                    peer_samples=t.samples, answers_agree=answers[lib])
        del objs, timeds
        gc.collect()

        # ---- 8. pyarrow.table(ds): zero-copy export
        what = "pyarrow.table(ds)"
        if not have("pyarrow"):
            not_installed(8, what, size, "pyarrow", "< 5 ms, zero-copy numeric columns")
        else:
            import pyarrow as pa
            t = Timed("shanxi", func=functools.partial(pa.table, ds))
            interleave([t], args.repeat, args.budget_ns)
            gc.collect()
            before = proc_status()["VmRSS"]
            table = pa.table(ds)
            grown_kib = (proc_status()["VmRSS"] or 0) - (before or 0)
            numeric = nrows * (4 + 8 + 4)   # project int32, value float64, as_of date32
            del table
            zero_copy = grown_kib * 1024 < 0.1 * numeric if nrows >= 1_000_000 else None
            ok = t.median < 5e6 and zero_copy is not False
            add_row(8, what, size, fmt_ns(t.median), "budget", "5.00 ms", 5e6 / t.median,
                    "RSS +%.1f MB (numeric columns: %.1f MB)" % (
                        grown_kib * 1024 / 1e6, numeric / 1e6),
                    "< 5 ms, zero-copy numeric columns", status_of(ok, judged),
                    ours_ns=t.median, ours_samples=t.samples, goal=1.0,
                    rss_growth_kib=grown_kib, numeric_bytes=numeric)
        del ds
        gc.collect()
    finally:
        try:
            path.unlink()
        except OSError:
            pass
    bench_frame(args, tmp, nrows, judged)
    return info


# ---------------------------------------------------------------- 9: to_frame()


def frame_panel(path, nrows):
    """A panel of every column of the data/ format: the embedded figures with
    their labels, categories, project keys and titles and part_of keys, so
    the frame has text in every column and a share for every part."""
    import shanxi

    by_key = {m.key: m for m in shanxi.metrics()}
    projects = {p.number: p for p in shanxi.projects()}
    figures = []
    for f in panelgen.template():
        m, p = by_key[f.metric], projects[f.project]
        figures.append(f._replace(project_key=p.key, project_title=p.title,
                                  category=p.category, label=m.label, part_of=m.part_of,
                                  period_start="year" if m.period_start else None))
    return panelgen.write_panel(path, nrows, figures=figures, columns=panelgen.COLUMNS)


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
    print(json.dumps({"samples": samples, "peak_kib": peak, "frame_bytes": size,
                      "columns": list(frame.columns)}))


def bench_frame(args, tmp, nrows, judged):
    """Row 9: ds.to_frame() against pyarrow.table(ds).to_pandas(), with
    pyarrow (in this process, interleaved) and without it (a child process
    that hides pyarrow), and the peak memory of the one without."""
    what = "to_frame()"
    target = "<= 2x pyarrow.table(ds).to_pandas()"
    if not have("pandas"):
        not_installed(9, what, nrows, "pandas", target)
        return
    if not have("pyarrow"):
        not_installed(9, what, nrows, "pyarrow.table(ds).to_pandas()", target)
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
        add_row(9, what + " with pyarrow", nrows, fmt_ns(ours.median),
                "pyarrow.table(ds).to_pandas()", fmt_ns(peer.median), x,
                "%.2fx its time" % (1 / x) + spread_text(spread(ours.samples, peer.samples,
                                                                invert=True)),
                target, status_of(x >= 0.5, judged), ours_ns=ours.median, peer_ns=peer.median,
                ours_samples=ours.samples, peer_samples=peer.samples, goal=0.5)

        log("  to_frame() without pyarrow (fresh process)")
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--frame-child",
                               str(path), str(args.repeat)], cwd=tmp, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip()
                               else "exit %d" % proc.returncode)
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        alone = median(child["samples"])
        x = peer.median / alone
        add_row(9, what + " without pyarrow", nrows, fmt_ns(alone),
                "pyarrow.table(ds).to_pandas()", fmt_ns(peer.median), x,
                "%.2fx its time" % (1 / x), target, status_of(x >= 0.5, judged),
                ours_ns=alone, peer_ns=peer.median, ours_samples=child["samples"], goal=0.5)
        peak, size = child["peak_kib"] * 1024, child["frame_bytes"]
        ratio = peak / size if size else float("inf")
        add_row(9, "peak memory of to_frame() without pyarrow (RSS growth)", nrows,
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


# ---------------------------------------------------------------- report


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    load = None
    if hasattr(os, "getloadavg"):
        load = "%.2f %.2f %.2f" % os.getloadavg()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem,
            "platform": platform.platform(), "load_average_at_start": load}


def versions():
    v = {"python": platform.python_version()}
    try:
        import shanxi
        v["shanxi"] = shanxi.__version__
    except ImportError:
        v["shanxi"] = None
    for dist in ("pandas", "pyarrow", "polars", "duckdb", "numpy", "matplotlib"):
        v[dist] = version_of(dist) if have(dist) else None
    try:
        out = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10, check=False)
        if out.returncode == 0:
            v["shanxi_git"] = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return v


SECTIONS = {
    1: "lookups on the embedded data vs dict.get on a dict of the same objects",
    2: "aggregations on the embedded data vs pure Python over a list of tuples",
    3: "aggregations on the embedded data vs pandas on to_frame()",
    4: "import time and the embedded parse",
    5: "load() of a generated panel file, throughput",
    6: "peak memory of that load (fresh process per library)",
    7: "aggregation over the loaded panel",
    8: "export to pyarrow",
    9: "to_frame() of a panel of every column, with and without pyarrow",
}


def render_table(rows):
    head = ("#", "measurement", "rows", "ours", "peer", "peer's", "result", "target", "status")
    body = []
    for r in rows:
        body.append((str(r["section"]), r["measurement"], fmt_rows(r["rows"]), r["ours"] or "-",
                     r["peer"], r["peer_value"] or "-", r["result"], r["target"], r["status"]))
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    right = {0, 2, 3, 5}

    def line(cells):
        out = []
        for i, c in enumerate(cells):
            out.append(c.rjust(widths[i]) if i in right else c.ljust(widths[i]))
        return "  ".join(out).rstrip()
    lines = [line(head), line(["-" * w for w in widths])]
    last = None
    for r, cells in zip(rows, body):
        if last is not None and r["section"] != last:
            lines.append("")
        last = r["section"]
        lines.append(line(cells))
    return "\n".join(lines)


def write_png(rows, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [r for r in rows if r["status"] in ("MET", "MISSED") and r.get("speedup")]
    labels = ["%s  vs %s%s" % (r["measurement"], r["peer"],
                               "  @%s" % fmt_rows(r["rows"]) if r["rows"] else "")
              for r in shown]
    vals = [r["speedup"] for r in shown]
    goals = [r.get("goal") for r in shown]
    colors = ["#2e7d32" if r["status"] == "MET" else "#c62828" for r in shown]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(shown) + 1.6))
    y = list(range(len(shown)))[::-1]
    ax.barh(y, vals, color=colors, height=0.6)
    for yi, g in zip(y, goals):
        if g:
            ax.plot([g, g], [yi - 0.4, yi + 0.4], color="black", linewidth=2)
    for yi, v in zip(y, vals):
        ax.text(v * 1.08, yi, "%.3g" % v, va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xscale("log")
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("how many times better shanxi is (peer / ours, or budget / ours; log scale)\n"
                  "black tick: the target; green: met, red: missed")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default=None,
                   help="comma-separated panel sizes (default 1000,100000,1000000,10000000; "
                        "--quick: 1000,20000)")
    p.add_argument("--repeat", type=int, default=None,
                   help="interleaved repeats per measurement (default 5; --quick: 3)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--png", metavar="FILE", help="also draw the results as a PNG chart "
                   "(needs matplotlib)")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes and few repeats: a smoke test for CI (< 60 s)")
    p.add_argument("--memory-all", action="store_true",
                   help="measure peak memory at every size, not only the largest")
    p.add_argument("--memory-child", nargs=2, metavar=("LIB", "PATH"), help=argparse.SUPPRESS)
    p.add_argument("--frame-child", nargs=2, metavar=("PATH", "REPEAT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0
    if args.frame_child:
        frame_child(args.frame_child[0], int(args.frame_child[1]))
        return 0
    try:
        sizes = [int(s.replace("_", "")) for s in
                 (args.rows or ("1000,20000" if args.quick else
                                "1000,100000,1000000,10000000")).split(",") if s.strip()]
    except ValueError:
        p.error("--rows takes comma-separated integers")
    if not sizes or min(sizes) < 1:
        p.error("--rows takes positive integers")
    sizes = sorted(set(sizes))
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
            "args": {"rows": sizes, "repeat": args.repeat, "quick": args.quick},
            "targets_judged_at_rows": sizes[-1]}
    files = []
    with tempfile.TemporaryDirectory(prefix="shanxi-bench-") as tmp:
        steps = [("embedded data: lookups and aggregations", 1, None,
                  lambda: bench_embedded(args)),
                 ("import time", 4, None, lambda: bench_import(args, tmp))]
        for n in sizes:
            steps.append(("panel of %s rows" % fmt_rows(n), 5, n,
                          lambda n=n: files.append(
                              bench_size(args, tmp, n, judged=(n == sizes[-1])))))
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
    print("panel files: " + ", ".join("%s rows = %.1f MB" % (fmt_rows(f["rows"]),
                                                             f["bytes"] / 1e6) for f in files)
          + " (generated, deleted after)")
    print("times are medians of %d interleaved repeats; MET/MISSED is judged at %s rows for "
          "rows 5-9%s" % (args.repeat, fmt_rows(sizes[-1]),
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
