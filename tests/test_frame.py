"""to_frame(): pandas DataFrames of the embedded data and of loaded files."""
import datetime
import math
import os
import subprocess
import sys

import panelgen
import pytest

import shanxi
from shanxi import _frame

# One schema: to_dicts() and the Arrow export have the same columns (test_schema.py).
METRIC_COLUMNS = [
    "project", "project_key", "project_title", "category", "metric", "label", "value",
    "unit", "as_of", "period_start", "part_of", "region", "share",
]
PROJECT_COLUMNS = ["number", "key", "title", "category", "as_of", "figures"]
TEXT_COLUMNS = ["project_key", "project_title", "category", "metric", "label", "unit",
                "part_of", "region"]

PANEL = """\
project,metric,value,unit,as_of,region,part_of,label
1,started,10,things,2022-01-31,North,,
1,done,4,things,2022-01-31,North,started,
1,started,20,things,2022-01-31,South,,
1,done,5,things,2022-01-31,South,started,
1,started,40,things,2022-02-28,North,,
1,done,30,things,2022-02-28,North,started,
1,done,7,things,2022-03-31,North,started,
2,whole,0,things,2022-01-31,North,,
2,part,1,things,2022-01-31,North,whole,
2,twice,1,things,2022-01-31,East,,
2,twice,2,things,2022-01-31,East,,
2,half,1.5,things,2022-01-31,East,twice,
"""


@pytest.fixture(scope="module")
def pd():
    return pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def frame(pd):
    return shanxi.to_frame()


def _is_text(pd, series):
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object


# ------------------------------------------------------------------ metrics

def test_columns_and_rows(frame):
    assert list(frame.columns) == METRIC_COLUMNS
    assert len(frame) == 33
    assert list(frame.index) == list(range(33))


def check_dtypes(pd, frame):
    """The dtypes of the README's table, the same under pandas 2 and 3."""
    assert frame["project"].dtype == "int64"
    assert frame["value"].dtype == "float64"
    assert frame["share"].dtype == "float64"
    assert frame["as_of"].dtype == "datetime64[s]"
    assert frame["period_start"].dtype == "datetime64[s]"
    for name in TEXT_COLUMNS:
        dtype = frame[name].dtype
        assert isinstance(dtype, pd.CategoricalDtype), name
        assert not dtype.ordered, name
        # the categories are pandas' own text: object in pandas 2, str in pandas 3
        assert dtype.categories.dtype == pd.Index(["x"]).dtype, name


def test_dtypes(pd, frame):
    check_dtypes(pd, frame)
    # categories in order of first appearance, as the native dictionaries keep them
    units = []
    for m in shanxi.metrics():
        if m.unit not in units:
            units.append(m.unit)
    assert list(frame["unit"].cat.categories) == units


def test_values_match_the_api(pd, frame):
    metrics = shanxi.metrics()
    assert list(frame["metric"]) == [m.key for m in metrics]
    assert list(frame["project"]) == [m.project for m in metrics]
    assert list(frame["value"]) == [float(m.value) for m in metrics]
    assert list(frame["unit"].astype(object)) == [m.unit for m in metrics]
    assert list(frame["category"].astype(object)) == [m.category for m in metrics]
    assert list(frame["label"]) == [m.label for m in metrics]
    assert list(frame["region"]) == ["Shanxi"] * 33
    assert [ts.date() for ts in frame["as_of"]] == [m.as_of for m in metrics]
    keys = {p.number: p.key for p in shanxi.projects()}
    assert list(frame["project_key"]) == [keys[m.project] for m in metrics]
    assert set(frame["unit"].cat.categories) == {m.unit for m in metrics}
    assert frame["value"].sum() == sum(m.value for m in metrics)


def test_period_start_is_nat_where_none(pd, frame):
    has_period = frame["period_start"].notna()
    assert list(frame.loc[has_period, "project"].unique()) == [5]
    assert (frame.loc[has_period, "period_start"] == pd.Timestamp("2022-01-01")).all()
    assert has_period.sum() == 5


def test_part_of_and_share(pd, frame):
    rows = frame.set_index("metric")
    assert rows.loc["elevators_completed", "part_of"] == "elevators_started"
    assert rows.loc["elevators_completed", "share"] == 519 / 641
    assert rows.loc["couples_examined", "share"] == 141061 / 158707
    assert rows.loc["high_risk_pregnancies", "share"] == 16219 / 209739
    assert rows.loc["legal_aid_cases_closed", "share"] == 13691 / 16615
    assert math.isnan(rows.loc["elevators_started", "share"])
    assert pd.isna(rows.loc["elevators_started", "part_of"])
    assert frame["share"].notna().sum() == 4
    for m in shanxi.metrics():
        if m.part_of is not None:
            assert rows.loc[m.key, "share"] == shanxi.share(m.key)


def test_same_frame_from_the_dataset_method(pd, frame):
    pd.testing.assert_frame_equal(shanxi.data.to_frame(), frame)
    pd.testing.assert_frame_equal(shanxi.data.to_frame(kind="metrics"), frame)
    pd.testing.assert_frame_equal(shanxi.to_frame("metrics"), frame)


# ------------------------------------------------------------------ projects

def test_projects_frame(pd):
    projects = shanxi.to_frame("projects")
    assert list(projects.columns) == PROJECT_COLUMNS
    assert len(projects) == 12
    assert list(projects["number"]) == list(range(1, 13))
    assert projects["number"].dtype == "int64"
    assert projects["figures"].dtype == "int64"
    assert isinstance(projects["category"].dtype, pd.CategoricalDtype)
    assert pd.api.types.is_datetime64_dtype(projects["as_of"].dtype)
    assert _is_text(pd, projects["key"]) and _is_text(pd, projects["title"])
    assert projects["figures"].sum() == 33
    row = projects.set_index("number").loc[7]
    assert row["key"] == "elevator_installation"
    assert row["title"] == "Incentives for voluntary elevator installation in existing residences"
    assert row["category"] == "housing"
    assert row["as_of"] == pd.Timestamp("2022-12-31")
    assert row["figures"] == 2
    assert list(projects["figures"]) == [len(p.metrics) for p in shanxi.projects()]
    pd.testing.assert_frame_equal(shanxi.data.to_frame(kind="projects"), projects)


# ------------------------------------------------------------------ bad kinds

@pytest.mark.parametrize("kind", ["rows", "", "Metrics", "project"])
def test_unknown_kind(kind):
    with pytest.raises(ValueError) as info:
        shanxi.to_frame(kind)
    assert "'metrics'" in str(info.value) and "'projects'" in str(info.value)


@pytest.mark.parametrize("kind", [None, 1, b"metrics", ["metrics"]])
def test_kind_must_be_str(kind):
    with pytest.raises(TypeError):
        shanxi.to_frame(kind)


def test_too_many_arguments():
    with pytest.raises(TypeError):
        shanxi.to_frame("metrics", "projects")
    with pytest.raises(TypeError):
        shanxi.to_frame(sort=True)


# ------------------------------------------------------------------ without pandas

def test_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError) as info:
        shanxi.to_frame()
    assert str(info.value) == "to_frame() needs pandas: pip install pandas"
    assert info.value.__cause__ is not None
    with pytest.raises(ImportError, match="pip install pandas"):
        shanxi.to_frame("projects")


def test_without_pandas_in_a_fresh_interpreter():
    code = (
        "import sys\n"
        "sys.modules['pandas'] = None\n"
        "import shanxi\n"
        "try:\n"
        "    shanxi.to_frame()\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc, type(exc.__cause__).__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "ImportError to_frame() needs pandas: pip install pandas ModuleNotFoundError")


# ------------------------------------------------------------------ loaded data

def test_panel_shares_match_region_and_date(pd):
    ds = shanxi.loads(PANEL)
    frame = ds.to_frame()
    assert list(frame.columns) == METRIC_COLUMNS
    check_dtypes(pd, frame)
    share = frame["share"].tolist()
    assert share[1] == 4 / 10          # North, January
    assert share[3] == 5 / 20          # South, January
    assert share[5] == 30 / 40         # North, February
    assert math.isnan(share[6])        # no whole for March
    assert math.isnan(share[8])        # the whole is zero
    assert math.isnan(share[11])       # two wholes: ambiguous
    assert sum(not math.isnan(s) for s in share) == 3
    assert frame["value"].tolist()[-1] == 1.5
    assert frame["project_key"].isna().all()
    assert frame["category"].isna().all()
    assert frame["period_start"].isna().all()
    assert frame["label"].isna().all()


def test_shares_without_regions(pd):
    ds = shanxi.loads("project,metric,value,unit,as_of,part_of\n"
                      "1,all,8,x,2022-01-31,\n1,some,2,x,2022-01-31,all\n"
                      "1,some,3,x,2022-02-28,all\n")
    share = ds.to_frame()["share"].tolist()
    assert math.isnan(share[0])
    assert share[1] == 0.25
    assert math.isnan(share[2])        # no whole at that date


def test_missing_optional_columns(pd):
    ds = shanxi.loads("project,metric,value,unit,as_of\n3,a,1,x,2020-02-29\n")
    frame = ds.to_frame()
    assert list(frame.columns) == METRIC_COLUMNS
    check_dtypes(pd, frame)
    row = frame.iloc[0]
    assert row["project"] == 3 and row["metric"] == "a" and row["value"] == 1.0
    assert row["as_of"] == pd.Timestamp("2020-02-29")
    for name in ("project_key", "label", "category", "period_start", "part_of", "region",
                 "share"):
        assert pd.isna(row[name]), name
    projects = ds.to_frame("projects")
    assert projects["number"].tolist() == [3]
    assert projects["figures"].tolist() == [1]
    assert pd.isna(projects["key"].iloc[0]) and pd.isna(projects["title"].iloc[0])


def test_empty_dataset(pd):
    ds = shanxi.loads("project,metric,value,unit,as_of\n")
    frame = ds.to_frame()
    assert list(frame.columns) == METRIC_COLUMNS
    assert len(frame) == 0
    check_dtypes(pd, frame)
    projects = ds.to_frame("projects")
    assert list(projects.columns) == PROJECT_COLUMNS
    assert len(projects) == 0


def test_dates_beyond_nanoseconds(pd):
    ds = shanxi.loads("project,metric,value,unit,as_of\n"
                      "1,far,1,x,9999-12-31\n1,near,2,x,0001-01-01\n")
    frame = ds.to_frame()
    assert frame["as_of"].dtype == "datetime64[s]"
    assert frame["as_of"].iloc[0].year == 9999
    assert frame["as_of"].iloc[1].year == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="limits memory with RLIMIT_AS")
@pytest.mark.skipif(bool(os.environ.get("SHANXI_SANITIZED")),
                    reason="ASan reserves terabytes of address space")
def test_huge_project_numbers_cost_no_memory(pd):
    """Project numbers up to 2**31 - 1 map to keys and titles by the
    distinct numbers, not a table as long as the largest one (8 GiB here):
    in a child whose address space is capped at 512 MiB more than it has."""
    code = (
        "import resource, sys, shanxi, pandas\n"
        "ds = shanxi.loads('project,project_key,project_title,metric,value,unit,as_of\\n'\n"
        "                  '2147483647,top,The top,m,1,x,2022-01-01\\n'\n"
        "                  '3,three,,m,2,x,2022-01-01\\n'\n"
        "                  '2147483647,top,The top,n,3,x,2022-01-01\\n')\n"
        "with open('/proc/self/status') as f:\n"
        "    vm = next(int(l.split()[1]) for l in f if l.startswith('VmSize:')) * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (vm + (512 << 20), resource.RLIM_INFINITY))\n"
        "frame = ds.to_frame()\n"
        "print(list(frame['project']), list(frame['project_key']),\n"
        "      [t if isinstance(t, str) else None for t in frame['project_title']])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[2147483647, 3, 2147483647] ['top', 'three', 'top'] ['The top', None, 'The top']",
    ]


def test_exact_big_integers(pd):
    ds = shanxi.loads("project,metric,value,unit,as_of\n1,big,9007199254740992,x,2022-01-01\n")
    assert ds.to_frame()["value"].iloc[0] == 2.0 ** 53


# ------------------------------------------------------------------ the Arrow path

def _panel(n):
    """n (whole, part) pairs of five projects: pair k has the value 100 + k and
    its part k * 0.5, and (project, region, day) is distinct for every pair, so
    every part has one whole."""
    figures = []
    for p in range(1, 6):
        common = dict(project_key="p%d" % p, category="cat%d" % (p % 3))
        figures.append(panelgen.Figure(p, "whole", "things", None, "int", **common))
        figures.append(panelgen.Figure(p, "part", "things", None, "int", label="a part",
                                       part_of="whole", period_start=datetime.date(2022, 1, 1),
                                       **common))

    def value(block, figure):
        k = 5 * block + figure.project - 1
        return 100 + k if figure.metric == "whole" else k * 0.5

    return panelgen.panel_text(
        2 * n, figures=figures, regions=["r%d" % r for r in range(7)], values=value,
        dates=[datetime.date(2000, 1, 1) + datetime.timedelta(days=d) for d in range(n)],
        columns=["project", "project_key", "category", "metric", "label", "value", "unit",
                 "as_of", "period_start", "part_of", "region"])


@pytest.mark.parametrize("text", [None, PANEL, "PANEL2000", "EMPTY"])
def test_arrow_and_buffers_give_the_same_frame(pd, text):
    pytest.importorskip("pyarrow")
    np = pytest.importorskip("numpy")
    ds = {None: shanxi.data, PANEL: None, "PANEL2000": None, "EMPTY": None}[text]
    if text == "PANEL2000":
        ds = shanxi.loads(_panel(2000))
    elif text == "EMPTY":
        ds = shanxi.loads("project,metric,value,unit,as_of,region\n")
    elif ds is None:
        ds = shanxi.loads(text)
    from_arrow = _frame._columns_from_arrow(np, ds)
    assert from_arrow is not None, "the Arrow stream was not usable"
    from_buffers = _frame._columns_from_buffers(np, ds)
    frame = _frame._metrics_frame(pd, np, from_buffers)
    pd.testing.assert_frame_equal(_frame._metrics_frame(pd, np, from_arrow), frame)
    pd.testing.assert_frame_equal(ds.to_frame(), frame)


@pytest.mark.slow
def test_large_frame_without_pyarrow_is_the_same(pd, monkeypatch):
    pytest.importorskip("pyarrow")
    ds = shanxi.loads(_panel(_frame.ARROW_MIN_ROWS // 2 + 1))
    assert len(ds) >= _frame.ARROW_MIN_ROWS
    with_arrow = ds.to_frame()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    pd.testing.assert_frame_equal(ds.to_frame(), with_arrow)


def test_large_panel(pd):
    ds = shanxi.loads(_panel(30000))
    frame = ds.to_frame()
    assert len(frame) == 60000
    parts = frame[frame["metric"] == "part"]
    assert parts["share"].notna().all()
    assert frame["share"].notna().sum() == 30000
    assert parts["share"].iloc[-1] == 29999 * 0.5 / (100 + 29999)
    assert (parts["period_start"] == pd.Timestamp("2022-01-01")).all()
