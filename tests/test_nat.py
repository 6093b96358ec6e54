"""pandas.NaT as a date argument is a missing date: a ValueError, as '' is.

pd.NaT passes an isinstance test for a datetime (NaTType subclasses
datetime.datetime): without its own check ``until=pd.NaT`` would select
nothing, ``since=pd.NaT`` everything and ``Metric(as_of=pd.NaT)`` would be
dated 0001-01-01.  The binding's one date conversion (convert.c) rejects it,
naming the argument and NaT, as it does numpy's NaT (tests/test_scalars.py).
"""
import pytest

import shanxi

pd = pytest.importorskip("pandas")

PANEL = shanxi.loads("project,metric,value,unit,as_of,region\n"
                     "1,a,5,CNY,2022-01-31,North\n"
                     "1,a,7,CNY,2022-02-28,South\n")
METRIC = dict(key="k", project=1, value=1, unit="u", as_of="2022-01-01")


def test_missing_dates_are_already_rejected():
    # The rule NaT is to follow: an empty date is a ValueError naming the argument.
    with pytest.raises(ValueError, match=r"until must be a date"):
        shanxi.metrics(until="")
    with pytest.raises(ValueError, match=r"since must be a date"):
        PANEL.aggregate("count", since="")


@pytest.mark.parametrize("ds", [shanxi.data, PANEL], ids=["data", "panel"])
@pytest.mark.parametrize("name", ["since", "until"])
def test_nat_filter_of_metrics(ds, name):
    with pytest.raises(ValueError, match=r"%s.*NaT" % name):
        ds.metrics(**{name: pd.NaT})


@pytest.mark.parametrize("name", ["since", "until"])
def test_nat_filter_of_aggregate(name):
    with pytest.raises(ValueError, match=r"%s.*NaT" % name):
        PANEL.aggregate("count", **{name: pd.NaT})


@pytest.mark.parametrize("name", ["since", "until"])
def test_nat_filter_of_grouped_aggregate(name):
    with pytest.raises(ValueError, match=r"%s.*NaT" % name):
        PANEL.aggregate("sum", by="region", **{name: pd.NaT})


@pytest.mark.parametrize("name", ["since", "until"])
def test_nat_filter_of_total(name):
    with pytest.raises(ValueError, match=r"%s.*NaT" % name):
        shanxi.total("CNY", **{name: pd.NaT})


@pytest.mark.parametrize("name", ["as_of", "period_start"])
def test_nat_date_of_a_metric(name):
    with pytest.raises(ValueError, match=r"%s.*NaT" % name):
        shanxi.Metric(**dict(METRIC, **{name: pd.NaT}))


def test_nat_date_of_a_project():
    with pytest.raises(ValueError, match=r"as_of.*NaT"):
        shanxi.Project(1, as_of=pd.NaT)
