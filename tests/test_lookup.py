"""Lookups of SPEC section 3, through the public API only.

projects()/project()/metric()/metrics()/search(), the Dataset protocol
(len, iteration, [], in), the Metric and Project value objects (identity,
immutability, hashing, equality across datasets, pickling, repr, HTML,
construction), SOURCE, signatures, and the promise that a wrong argument is a
TypeError/ValueError/KeyError and never a SystemError.
"""
from __future__ import annotations

import csv
import datetime
import inspect
import pathlib
import pickle
import re

import pytest

import shanxi

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSV_PATH = ROOT / "data" / "shanxi_2022.csv"
D = datetime.date

FILTERS = ("project", "metric", "unit", "category", "region", "since", "until")


def _rows():
    """The shipped data file read with the csv module: the independent truth."""
    with CSV_PATH.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


ROWS = _rows()
KEYS = [r["metric"] for r in ROWS]


@pytest.fixture(scope="module")
def loaded():
    """The same data file, parsed at run time by shanxi.loads."""
    return shanxi.loads(CSV_PATH.read_text(encoding="utf-8"))


def keys_of(metrics):
    assert isinstance(metrics, tuple)
    assert all(isinstance(m, shanxi.Metric) for m in metrics)
    return [m.key for m in metrics]


def rows_where(pred):
    return [r["metric"] for r in ROWS if pred(r)]


# --------------------------------------------------------------------- projects


def test_projects_is_a_tuple_of_twelve_in_order():
    ps = shanxi.projects()
    assert isinstance(ps, tuple)
    assert len(ps) == 12
    assert all(isinstance(p, shanxi.Project) for p in ps)
    assert [p.number for p in ps] == list(range(1, 13))
    assert shanxi.projects() is ps or shanxi.projects() == ps
    assert all(a is b for a, b in zip(shanxi.projects(), ps))


def test_project_fields_match_the_file():
    firsts = {}
    for r in ROWS:
        firsts.setdefault(int(r["project"]), r)
    for p in shanxi.projects():
        r = firsts[p.number]
        assert p.key == r["project_key"]
        assert p.title == r["project_title"]
        assert p.category == r["category"]
        assert keys_of(p.metrics) == rows_where(lambda x: int(x["project"]) == p.number)
        latest = max(D.fromisoformat(x["as_of"]) for x in ROWS if int(x["project"]) == p.number)
        assert p.as_of == latest
        assert type(p.number) is int


@pytest.mark.parametrize("n", range(1, 13))
def test_project_by_number_key_and_itself(n):
    p = shanxi.project(n)
    assert p.number == n
    assert shanxi.project(n) is p
    assert shanxi.project(p.key) is p
    assert shanxi.project(p.key.upper()) is p
    assert shanxi.project(p) is p
    assert shanxi.projects()[n - 1] is p


def test_project_by_title_word_any_case():
    p7 = shanxi.project(7)
    assert shanxi.project("elevator") is p7
    assert shanxi.project("Elevator") is p7
    assert shanxi.project("ELEVATOR") is p7
    assert shanxi.project("elevator_installation") is p7
    assert shanxi.project("AEDs").number == 9
    assert shanxi.project("lunch").number == 12
    assert shanxi.project("premarital").number == 8
    assert shanxi.project("legal_aid").number == 4


def test_project_identity():
    assert shanxi.project(7) is shanxi.project(7)
    assert shanxi.project("elevator") is shanxi.project(7)
    assert shanxi.data.project(7) is shanxi.project(7)


def test_project_from_a_constructed_project_finds_the_dataset_one():
    assert shanxi.project(shanxi.Project(7)) is shanxi.project(7)


@pytest.mark.parametrize("word,numbers", [
    ("free", [2, 4, 8]),
    ("services", [2, 3, 11]),
])
def test_ambiguous_word_names_the_candidates(word, numbers):
    # The candidates are the projects whose title has the word.
    expected = [p.number for p in shanxi.projects()
                if word in re.findall(r"\w+", p.title.casefold())]
    assert expected == numbers
    with pytest.raises(KeyError) as info:
        shanxi.project(word)
    message = str(info.value)
    for n in numbers:
        assert str(n) in message


@pytest.mark.parametrize("key,suggestion", [
    ("elevatr", "elevator"),
    ("elevater", "elevator"),
    ("legal_aide", "legal_aid"),
])
def test_unknown_project_key_suggests_close_candidates(key, suggestion):
    with pytest.raises(KeyError) as info:
        shanxi.project(key)
    assert suggestion in str(info.value)
    assert key in str(info.value)


@pytest.mark.parametrize("n", [13, 0, -1, 2**70])
def test_project_number_out_of_range(n):
    with pytest.raises(KeyError) as info:
        shanxi.project(n)
    assert str(n) in str(info.value)


@pytest.mark.parametrize("bad", [7.0, True, False, None, b"7", [7], (7,), {7: 7}, 7j, object()])
def test_project_wrong_types(bad):
    with pytest.raises(TypeError, match="a project is named by its number"):
        shanxi.project(bad)


# --------------------------------------------------------------------- metric


@pytest.mark.parametrize("row", ROWS, ids=KEYS)
def test_metric_by_key(row):
    m = shanxi.metric(row["metric"])
    assert isinstance(m, shanxi.Metric)
    assert shanxi.metric(row["metric"]) is m
    assert shanxi.data[row["metric"]] is m
    assert m.key == row["metric"]
    assert m.project == int(row["project"]) and type(m.project) is int
    assert m.label == row["label"]
    is_int = re.fullmatch(r"-?\d+", row["value"]) is not None
    assert type(m.value) is (int if is_int else float)
    assert m.value == (int(row["value"]) if is_int else float(row["value"]))
    assert m.unit == row["unit"]
    assert m.as_of == D.fromisoformat(row["as_of"])
    assert type(m.as_of) is D
    assert m.period_start == (D.fromisoformat(row["period_start"]) if row["period_start"] else None)
    assert m.part_of == (row["part_of"] or None)
    assert m.region == row["region"] == "Shanxi"
    assert m.category == row["category"]
    assert m in shanxi.project(m.project).metrics


def test_metric_identity_through_every_route():
    m = shanxi.metric("elevators_completed")
    assert m is shanxi.metric("elevators_completed")
    assert m is shanxi.data["elevators_completed"]
    assert m is shanxi.metrics(metric="elevators_completed")[0]
    assert any(x is m for x in shanxi.project(7).metrics)
    assert any(x is m for x in shanxi.data)
    assert any(x is m for x in shanxi.search("elevators completed"))


@pytest.mark.parametrize("key,suggestion", [
    ("elevators_complete", "elevators_completed"),
    ("elevator_completed", "elevators_completed"),
    ("legal_aid_cases_close", "legal_aid_cases_closed"),
    ("Elevators_Completed", "elevators_completed"),
])
def test_unknown_metric_suggests_close_candidates(key, suggestion):
    with pytest.raises(KeyError) as info:
        shanxi.metric(key)
    assert suggestion in str(info.value)
    with pytest.raises(KeyError) as info:
        shanxi.data[key]
    assert suggestion in str(info.value)


@pytest.mark.parametrize(
    "bad", [1, 1.5, None, b"elevators_completed", ["elevators_completed"], True])
def test_metric_wrong_types(bad):
    with pytest.raises(TypeError, match="metric must be a str"):
        shanxi.metric(bad)


def test_metric_of_a_panel_key_naming_several_figures():
    ds = shanxi.loads(
        "project,metric,value,unit,as_of,region\n"
        "1,beds,10,beds,2022-01-31,North\n"
        "1,beds,12,beds,2022-01-31,South\n"
        "1,beds,14,beds,2022-02-28,North\n"
        "1,nurses,5,people,2022-01-31,North\n"
    )
    with pytest.raises(ValueError) as info:
        ds.metric("beds")
    message = str(info.value)
    assert "3" in message
    assert "metrics(metric=" in message
    assert [m.value for m in ds.metrics(metric="beds")] == [10, 12, 14]
    assert ds.metric("nurses").value == 5
    assert ds.metric("nurses") is ds.metric("nurses")


# --------------------------------------------------------------------- metrics


def test_metrics_without_filters_is_every_figure_in_file_order():
    assert keys_of(shanxi.metrics()) == KEYS
    assert shanxi.metrics() == tuple(shanxi.data)


@pytest.mark.parametrize("n", range(1, 13))
def test_metrics_by_project_number_key_and_word(n):
    expected = rows_where(lambda r: int(r["project"]) == n)
    p = shanxi.project(n)
    assert keys_of(shanxi.metrics(project=n)) == expected
    assert keys_of(shanxi.metrics(project=p.key)) == expected
    assert keys_of(shanxi.metrics(project=p)) == expected
    assert shanxi.metrics(project=n) == p.metrics


def test_metrics_by_project_title_word():
    assert keys_of(shanxi.metrics(project="elevator")) == [
        "elevators_started", "elevators_completed"]
    assert keys_of(shanxi.metrics(project="Lunch")) == rows_where(lambda r: r["project"] == "12")


@pytest.mark.parametrize("key", KEYS)
def test_metrics_by_metric(key):
    assert keys_of(shanxi.metrics(metric=key)) == [key]


@pytest.mark.parametrize("unit", sorted({r["unit"] for r in ROWS}))
def test_metrics_by_unit(unit):
    assert keys_of(shanxi.metrics(unit=unit)) == rows_where(lambda r: r["unit"] == unit)


def test_metrics_by_unit_cny():
    assert keys_of(shanxi.metrics(unit="CNY")) == [
        "senior_care_subsidy_cny", "lunch_program_investment"]


@pytest.mark.parametrize("category", sorted({r["category"] for r in ROWS}))
def test_metrics_by_category(category):
    expected = rows_where(lambda r: r["category"] == category)
    assert keys_of(shanxi.metrics(category=category)) == expected


def test_metrics_by_region():
    assert keys_of(shanxi.metrics(region="Shanxi")) == KEYS


AS_OF_DATES = sorted({r["as_of"] for r in ROWS})


@pytest.mark.parametrize(
    "day", AS_OF_DATES + ["2022-01-01", "2022-09-19", "2022-09-21", "2023-01-01"])
def test_metrics_since_and_until_are_inclusive(day):
    d = D.fromisoformat(day)
    since = rows_where(lambda r: D.fromisoformat(r["as_of"]) >= d)
    until = rows_where(lambda r: D.fromisoformat(r["as_of"]) <= d)
    assert keys_of(shanxi.metrics(since=d)) == since
    assert keys_of(shanxi.metrics(since=day)) == since
    assert keys_of(shanxi.metrics(until=d)) == until
    assert keys_of(shanxi.metrics(until=day)) == until
    assert keys_of(shanxi.metrics(since=d, until=d)) == rows_where(lambda r: r["as_of"] == day)


def test_metrics_exact_date_window():
    assert keys_of(shanxi.metrics(since="2022-09-20", until="2022-09-20")) == ["aeds_in_use"]
    assert keys_of(shanxi.metrics(until=D(2022, 7, 31))) == ["rest_stations_built"]
    assert shanxi.metrics(since="2023-01-01") == ()
    assert shanxi.metrics(since="2022-12-31", until="2022-01-01") == ()


def test_metrics_filters_are_anded():
    cases = [
        (dict(unit="CNY", category="elderly"),
         lambda r: r["unit"] == "CNY" and r["category"] == "elderly"),
        (dict(project=1, unit="CNY"), lambda r: False),
        (dict(category="health", unit="people"),
         lambda r: r["category"] == "health" and r["unit"] == "people"),
        (dict(category="health", since="2022-12-31"),
         lambda r: r["category"] == "health" and r["as_of"] >= "2022-12-31"),
        (dict(unit="stations", until="2022-10-31", since="2022-07-31", region="Shanxi"),
         lambda r: r["unit"] == "stations" and "2022-07-31" <= r["as_of"] <= "2022-10-31"),
        (dict(project="rural_delivery", metric="township_service_stations", unit="stations"),
         lambda r: r["metric"] == "township_service_stations"),
        (dict(project=4, metric="aeds_in_use"), lambda r: False),
    ]
    for filters, pred in cases:
        assert keys_of(shanxi.metrics(**filters)) == rows_where(pred), filters


def test_metrics_none_means_no_filter():
    assert keys_of(shanxi.metrics(**{name: None for name in FILTERS})) == KEYS


@pytest.mark.parametrize("name,value,suggestion", [
    ("unit", "yuan", None),
    ("unit", "elevator", "elevators"),
    ("category", "helth", "health"),
    ("metric", "elevators_complete", "elevators_completed"),
    ("region", "Beijing", None),
    ("region", "shanxi", "Shanxi"),
    ("project", 13, None),
    ("project", "elevatr", "elevator"),
    ("project", "free", None),
])
def test_metrics_unknown_filter_values_raise_keyerror(name, value, suggestion):
    with pytest.raises(KeyError) as info:
        shanxi.metrics(**{name: value})
    if suggestion is not None:
        assert suggestion in str(info.value)


@pytest.mark.parametrize("name,value", [
    ("project", 7.0), ("project", True), ("project", b"7"),
    ("metric", 1), ("metric", b"aeds_in_use"), ("metric", ["aeds_in_use"]),
    ("unit", 1), ("unit", ("CNY",)),
    ("category", 1.5), ("region", object()),
    ("since", 20220101), ("since", b"2022-01-01"), ("until", 1.5), ("until", [2022, 1, 1]),
])
def test_metrics_bad_types_raise_typeerror(name, value):
    match = "a project is named by" if name == "project" else r"\b%s must be" % name
    with pytest.raises(TypeError, match=match):
        shanxi.metrics(**{name: value})


@pytest.mark.parametrize(
    "value", ["2022-13-01", "2022-02-30", "20220101", "2022-1-1", "yesterday", ""])
def test_metrics_bad_date_strings_raise_valueerror(value):
    with pytest.raises(ValueError, match="since must be a date"):
        shanxi.metrics(since=value)
    with pytest.raises(ValueError, match="until must be a date"):
        shanxi.metrics(until=value)


def test_metrics_positional_and_unknown_keyword_arguments():
    with pytest.raises(TypeError):
        shanxi.metrics(7)
    with pytest.raises(TypeError):
        shanxi.metrics(7, unit="CNY")
    with pytest.raises(TypeError):
        shanxi.metrics(units="CNY")
    with pytest.raises(TypeError):
        shanxi.metrics(by="unit")


# --------------------------------------------------------------------- search


def _search_reference(text):
    words = text.casefold().split()
    out = []
    for r in ROWS:
        hay = " ".join([r["metric"], r["label"], r["project_title"]]).casefold()
        if all(w in hay for w in words):
            out.append(r["metric"])
    return out


def test_search_legal_aid_gives_the_four_project_4_figures():
    found = shanxi.search("legal aid")
    assert keys_of(found) == rows_where(lambda r: r["project"] == "4")
    assert len(found) == 4
    assert found == shanxi.project(4).metrics


@pytest.mark.parametrize("text", [
    "legal aid", "LEGAL Aid", "elevator", "Elevators", "free", "free exams", "CNY", "cny",
    "screen", "rural delivery", "zzz", "defibrillators", "children disabilities", "subsidy",
])
def test_search_agrees_with_a_case_insensitive_reference(text):
    assert keys_of(shanxi.search(text)) == _search_reference(text)


def test_search_is_case_insensitive():
    assert shanxi.search("legal aid") == shanxi.search("LEGAL AID") == shanxi.search("Legal Aid")


def test_search_of_nothing_is_everything():
    assert keys_of(shanxi.search("")) == KEYS
    assert keys_of(shanxi.search("   ")) == KEYS


def test_search_returns_the_same_objects():
    assert all(m is shanxi.metric(m.key) for m in shanxi.search("elevator"))


ACCENTED = shanxi.loads(
    "project,project_key,project_title,metric,label,value,unit,as_of\n"
    "1,lighting,Éclairage public des villages,points_lumineux,Points lumineux posés,5,"
    "points,2022-12-31\n"
    "2,streets,Große Straßen,strassen_km,Länge der STRASSEN,12,km,2022-12-31\n"
    "3,schools,Écoles rurales,écoles_ouvertes,,3,schools,2022-12-31\n")


@pytest.mark.parametrize("text, keys", [
    ("éclairage", ["points_lumineux"]),
    ("ÉCLAIRAGE public", ["points_lumineux"]),
    ("Éclairage", ["points_lumineux"]),
    ("POSÉS", ["points_lumineux"]),
    ("straße", ["strassen_km"]),       # casefolds to "strasse", as the text does
    ("GROSSE", ["strassen_km"]),
    ("länge", ["strassen_km"]),
    ("ÉCOLES_OUVERTES", ["écoles_ouvertes"]),
    ("eclairage", []),                 # case is folded, accents are not
])
def test_search_folds_case_as_project_does(text, keys):
    assert keys_of(ACCENTED.search(text)) == keys


def test_search_finds_what_project_finds():
    # the case: project() found the project, search() nothing
    for word in ("éclairage", "ÉCLAIRAGE", "écoles", "große", "GROSSE"):
        assert ACCENTED.search(word) == ACCENTED.project(word).metrics, word


@pytest.mark.parametrize("bad", [5, None, b"legal", ["legal"]])
def test_search_wrong_types(bad):
    with pytest.raises(TypeError, match="text must be a str"):
        shanxi.search(bad)


# --------------------------------------------------------------------- value objects


def test_metric_is_immutable():
    m = shanxi.metric("elevators_completed")
    for name in ("key", "project", "label", "value", "unit", "as_of", "period_start",
                 "part_of", "region", "category"):
        with pytest.raises(AttributeError):
            setattr(m, name, 1)
        with pytest.raises(AttributeError):
            delattr(m, name)
    with pytest.raises(AttributeError):
        m.something_new = 1
    assert m.value == 519


def test_project_is_immutable():
    p = shanxi.project(7)
    for name in ("number", "key", "title", "category", "as_of", "metrics"):
        with pytest.raises(AttributeError):
            setattr(p, name, 1)
    with pytest.raises(AttributeError):
        p.something_new = 1
    assert p.number == 7


def test_objects_are_hashable_and_usable_as_keys():
    ms = shanxi.metrics()
    assert len({hash(m) for m in ms}) == len(ms)
    assert len(set(ms)) == 33
    assert len(set(shanxi.projects())) == 12
    d = {m: m.key for m in ms}
    assert d[shanxi.metric("aeds_in_use")] == "aeds_in_use"


def test_figures_equal_across_datasets(loaded):
    assert len(loaded) == 33
    for a, b in zip(shanxi.metrics(), loaded.metrics()):
        assert a is not b
        assert a == b
        assert (a != b) is False
        assert hash(a) == hash(b)
    for key in KEYS:
        assert shanxi.metric(key) == loaded.metric(key)
        assert hash(shanxi.metric(key)) == hash(loaded.metric(key))
    assert set(shanxi.metrics()) == set(loaded.metrics())
    for a, b in zip(shanxi.projects(), loaded.projects()):
        assert a == b
        assert hash(a) == hash(b)


def test_different_figures_are_unequal():
    ms = shanxi.metrics()
    for i, a in enumerate(ms):
        for b in ms[i + 1:]:
            assert a != b
    assert shanxi.metric("aeds_in_use") != "aeds_in_use"
    assert shanxi.metric("aeds_in_use") != 800
    assert shanxi.project(1) != shanxi.project(2)
    assert shanxi.project(1) != 1


def test_a_figure_differing_in_one_field_is_unequal(loaded):
    base = dict(key="k", project=1, value=5, unit="u", as_of="2022-01-01", label="l",
                part_of="w", region="r", category="c", period_start="2021-01-01")
    m = shanxi.Metric(**base)
    assert m == shanxi.Metric(**base)
    assert hash(m) == hash(shanxi.Metric(**base))
    changes = dict(key="k2", project=2, value=6, unit="v", as_of="2022-01-02", label="l2",
                   part_of="w2", region="r2", category="c2", period_start=None)
    for name, value in changes.items():
        assert m != shanxi.Metric(**dict(base, **{name: value})), name


def test_constructed_metric_equals_the_dataset_one():
    m = shanxi.metric("elevators_completed")
    built = shanxi.Metric(
        key=m.key, project=m.project, value=m.value, unit=m.unit, as_of=m.as_of,
        label=m.label, part_of=m.part_of, region=m.region, category=m.category,
        period_start=m.period_start,
    )
    assert built == m and hash(built) == hash(m)
    assert built.as_of == m.as_of and type(built.as_of) is D


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trips(protocol):
    for m in shanxi.metrics():
        back = pickle.loads(pickle.dumps(m, protocol))
        assert back == m
        assert hash(back) == hash(m)
        assert type(back) is shanxi.Metric
        assert (back.key, back.value, back.as_of, back.period_start) == (
            m.key, m.value, m.as_of, m.period_start)
    for p in shanxi.projects():
        back = pickle.loads(pickle.dumps(p, protocol))
        assert back == p
        assert hash(back) == hash(p)
        assert back.metrics == p.metrics
        assert (back.number, back.key, back.title, back.category, back.as_of) == (
            p.number, p.key, p.title, p.category, p.as_of)
    assert pickle.loads(pickle.dumps(shanxi.data, protocol)) is shanxi.data


def test_pickle_of_a_loaded_metric(loaded):
    for m in loaded.metrics():
        assert pickle.loads(pickle.dumps(m)) == m == shanxi.metric(m.key)


def test_metric_repr_is_readable():
    for m in shanxi.metrics():
        r = repr(m)
        assert r.startswith("<Metric")
        assert m.key in r
        assert repr(m.value) in r
        assert m.unit in r
        assert m.as_of.isoformat() in r
    assert repr(shanxi.metric("legal_aid_cases_closed")) == \
        "<Metric legal_aid_cases_closed: 13691 cases as of 2022-12-31, Shanxi>"


def test_project_repr_is_readable():
    for p in shanxi.projects():
        r = repr(p)
        assert str(p.number) in r and p.key in r and p.title in r
    assert "5" in repr(shanxi.Project(5)) and repr(shanxi.Project(5)).startswith("<Project")


def test_html_tables_for_notebooks():
    for obj in (shanxi.metric("aeds_in_use"), shanxi.project(7), shanxi.data):
        html = obj._repr_html_()
        assert isinstance(html, str)
        assert "<table" in html and "</table>" in html
    assert "aeds_in_use" in shanxi.metric("aeds_in_use")._repr_html_()
    assert "elevators_completed" in shanxi.project(7)._repr_html_()


def test_html_escapes_text():
    m = shanxi.Metric("k", 1, 1, "<b>u</b>", "2022-01-01", label="a & <i>b</i>")
    html = m._repr_html_()
    assert "<b>u</b>" not in html and "<i>b</i>" not in html
    assert "&lt;b&gt;" in html and "&amp;" in html


# --------------------------------------------------------------------- Metric(...)


GOOD = dict(key="k", project=3, value=2.5, unit="u", as_of=D(2022, 5, 6))


def test_metric_constructor_builds_a_value():
    m = shanxi.Metric(**GOOD)
    assert (m.key, m.project, m.value, m.unit, m.as_of) == ("k", 3, 2.5, "u", D(2022, 5, 6))
    assert (m.label, m.part_of, m.region, m.category, m.period_start) == (None,) * 5
    assert shanxi.Metric("k", 3, 2.5, "u", "2022-05-06") == m
    big = shanxi.Metric("k", 1, 2**80, "u", "2022-01-01")
    assert big.value == 2**80 and type(big.value) is int


@pytest.mark.parametrize("name,value", [
    ("key", 1), ("key", None), ("key", b"k"),
    ("project", 1.0), ("project", "3"), ("project", True), ("project", None),
    ("value", "2.5"), ("value", None), ("value", True), ("value", [1]), ("value", 1j),
    ("unit", None), ("unit", 1),
    ("as_of", None), ("as_of", 20220506), ("as_of", b"2022-05-06"),
    ("label", 1), ("part_of", 1), ("region", b"r"), ("category", 1.5),
    ("period_start", 1),
])
def test_metric_constructor_type_errors(name, value):
    # key and unit are str-only arguments, whose message numbers them
    match = "must be str" if name in ("key", "unit") else r"\b%s must be" % name
    with pytest.raises(TypeError, match=match):
        shanxi.Metric(**dict(GOOD, **{name: value}))


@pytest.mark.parametrize("name,value", [
    ("project", 0), ("project", -3), ("project", 2**31), ("project", 2**80), ("project", -2**80),
    ("value", float("nan")), ("value", float("inf")), ("value", -float("inf")),
    ("as_of", "2022-02-30"), ("as_of", "not a date"), ("period_start", "2022-13-01"),
])
def test_metric_constructor_value_errors(name, value):
    with pytest.raises(ValueError, match=r"\b%s must be " % name):
        shanxi.Metric(**dict(GOOD, **{name: value}))


def test_metric_constructor_arity():
    with pytest.raises(TypeError):
        shanxi.Metric("k", 1, 1, "u")
    with pytest.raises(TypeError):
        shanxi.Metric(**GOOD, colour="red")


@pytest.mark.parametrize("name,value,exc,match", [
    ("number", 1.0, TypeError, "number must be an int"),
    ("number", True, TypeError, "number must be an int"),
    ("number", 0, ValueError, "number must be a positive number"),
    ("number", 2**80, ValueError, "number must be a positive number"),
    ("key", 1, TypeError, "key must be a str"),
    ("as_of", 5, TypeError, "as_of must be a datetime.date"),
    ("as_of", "2022-02-30", ValueError, "as_of must be a date"),
    ("metrics", [1], TypeError, "metrics must be Metric objects"),
    ("metrics", 1, TypeError, "not iterable"),
])
def test_project_constructor_validation(name, value, exc, match):
    with pytest.raises(exc, match=match):
        shanxi.Project(**dict(dict(number=1), **{name: value}))


# --------------------------------------------------------------------- the Dataset


def test_dataset_protocol():
    ds = shanxi.data
    assert isinstance(ds, shanxi.Dataset)
    assert len(ds) == 33
    assert [m.key for m in ds] == KEYS
    assert all(a is b for a, b in zip(ds, shanxi.metrics()))
    assert ds["elevators_completed"] is shanxi.metric("elevators_completed")
    assert ds["elevators_completed"].value == 519
    assert "elevators_completed" in ds
    assert "elevators_complete" not in ds
    assert 519 not in ds
    assert None not in ds
    assert "\ud800" not in ds
    with pytest.raises(KeyError):
        ds["nope"]
    with pytest.raises(TypeError):
        ds[0]


def test_ipython_key_completions():
    keys = shanxi.data._ipython_key_completions_()
    assert sorted(keys) == sorted(KEYS)
    assert all(isinstance(k, str) for k in keys)


def test_dataset_cannot_be_made_or_changed_by_hand():
    with pytest.raises(TypeError):
        shanxi.Dataset()
    with pytest.raises(AttributeError):
        shanxi.data.anything = 1


# --------------------------------------------------------------------- SOURCE


def test_source_names_the_article():
    assert shanxi.SOURCE["title"] == "Deeds benefit residents of Shanxi"
    assert shanxi.SOURCE["updated"] == "2023-01-12"
    assert D.fromisoformat(shanxi.SOURCE["updated"]) == D(2023, 1, 12)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in shanxi.SOURCE.items())


def test_source_matches_the_article(article_text):
    lines = [line.strip() for line in article_text.splitlines() if line.strip()]
    assert lines[0] == shanxi.SOURCE["title"]
    assert "Updated: " + shanxi.SOURCE["updated"] in article_text


def test_source_is_read_only():
    with pytest.raises(TypeError):
        shanxi.SOURCE["title"] = "something else"
    with pytest.raises(TypeError):
        del shanxi.SOURCE["title"]
    with pytest.raises(AttributeError, match="clear"):    # a mappingproxy has no clear()
        shanxi.SOURCE.clear()
    assert shanxi.SOURCE["title"] == "Deeds benefit residents of Shanxi"


# --------------------------------------------------------------------- signatures

P = inspect.Parameter
POS, POS_KW, KW = P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY
NO = P.empty
FILTER_PARAMS = [(name, KW, None) for name in FILTERS]

SIGNATURES = {
    "projects": [],
    "project": [("key", POS, NO)],
    "metrics": FILTER_PARAMS,
    "metric": [("key", POS, NO)],
    "search": [("text", POS, NO)],
    "aggregate": [("func", POS_KW, "sum"), ("by", KW, None)] + FILTER_PARAMS,
    "total": [("unit", POS_KW, NO)] + [p for p in FILTER_PARAMS if p[0] != "unit"],
    "share": [("key", POS, NO)],
    "to_frame": [("kind", POS_KW, "metrics")],
    "to_dicts": [],
    "loads": [("text", POS, NO), ("encoding", KW, None)],
    "load": [("path", POS, NO), ("encoding", KW, None), ("threads", KW, None)],
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signatures_match_the_documented_parameters(name):
    fns = [getattr(shanxi, name)]
    if hasattr(shanxi.data, name):
        fns.append(getattr(shanxi.data, name))
    for fn in fns:
        sig = inspect.signature(fn)
        got = [(p.name, p.kind, p.default) for p in sig.parameters.values()]
        assert got == SIGNATURES[name], name
        assert fn.__doc__ and fn.__doc__.strip()


def test_constructor_signatures():
    sig = inspect.signature(shanxi.Metric)
    assert list(sig.parameters) == ["key", "project", "value", "unit", "as_of", "label",
                                    "part_of", "region", "category", "period_start"]
    optional = ("label", "part_of", "region", "category", "period_start")
    assert [sig.parameters[n].default for n in optional] == [None] * 5
    sig = inspect.signature(shanxi.Project)
    assert list(sig.parameters)[:1] == ["number"]


def test_every_public_callable_has_a_signature():
    for name in shanxi.__all__:
        obj = getattr(shanxi, name)
        if callable(obj) and not (isinstance(obj, type) and issubclass(obj, BaseException)):
            if obj is shanxi.Dataset:
                continue
            inspect.signature(obj)
            assert obj.__doc__


def test_module_functions_are_the_embedded_datasets_methods():
    for name in ("projects", "project", "metrics", "metric", "search", "aggregate", "total",
                 "share", "to_frame", "to_dicts"):
        fn = getattr(shanxi, name)
        assert fn.__self__ is shanxi.data
        assert fn == getattr(shanxi.data, name)


# --------------------------------------------------------------------- odd arguments


class _Weird:
    def __eq__(self, other):
        raise RuntimeError("compared")

    __hash__ = None

    def __index__(self):
        raise RuntimeError("indexed")


def _odd_objects():
    return [
        None, 1.5, object(), b"", [], {}, (), float("nan"), float("inf"), 2**100, -2**100,
        2**63, -1, 0, True, "\ud800", "", "x" * 5000, "\x00", 1j, bytearray(b"7"),
        memoryview(b"7"), _Weird(), shanxi.project(7), shanxi.metric("aeds_in_use"),
        D(2022, 1, 1), datetime.datetime(2022, 1, 1, 12), shanxi.data, shanxi.Project,
    ]


ALLOWED = (TypeError, ValueError, KeyError)


def _call(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ALLOWED:
        pass
    except RuntimeError as e:
        # an integer argument may be anything with __index__ (numpy's):
        # the exception of a failing one is the caller's to see
        assert str(e) == "indexed"


def test_no_wrong_argument_is_ever_a_systemerror():
    base_metric = dict(key="k", project=1, value=1, unit="u", as_of="2022-01-01")
    for obj in _odd_objects():
        for name in ("project", "metric", "search", "share", "total", "aggregate", "loads"):
            _call(getattr(shanxi, name), obj)
        for name in ("projects", "to_dicts"):
            _call(getattr(shanxi, name), obj)
        for f in FILTERS:
            _call(shanxi.metrics, **{f: obj})
            _call(shanxi.aggregate, "count", **{f: obj})
            _call(shanxi.aggregate, "sum", by="unit", **{f: obj})
            if f != "unit":
                _call(shanxi.total, "CNY", **{f: obj})
        _call(shanxi.aggregate, "count", by=obj)
        _call(shanxi.aggregate, func=obj)
        _call(shanxi.data.__getitem__, obj)
        _call(shanxi.data.__contains__, obj)
        for f in list(base_metric) + ["label", "part_of", "region", "category", "period_start"]:
            _call(shanxi.Metric, **dict(base_metric, **{f: obj}))
        for f in ("number", "key", "title", "category", "as_of", "metrics"):
            _call(shanxi.Project, **dict(dict(number=1), **{f: obj}))
    # still healthy afterwards
    assert shanxi.total("CNY") == 47_230_000
    assert len(shanxi.metrics()) == 33


def test_load_with_odd_paths():
    for obj in (None, 1.5, object(), {}, 2**100, [None], ("a.csv", 1.5)):
        with pytest.raises(TypeError):
            shanxi.load(obj)
    with pytest.raises(ValueError, match="empty list"):  # a list is many files: none here
        shanxi.load([])
    for obj in ("", b"", "/nonexistent/shanxi.csv"):
        with pytest.raises(OSError):
            shanxi.load(obj)
    # A lone surrogate has no bytes in the file system's encoding (POSIX, UTF-8).
    with pytest.raises(UnicodeEncodeError, match="surrogates not allowed"):
        shanxi.load("\ud800")


def test_odd_date_strings_are_value_errors():
    for obj in ("\ud800", "2022-01-01\ud800", "２０２２-01-01", "2022-01-01 ", " 2022-01-01",
                "2022-01-01T00:00"):
        with pytest.raises(ValueError, match="since must be a date"):
            shanxi.metrics(since=obj)
        with pytest.raises(ValueError, match="as_of must be a date"):
            shanxi.Metric("k", 1, 1, "u", obj)


def test_unknown_strings_with_lone_surrogates_are_key_errors():
    for fn in (shanxi.project, shanxi.metric, shanxi.share):
        with pytest.raises(KeyError):
            fn("elevator\ud800")
    for f in ("metric", "unit", "category", "region", "project"):
        with pytest.raises(KeyError):
            shanxi.metrics(**{f: "\ud800"})
    assert shanxi.search("\ud800") == ()


# --------------------------------------------------------------------- messages


@pytest.mark.parametrize("key", ["7", " 7 ", "٧"])
def test_a_number_as_a_str_suggests_that_project(key):
    with pytest.raises(KeyError) as info:
        shanxi.project(key)
    message = info.value.args[0]
    assert "did you mean project 7?" in message
    assert "'in'" not in message and "'of'" not in message


def test_a_number_as_a_str_that_no_project_has_says_the_range():
    with pytest.raises(KeyError) as info:
        shanxi.project("99")
    assert "projects are numbered 1 to 12" in info.value.args[0]


def test_project_and_metric_suggestions_have_one_format():
    with pytest.raises(KeyError) as project:
        shanxi.project("elevatr")
    with pytest.raises(KeyError) as metric:
        shanxi.metric("elevators_complete")
    assert project.value.args[0].endswith("; did you mean 'elevator'?")
    assert metric.value.args[0].endswith(
        "; did you mean 'elevators_completed', 'elevators_started'?")


@pytest.mark.parametrize("call", [
    lambda: shanxi.project("elevatr"),
    lambda: shanxi.project(99),
    lambda: shanxi.metric("nope"),
    lambda: shanxi.metrics(unit="nope"),
])
def test_messages_name_the_embedded_dataset_in_words(call):
    with pytest.raises(KeyError) as info:
        call()
    message = info.value.args[0]
    assert "the embedded 2022 dataset" in message
    assert "shanxi_2022.csv" not in message


def test_repr_names_the_embedded_dataset_in_words():
    assert repr(shanxi.data) == (
        "<shanxi.Dataset the embedded 2022 dataset: 33 figures, 12 projects>")
    assert shanxi.data.source == "the embedded 2022 dataset"
    assert "shanxi_2022.csv" not in shanxi.data._repr_html_()


@pytest.mark.parametrize("bound", ["since", "until"])
def test_nat_is_not_a_date(bound):
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="%s must be a date, not NaT" % bound):
        shanxi.metrics(**{bound: pd.NaT})
    with pytest.raises(ValueError):
        shanxi.aggregate("count", **{bound: pd.NaT})
    # a Timestamp is still a date
    everything = shanxi.metrics(since=datetime.date(2022, 1, 1), until=datetime.date(2022, 12, 31))
    stamp = pd.Timestamp("2022-12-31" if bound == "until" else "2022-01-01")
    assert shanxi.metrics(**{bound: stamp}) == everything


def test_a_key_wins_over_the_same_word_in_another_title():
    ds = shanxi.loads(
        "project,project_key,project_title,metric,value,unit,as_of\n"
        "1,lighting,Éclairage public,a,5,points,2022-12-31\n"
        "2,schools,Écoles et lighting,b,3,schools,2022-12-31\n"
        "3,roads,Roads and lighting,c,3,km,2022-12-31\n")
    assert ds.project("lighting").number == 1
    assert ds.project("LIGHTING").number == 1
    assert ds.project("éclairage public").number == 1
    assert ds.project("roads").number == 3
    assert ds.project("et").number == 2


def test_projects_and_metrics_are_suggested_by_one_rule():
    # a key that is part of a longer name counts as close, for both
    with pytest.raises(KeyError) as project:
        shanxi.project("elev")
    with pytest.raises(KeyError) as metric:
        shanxi.metric("elev")
    assert "did you mean 'elevator_installation', 'elevator'?" in project.value.args[0]
    assert "did you mean 'elevators_started', 'elevators_completed'?" in metric.value.args[0]
