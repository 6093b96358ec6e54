"""A generated panel of 10 million rows (~600 MB): shanxi.load reads it, its
aggregates agree with pandas to the last digit, and its Arrow export agrees
with pyarrow's own reading of the CSV.

Slow: runs only with SHANXI_SLOW=1 (see conftest.py).  The timings and peak
memory of shanxi.load and pandas.read_csv, each measured in a fresh process,
are printed (run with -s to see them) and recorded as user properties; they
are information, never asserted.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import pytest

import shanxi

pytestmark = pytest.mark.slow

N_PROJECTS = 8
METRICS_PER_PROJECT = 5
N_REGIONS = 250
N_DATES = 1000
N_ROWS = N_PROJECTS * METRICS_PER_PROJECT * N_REGIONS * N_DATES     # 10_000_000

COLUMNS = ["project", "project_key", "category", "metric", "value", "unit", "as_of", "region"]
# the unit of each metric of a project, and how its values are drawn: people and
# CNY are integers (the last metric's negative), percent has two decimals, USD
# is a float with an exponent (odd projects) or with up to 17 significant digits
# (even projects: strtod's slow path)
UNITS = ["people", "CNY", "percent", "USD", "people"]
INT_UNITS = {"people", "CNY"}
CATEGORIES = ["employment", "health", "culture", "housing"]


def region_name(i):
    if i % 50 == 7:
        return "Xinzhou, district %d" % i               # quoted: holds a comma
    if i % 10 == 3:
        return "太原%d区" % i                            # not ASCII
    return "Region %03d" % i


def write_panel(path):
    """Write the panel with tools/panelgen.py, in chunks of one date (10,000 rows)."""
    import datetime

    import panelgen  # here, not at import: MEASURE imports this module without tools/

    figures = []
    for p in range(1, N_PROJECTS + 1):
        kinds = [("int", 10 ** 6), ("int", 5 * 10 ** 9), ("cents", None),
                 ("exp" if p % 2 else "digits", None), ("int", -10 ** 6)]
        for m, (kind, base) in enumerate(kinds):
            figures.append(panelgen.Figure(p, "p%d_m%d" % (p, m), UNITS[m], base, kind,
                                           project_key="proj_%d" % p,
                                           category=CATEGORIES[p % 4]))
    start = datetime.date(2019, 1, 1)
    panelgen.write_panel(path, N_ROWS, figures=figures, seed=20230112, columns=COLUMNS,
                         regions=[region_name(i) for i in range(N_REGIONS)],
                         dates=[start + datetime.timedelta(days=d) for d in range(N_DATES)])


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "panel_10m.csv"
    t0 = time.perf_counter()
    write_panel(path)
    report("generate", seconds=time.perf_counter() - t0, bytes=path.stat().st_size)
    yield path
    path.unlink()          # ~600 MB: never left behind in pytest's tmp dirs


@pytest.fixture(scope="module")
def loaded(big_csv):
    t0 = time.perf_counter()
    ds = shanxi.load(big_csv)
    report("shanxi.load in the test process", seconds=time.perf_counter() - t0)
    return ds


@pytest.fixture(scope="module")
def frame(big_csv):
    pd = pytest.importorskip("pandas")
    t0 = time.perf_counter()
    df = read_with_pandas(pd, big_csv)
    report("pandas.read_csv in the test process", seconds=time.perf_counter() - t0)
    return df


def read_with_pandas(pd, path):
    options = {}
    if int(pd.__version__.split(".")[0]) < 3:
        # then pandas parses each value as Python's float() would, correctly
        # rounded, as shanxi does (pandas 3 does so by default, and deprecates this)
        options["float_precision"] = "round_trip"
    return pd.read_csv(path, encoding="utf-8", dtype={
        "project": "int32", "project_key": "category", "category": "category",
        "metric": "category", "value": "float64", "unit": "category", "as_of": "category",
        "region": "category"}, keep_default_na=False, na_values=[], **options)


REPORT = []


def report(what, **numbers):
    REPORT.append((what, numbers))
    print("\n[large] %s: %s" % (what, ", ".join(
        "%s=%s" % (k, ("%.2f" % v) if isinstance(v, float) else v) for k, v in numbers.items())),
        file=sys.stderr)


# ------------------------------------------------------------------ timings, as information

MEASURE = r"""
import json, resource, sys, time
path, which = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if which == "shanxi":
    import shanxi
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    ds = shanxi.load(path)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds.aggregate("sum", by="region", unit="CNY")
    agg = time.perf_counter() - t0
    n = len(ds)
else:
    import pandas as pd
    sys.path.insert(0, sys.argv[3])
    from test_large import read_with_pandas
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    df = read_with_pandas(pd, path)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    df[df["unit"] == "CNY"].groupby("region", observed=True)["value"].sum()
    agg = time.perf_counter() - t0
    n = len(df)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
numbers = {"rows": n, "seconds": seconds, "aggregate_seconds": agg,
           "ru_maxrss_mb": after / 1024, "ru_maxrss_growth_mb": (after - before) / 1024}
try:
    # ru_maxrss can carry the high-water mark of the process this one was forked
    # from; VmHWM is this process's own
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                numbers["VmHWM_mb"] = int(line.split()[1]) / 1024
except OSError:
    pass
print(json.dumps(numbers))
"""


# First in the module, while this process is still small (a forked child's
# ru_maxrss starts from its parent's).
@pytest.mark.parametrize("which", ["shanxi", "pandas"])
def test_timings_and_memory(big_csv, which, record_property):
    if which == "pandas":
        pytest.importorskip("pandas")
    import os

    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, str(big_csv), which, os.path.dirname(__file__)],
        capture_output=True, text=True, check=True)
    numbers = json.loads(proc.stdout)
    assert numbers["rows"] == N_ROWS
    report("%s, fresh process" % which, **numbers)
    for k, v in numbers.items():
        record_property("%s_%s" % (which, k), v)


# ------------------------------------------------------------------ the checks

def test_loads_every_row(loaded):
    assert len(loaded) == N_ROWS
    assert [p.number for p in loaded.projects()] == list(range(1, N_PROJECTS + 1))
    assert loaded.aggregate("count", by="unit") == {
        "CNY": N_ROWS // 5, "USD": N_ROWS // 5, "people": 2 * N_ROWS // 5,
        "percent": N_ROWS // 5}
    p = loaded.project(3)
    assert (p.key, p.category) == ("proj_3", CATEGORIES[3])


def test_values_agree_with_pandas_row_by_row(loaded, frame):
    np = pytest.importorskip("numpy")
    pa = pytest.importorskip("pyarrow")
    ours = pa.table(loaded).column("value").to_numpy()
    theirs = frame["value"].to_numpy()
    assert ours.dtype == theirs.dtype == np.float64
    # bit for bit
    assert np.array_equal(ours.view(np.int64), theirs.view(np.int64))


def pandas_sums(frame, unit, key):
    """Sums per group as shanxi promises them: exact ints, correctly rounded floats."""
    rows = frame[frame["unit"] == unit]
    if unit in INT_UNITS:
        sums = rows["value"].astype("int64").groupby(key(rows), observed=True).sum()
        return {k: int(v) for k, v in sums.items()}
    groups = rows["value"].groupby(key(rows), observed=True)
    return {k: math.fsum(v.to_numpy().tolist()) for k, v in groups}


BYS = {
    "project": lambda rows: rows["project"],
    "region": lambda rows: rows["region"],
    "month": lambda rows: rows["as_of"].astype(str).str[:7],
}


@pytest.mark.parametrize("by", sorted(BYS))
@pytest.mark.parametrize("unit", ["people", "CNY", "percent", "USD"])
def test_aggregates_agree_with_pandas(loaded, frame, by, unit):
    t0 = time.perf_counter()
    ours = loaded.aggregate("sum", by=by, unit=unit)
    seconds = time.perf_counter() - t0
    theirs = pandas_sums(frame, unit, BYS[by])
    report("aggregate sum by %s, unit %s" % (by, unit), seconds=seconds, groups=len(ours))
    assert set(ours) == {k if by != "project" else int(k) for k in theirs}
    for key, total in theirs.items():
        got = ours[int(key) if by == "project" else key]
        # to the last digit: == on exact ints, and on correctly rounded floats
        assert got == total and type(got) is type(total), (key, got, total)


@pytest.mark.parametrize("unit", ["people", "CNY", "percent", "USD"])
def test_totals_agree_with_pandas(loaded, frame, unit):
    values = frame.loc[frame["unit"] == unit, "value"]
    if unit in INT_UNITS:
        want = int(values.astype("int64").sum())
    else:
        want = math.fsum(values.to_numpy().tolist())
    got = loaded.total(unit)
    assert got == want and type(got) is type(want)
    assert loaded.aggregate("max", unit=unit) == values.max()
    assert loaded.aggregate("min", unit=unit) == values.min()


def test_arrow_export_agrees_with_pyarrow_csv(big_csv, loaded):
    pa = pytest.importorskip("pyarrow")
    pacsv = pytest.importorskip("pyarrow.csv")
    t0 = time.perf_counter()
    theirs = pacsv.read_csv(big_csv, convert_options=pacsv.ConvertOptions(column_types={
        "project": pa.int32(), "project_key": pa.string(), "category": pa.string(),
        "metric": pa.string(), "value": pa.float64(), "unit": pa.string(),
        "as_of": pa.date32(), "region": pa.string()}))
    report("pyarrow.csv.read_csv", seconds=time.perf_counter() - t0)
    t0 = time.perf_counter()
    ours = pa.table(loaded)
    report("pyarrow.table(ds)", seconds=time.perf_counter() - t0)
    assert ours.num_rows == theirs.num_rows == N_ROWS
    # one schema: the export has every column of the format (an absent one
    # all null) and share; the file's own columns agree with pyarrow's reading
    assert len(ours.column_names) == 13 and ours.column_names[-1] == "share"
    assert set(theirs.column_names) <= set(ours.column_names)
    for name in theirs.column_names:
        mine = ours.column(name)
        if pa.types.is_dictionary(mine.type):
            mine = mine.cast(pa.string())
        assert mine.type == theirs.column(name).type, name
        assert mine.equals(theirs.column(name)), name
    ours.validate(full=True)
