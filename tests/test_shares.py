"""One share rule: Dataset.share(), to_frame()'s share column, the HTML of a
project and the command line (which takes them from _render.shares) give the
same share for every figure."""
import math

import pytest

import shanxi
from shanxi import _render

# Two projects whose figures have the same keys and the same part_of key, on
# the same date and without regions: only the project tells the wholes apart.
TWO_PROJECTS = (
    "project,metric,value,unit,as_of,part_of\n"
    "1,started,10,units,2022-01-01,\n"
    "1,done,5,units,2022-01-01,started\n"
    "2,started,100,units,2022-01-01,\n"
    "2,done,30,units,2022-01-01,started\n"
)

PANEL = (
    "project,metric,value,unit,as_of,region,part_of\n"
    "1,wells,10,wells,2022-01-31,North,\n"
    "1,repaired,4,wells,2022-01-31,North,wells\n"
    "1,wells,20,wells,2022-01-31,South,\n"
    "1,repaired,5,wells,2022-01-31,South,wells\n"
    "1,repaired,6,wells,2022-02-28,South,wells\n"       # no whole at that date
    "1,wells,0,wells,2022-03-31,,\n"
    "1,repaired,1,wells,2022-03-31,,wells\n"            # the whole is zero
    "2,wells,40,wells,2022-01-31,North,\n"
    "2,wells,50,wells,2022-01-31,North,\n"
    "2,repaired,7,wells,2022-01-31,North,wells\n"       # two wholes: ambiguous
    "3,total,9,x,2022-01-31,,\n"
    "3,single,3,x,2022-01-31,,total\n"                  # a key of one figure
)


def test_the_whole_is_of_the_same_project():
    ds = shanxi.loads(TWO_PROJECTS)
    # before: the two "started" figures of one date looked like one ambiguous whole
    assert _render.shares(ds.metrics()) == {1: 5 / 10, 3: 30 / 100}
    assert _render.shares(ds.project(2).metrics) == {1: 30 / 100}
    assert "30.00%" in ds.project(2)._repr_html_()


def test_the_frame_pairs_by_project_too():
    pytest.importorskip("pandas")
    frame = shanxi.loads(TWO_PROJECTS).to_frame()
    assert frame["share"].tolist()[1::2] == [5 / 10, 30 / 100]
    assert frame["share"].isna().tolist()[::2] == [True, True]


def test_frame_html_and_share_agree_on_a_panel():
    ds = shanxi.loads(PANEL)
    metrics = ds.metrics()
    shares = _render.shares(metrics)
    assert shares == {1: 4 / 10, 3: 5 / 20, 11: 3 / 9}
    assert ds.share("single") == shares[11]
    with pytest.raises(ValueError, match="names 5 figures"):
        ds.share("repaired")
    pytest.importorskip("pandas")
    column = ds.to_frame()["share"].tolist()
    assert {i: s for i, s in enumerate(column) if not math.isnan(s)} == shares


@pytest.mark.parametrize("source", ["data", "panel", "two projects"])
def test_every_share_agrees_with_dataset_share(source):
    ds = {"data": shanxi.data, "panel": shanxi.loads(PANEL),
          "two projects": shanxi.loads(TWO_PROJECTS)}[source]
    metrics = ds.metrics()
    shares = _render.shares(metrics)
    counts = ds.aggregate("count", by="metric")
    for i, m in enumerate(metrics):
        if m.part_of is None or counts[m.key] != 1:
            continue      # share() answers only for a key of one figure
        assert shares.get(i) == ds.share(m.key), m.key
    if source == "data":
        assert sorted(metrics[i].key for i in shares) == [
            "couples_examined", "elevators_completed", "high_risk_pregnancies",
            "legal_aid_cases_closed"]


def test_cli_shares_of_a_project(capsys):
    import json

    from shanxi.__main__ import main

    assert main(["--project", "7", "--format", "json"]) == 0
    objects = json.loads(capsys.readouterr().out)
    assert [o["share"] for o in objects] == [None, shanxi.share("elevators_completed")]
