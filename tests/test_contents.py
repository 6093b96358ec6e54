"""What is in a dataset (issue 15, part 2): unique(), the shortcuts
metric_keys, units, regions and categories, date_range, nrows and columns --
from the dictionaries, without a Python object per row, and made once."""
from __future__ import annotations

import datetime
import gc
import pathlib
import tracemalloc

import panelgen
import pytest

import shanxi

D = datetime.date
PANEL = pathlib.Path(__file__).resolve().parent.parent / "examples" / "panel.csv"
TEXT_COLUMNS = ("metric", "unit", "category", "region", "label", "part_of", "project_key",
                "project_title")


def test_the_embedded_data():
    ds = shanxi.data
    rows = ds.to_dicts()
    assert ds.nrows == len(ds) == len(rows) == 33
    assert ds.date_range == (min(r["as_of"] for r in rows), max(r["as_of"] for r in rows))
    assert ds.date_range == (D(2022, 7, 31), D(2022, 12, 31))
    assert ds.regions == ("Shanxi",)
    assert ds.units[:3] == ("CNY", "USD", "activities")   # by UTF-8 bytes: capitals first
    assert ds.metric_keys == tuple(sorted({r["metric"] for r in rows}))
    assert ds.categories == tuple(sorted({r["category"] for r in rows}))
    assert ds.unique("project") == tuple(range(1, 13))
    # the file has every column of the format; share is derived, not read
    assert ds.columns + ("share",) == tuple(rows[0])


@pytest.mark.parametrize("column", TEXT_COLUMNS)
def test_unique_is_the_distinct_values_in_group_key_order(column):
    text = ("project,project_key,project_title,category,metric,label,value,unit,as_of,"
            "part_of,region\n"
            "1,a,Alpha,health,m1,Zeta,1,people,2022-01-31,,Taiyuan\n"
            "1,a,Alpha,health,m2,,2,people,2022-02-28,m1,\n"
            "2,b,,,m3,Ärzte,3,CNY,2021-12-31,,Datong\n"
            "2,b,,,m4,zeta,4,Yuan,2022-03-31,m3,Lüliang\n"
            "3,,Gamma,jobs,m5,Alpha,5,people,2022-01-15,,Datong\n")
    ds = shanxi.loads(text)
    rows = ds.to_dicts()
    values = {r[column] for r in rows}
    want = tuple(sorted(values - {None})) + ((None,) if None in values else ())
    assert ds.unique(column) == want
    if column in ("metric", "unit", "category", "region"):
        # the keys of aggregate(by=column), in the same order
        assert ds.unique(column) == tuple(ds.aggregate("count", by=column))
    assert ds.unique("project") == (1, 2, 3)
    assert ds.date_range == (D(2021, 12, 31), D(2022, 3, 31))


def test_the_shortcuts_are_unique():
    ds = shanxi.load(PANEL)
    assert ds.metric_keys == ds.unique("metric")
    assert ds.units == ds.unique("unit")
    assert ds.regions == ds.unique("region") == ("Changzhi", "Datong", "Taiyuan", "Yuncheng")
    assert ds.categories == ds.unique("category")


def test_absent_columns_and_no_rows():
    ds = shanxi.loads("project,metric,value,unit,as_of\n"
                      "2,x,1,people,2022-05-01\n1,y,2,people,2021-05-01\n")
    assert ds.columns == ("project", "metric", "value", "unit", "as_of")
    assert ds.regions == (None,) == tuple(ds.aggregate("count", by="region"))
    assert ds.categories == (None,)
    assert ds.unique("label") == (None,)
    assert ds.unique("project") == (1, 2)
    assert ds.date_range == (D(2021, 5, 1), D(2022, 5, 1))
    empty = shanxi.loads("project,metric,value,unit,as_of,region,period_start\n")
    assert empty.nrows == len(empty) == 0
    assert empty.columns == ("project", "metric", "value", "unit", "as_of", "period_start",
                             "region")
    assert empty.regions == empty.metric_keys == empty.units == empty.unique("project") == ()
    assert empty.date_range is None


def test_made_once_and_kept():
    ds = shanxi.loads("project,metric,value,unit,as_of,region\n1,x,1,people,2022-05-01,N\n")
    for name in ("regions", "units", "metric_keys", "categories", "date_range", "columns"):
        assert getattr(ds, name) is getattr(ds, name)
    assert ds.unique("region") is ds.regions
    assert type(ds.regions) is tuple and type(ds.date_range) is tuple
    with pytest.raises(AttributeError):
        ds.regions = ()


def test_no_object_per_row():
    n = 200_000
    # seven metrics of five projects, three regions, the first of each month of 2022
    figures = [panelgen.Figure(k % 5 + 1, "m%d" % k, "people", 1000, "int") for k in range(7)]
    regions = ("r0", "r1", "r2")
    dates = [D(2022, k % 12 + 1, 1) for k in range(panelgen.layout(n, figures, regions)[1])]
    ds = shanxi.loads(panelgen.panel_text(n, figures=figures, regions=regions, dates=dates))
    gc.collect()
    tracemalloc.start()
    try:
        assert ds.regions == ("r0", "r1", "r2")
        assert ds.date_range == (D(2022, 1, 1), D(2022, 12, 1))
        assert len(ds.metric_keys) == 7 and ds.nrows == n
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000   # a Python object per row would be megabytes


@pytest.mark.parametrize("column, exc", [
    ("value", ValueError), ("as_of", ValueError), ("Region", ValueError), ("", ValueError),
    (None, TypeError), (1, TypeError), (b"region", TypeError),
])
def test_unique_of_a_bad_column(column, exc):
    with pytest.raises(exc) as info:
        shanxi.data.unique(column)
    if exc is ValueError:
        assert str(info.value) == (
            "unknown column %r; expected one of ['project', 'metric', 'unit', 'category', "
            "'region', 'label', 'part_of', 'project_key', 'project_title']" % column)
