"""shanxi.dask on a real distributed.LocalCluster of two worker processes:
aggregates bit for bit equal to the single-process answer (float sums of
data whose naive summation depends on the order included), and files read
into a dask.dataframe through the Arrow export."""
import datetime
import os
import struct
import subprocess
import sys

import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")
pytest.importorskip("pyarrow")

import panelgen  # noqa: E402

import shanxi  # noqa: E402
import shanxi.dask as sd  # noqa: E402

COLUMNS = ("project", "metric", "value", "unit", "as_of", "region", "category")
HEADER = ",".join(COLUMNS) + "\n"
# 1e16 + 1 - 1e16: naive sums depend on the order rows meet
VALUES = [1e16, 1, -1e16, 0.1, 5, 5.0, -0.0, 123456789, 2.5, -1e16]
# Four projects of three metrics, one of them in another unit (a mixed sum
# is an error, the same on the cluster); a region left empty.
FIGURES = [panelgen.Figure(p, "m%d" % k, "people" if (p, k) == (4, 2) else "CNY", None, "int",
                           category="c%d" % (p % 2))
           for p in range(1, 5) for k in range(3)]
REGIONS = ["r0", "r1", "r2", "r3", "r4", None]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("panel")
    for i in range(7):
        def values(block, fig, i=i):
            return VALUES[(i * 7 + block * len(FIGURES) + FIGURES.index(fig)) % len(VALUES)]

        dates = [datetime.date(2022, (2 * i + k) % 12 + 1, (3 * i + 5 * k) % 28 + 1)
                 for k in range(3)]
        panelgen.write_panel(folder / ("part%02d.csv" % i), 40 + 13 * i, figures=FIGURES,
                             regions=REGIONS, dates=dates, columns=COLUMNS, values=values)
    return folder


def bits(x):
    if isinstance(x, dict):
        return {k: bits(v) for k, v in x.items()}
    if isinstance(x, float):
        return ("float", struct.pack("<d", x))
    return (type(x).__name__, x)


def outcome(call):
    try:
        return ("ok", bits(call()))
    except ValueError as e:
        return ("ValueError", str(e))


FUNCS = ["sum", "count", "mean", "min", "max"]
BYS = [None, "project", "metric", "unit", "region", "category", "as_of", "month"]


def sampled(cases, quick):
    """Every case, those not in `quick` marked slow: the quick suite still
    calls the cluster with every func and every grouping, the slow one with
    every combination."""
    return [pytest.param(*case, marks=() if case in quick else pytest.mark.slow)
            for case in cases]


@pytest.mark.parametrize("by,func", sampled(
    [(by, func) for by in BYS for func in FUNCS],
    {(None, func) for func in FUNCS} | {(by, FUNCS[i % 5]) for i, by in enumerate(BYS)}))
def test_cluster_aggregate_is_the_single_process_one(client, panel, func, by):
    expected = outcome(lambda: shanxi.load(panel).aggregate(func, by=by))
    assert outcome(lambda: sd.aggregate(panel, func, by=by, client=client)) == expected
    # another tree, the files in another grouping
    assert outcome(lambda: sd.aggregate(panel, func, by=by, client=client,
                                        split_every=2)) == expected


def test_float_sums_are_identical_across_partitionings(client, panel, tmp_path):
    # the same rows cut into other files: still the same bits
    rows = []
    for path in sorted(panel.iterdir()):
        rows += path.read_text(encoding="utf-8").splitlines(keepends=True)[1:]
    for k in (1, 3, 11):
        folder = tmp_path / ("cut%d" % k)
        folder.mkdir()
        step = -(-len(rows) // k)
        for i in range(k):
            (folder / ("p%02d.csv" % i)).write_text(HEADER + "".join(rows[i * step:(i + 1) * step]))
        got = sd.aggregate(folder, "sum", by="region", unit="CNY", client=client)
        assert bits(got) == bits(shanxi.load(panel).aggregate("sum", by="region", unit="CNY"))


def test_filters_and_default_scheduler(client, panel):
    expected = shanxi.load(panel).aggregate("sum", by="month", unit="CNY", since="2022-03-01")
    # the active client is dask's default scheduler
    assert bits(sd.aggregate(panel, "sum", by="month", unit="CNY", since="2022-03-01")) == \
        bits(expected)
    assert bits(sd.aggregate(sorted(panel.iterdir())[:2], "count", client=client)) == \
        bits(shanxi.load(sorted(panel.iterdir())[:2]).aggregate("count"))


KEYS = [("region", "month"), ("unit",), ("month", "unit", "project")]


@pytest.mark.parametrize("by,func", sampled(
    [(by, func) for by in KEYS for func in ("sum", "count", "max")],
    {(KEYS[0], "sum"), (KEYS[1], "count"), (KEYS[2], "max")}))
def test_cluster_aggregate_by_several_keys(client, panel, func, by):
    expected = outcome(lambda: shanxi.load(panel).aggregate(func, by=by))
    assert outcome(lambda: sd.aggregate(panel, func, by=by, client=client)) == expected
    assert outcome(lambda: sd.aggregate(panel, func, by=by, client=client,
                                        split_every=2)) == expected
    if expected[0] == "ok":
        assert expected[1] and all(isinstance(k, tuple) and len(k) == len(by)
                                   for k in expected[1])


def test_a_filter_value_no_file_has_raises(client, panel, tmp_path):
    with pytest.raises(KeyError, match="no unit 'XYZ'"):
        shanxi.load(panel).aggregate("sum", unit="XYZ")
    with pytest.raises(KeyError, match="no unit 'XYZ'"):
        sd.aggregate(panel, "sum", unit="XYZ", client=client)
    with pytest.raises(KeyError, match="no region 'nowhere'"):
        sd.aggregate(panel, "count", by=("region", "month"), region="nowhere", client=client)
    # a value only one file has is its answer
    extra = tmp_path / "usd.csv"
    extra.write_text(HEADER + "1,m0,2.5,USD,2022-01-01,,c1\n1,m0,4,USD,2022-02-01,r1,c1\n")
    files = sorted(panel.iterdir()) + [extra]
    expected = shanxi.load(files).aggregate("sum", by=("region", "month"), unit="USD")
    assert expected == {("r1", "2022-02"): 4, (None, "2022-01"): 2.5}
    assert bits(sd.aggregate(files, "sum", by=("region", "month"), unit="USD",
                             client=client)) == bits(expected)


def test_only_partials_travel(client, panel):
    merged = sd.partial(panel, "sum", by="metric")
    future = client.compute(merged)
    part = future.result()
    assert isinstance(part, shanxi.Partial)
    assert len(part.to_bytes()) < 400  # the merged state, not 400 rows


def test_read_into_a_dask_dataframe(client, panel):
    pa = pytest.importorskip("pyarrow")
    df = sd.read(panel)
    assert df.npartitions == 7
    assert list(df.columns) == list(sd._COLUMNS)
    got = df.compute().reset_index(drop=True)
    whole = shanxi.load(panel)
    assert len(got) == len(whole)
    assert got["value"].tolist() == [float(m.value) for m in whole]
    regions = [r if isinstance(r, str) else None for r in got["region"].tolist()]
    assert regions == [m.region for m in whole]
    assert got["project_key"].isna().all()
    sums = df[df.unit == "CNY"].groupby("region")["value"].sum().compute()
    assert set(sums.index) == {m.region for m in whole if m.region and m.unit == "CNY"}
    assert pa.table(whole).num_rows == len(got)


def test_import_shanxi_does_not_import_dask():
    code = "import sys, shanxi; shanxi.data.partial('sum'); print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ))
    assert out.stdout.strip() == "False"


def test_bad_arguments(panel):
    with pytest.raises(ValueError, match="split_every"):
        sd.partial(panel, "sum", split_every=1)
    with pytest.raises(ValueError, match="empty list"):
        sd.aggregate([], "sum")


def test_files_expands_tilde_on_the_client(tmp_path, monkeypatch):
    # one path as a list of one: ~ is the client's home, not each worker's
    monkeypatch.setenv("HOME", str(tmp_path))
    assert sd.files("~/a.csv") == [str(tmp_path / "a.csv")]
    assert sd.files(["~/a.csv"]) == [str(tmp_path / "a.csv")]
