"""aggregate(), total() and share() of SPEC section 3.

The heart of this file is an independent pure-Python reference computed from
to_dicts(): filter, group, then sum (exact ints, math.fsum for floats),
count, mean, min and max, with the same unit rule.  shanxi must agree with it
for every func x by x filter combination -- equal values, equal types, equal
key order, and errors where the reference raises -- on the embedded data and
on a panel loaded from text (mixed ints and floats, 0.1 repeated,
cancellation, and integer sums far beyond 64 bits).
"""
from __future__ import annotations

import csv
import datetime
import fractions
import functools
import itertools
import math
import operator
import pathlib
import random
import re

import panelgen
import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shanxi

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSV_PATH = ROOT / "data" / "shanxi_2022.csv"
D = datetime.date

FUNCS = ("sum", "count", "mean", "min", "max")
BYS = (None, "project", "metric", "category", "unit", "region", "as_of", "month")
# several keys at once (a 1-tuple gives 1-tuple keys)
TUPLE_BYS = (("region", "month"), ("project",), ("month", "unit"),
             ("category", "metric", "as_of"), BYS[:0:-1])
STR_FILTERS = ("metric", "unit", "category", "region")


# ===================================================================== reference


class RefUnitsError(ValueError):
    """The reference's "units would mix" error; .units are the group's units,
    .group how the message names the group ("in region N, month 2022-01: ";
    "" ungrouped)."""

    def __init__(self, units, group=""):
        super().__init__("%smixed units: %s" % (group, ", ".join(units)))
        self.units = units
        self.group = group


def _as_date(value):
    if isinstance(value, str):
        return D.fromisoformat(value)
    return D(value.year, value.month, value.day)


def ref_select(rows, filters):
    """The rows the filters pick, ANDed; KeyError for a value the data never has."""
    out = list(rows)
    project = filters.get("project")
    if project is not None:
        if isinstance(project, int):
            if project not in {r["project"] for r in rows}:
                raise KeyError(project)
            out = [r for r in out if r["project"] == project]
        else:
            numbers = {r["project"] for r in rows if r["project_key"] == project}
            if len(numbers) != 1:
                raise KeyError(project)
            out = [r for r in out if r["project"] in numbers]
    for name in STR_FILTERS:
        value = filters.get(name)
        if value is None:
            continue
        if value not in {r[name] for r in rows}:
            raise KeyError(value)
        out = [r for r in out if r[name] == value]
    if filters.get("since") is not None:
        since = _as_date(filters["since"])
        out = [r for r in out if r["as_of"] >= since]
    if filters.get("until") is not None:
        until = _as_date(filters["until"])
        out = [r for r in out if r["as_of"] <= until]
    return out


def ref_key(row, by):
    if by == "month":
        return "%04d-%02d" % (row["as_of"].year, row["as_of"].month)
    return row[by]


def ref_order(key):
    # numbers and dates ascending; strings by code point (= UTF-8 bytes); None last
    return (key is None, "" if key is None else key)


def ref_value(func, values):
    if func == "count":
        return len(values)
    all_int = all(type(v) is int for v in values)
    if func == "sum":
        return sum(values) if all_int else math.fsum(values)
    if func == "mean":
        # int / int is correctly rounded in Python; a float group is fsum / n
        return sum(values) / len(values) if all_int else math.fsum(values) / len(values)
    if func == "min":
        return min(values)      # the first of equal values, as it was stored
    return max(values)


def ref_group_name(by, key):
    """How a mixed-unit error names a group: "in region N, month 2022-01: "."""
    parts = zip(by, key) if isinstance(by, tuple) else [(by, key)]
    return "in %s: " % ", ".join(
        "%s %s" % (b, "(empty)" if k is None else k) for b, k in parts)


def ref_aggregate(rows, func="sum", by=None, **filters):
    if func not in FUNCS:
        raise ValueError(func)
    keys = by if isinstance(by, tuple) else (by,)
    if by is not None and (not keys or len(set(keys)) != len(keys)
                           or any(k not in BYS[1:] for k in keys)):
        raise ValueError(by)
    selected = ref_select(rows, filters)
    if by is None:
        if not selected and func in ("mean", "min", "max"):
            raise ValueError("%s of nothing" % func)
        groups = [(None, selected)]
    elif isinstance(by, tuple):
        # several keys: tuple keys, ordered by each part in turn
        grouped = {}
        for r in selected:
            grouped.setdefault(tuple(ref_key(r, b) for b in by), []).append(r)
        groups = sorted(grouped.items(), key=lambda kv: [ref_order(k) for k in kv[0]])
    else:
        grouped = {}
        for r in selected:
            grouped.setdefault(ref_key(r, by), []).append(r)
        groups = sorted(grouped.items(), key=lambda kv: ref_order(kv[0]))
    if func != "count" and "unit" not in keys:
        for key, members in groups:
            units = sorted({r["unit"] for r in members})
            if len(units) > 1:
                raise RefUnitsError(units, "" if by is None else ref_group_name(by, key))
    values = [(k, ref_value(func, [r["value"] for r in members])) for k, members in groups]
    if by is None:
        return values[0][1]
    return dict(values)


def ref_total(rows, unit, **filters):
    return ref_aggregate(rows, "sum", unit=unit, **filters)


def ref_share(rows, key):
    (row,) = [r for r in rows if r["metric"] == key]
    if row["part_of"] is None:
        raise ValueError(key)
    (whole,) = [r for r in rows if r["metric"] == row["part_of"]]
    return row["value"] / whole["value"]


# ===================================================================== comparing


def same(a, b):
    """Equal values of identical types; dicts also in the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (list(a) == list(b)
                and all(type(x) is type(y) for x, y in zip(a, b))
                and all(same(a[k], b[k]) for k in a))
    return a == b


def outcome(fn):
    try:
        return "ok", fn()
    except (ValueError, KeyError, TypeError) as e:
        return "raised", e


def assert_agrees(got_fn, ref_fn, context):
    ref_kind, ref = outcome(ref_fn)
    got_kind, got = outcome(got_fn)
    if ref_kind == "ok":
        assert got_kind == "ok", "%s: reference gives %r, shanxi raised %r" % (context, ref, got)
        assert same(got, ref), "%s: shanxi %r, reference %r" % (context, got, ref)
        return
    assert got_kind == "raised", "%s: reference raised %r, shanxi gave %r" % (context, ref, got)
    expected = KeyError if isinstance(ref, KeyError) else ValueError
    assert isinstance(got, expected), "%s: reference raised %r, shanxi raised %r" % (
        context, ref, got)
    if isinstance(ref, RefUnitsError):
        assert_names_units(str(got), ref.units, context)
        # the first mixed group in order is named; ungrouped, no group
        if ref.group:
            assert str(got).startswith(ref.group), "%s: %r" % (context, str(got))
        else:
            assert str(got).startswith("cannot "), "%s: %r" % (context, str(got))


def _names(message, word):
    return re.search(r"(?<![\w])%s(?![\w])" % re.escape(word), message) is not None


def assert_names_units(message, units, context=""):
    """message names every unit of the mixed group.  A long list may end in
    "..." (the core's message has a fixed size): then the units named must be
    the first ones in order, and there must be several."""
    named = [_names(message, u) for u in units]
    if all(named):
        return
    # 512 bytes hold the names of up to 20 units in full (the embedded data has 19).
    assert len(units) > 20 and "..." in message, "%s: %r does not name units %r" % (
        context, message, [u for u, n in zip(units, named) if not n])
    shown = named.index(False)
    assert not any(named[shown:]) and shown >= 3, "%s: %r names %r" % (context, message, units)


def check_everything(ds, rows, filter_sets):
    calls = 0
    for filters in filter_sets:
        for func in FUNCS:
            for by in BYS + TUPLE_BYS:
                assert_agrees(lambda: ds.aggregate(func, by=by, **filters),
                              lambda: ref_aggregate(rows, func, by=by, **filters),
                              "aggregate(%r, by=%r, **%r)" % (func, by, filters))
                calls += 1
        if "unit" not in filters:
            for unit in sorted({r["unit"] for r in rows}):
                assert_agrees(lambda: ds.total(unit, **filters),
                              lambda: ref_total(rows, unit, **filters),
                              "total(%r, **%r)" % (unit, filters))
    return calls


# ===================================================================== the embedded data


def _csv_rows():
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


CSV_ROWS = _csv_rows()
DATA_ROWS = shanxi.to_dicts()
UNITS = sorted({r["unit"] for r in CSV_ROWS})
CATEGORIES = sorted({r["category"] for r in CSV_ROWS})
KEYS = [r["metric"] for r in CSV_ROWS]


def test_to_dicts_is_the_data_file():
    # the reference's input, held against the file read by the csv module
    assert len(DATA_ROWS) == len(CSV_ROWS) == 33
    for d, r in zip(DATA_ROWS, CSV_ROWS):
        assert d["project"] == int(r["project"]) and type(d["project"]) is int
        for name in ("metric", "unit", "category", "region", "project_key", "project_title",
                     "label"):
            assert d[name] == r[name]
        assert d["part_of"] == (r["part_of"] or None)
        assert d["as_of"] == D.fromisoformat(r["as_of"]) and type(d["as_of"]) is D
        if re.fullmatch(r"-?\d+", r["value"]):
            assert type(d["value"]) is int and d["value"] == int(r["value"])
        else:
            assert type(d["value"]) is float and d["value"] == float(r["value"])


def test_to_dicts_gives_fresh_plain_dicts():
    a, b = shanxi.to_dicts(), shanxi.to_dicts()
    assert a == b and a is not b and a[0] is not b[0]
    a[0]["value"] = -1
    assert shanxi.to_dicts()[0]["value"] == DATA_ROWS[0]["value"]


EMBEDDED_FILTERS = (
    [{}]
    + [{"unit": u} for u in UNITS]
    + [{"project": n} for n in range(1, 13)]
    + [{"project": "legal_aid"}, {"project": "elevator_installation"}]
    + [{"category": c} for c in CATEGORIES]
    + [{"metric": k} for k in KEYS]
    + [{"region": "Shanxi"}]
    + [
        {"since": "2022-12-31"},
        {"until": "2022-11-30"},
        {"since": D(2022, 9, 20), "until": D(2022, 10, 31)},
        {"since": "2022-07-31", "until": "2022-07-31"},
        {"since": "2023-01-01"},
        {"until": "2022-01-01"},
        {"since": "2022-12-31", "until": "2022-01-01"},
        {"unit": "people", "since": "2022-12-31"},
        {"unit": "stations", "until": D(2022, 10, 31)},
        {"category": "health", "unit": "couples"},
        {"category": "health", "since": "2022-10-01"},
        {"project": 5, "until": "2022-12-31"},
        {"unit": "CNY", "category": "elderly"},
        {"unit": "CNY", "project": 1},
        {"unit": "percent", "region": "Shanxi"},
        {"metric": "aeds_in_use", "project": 4},
        {"unit": "yuan"},
        {"project": 13},
        {"category": "helth"},
        {"region": "Beijing"},
    ]
)


def test_embedded_agrees_with_the_reference_for_every_combination():
    assert check_everything(shanxi.data, DATA_ROWS, EMBEDDED_FILTERS) == \
        len(EMBEDDED_FILTERS) * len(FUNCS) * (len(BYS) + len(TUPLE_BYS))


def test_module_functions_and_the_dataset_agree():
    for func, by in itertools.product(FUNCS, BYS):
        a = outcome(lambda: shanxi.aggregate(func, by=by, unit="people"))
        b = outcome(lambda: shanxi.data.aggregate(func, by=by, unit="people"))
        assert a[0] == b[0] == "ok" and same(a[1], b[1])


# --------------------------------------------------------------------- the article's own figures


def test_total_cny_is_exact():
    assert shanxi.total("CNY") == 47_230_000
    assert type(shanxi.total("CNY")) is int
    assert shanxi.aggregate("sum", unit="CNY") == 47_230_000
    assert shanxi.aggregate(unit="CNY") == 47_230_000
    assert shanxi.total(unit="CNY") == 47_230_000
    assert shanxi.total("CNY", project=6) == 26_580_000
    assert shanxi.total("CNY", category="education") == 20_650_000
    assert shanxi.total("USD") == 3_930_000


def test_counts():
    assert shanxi.aggregate("count") == 33
    assert type(shanxi.aggregate("count")) is int
    assert shanxi.aggregate("count", by="category")["health"] == 6
    assert sum(shanxi.aggregate("count", by="project").values()) == 33
    assert list(shanxi.aggregate("count", by="project")) == list(range(1, 13))
    assert shanxi.aggregate("count", unit="CNY") == 2


def test_elevator_share():
    assert shanxi.share("elevators_completed") == 519 / 641
    assert round(shanxi.share("elevators_completed"), 4) == 0.8097


def test_min_max_mean_keep_types():
    assert shanxi.aggregate("max", unit="percent") == 99.99
    assert shanxi.aggregate("min", unit="elevators") == 519
    assert type(shanxi.aggregate("min", unit="elevators")) is int
    assert shanxi.aggregate("mean", unit="elevators") == (641 + 519) / 2
    assert type(shanxi.aggregate("mean", unit="elevators")) is float


# --------------------------------------------------------------------- units never mix


def test_mixed_units_raise_valueerror_naming_them():
    with pytest.raises(ValueError) as info:
        shanxi.aggregate("sum")
    for unit in ("CNY", "USD", "people", "percent"):
        assert unit in str(info.value)
    with pytest.raises(ValueError) as info:
        shanxi.aggregate("sum", by="project")
    # project 2 is the first group with several units
    for unit in ("people", "percent", "screenings"):
        assert unit in str(info.value)
    for func in ("sum", "mean", "min", "max"):
        with pytest.raises(ValueError, match="different units"):
            shanxi.aggregate(func)
        with pytest.raises(ValueError, match="different units"):
            shanxi.aggregate(func, by="project")
        with pytest.raises(ValueError, match="different units") as info:
            shanxi.aggregate(func, project=6)
        assert "CNY" in str(info.value) and "USD" in str(info.value)
        with pytest.raises(ValueError, match="different units"):
            shanxi.aggregate(func, category="health")


def test_unit_or_by_unit_makes_it_legal():
    by_unit = shanxi.aggregate("sum", by="unit")
    assert list(by_unit) == UNITS   # str keys in order
    assert by_unit["CNY"] == 47_230_000
    for func in ("sum", "mean", "min", "max"):
        assert set(shanxi.aggregate(func, by="unit")) == set(UNITS)
        shanxi.aggregate(func, unit="people")
        shanxi.aggregate(func, by="project", unit="people")
    # a group with one unit is fine even when the whole selection has several
    assert shanxi.aggregate("sum", by="metric", project=6)["senior_care_subsidy_usd"] == 3_930_000


def test_count_may_mix_units():
    assert shanxi.aggregate("count", project=6) == 3
    assert shanxi.aggregate("count", by="project")[2] == 3


# --------------------------------------------------------------------- nothing selected


def test_aggregates_of_nothing():
    nothing = dict(unit="CNY", since="2030-01-01")
    assert shanxi.aggregate("sum", **nothing) == 0
    assert type(shanxi.aggregate("sum", **nothing)) is int
    assert shanxi.total("CNY", project=1) == 0
    assert shanxi.aggregate("count", **nothing) == 0
    for func in ("mean", "min", "max"):
        with pytest.raises(ValueError, match="%s of no figures" % func):
            shanxi.aggregate(func, **nothing)
    for func in FUNCS:
        for by in BYS[1:]:
            assert shanxi.aggregate(func, by=by, **nothing) == {}
    # with no unit given, nothing still sums to 0: no units mixed
    assert shanxi.aggregate("sum", since="2030-01-01") == 0


# --------------------------------------------------------------------- arguments


def test_unknown_func_lists_the_valid_ones():
    for bad in ("median", "SUM", "", "none", "avg"):
        with pytest.raises(ValueError) as info:
            shanxi.aggregate(bad)
        for name in FUNCS:
            assert name in str(info.value)


def test_unknown_by_lists_the_valid_ones():
    for bad in ("projects", "Unit", "", "year", "none", "label"):
        with pytest.raises(ValueError) as info:
            shanxi.aggregate("count", by=bad)
        for name in BYS[1:]:
            assert name in str(info.value)


@pytest.mark.parametrize("kwargs", [
    dict(func=1), dict(func=None), dict(func=b"sum"), dict(func=["sum"]),
    dict(by=1), dict(by=b"unit"), dict(by=["unit"]),
    dict(unit=1), dict(project=7.0), dict(project=True), dict(since=2022),
    dict(until=b"2022-01-01"),
    dict(units="CNY"), dict(kind="x"),
])
def test_aggregate_type_errors(kwargs):
    with pytest.raises(TypeError):
        shanxi.aggregate(**kwargs)


def test_aggregate_takes_func_only_positionally():
    assert shanxi.aggregate("count") == shanxi.aggregate(func="count") == 33
    with pytest.raises(TypeError):
        shanxi.aggregate("count", "unit")
    with pytest.raises(TypeError):
        shanxi.aggregate("count", func="sum")


def test_total_arguments():
    with pytest.raises(TypeError):
        shanxi.total()
    with pytest.raises(TypeError):
        shanxi.total(None)
    with pytest.raises(TypeError):
        shanxi.total(1)
    with pytest.raises(TypeError):
        shanxi.total("CNY", "USD")
    with pytest.raises(TypeError):
        shanxi.total("CNY", unit="USD")
    with pytest.raises(TypeError):
        shanxi.total("CNY", by="project")
    with pytest.raises(KeyError) as info:
        shanxi.total("cny")
    assert "CNY" in str(info.value)


# --------------------------------------------------------------------- share


PART_OF = [(r["metric"], r["part_of"]) for r in CSV_ROWS if r["part_of"]]


def test_there_are_part_of_pairs():
    assert len(PART_OF) >= 3
    assert ("elevators_completed", "elevators_started") in PART_OF


@pytest.mark.parametrize("part,whole", PART_OF)
def test_share_is_part_over_whole(part, whole):
    got = shanxi.share(part)
    assert type(got) is float
    assert got == shanxi.metric(part).value / shanxi.metric(whole).value
    assert got == ref_share(DATA_ROWS, part)
    assert 0 < got <= 1


@pytest.mark.parametrize("key", [k for k in KEYS if k not in dict(PART_OF)])
def test_share_of_a_figure_without_part_of(key):
    with pytest.raises(ValueError, match="part_of is empty"):
        shanxi.share(key)


def test_share_unknown_and_wrong_types():
    with pytest.raises(KeyError) as info:
        shanxi.share("elevators_complete")
    assert "elevators_completed" in str(info.value)
    for bad in (1, None, b"elevators_completed", ["elevators_completed"]):
        with pytest.raises(TypeError):
            shanxi.share(bad)


# ===================================================================== a loaded panel


HEADER = "project,project_key,category,metric,value,unit,as_of,region,part_of\n"
# hand-written rows: several projects, regions (one non-ASCII, some empty),
# dates across months and years, ints and floats mixed in one unit, 0.1
# repeated, and a cancellation that naive float addition gets wrong.
HAND = """\
1,water,utilities,wells,12,wells,2022-01-15,North,
1,water,utilities,wells,7,wells,2022-01-31,South,
1,water,utilities,wells,30,wells,2022-02-28,Ürümqi,
1,water,utilities,wells,5,wells,2021-12-31,,
1,water,utilities,wells_repaired,4,wells,2022-01-31,South,wells
1,water,utilities,rainfall,0.1,mm,2022-01-15,North,
1,water,utilities,rainfall,0.1,mm,2022-01-31,North,
1,water,utilities,rainfall,0.1,mm,2022-02-28,North,
1,water,utilities,rainfall,0.1,mm,2022-03-01,North,
1,water,utilities,rainfall,0.1,mm,2022-01-15,South,
1,water,utilities,rainfall,0.1,mm,2022-01-31,South,
1,water,utilities,rainfall,0.1,mm,2022-02-28,South,
1,water,utilities,rainfall,0.1,mm,2022-03-01,South,
1,water,utilities,rainfall,0.1,mm,2022-01-15,Ürümqi,
1,water,utilities,rainfall,0.1,mm,2022-01-31,Ürümqi,
2,roads,,asphalt,2.5,t,2022-01-15,North,
2,roads,,asphalt,3,t,2022-01-15,South,
2,roads,,asphalt,1e16,t,2022-02-28,North,
2,roads,,asphalt,1,t,2022-02-28,South,
2,roads,,asphalt,-1e16,t,2022-03-01,North,
2,roads,,asphalt,0.30000000000000004,t,2022-03-01,,
2,roads,,asphalt,3.0,t,2022-03-01,Ürümqi,
2,roads,,asphalt,3,t,2023-06-30,Ürümqi,
5,schools,education,pupils,9007199254740992,people,2022-01-31,North,
5,schools,education,pupils,9007199254740991,people,2022-01-31,South,
5,schools,education,pupils,-9007199254740992,people,2022-02-28,North,
5,schools,education,pupils,-1,people,2022-02-28,South,
5,schools,education,pass_rate,93.41,percent,2022-01-31,North,
5,schools,education,pass_rate,99.99,percent,2022-01-31,South,
5,schools,education,pass_rate,1.5e2,percent,2022-02-28,Ürümqi,
5,schools,education,pass_rate,-0.5,percent,2022-02-28,,
10,parks,,benches,3,benches,2022-01-31,,
10,parks,,benches,3,benches,2022-01-31,,
10,parks,,benches,3.0,benches,2022-02-28,,
10,parks,,benches,1,benches,2022-02-28,,
10,parks,,benches,1.0,benches,2022-02-28,,
"""
TWO53 = 2**53
BULK_N = 2400
BULK_DATES = ("2022-01-31", "2022-02-28", "2022-03-31", "2023-01-31")


def _bulk():
    """Integers near 2**53: per region, per project and in total, far past 2**63."""
    lines, records = [], []
    for i in range(BULK_N):
        big = TWO53 - 3 * i
        debt = -(TWO53 - 7 * i)
        region = ("North", "South")[i % 2]
        day = BULK_DATES[i % len(BULK_DATES)]
        project = (5, 10)[(i // 2) % 2]
        key = ("schools", "parks")[(i // 2) % 2]
        lines.append("%d,%s,,budget,%d,CNY,%s,%s,\n" % (project, key, big, day, region))
        lines.append("%d,%s,,debt,%d,CNY_debt,%s,%s,\n" % (project, key, debt, day, region))
        records.append(("budget", big))
        records.append(("debt", debt))
    return "".join(lines), records


BULK_TEXT, BULK_RECORDS = _bulk()
PANEL_TEXT = HEADER + HAND + BULK_TEXT


@pytest.fixture(scope="module")
def panel():
    return shanxi.loads(PANEL_TEXT)


@pytest.fixture(scope="module")
def panel_rows(panel):
    return panel.to_dicts()


def test_panel_to_dicts_holds_what_was_written(panel, panel_rows):
    written = list(csv.DictReader((HEADER + HAND).splitlines()))
    assert len(panel_rows) == len(written) + len(BULK_RECORDS) == len(panel)
    for d, r in zip(panel_rows, written):
        if re.fullmatch(r"-?\d+", r["value"]):
            assert type(d["value"]) is int and d["value"] == int(r["value"])
        else:
            assert type(d["value"]) is float and d["value"] == float(r["value"])
        assert d["region"] == (r["region"] or None)
        assert d["category"] == (r["category"] or None)
        assert d["as_of"] == D.fromisoformat(r["as_of"])
    for d, (key, value) in zip(panel_rows[len(written):], BULK_RECORDS):
        assert d["metric"] == key and d["value"] == value and type(d["value"]) is int


def naive_sum(values):
    """Left-to-right float addition (built-in sum() compensates since 3.12)."""
    return functools.reduce(operator.add, values, 0.0)


def test_the_panel_is_a_hard_case(panel_rows):
    # the reference is only worth something if naive arithmetic would fail here
    rain = [r["value"] for r in panel_rows if r["unit"] == "mm"]
    assert naive_sum(rain) != math.fsum(rain)
    asphalt = [r["value"] for r in panel_rows if r["unit"] == "t"]
    assert naive_sum(asphalt) != math.fsum(asphalt)
    budget = [r["value"] for r in panel_rows if r["unit"] == "CNY"]
    assert sum(budget) > 2**64
    assert float(sum(budget)) != sum(budget)
    for region in ("North", "South"):
        in_region = [r["value"] for r in panel_rows if r["unit"] == "CNY" and r["region"] == region]
        assert sum(in_region) > 2**63
    assert sum(r["value"] for r in panel_rows if r["unit"] == "CNY_debt") < -2**64


PANEL_FILTERS = [
    {},
    {"unit": "wells"}, {"unit": "mm"}, {"unit": "t"}, {"unit": "people"}, {"unit": "percent"},
    {"unit": "benches"}, {"unit": "CNY"}, {"unit": "CNY_debt"},
    {"project": 1}, {"project": 2}, {"project": 5}, {"project": 10}, {"project": "roads"},
    {"category": "utilities"}, {"category": "education"},
    {"region": "North"}, {"region": "Ürümqi"},
    {"metric": "rainfall"}, {"metric": "asphalt"}, {"metric": "budget"},
    {"since": "2022-02-01"}, {"until": D(2022, 1, 31)},
    {"since": "2022-01-31", "until": "2022-02-28"},
    {"unit": "CNY", "region": "South"}, {"unit": "CNY", "since": "2023-01-01"},
    {"unit": "mm", "region": "South", "until": "2022-02-28"},
    {"project": 5, "unit": "people", "region": "North"},
    {"metric": "asphalt", "since": "2022-02-28", "until": "2022-03-01"},
    {"unit": "benches", "since": "2024-01-01"},
    {"since": "2024-01-01"},
    {"unit": "yuan"}, {"project": 3}, {"region": "East"},
]


# The filter sets the quick suite checks (every func and grouping each): one of
# each kind (unit, project, category, region, metric, dates, several at once),
# the sums past 64 bits and the correctly rounded ones among them, an empty
# selection and an unknown unit.  SHANXI_SLOW=1 checks them all.
QUICK_PANEL_FILTERS = [
    {}, {"unit": "CNY"}, {"unit": "CNY_debt"}, {"unit": "mm"}, {"project": "roads"},
    {"category": "utilities"}, {"region": "Ürümqi"}, {"metric": "asphalt"},
    {"since": "2022-01-31", "until": "2022-02-28"},
    {"unit": "mm", "region": "South", "until": "2022-02-28"},
    {"unit": "benches", "since": "2024-01-01"}, {"unit": "yuan"}, {"project": 3},
]


@pytest.mark.parametrize("filters", [
    pytest.param(f, marks=() if f in QUICK_PANEL_FILTERS else pytest.mark.slow)
    for f in PANEL_FILTERS])
def test_panel_agrees_with_the_reference_for_every_combination(panel, panel_rows, filters):
    calls = check_everything(panel, panel_rows, [filters])
    assert calls == len(FUNCS) * (len(BYS) + len(TUPLE_BYS))


def test_the_quick_filter_sets_are_among_the_panel_filters():
    assert all(f in PANEL_FILTERS for f in QUICK_PANEL_FILTERS)


def test_panel_sums_beyond_64_bits_are_exact(panel):
    budget = sum(v for k, v in BULK_RECORDS if k == "budget")
    debt = sum(v for k, v in BULK_RECORDS if k == "debt")
    assert budget > 2**64 and debt < -2**64
    assert panel.total("CNY") == budget and type(panel.total("CNY")) is int
    assert panel.total("CNY_debt") == debt and type(panel.total("CNY_debt")) is int
    assert panel.aggregate("mean", unit="CNY") == budget / BULK_N
    by_region = panel.aggregate("sum", by="region", unit="CNY")
    assert list(by_region) == ["North", "South"]
    budgets = [v for k, v in BULK_RECORDS if k == "budget"]
    assert by_region["North"] == sum(budgets[0::2])   # the bulk alternates North, South
    assert sum(by_region.values()) == budget


def test_panel_float_sums_are_correctly_rounded(panel):
    rain = [0.1] * 10
    assert panel.total("mm") == math.fsum(rain)
    assert panel.total("mm") != naive_sum(rain)
    assert panel.total("t", metric="asphalt", since="2022-02-28", until="2022-02-28") == 1e16 + 1
    asphalt = [2.5, 3, 1e16, 1, -1e16, 0.30000000000000004, 3.0, 3]
    assert panel.total("t") == math.fsum(asphalt)


def test_panel_group_keys_and_types(panel):
    assert list(panel.aggregate("count", by="project")) == [1, 2, 5, 10]
    assert all(type(k) is int for k in panel.aggregate("count", by="project"))
    months = list(panel.aggregate("count", by="month"))
    assert months == sorted(months)
    assert all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months)
    assert months[0] == "2021-12" and months[-1] == "2023-06"
    days = list(panel.aggregate("count", by="as_of"))
    assert days == sorted(days) and all(type(d) is D for d in days)
    regions = list(panel.aggregate("count", by="region"))
    assert regions == ["North", "South", "Ürümqi", None]
    categories = list(panel.aggregate("count", by="category"))
    assert categories == ["education", "utilities", None]


def test_panel_min_max_keep_the_stored_value(panel):
    # ties keep the first figure as it was written
    assert panel.aggregate("max", unit="benches") == 3
    assert type(panel.aggregate("max", unit="benches")) is int
    assert panel.aggregate("min", unit="benches") == 1
    assert type(panel.aggregate("min", unit="benches")) is int
    assert type(panel.aggregate("max", unit="benches", since="2022-02-28")) is float
    assert panel.aggregate("min", unit="people") == -TWO53
    assert type(panel.aggregate("min", unit="people")) is int


def test_panel_share(panel):
    # "wells" names several figures; the whole is the one of the same project,
    # region and date as the part, as to_frame()'s share column pairs them.
    rows = panel.to_dicts()
    part = next(r for r in rows if r["metric"] == "wells_repaired")
    whole = [r for r in rows if r["metric"] == part["part_of"] and r["project"] == part["project"]
             and r["region"] == part["region"] and r["as_of"] == part["as_of"]]
    assert len(whole) == 1
    assert panel.share("wells_repaired") == part["value"] / whole[0]["value"]
    with pytest.raises(ValueError, match="names 10 figures"):
        panel.share("rainfall")


def test_share_needs_exactly_one_matching_whole():
    ds = shanxi.loads(
        "project,metric,value,unit,as_of,region,part_of\n"
        "1,wells,10,wells,2022-01-31,North,\n"
        "1,wells_repaired,4,wells,2022-01-31,South,wells\n")
    with pytest.raises(ValueError, match="0 figures"):
        ds.share("wells_repaired")


def test_an_empty_dataset():
    ds = shanxi.loads("project,metric,value,unit,as_of\n")
    assert len(ds) == 0 and ds.to_dicts() == []
    assert ds.aggregate("sum") == 0 and type(ds.aggregate("sum")) is int
    assert ds.aggregate("count") == 0
    for func in ("mean", "min", "max"):
        with pytest.raises(ValueError, match="%s of no figures" % func):
            ds.aggregate(func)
    for func in FUNCS:
        for by in BYS[1:]:
            assert ds.aggregate(func, by=by) == {}
    with pytest.raises(KeyError):
        ds.total("CNY")


# ===================================================================== call history


def _same_outcome(got, want):
    if got[0] != want[0]:
        return False
    if got[0] == "ok":
        return same(got[1], want[1])
    return type(got[1]) is type(want[1]) and str(got[1]) == str(want[1])


def test_grouped_results_do_not_depend_on_earlier_calls():
    """A grouped dict may start from a copy of the keys of an earlier result
    with the same keys (the Dataset keeps the keys of the largest result per
    grouping): whatever ran before, each result is what a fresh dataset
    gives -- values, types, key order and errors."""
    text = CSV_PATH.read_text(encoding="utf-8")
    calls = [(func, by, tuple(sorted(filters.items())))
             for by in BYS[1:]
             for func in ("count", "sum", "max")
             for filters in ({}, {"unit": "people"}, {"category": "health"},
                             {"since": "2022-10-01"}, {"project": 7}, {"unit": "yuan"})]

    def run(ds, call):
        func, by, filters = call
        return outcome(lambda: ds.aggregate(func, by=by, **dict(filters)))

    expected = {call: run(shanxi.loads(text), call) for call in calls}
    rng = random.Random(2024)
    ds = shanxi.loads(text)
    for _ in range(3):
        rng.shuffle(calls)
        for call in calls:
            assert _same_outcome(run(ds, call), expected[call]), call


def test_grouped_results_with_as_many_groups_but_other_keys():
    """Results of the same size whose keys differ (in value or in order)
    never take each other's keys."""
    ds = shanxi.loads("project,metric,value,unit,as_of,region\n"
                      "1,b,1,x,2022-01-31,N\n2,a,2,x,2022-02-28,S\n"
                      "3,d,3,y,2022-03-31,\n4,c,4,y,2022-04-30,N\n"
                      "5,a,5,z,2022-04-30,S\n6,b,6,z,2022-03-31,N\n")
    for _ in range(2):
        for by, x, y, z in [
            ("project", {1: 1, 2: 2}, {3: 3, 4: 4}, {5: 5, 6: 6}),
            ("metric", {"a": 2, "b": 1}, {"c": 4, "d": 3}, {"a": 5, "b": 6}),
            ("region", {"N": 1, "S": 2}, {"N": 4, None: 3}, {"N": 6, "S": 5}),
            ("as_of", {D(2022, 1, 31): 1, D(2022, 2, 28): 2},
             {D(2022, 3, 31): 3, D(2022, 4, 30): 4}, {D(2022, 3, 31): 6, D(2022, 4, 30): 5}),
            ("month", {"2022-01": 1, "2022-02": 2}, {"2022-03": 3, "2022-04": 4},
             {"2022-03": 6, "2022-04": 5}),
        ]:
            assert same(ds.aggregate("sum", by=by, unit="x"), x), by
            assert same(ds.aggregate("sum", by=by, unit="y"), y), by
            assert same(ds.aggregate("sum", by=by, unit="z"), z), by


def test_grouped_results_are_new_dicts():
    """Changing a result changes no later one."""
    ds = shanxi.loads(CSV_PATH.read_text(encoding="utf-8"))
    first = ds.aggregate("count", by="project")
    want = dict(first)
    first[1] = "changed"
    del first[2]
    first[99] = 0
    second = ds.aggregate("count", by="project")
    assert second is not first and same(second, want)
    second.clear()
    assert same(ds.aggregate("count", by="project"), want)
    assert same(shanxi.aggregate("count", by="category"), shanxi.aggregate("count", by="category"))
    assert shanxi.aggregate("count", by="category") is not shanxi.aggregate("count", by="category")


def test_grouped_results_past_a_thousand_groups():
    """More groups than the Dataset keeps keys for (1024), and fewer."""
    rows = "".join("%d,m%04d,%d,u,2022-01-01\n" % (1 + i % 1500, i, i) for i in range(3000))
    ds = shanxi.loads("project,metric,value,unit,as_of\n" + rows)
    by_project = {p: 2 * (p - 1) + 1500 for p in range(1, 1501)}
    by_metric = {"m%04d" % i: i for i in range(3000)}
    for _ in range(2):
        assert same(ds.aggregate("sum", by="project"), by_project)
        assert same(ds.aggregate("sum", by="metric"), by_metric)
        assert same(ds.aggregate("count", by="project", metric="m0005"), {6: 1})
        assert same(ds.aggregate("sum", by="project", until="2021-12-31"), {})


# ===================================================================== random panels


_DAYS = [D(2021, 12, 31), D(2022, 1, 1), D(2022, 1, 31), D(2022, 2, 28), D(2024, 2, 29)]
_values = st.one_of(
    st.integers(min_value=-TWO53, max_value=TWO53),
    st.integers(min_value=-5, max_value=5),
    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.1, 0.2, 0.3, -0.1, 1e16, -1e16, 1.5, 2.0, 5e-324]),
)
_rows = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=4),            # project
        st.sampled_from(["a", "b", "c"]),                 # metric
        _values,
        st.sampled_from(["u", "v"]),                      # unit
        st.sampled_from(_DAYS),                           # as_of
        st.sampled_from(["N", "S", "É", ""]),             # region
    ),
    max_size=25,
)
_CATEGORY = {1: "x", 2: "y", 3: "", 4: "x"}   # one category per project
_filters = st.fixed_dictionaries({}, optional={
    "project": st.integers(min_value=1, max_value=5),
    "metric": st.sampled_from(["a", "b", "c"]),
    "unit": st.sampled_from(["u", "v", "w"]),
    "category": st.sampled_from(["x", "y"]),
    "region": st.sampled_from(["N", "S", "É"]),
    "since": st.sampled_from(_DAYS + [d.isoformat() for d in _DAYS]),
    "until": st.sampled_from(_DAYS + [d.isoformat() for d in _DAYS]),
})


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows, filter_sets=st.lists(_filters, min_size=1, max_size=3))
def test_random_panels_agree_with_the_reference(rows, filter_sets):
    text = "project,metric,value,unit,as_of,region,category\n" + "".join(
        "%d,%s,%r,%s,%s,%s,%s\n" % (p, m, v, u, d.isoformat(), r, _CATEGORY[p])
        for p, m, v, u, d, r in rows
    )
    ds = shanxi.loads(text)
    got_rows = ds.to_dicts()
    written = [(type(v), v) for _, _, v, *_ in rows]
    assert [(type(d["value"]), d["value"]) for d in got_rows] == written
    check_everything(ds, got_rows, filter_sets)


# ------------------------------------------------------------------ large tables

@pytest.mark.slow
def test_a_table_large_enough_for_two_threads():
    # From a million rows the core aggregates each half of the table on its
    # own thread and merges the groups: the answers must be the same exact
    # ones (ints exact past 2**53, floats as math.fsum, the first of equal
    # extremes), whichever half a group's rows are in.
    n = 1_100_000
    # seven projects of five metrics: people (ints), mm (floats of two decimals
    # and of an exponent) and CNY (ints near 1e15); three regions; 40 days over
    # and over, so every group has rows in both halves
    kinds = (("people", 10**6, "int"), ("people", 10**6, "int"), ("mm", None, "cents"),
             ("mm", None, "exp"), ("CNY", 10**15, "int"))
    figures = [panelgen.Figure(p, "m%d" % k, unit, base, kind)
               for p in range(1, 8) for k, (unit, base, kind) in enumerate(kinds)]
    regions = ("r0", "r1", "r2")
    dates = [datetime.date(2022, 1, 1) + datetime.timedelta(days=d % 40)
             for d in range(panelgen.layout(n, figures, regions)[1])]
    text = panelgen.panel_text(n, figures=figures, regions=regions, dates=dates)
    rows = []
    for line in text.splitlines()[1:]:
        project, _, value, unit, day, region = line.split(",")
        rows.append((int(project), unit, float(value) if unit == "mm" else int(value),
                     datetime.date.fromisoformat(day), int(region[1:])))
    ds = shanxi.loads(text)
    assert len(ds) == n

    def groups(unit, key):
        out = {}
        for r in rows:
            if unit is None or r[1] == unit:
                out.setdefault(key(r), []).append(r[2])
        return dict(sorted(out.items()))

    by_project_mm = groups("mm", lambda r: r[0])
    assert ds.aggregate("sum", by="project", unit="mm") == {
        k: math.fsum(v) for k, v in by_project_mm.items()}
    assert ds.aggregate("min", by="project", unit="mm") == {
        k: min(v) for k, v in by_project_mm.items()}
    assert ds.aggregate("max", by="project", unit="mm") == {
        k: max(v) for k, v in by_project_mm.items()}
    assert ds.total("CNY") == sum(r[2] for r in rows if r[1] == "CNY")
    people_by_month = groups("people", lambda r: "%04d-%02d" % (r[3].year, r[3].month))
    assert ds.aggregate("mean", by="month", unit="people") == {
        k: sum(v) / len(v) for k, v in people_by_month.items()}
    assert ds.aggregate("count", by="region") == {
        "r%d" % k: len(v) for k, v in groups(None, lambda r: r[4]).items()}
    with pytest.raises(ValueError, match="different units"):
        ds.aggregate("sum", by="project")
    # several keys: each half's groups merge exactly too
    assert ds.aggregate("sum", by=("project", "month"), unit="mm") == {
        k: math.fsum(v) for k, v in groups(
            "mm", lambda r: (r[0], "%04d-%02d" % (r[3].year, r[3].month))).items()}
    assert ds.aggregate("sum", by=("region", "as_of", "unit")) == {
        ("r%d" % k[0], k[1], k[2]): v
        for k, v in groups(None, lambda r: (r[4], r[3], r[1])).items()
        for v in [sum(v) if all(type(x) is int for x in v) else math.fsum(v)]}
    assert ds.aggregate("max", by=("unit", "region")) == {
        (k[0], "r%d" % k[1]): max(v) for k, v in groups(None, lambda r: (r[1], r[4])).items()}


# ===================================================================== several keys


def test_several_keys_give_tuple_keys_of_the_one_key_types(panel):
    got = panel.aggregate("count", by=("project", "as_of", "month", "region", "category"))
    assert got and all(type(k) is tuple and len(k) == 5 for k in got)
    for project, day, month, region, category in got:
        assert type(project) is int and type(day) is D and type(month) is str
        assert month == "%04d-%02d" % (day.year, day.month)
        assert region is None or type(region) is str
        assert category is None or type(category) is str
    assert sum(got.values()) == len(panel)
    # ordered by each key in turn, each as for one key (None last)
    regions = list(panel.aggregate("count", by=("region", "month")))
    assert regions == sorted(regions, key=lambda k: (k[0] is None, k[0] or "", k[1]))
    assert regions[-1][0] is None and regions[0][0] == "North"


def test_a_one_tuple_gives_one_tuple_keys(panel):
    # as pandas' groupby(["region"]) does; by="region" keeps plain keys
    one = panel.aggregate("sum", by=("region",), unit="CNY")
    assert one == {(k,): v for k, v in panel.aggregate("sum", by="region", unit="CNY").items()}
    assert list(shanxi.aggregate("count", by=("project",))) == [(n,) for n in range(1, 13)]


def test_several_keys_of_a_panel():
    text = "project,metric,value,unit,as_of,region\n" + "".join(
        "1,%s,%s,%s,2022-%02d-28,%s\n" % (metric, value, unit, month, region)
        for month in (10, 11, 12)
        for region in ("Taiyuan", "Datong")
        for metric, value, unit in (("trained", month * 10, "people"),
                                    ("subsidy", month * 0.1, "CNY")))
    ds = shanxi.loads(text)
    assert ds.aggregate("sum", by=("region", "month"), unit="people") == {
        ("Datong", "2022-10"): 100, ("Datong", "2022-11"): 110, ("Datong", "2022-12"): 120,
        ("Taiyuan", "2022-10"): 100, ("Taiyuan", "2022-11"): 110, ("Taiyuan", "2022-12"): 120}
    with pytest.raises(ValueError) as info:
        ds.aggregate("sum", by=("region", "month"))
    assert str(info.value) == (
        'in region Datong, month 2022-10: cannot sum figures in different units (CNY, people); '
        'pass unit=... or by="unit"')
    with pytest.raises(ValueError) as info:
        ds.aggregate("mean", by="month")
    assert str(info.value) == (
        'in month 2022-10: cannot average figures in different units (CNY, people); '
        'pass unit=... or by="unit"')
    # "unit" among the keys makes it legal; count never mixes
    assert ds.aggregate("sum", by=("month", "unit"))[("2022-12", "people")] == 240
    assert ds.aggregate("count", by=("month", "region"))[("2022-11", "Taiyuan")] == 2
    # grouped, nothing selected is no groups
    assert ds.aggregate("min", by=("region", "month"), since="2023-01-01") == {}


def test_the_embedded_mixed_group_is_named():
    with pytest.raises(ValueError) as info:
        shanxi.aggregate("sum", by="month")
    assert str(info.value).startswith(
        "in month 2022-10: cannot sum figures in different units (counties, stations)")
    with pytest.raises(ValueError) as info:
        shanxi.aggregate("sum")
    assert str(info.value).startswith("cannot sum figures in different units (CNY, USD, ")


@pytest.mark.parametrize("by, exc, message", [
    ((), ValueError, "by must name at least one key, not none"),
    (("region", "region"), ValueError, "by names 'region' twice"),
    (("month", "unit", "month"), ValueError, "by names 'month' twice"),
    (("region", "city"), ValueError, "unknown by 'city'; expected one of ['project', 'metric', "
                                     "'category', 'unit', 'region', 'as_of', 'month']"),
    (("region", None), TypeError, "by must be a str or a tuple of str, not a tuple of NoneType"),
    (("region", b"month"), TypeError, "by must be a str or a tuple of str, not a tuple of bytes"),
    (["region", "month"], TypeError, "by must be a str or a tuple of str, not list"),
    (BYS[1:] + ("region",), ValueError, "by names 'region' twice"),
])
def test_bad_several_keys(by, exc, message):
    with pytest.raises(exc) as info:
        shanxi.aggregate("count", by=by)
    assert str(info.value) == message


# A pure-Python groupby over random panels, with exact Fractions for sums.

def _frac_value(func, values):
    if func == "count":
        return len(values)
    all_int = all(type(v) is int for v in values)
    exact = sum(fractions.Fraction(v) for v in values)
    if func == "sum":
        return int(exact) if all_int else float(exact)   # float(): correctly rounded
    if func == "mean":
        return float(exact / len(values)) if all_int else float(exact) / len(values)
    best = values[0]
    for v in values[1:]:   # strict: the first of equal values stays
        if (v < best) if func == "min" else (v > best):
            best = v
    return best


def _frac_groupby(records, func, by, unit):
    groups = {}
    for rec in records:
        if unit is None or rec["unit"] == unit:
            key = tuple("%04d-%02d" % (rec["as_of"].year, rec["as_of"].month)
                        if b == "month" else rec[b] for b in by)
            groups.setdefault(key, []).append(rec)
    ordered = sorted(groups.items(), key=lambda kv: [(k is None, "" if k is None else k)
                                                     for k in kv[0]])
    if func != "count" and "unit" not in by:
        for key, members in ordered:
            if len({m["unit"] for m in members}) > 1:
                return ValueError, ref_group_name(by, key)
    return {k: _frac_value(func, [m["value"] for m in members]) for k, members in ordered}


_PANEL_DAYS = [D(2021, 12, 31), D(2022, 1, 1), D(2022, 1, 31), D(2022, 3, 15), D(2024, 2, 29)]
_panel_rows = st.lists(
    st.tuples(
        st.sampled_from([1, 2, 3, 7, 100000]),            # project (sometimes sparse)
        st.sampled_from(["a", "b", "c"]),                 # metric
        _values,
        st.sampled_from(["u", "u", "v"]),                 # unit
        st.sampled_from(_PANEL_DAYS),
        st.sampled_from(["N", "S", "É", "太原", ""]),      # region
    ),
    min_size=1, max_size=40,
)
_PANEL_CATEGORY = {1: "x", 2: "y", 3: "", 7: "x", 100000: "z"}


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_panel_rows,
       by=st.lists(st.sampled_from(BYS[1:]), min_size=1, max_size=7, unique=True).map(tuple),
       func=st.sampled_from(FUNCS), unit=st.sampled_from([None, None, "u"]))
def test_several_keys_agree_with_a_python_groupby(rows, by, func, unit):
    text = "project,metric,value,unit,as_of,region,category\n" + "".join(
        "%d,%s,%r,%s,%s,%s,%s\n" % (p, m, v, u, d.isoformat(), r, _PANEL_CATEGORY[p])
        for p, m, v, u, d, r in rows)
    ds = shanxi.loads(text)
    records = [dict(project=p, metric=m, value=v, unit=u, as_of=d, region=r or None,
                    category=_PANEL_CATEGORY[p] or None) for p, m, v, u, d, r in rows]
    if unit not in {None} | {rec["unit"] for rec in records}:
        unit = None   # a unit the data has not: a KeyError, tested elsewhere
    want = _frac_groupby(records, func, by, unit)
    kwargs = {} if unit is None else {"unit": unit}
    if isinstance(want, tuple):
        with pytest.raises(want[0]) as info:
            ds.aggregate(func, by=by, **kwargs)
        assert str(info.value).startswith(want[1] + "cannot ")
        return
    got = ds.aggregate(func, by=by, **kwargs)
    assert same(got, want), (by, func, got, want)
