"""numpy and pandas scalars as arguments (issue 15, part 5): anything with
__index__ where a project number goes (bools, Python's or numpy's, still
rejected), numpy.datetime64 (days or finer) and pandas.Timestamp where dates
go, numpy's NaT rejected as pandas' is (tests/test_nat.py)."""
from __future__ import annotations

import datetime

import pytest

import shanxi

np = pytest.importorskip("numpy")

D = datetime.date
INTS = [np.int8(7), np.int16(7), np.int32(7), np.int64(7), np.uint8(7), np.uint64(7)]
PANEL = shanxi.loads("project,metric,value,unit,as_of,region\n"
                     "1,a,5,CNY,2022-01-31,North\n"
                     "1,a,7,CNY,2022-02-28,South\n"
                     "2,b,3,CNY,1969-12-31,North\n")


class Index:
    """A pure-Python integer stand-in."""

    def __init__(self, n):
        self.n = n

    def __index__(self):
        return self.n

    def __repr__(self):  # (test ids must not hold an address: xdist compares them)
        return "Index(%d)" % self.n


class BadIndex:
    def __index__(self):
        raise RuntimeError("no number here")


@pytest.mark.parametrize("number", INTS + [Index(7)], ids=repr)
def test_index_numbers_name_projects(number):
    assert shanxi.project(number) is shanxi.project(7)
    assert shanxi.metrics(project=number) == shanxi.metrics(project=7)
    assert shanxi.aggregate("count", project=number) == 2
    assert shanxi.aggregate("sum", by=("unit",), project=number) == {("elevators",): 1160}
    assert shanxi.total("elevators", project=number) == 1160
    m = shanxi.Metric("k", number, 1, "u", "2022-01-01")
    assert m.project == 7 and type(m.project) is int
    p = shanxi.Project(number)
    assert p.number == 7 and type(p.number) is int


def test_a_pandas_column_value_names_a_project():
    pd = pytest.importorskip("pandas")
    df = shanxi.to_frame()
    first = df.project.iloc[0]
    assert not isinstance(first, int)   # a numpy integer
    assert shanxi.project(first).number == int(first)
    assert shanxi.metrics(project=df.project.max()) == shanxi.metrics(project=12)
    assert pd.Series([3]).iloc[0] is not None and shanxi.project(pd.Series([3]).iloc[0]).number == 3


@pytest.mark.parametrize("bad", [True, False, np.True_, np.bool_(False)], ids=repr)
def test_bools_are_still_not_numbers(bad):
    with pytest.raises(TypeError, match="a project is named by its number"):
        shanxi.project(bad)
    with pytest.raises(TypeError, match="a project is named by its number"):
        shanxi.metrics(project=bad)
    with pytest.raises(TypeError, match="a project is named by its number"):
        shanxi.aggregate("count", project=bad)
    with pytest.raises(TypeError, match="Metric project must be an int, not "):
        shanxi.Metric("k", bad, 1, "u", "2022-01-01")
    with pytest.raises(TypeError, match="Project number must be an int, not "):
        shanxi.Project(bad)


def test_other_numbers_are_not_project_numbers():
    for bad in (np.float64(7.0), 7.0, np.array([7])):
        with pytest.raises(TypeError):
            shanxi.project(bad)
        with pytest.raises(TypeError):
            shanxi.Project(bad)


def test_index_numbers_out_of_range_and_failing():
    with pytest.raises(KeyError) as info:
        shanxi.project(np.int64(99))
    assert str(info.value) == (
        "'no project 99 in the embedded 2022 dataset; projects are numbered 1 to 12'")
    with pytest.raises(ValueError, match="Metric project must be a positive number up to "
                                         "2147483647, not 0"):
        shanxi.Metric("k", np.int64(0), 1, "u", "2022-01-01")
    with pytest.raises(ValueError, match="Project number must be a positive number"):
        shanxi.Project(np.uint64(2**40))
    with pytest.raises(RuntimeError, match="no number here"):
        shanxi.project(BadIndex())
    with pytest.raises(RuntimeError, match="no number here"):
        shanxi.Metric("k", BadIndex(), 1, "u", "2022-01-01")


@pytest.mark.parametrize("when, day", [
    (np.datetime64("2022-02-28"), D(2022, 2, 28)),
    (np.datetime64("2022-02-28T23:59"), D(2022, 2, 28)),
    (np.datetime64("2022-02-28T00:00:00.000000001"), D(2022, 2, 28)),
    (np.datetime64("1969-12-31T23", "h"), D(1969, 12, 31)),   # floors, as a datetime's date
    (np.datetime64("0001-01-01"), D(1, 1, 1)),
    (np.datetime64("9999-12-31"), D(9999, 12, 31)),
    # numpy overflows converting these to days itself (always within 106
    # days of 1970: dates of their own)
    (np.datetime64(0, "ps"), D(1970, 1, 1)),
    (np.datetime64(86400 * 10**12 * 100 + 1, "ps"), D(1970, 4, 11)),
    (np.datetime64(-1, "fs"), D(1969, 12, 31)),
    (np.datetime64(-(2**63) + 1, "as"), D(1969, 12, 31)),
    (np.datetime64(2**63 - 1, "ps"), D(1970, 4, 17)),
    (np.datetime64(86400 * 10**11, "10ps"), D(1970, 1, 2)),
], ids=str)
def test_datetime64_is_a_date(when, day):
    assert PANEL.metrics(since=when) == PANEL.metrics(since=day)
    assert PANEL.metrics(until=when) == PANEL.metrics(until=day)
    assert PANEL.aggregate("count", by=("region",), since=when) == \
        PANEL.aggregate("count", by=("region",), since=day)
    assert shanxi.Metric("k", 1, 1, "u", when, period_start=when).as_of == day
    assert shanxi.Project(1, as_of=when).as_of == day


def test_pandas_timestamps_are_dates():
    pd = pytest.importorskip("pandas")
    for ts in (pd.Timestamp("2022-02-28"), pd.Timestamp("2022-02-28 23:00"),
               pd.Timestamp("2022-02-28 08:00", tz="Asia/Shanghai")):
        assert PANEL.metrics(since=ts) == PANEL.metrics(since=D(2022, 2, 28))
        assert PANEL.aggregate("sum", until=ts, unit="CNY") == 15
        assert shanxi.total("CNY", since=ts) == shanxi.total("CNY", since="2022-02-28")
        assert shanxi.Metric("k", 1, 1, "u", ts).as_of == D(2022, 2, 28)
    assert PANEL.metrics(until=pd.Timestamp("2022-01-31").to_datetime64()) == \
        PANEL.metrics(until="2022-01-31")


@pytest.mark.parametrize("nat", [np.datetime64("NaT"), np.datetime64("NaT", "D"),
                                 np.datetime64("NaT", "ns")], ids=repr)
def test_numpy_nat_is_a_missing_date(nat):
    for name in ("since", "until"):
        with pytest.raises(ValueError) as info:
            PANEL.metrics(**{name: nat})
        assert str(info.value) == "%s must be a date, not NaT (a missing date)" % name
        with pytest.raises(ValueError, match="%s must be a date, not NaT" % name):
            PANEL.aggregate("count", by=("region", "month"), **{name: nat})
    with pytest.raises(ValueError, match="as_of must be a date, not NaT"):
        shanxi.Metric("k", 1, 1, "u", nat)
    with pytest.raises(ValueError, match="period_start must be a date, not NaT"):
        shanxi.Metric("k", 1, 1, "u", "2022-01-01", period_start=nat)
    with pytest.raises(ValueError, match="as_of must be a date, not NaT"):
        shanxi.Project(1, as_of=nat)


@pytest.mark.parametrize("when, message", [
    (np.datetime64("2022-02", "M"), "since must be a date: a datetime64 of days or a finer unit"),
    (np.datetime64("2022", "Y"), "since must be a date: a datetime64 of days or a finer unit"),
    (np.datetime64("2022-02-24", "W"),
     "since must be a date: a datetime64 of days or a finer unit"),
    (np.datetime64("10000-01-01"), "since must be a date of the years 1 to 9999"),
    (np.datetime64("-0001-12-31"), "since must be a date of the years 1 to 9999"),
], ids=repr)
def test_datetime64_that_is_not_a_day(when, message):
    with pytest.raises(ValueError) as info:
        PANEL.metrics(since=when)
    assert str(info.value) == "%s, not %r" % (message, when)
