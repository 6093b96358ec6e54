"""Rows 1-4: the embedded 33-row data (lookups against dict.get, total()
and aggregate() against pure Python and pandas), import time and the
embedded parse."""
import subprocess
import sys

from timing import (
    REPO,
    Timed,
    add_row,
    failed,
    fmt_ns,
    have,
    interleave,
    median,
    not_installed,
    spread,
    spread_text,
    status_of,
    times_text,
)

LOOKUP_PROJECT = 7
LOOKUP_METRIC = "legal_aid_cases_closed"
TOTAL_UNIT = "CNY"


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


def faster_row(row, what, ours, ref, peer, goal):
    """Adds row: ours against ref, the target being at least goal times faster."""
    x = ref.median / ours.median
    rng = spread(ours.samples, ref.samples)
    add_row(row, what, None, fmt_ns(ours.median), peer, fmt_ns(ref.median), x,
            times_text(x) + spread_text(rng), ">= %dx faster" % goal,
            status_of(x >= goal, True), ours_ns=ours.median, peer_ns=ref.median,
            ours_samples=ours.samples, peer_samples=ref.samples, goal=goal)


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
        faster_row(2, what, ours, ref, "pure Python on tuples", 10)
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
        faster_row(3, what, ours, ref, "pandas on to_frame()", 1000)


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
