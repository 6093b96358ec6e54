"""shanxi.load / shanxi.loads: reading your own files in the data/ format.

* where the input comes from (paths of every kind, text and buffers);
* optional and unknown columns, projects of a loaded panel;
* every module-level method on a loaded panel, checked against plain Python;
* the malformed corpus in tests/malformed/ (cases.json gives, for each file,
  the exact line and column of the error and a part of its message);
* wrong arguments, missing files, and failed loads leaving nothing behind;
* round trips (CSV written back out loads to equal figures), values, dates,
  encodings, and a Hypothesis test of generated datasets.
"""
from __future__ import annotations

import csv
import datetime
import gc
import io
import json
import math
import os
import pathlib
import random
import struct
import subprocess
import sys
import warnings

import panelgen
import pytest
from conftest import examples

import shanxi

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA_CSV = ROOT / "data" / "shanxi_2022.csv"
MALFORMED = pathlib.Path(__file__).resolve().parent / "malformed"
CASES = json.loads((MALFORMED / "cases.json").read_text(encoding="utf-8"))

# The columns of to_dicts(), which are also the data file's columns.
COLUMNS = [
    "project", "project_key", "project_title", "category", "metric", "label",
    "value", "unit", "as_of", "period_start", "part_of", "region",
]
OPTIONAL = ["project_key", "project_title", "category", "label", "period_start", "part_of",
            "region"]
HEADER = "project,metric,value,unit,as_of\n"
D = datetime.date


# ------------------------------------------------------------------ a panel

# Regions that need quoting or are not ASCII, so they travel through the parser's
# slow paths as well as its fast one.
REGIONS = ["太原", "Datong", "Lüliang, west", 'the "north"', "two\nlines", "Yangquan"]
PROJECTS = {  # number -> (project_key, project_title, category)
    1: ("skills", "Skills training for workers", "employment"),
    2: ("screening", "Free prenatal screening", "health"),
    5: ("culture", "Culture in the countryside", "culture"),
}
MONTH_ENDS = [D(2022, 1, 31), D(2022, 2, 28), D(2022, 3, 31), D(2023, 1, 31)]


def panel_rows():
    """The panel as plain dicts with to_dicts()'s keys and Python values."""
    figures = []
    for number, (key, title, category) in PROJECTS.items():
        project = dict(project_key=key, project_title=title, category=category)
        figures += [
            panelgen.Figure(number, "%s_people" % key, "people", None, "int",
                            label="People reached", **project),
            panelgen.Figure(number, "%s_done" % key, "people", None, "int",
                            part_of="%s_people" % key, **project),
            panelgen.Figure(number, "%s_rate" % key, "percent", None, "cents",
                            label="Rate, in percent", period_start="year", **project),
            panelgen.Figure(number, "%s_money" % key, "CNY", None, "int", **project),
        ]
    numbers = list(PROJECTS)

    def value(block, figure):
        # i counts the (date, region, project) triples from 1
        i, number = 3 * block + numbers.index(figure.project) + 1, figure.project
        kind = figure.metric.rsplit("_", 1)[1]
        return {"people": 1000 * number + i, "done": 500 * number + i,
                "rate": round(50 + i / 7, 2), "money": 10_000_000 * number + 12345 * i}[kind]

    rows = panelgen.panel_rows(None, figures=figures, regions=REGIONS, dates=MONTH_ENDS,
                               values=value, columns=COLUMNS)
    # one figure with a key of its own, so metric() and share() have a single row
    rows.append(dict(project=2, project_key="screening", project_title=PROJECTS[2][1],
                     category="health", metric="screening_referred", label="Referred",
                     value=7, unit="people", as_of=D(2022, 3, 15), period_start=None,
                     part_of="screening_people", region=None))
    return rows


def write_csv(rows, columns=COLUMNS, **kwargs):
    """CSV text of rows, written by the csv module the way a user would."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", **kwargs)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return out.getvalue()


ROWS = panel_rows()
PANEL = write_csv(ROWS)


@pytest.fixture(scope="module")
def ds():
    return shanxi.loads(PANEL)


@pytest.fixture
def panel_path(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_bytes(PANEL.encode("utf-8"))
    return path


def figures(dataset):
    """Every figure as a tuple of its fields, value type included."""
    return [tuple((k, type(d[k]).__name__, d[k]) for k in COLUMNS) for d in dataset.to_dicts()]


def expected_figures(rows):
    return [tuple((k, type(r.get(k)).__name__, r.get(k)) for k in COLUMNS) for r in rows]


def month_of(d):
    return "%04d-%02d" % (d.year, d.month)


def region_order(key):
    """aggregate()'s order of string groups: by UTF-8 bytes, None last."""
    return (key is None, (key or "").encode("utf-8"))


def exact_sum(values):
    values = list(values)
    if all(isinstance(v, int) for v in values):
        return sum(values)
    return math.fsum(values)


def expected_groups(rows, key, order=None):
    groups = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r["value"])
    return {k: exact_sum(groups[k]) for k in sorted(groups, key=order)}


# ------------------------------------------------------------------ where input comes from

def test_panel_loads_to_the_rows(ds):
    assert len(ds) == len(ROWS)
    assert figures(ds) == expected_figures(ROWS)
    assert ds.source == "<string>"
    assert isinstance(ds, shanxi.Dataset)


@pytest.mark.parametrize("kind", ["str", "Path", "bytes"])
def test_load_path_kinds(panel_path, kind):
    arg = {"str": str(panel_path), "Path": panel_path, "bytes": os.fsencode(panel_path)}[kind]
    loaded = shanxi.load(arg)
    assert loaded.source == str(panel_path)
    assert figures(loaded) == expected_figures(ROWS)


def test_load_path_like(panel_path):
    class Where:
        def __fspath__(self):
            return str(panel_path)

    assert figures(shanxi.load(Where())) == expected_figures(ROWS)


def test_load_non_ascii_path(tmp_path):
    path = tmp_path / "山西 data, 2022.csv"
    path.write_bytes(PANEL.encode("utf-8"))
    loaded = shanxi.load(path)
    assert loaded.source == str(path)
    assert len(loaded) == len(ROWS)


@pytest.mark.parametrize("kind", ["str", "bytes", "bytearray", "memoryview", "memoryview slice"])
def test_loads_text_kinds(kind):
    data = PANEL.encode("utf-8")
    arg = {
        "str": PANEL,
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "memoryview slice": memoryview(b"junk" + data + b"junk")[4:-4],
    }[kind]
    loaded = shanxi.loads(arg)
    assert loaded.source == "<string>"
    assert figures(loaded) == expected_figures(ROWS)


def test_loads_keeps_nothing_of_a_mutable_buffer():
    data = bytearray((HEADER + "1,a,1,u,2022-01-01\n").encode())
    loaded = shanxi.loads(data)
    data[len(HEADER) + 2] = ord("b")          # the metric key, after loading
    data[len(HEADER) + 4] = ord("9")          # the value
    assert loaded.metric("a").value == 1
    assert "b" not in loaded


def test_empty_dataset_with_only_a_header():
    for text in (HEADER, HEADER.rstrip("\n"), "\ufeff" + HEADER.replace("\n", "\r\n")):
        empty = shanxi.loads(text)
        assert len(empty) == 0
        assert empty.projects() == ()
        assert empty.metrics() == ()
        assert empty.to_dicts() == []
        assert empty.aggregate("count") == 0
        assert empty.aggregate("sum") == 0
        with pytest.raises(KeyError):          # an unknown filter value, as everywhere
            empty.total("people")


# ------------------------------------------------------------------ columns

def test_required_columns_only():
    loaded = shanxi.loads("as_of,unit,value,metric,project\n2022-12-31,people,5,m,3\n")
    (m,) = loaded.metrics()
    assert (m.key, m.project, m.value, m.unit, m.as_of) == ("m", 3, 5, "people", D(2022, 12, 31))
    assert m.label is None and m.part_of is None and m.region is None and m.category is None
    assert m.period_start is None
    (d,) = loaded.to_dicts()
    assert list(d) == COLUMNS + ["share"]       # the file's columns, then the share
    assert all(d[k] is None for k in OPTIONAL + ["share"])
    (p,) = loaded.projects()
    assert (p.number, p.key, p.title, p.category) == (3, None, None, None)


@pytest.mark.parametrize("column", OPTIONAL)
def test_each_optional_column_alone(column):
    given = {
        "project_key": "skills", "project_title": "Skills, for all", "category": "employment",
        "label": "People \"trained\"", "period_start": D(2022, 1, 1), "part_of": "whole",
        "region": "山西",
    }
    rows = [
        dict(project=1, metric="whole", value=10, unit="people", as_of=D(2022, 12, 31)),
        dict(project=1, metric="part", value=4, unit="people", as_of=D(2022, 12, 31)),
    ]
    rows[1][column] = given[column]
    if column in ("project_key", "project_title", "category"):
        rows[0][column] = given[column]       # the same on every row of a project
    text = write_csv(rows, ["project", "metric", "value", "unit", "as_of", column])
    loaded = shanxi.loads(text)
    dicts = loaded.to_dicts()
    for d, row in zip(dicts, rows):
        for k in COLUMNS:
            assert d[k] == row.get(k), (k, d[k])
    part = loaded.metrics()[1]
    attribute = {"label": "label", "period_start": "period_start", "part_of": "part_of",
                 "region": "region", "category": "category"}.get(column)
    if attribute:
        assert getattr(part, attribute) == given[column]
    (p,) = loaded.projects()
    assert p.key == (given["project_key"] if column == "project_key" else None)
    assert p.title == (given["project_title"] if column == "project_title" else None)
    assert p.category == (given["category"] if column == "category" else None)
    if column == "part_of":
        assert loaded.share("part") == 0.4


def test_every_optional_column_and_unknown_ones_in_any_order():
    columns = ["notes", "region", "value", "period_start", "label", "unit", "metric", "part_of",
               "project_title", "as_of", "x y z", "category", "project_key", "project", ""]
    rows = [dict(r, notes="ignored, really", **{"x y z": '"q"', "": "?"}) for r in ROWS]
    loaded = shanxi.loads(write_csv(rows, columns))
    assert figures(loaded) == expected_figures(ROWS)


def test_empty_optional_field_is_none_but_whitespace_is_kept():
    loaded = shanxi.loads("project,metric,value,unit,as_of,region,label\n"
                          '1,a,1,u,2022-01-01,,""\n1,b,1,u,2022-01-01, ," "\n')
    a, b = loaded.metrics()
    assert a.region is None and a.label is None
    assert b.region == " " and b.label == " "


# ------------------------------------------------------------------ projects

def test_projects_of_a_panel(ds):
    projects = ds.projects()
    assert [p.number for p in projects] == sorted(PROJECTS)
    for p in projects:
        key, title, category = PROJECTS[p.number]
        assert (p.key, p.title, p.category) == (key, title, category)
        mine = [r for r in ROWS if r["project"] == p.number]
        assert p.as_of == max(r["as_of"] for r in mine)
        assert len(p.metrics) == len(mine)
        assert all(m.project == p.number for m in p.metrics)
    assert ds.project(5) is ds.project("culture") is ds.project("countryside")
    assert ds.projects() == projects
    assert all(a is b for a, b in zip(ds.projects(), projects))
    with pytest.raises(KeyError):
        ds.project(3)
    with pytest.raises(TypeError):
        ds.project(1.0)


def test_projects_without_optional_columns_are_their_distinct_numbers():
    loaded = shanxi.loads(HEADER + "".join("%d,m%d,1,u,2022-01-01\n" % (n, i)
                                           for i, n in enumerate([9, 4, 9, 100000, 4])))
    assert [(p.number, p.key, p.title, p.category) for p in loaded.projects()] == [
        (4, None, None, None), (9, None, None, None), (100000, None, None, None)]
    assert [len(p.metrics) for p in loaded.projects()] == [2, 2, 1]


# ------------------------------------------------------------------ the module-level API on a panel

def test_every_module_level_method_is_a_dataset_method(ds):
    for name in ["projects", "project", "metrics", "metric", "search", "aggregate", "total",
                 "share", "to_frame", "to_dicts"]:
        assert callable(getattr(ds, name)), name
        assert getattr(shanxi, name).__name__ == getattr(ds, name).__name__


@pytest.mark.parametrize("filters", [
    {},
    {"project": 2},
    {"project": "culture"},
    {"metric": "skills_rate"},
    {"unit": "CNY"},
    {"category": "health"},
    {"region": "太原"},
    {"region": "two\nlines", "unit": "people"},
    {"since": D(2022, 2, 28)},
    {"until": "2022-02-28"},
    {"since": "2022-02-01", "until": D(2022, 3, 31), "region": 'the "north"'},
])
def test_metrics_filters(ds, filters):
    got = ds.metrics(**filters)

    def keep(r):
        for k, v in filters.items():
            if k == "project":
                if r["project"] != (v if isinstance(v, int) else 5):
                    return False
            elif k in ("since", "until"):
                day = D.fromisoformat(v) if isinstance(v, str) else v
                if (r["as_of"] < day) if k == "since" else (r["as_of"] > day):
                    return False
            elif r[k] != v:
                return False
        return True

    want = [r for r in ROWS if keep(r)]
    assert [(m.key, m.region, m.as_of, m.value) for m in got] == [
        (r["metric"], r["region"], r["as_of"], r["value"]) for r in want]


def test_metric_of_a_panel_key_points_to_metrics(ds):
    n = sum(r["metric"] == "skills_people" for r in ROWS)
    with pytest.raises(ValueError) as info:
        ds.metric("skills_people")
    message = str(info.value)
    assert "%d figures" % n in message
    assert "metrics(metric=" in message
    assert len(ds.metrics(metric="skills_people")) == n
    with pytest.raises(ValueError, match="%d figures" % n):
        ds["skills_people"]
    with pytest.raises(KeyError):
        ds.metric("no_such_metric")


def test_metric_of_a_single_figure(ds):
    m = ds.metric("screening_referred")
    assert m is ds.metric("screening_referred") is ds["screening_referred"]
    assert (m.value, m.part_of, m.region, m.as_of) == (7, "screening_people", None, D(2022, 3, 15))
    assert "screening_referred" in ds


def test_share_in_a_panel(ds):
    # the whole names several figures: share() says so instead of guessing
    with pytest.raises(ValueError, match="figures"):
        ds.share("screening_referred")
    n = sum(r["metric"] == "skills_done" for r in ROWS)
    with pytest.raises(ValueError, match="names %d figures" % n):
        ds.share("skills_done")       # several figures under this key too


def test_share_with_single_figures():
    loaded = shanxi.loads("project,metric,value,unit,as_of,part_of,region\n"
                          "7,started,641,elevators,2022-12-31,,晋中\n"
                          "7,completed,519,elevators,2022-12-31,started,晋中\n")
    assert loaded.share("completed") == 519 / 641
    with pytest.raises(ValueError, match="part_of"):
        loaded.share("started")


@pytest.mark.parametrize("by,key,order", [
    ("region", lambda r: r["region"], region_order),
    ("month", lambda r: month_of(r["as_of"]), None),
    ("project", lambda r: r["project"], None),
    ("as_of", lambda r: r["as_of"], None),
    ("metric", lambda r: r["metric"], region_order),
])
@pytest.mark.parametrize("unit", ["people", "percent", "CNY"])
def test_aggregate_sum_by(ds, by, key, order, unit):
    rows = [r for r in ROWS if r["unit"] == unit]
    got = ds.aggregate("sum", by=by, unit=unit)
    want = expected_groups(rows, key, order)
    assert list(got) == list(want)
    for k in want:
        assert got[k] == want[k] and type(got[k]) is type(want[k]), (k, got[k], want[k])


@pytest.mark.parametrize("func", ["count", "mean", "min", "max"])
def test_aggregate_other_functions_by_region(ds, func):
    rows = [r for r in ROWS if r["unit"] == "percent"]
    got = ds.aggregate(func, by="region", unit="percent")
    groups = {}
    for r in rows:
        groups.setdefault(r["region"], []).append(r["value"])
    for region, values in groups.items():
        want = {"count": len(values), "mean": math.fsum(values) / len(values),
                "min": min(values), "max": max(values)}[func]
        assert got[region] == want and type(got[region]) is type(want), region


def test_aggregate_units_never_mix(ds):
    with pytest.raises(ValueError, match="unit"):
        ds.aggregate("sum")
    with pytest.raises(ValueError, match="unit"):
        ds.aggregate("sum", by="region")
    by_unit = ds.aggregate("sum", by="unit")
    assert set(by_unit) == {"people", "percent", "CNY"}
    assert by_unit["CNY"] == sum(r["value"] for r in ROWS if r["unit"] == "CNY")
    assert ds.aggregate("count") == len(ROWS)


def test_total(ds):
    for unit in ("people", "CNY", "percent"):
        for region in REGIONS + [None]:
            filters = {} if region is None else {"region": region}
            want = exact_sum(r["value"] for r in ROWS
                             if r["unit"] == unit and (region is None or r["region"] == region))
            got = ds.total(unit, **filters)
            assert got == want and type(got) is type(want)
    assert ds.total("CNY", project=1, since="2022-03-01") == sum(
        r["value"] for r in ROWS if r["unit"] == "CNY" and r["project"] == 1
        and r["as_of"] >= D(2022, 3, 1))
    with pytest.raises(KeyError):
        ds.total("no such unit")
    with pytest.raises(KeyError):
        ds.metrics(region="nowhere")
    assert ds.metrics(region="太原", since="2023-02-01") == ()


def test_search(ds):
    hits = ds.search("rate")
    assert [m.key for m in hits] == [r["metric"] for r in ROWS if "rate" in r["metric"]
                                     or "rate" in (r["label"] or "").lower()]
    assert [m.key for m in ds.search("PRENATAL screening referred")] == ["screening_referred"]
    assert ds.search("nothing like this") == ()


def test_to_frame_of_a_panel(ds):
    pd = pytest.importorskip("pandas")
    frame = ds.to_frame()
    assert len(frame) == len(ROWS)
    assert frame["value"].tolist() == [float(r["value"]) for r in ROWS]
    assert [None if pd.isna(x) else x for x in frame["region"]] == [r["region"] for r in ROWS]


# ------------------------------------------------------------------ the malformed corpus

def test_corpus_is_complete():
    files = {p.name for p in MALFORMED.iterdir() if p.suffix == ".csv"}
    assert files == set(CASES), "every file has a case in cases.json, and every case a file"
    for name, case in CASES.items():
        assert set(case) == {"line", "column", "message", "why"}, name
        assert case["line"] >= 1 and case["column"] >= 1, name


def check_parse_error(error, source, case):
    assert isinstance(error, shanxi.ParseError)
    assert isinstance(error, ValueError)
    assert error.source == source
    assert (error.line, error.column) == (case["line"], case["column"]), error.reason
    assert type(error.line) is int and type(error.column) is int
    assert case["message"] in error.reason
    assert str(error) == "%s:%d:%d: %s" % (source, error.line, error.column, error.reason)


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_load(name):
    path = MALFORMED / name
    with pytest.raises(ValueError) as info:
        shanxi.load(path)
    check_parse_error(info.value, str(path), CASES[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_loads(name):
    data = (MALFORMED / name).read_bytes()
    for arg in (data, bytearray(data), memoryview(data)):
        with pytest.raises(ValueError) as info:
            shanxi.loads(arg)
        check_parse_error(info.value, "<string>", CASES[name])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    with pytest.raises(ValueError) as info:
        shanxi.loads(text)
    check_parse_error(info.value, "<string>", CASES[name])


def test_parse_error_is_catchable_and_picklable_enough():
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(HEADER + "1,a,nan,u,2022-01-01\n")
    error = info.value
    assert issubclass(shanxi.ParseError, ValueError)
    assert error.reason == 'expected a finite number in column "value", found "nan"'
    assert error.args == (str(error),)


def test_parse_error_pickles_with_its_position():
    import pickle

    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(HEADER + "1,a,1,u,2022-02-30\n")
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is shanxi.ParseError
    assert (back.source, back.line, back.column, back.reason) == (
        "<string>", 2, 9, info.value.reason)
    assert str(back) == str(info.value)


@pytest.mark.parametrize("text,line,column", [
    ("\ud800", 2, 3),                                     # a lone surrogate
    ("ok\udcff", 2, 5),                                   # as surrogateescape makes them
])
def test_str_with_surrogates_is_a_parse_error(text, line, column):
    # A str cannot hold invalid UTF-8, but it can hold lone surrogates: they are
    # malformed input like any other, with a position, not a UnicodeEncodeError.
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(HEADER + "1,%s,1,u,2022-01-01\n" % text)
    assert (info.value.line, info.value.column) == (line, column)
    assert "UTF-8" in info.value.reason


# ------------------------------------------------------------------ wrong arguments, missing files

def test_missing_file(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError) as info:
        shanxi.load(missing)
    assert info.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        shanxi.load(str(missing))


def test_directory_without_csv_files(tmp_path):
    # a directory is read as its *.csv files (tests/test_multifile.py)
    with pytest.raises(FileNotFoundError, match="holds no .csv files") as info:
        shanxi.load(tmp_path)
    assert info.value.filename == str(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads every file")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.csv"
    path.write_text(HEADER)
    path.chmod(0)
    with pytest.raises(PermissionError):
        shanxi.load(path)


def test_empty_file_is_a_parse_error_not_an_os_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert (info.value.source, info.value.line, info.value.column) == (str(path), 1, 1)


# (a list of paths is many files: tests/test_multifile.py)
@pytest.mark.parametrize("arg", [5, None, 1.5, [5], ("a.csv", None), object()])
def test_load_wrong_type(arg):
    with pytest.raises(TypeError):
        shanxi.load(arg)


@pytest.mark.parametrize("arg", [5, None, 1.5, ["x"], object(), io.StringIO(HEADER)])
def test_loads_wrong_type(arg):
    with pytest.raises(TypeError):
        shanxi.loads(arg)


def test_wrong_number_of_arguments(panel_path):
    with pytest.raises(TypeError):
        shanxi.load()
    with pytest.raises(TypeError):
        shanxi.loads()
    with pytest.raises(TypeError):
        shanxi.load(panel_path, panel_path)
    with pytest.raises(TypeError):
        shanxi.loads(HEADER, HEADER)
    with pytest.raises(TypeError):
        shanxi.loads(text=HEADER)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_load_from_a_pipe(tmp_path):
    import threading

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    body = PANEL.split("\r\n", 1)[1]
    data = (PANEL + body * 3).encode("utf-8")     # more than a pipe holds: read in pieces

    def writer():
        with open(fifo, "wb") as f:
            f.write(data)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        loaded = shanxi.load(fifo)
    finally:
        thread.join()
    assert loaded.source == str(fifo)
    assert figures(loaded) == expected_figures(ROWS * 4)


def test_loads_in_threads():
    # load and loads release the GIL while parsing: concurrent loads, good and bad,
    # each get their own result
    from concurrent.futures import ThreadPoolExecutor

    bad = PANEL + "1,,,,x\n"

    def work(i):
        if i % 3 == 0:
            with pytest.raises(shanxi.ParseError):
                shanxi.loads(bad)
            return None
        return figures(shanxi.loads(PANEL.encode("utf-8")))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(24)))
    want = expected_figures(ROWS)
    assert all(r is None or r == want for r in results)
    assert sum(r is not None for r in results) == 16


def test_loads_of_a_path_is_not_a_file_read(panel_path):
    # a str is CSV text, never a file name: this path is a malformed header
    with pytest.raises(shanxi.ParseError):
        shanxi.loads(str(panel_path))


# ------------------------------------------------------------------ failed loads change nothing

def test_failed_load_changes_nothing(tmp_path, panel_path):
    before_data = shanxi.data.to_dicts()
    module_metrics = shanxi.metrics()
    first = shanxi.load(panel_path)
    first_dicts = first.to_dicts()
    first_metric = first.metric("screening_referred")
    first_projects = first.projects()
    # the same file, broken on its last line: everything before it was valid
    broken = tmp_path / "broken.csv"
    bad_row = write_csv([dict(ROWS[0], value="nan")]).split("\r\n", 1)[1]
    broken.write_bytes((PANEL + bad_row).encode("utf-8"))
    for _ in range(3):
        with pytest.raises(shanxi.ParseError) as info:
            shanxi.load(broken)
        assert info.value.line == PANEL.count("\n") + 1
        with pytest.raises(shanxi.ParseError):
            shanxi.loads(broken.read_bytes())
    gc.collect()
    assert shanxi.data.to_dicts() == before_data
    assert shanxi.metrics() == module_metrics
    assert shanxi.total("CNY") == 47_230_000
    assert first.to_dicts() == first_dicts
    assert first.metric("screening_referred") is first_metric
    assert first.projects() == first_projects
    assert first.source == str(panel_path)
    # and a good load afterwards is unaffected
    assert figures(shanxi.load(panel_path)) == expected_figures(ROWS)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_failed_loads_leave_no_open_files_or_memory(tmp_path):
    # a 30 MB file that fails on its last line
    line = "1,metric,12345,people,2022-01-31,Taiyuan\n"
    body = "project,metric,value,unit,as_of,region\n" + line * (30_000_000 // len(line))
    broken = tmp_path / "broken.csv"
    broken.write_text(body + "1,metric,12a,people,2022-01-31,Taiyuan\n")

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def fds():
        return len(os.listdir("/proc/self/fd"))

    with pytest.raises(shanxi.ParseError):
        shanxi.load(broken)             # warm up
    gc.collect()
    fds0, rss0 = fds(), rss()
    for _ in range(15):
        with pytest.raises(shanxi.ParseError):
            shanxi.load(broken)
    gc.collect()
    assert fds() == fds0
    if os.environ.get("SHANXI_SANITIZED"):
        # tools/ci/sanitize.sh: ASan's quarantine keeps freed columns resident
        pytest.skip("RSS growth is not measurable under ASan")
    # each load builds columns for ~700k rows (~10 MB); 15 leaked loads would be 150 MB
    assert rss() - rss0 < 40_000_000



PEAK_CHILD = r"""
import json, sys
import shanxi

def status():
    with open("/proc/self/status") as f:
        pairs = (line.split(":", 1) for line in f)
        return {k: int(v.split()[0]) * 1024 for k, v in pairs if k in ("VmRSS", "VmHWM")}

before = status()["VmRSS"]
ds = shanxi.load(sys.argv[1])
print(json.dumps({"rows": len(ds), "peak_growth": status()["VmHWM"] - before,
                  "total": ds.total("people")}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isfile("/proc/self/status"), reason="needs /proc")
def test_load_does_not_keep_the_whole_file_in_memory(tmp_path):
    # ~96 MB of which the table keeps ~3 MB: rows with a wide column that no
    # field of the table holds.  load() maps the file and lets go of the
    # pages it has parsed, so the peak stays far below the file's size.
    if os.environ.get("SHANXI_SANITIZED"):
        pytest.skip("RSS growth is not measurable under ASan")
    pad = "x" * 900
    rows = 100_000
    path = tmp_path / "wide.csv"
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write("project,metric,value,unit,as_of,notes\n")
        for i in range(rows):
            f.write("%d,m%d,%d,people,2022-01-31,%s\n" % (i % 12 + 1, i % 97, i, pad))
    size = path.stat().st_size
    out = subprocess.run([sys.executable, "-c", PEAK_CHILD, str(path)], check=True,
                         capture_output=True, text=True)
    got = json.loads(out.stdout)
    assert got["rows"] == rows and got["total"] == rows * (rows - 1) // 2
    assert got["peak_growth"] < size // 3, (got, size)


@pytest.mark.slow
def test_errors_far_into_a_large_file_point_at_the_right_place(tmp_path):
    # load() drops the pages it has parsed; an error found later that names
    # an early line must read that line again correctly.
    body = "project,metric,value,unit,as_of,category\n1,first,1,CNY,2022-01-01,health\n"
    line = "2,k,1.5,CNY,2022-01-31,\n"
    n = 24_000_000 // len(line)
    path = tmp_path / "late.csv"
    path.write_text(body + line * n + "1,last,1,CNY,2022-01-01,culture\n", encoding="ascii")
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert (info.value.line, info.value.column) == (n + 3, 25)
    assert 'category "health" on line 2' in str(info.value)
    # the same file parsed from memory gives the same error
    with pytest.raises(shanxi.ParseError) as again:
        shanxi.loads(path.read_bytes())
    assert (again.value.line, again.value.column, again.value.reason) == (
        info.value.line, info.value.column, info.value.reason)
    # and a large file loads to the same table as its text
    good = tmp_path / "good.csv"
    good.write_text(body + line * n, encoding="ascii")
    ds = shanxi.load(good)
    assert len(ds) == n + 1
    assert ds.total("CNY") == shanxi.loads(good.read_bytes()).total("CNY") == 1 + 1.5 * n



def big_text(n_rows, middle_row=None):
    """A 32 MiB+ file (parsed by two threads) of n_rows rows; middle_row, if
    given, is put halfway through."""
    head = "project,metric,value,unit,as_of,category,project_key,label\n"
    rows = ["%d,m%d,%d,people,2022-01-%02d,,k%d,\n" % (i % 9 + 1, i % 40, i, i % 28 + 1, i % 9 + 1)
            for i in range(n_rows)]
    if middle_row is not None:
        rows.insert(n_rows // 2, middle_row)
    return head + "".join(rows)


@pytest.mark.slow
def test_a_file_split_between_two_threads_loads_as_one():
    # over 32 MiB the parser splits the input at a line break near the
    # middle; a split inside a quoted field (a label with line breaks right
    # at the middle) is noticed and the input parsed in one piece
    n = 1_000_000
    quoted = '5,m5,1,people,2022-01-05,,k5,"%s"\n' % ("line\n" * 200_000)
    for middle in (None, quoted):
        text = big_text(n, middle)
        assert len(text) > 32 << 20
        ds = shanxi.loads(text)
        assert len(ds) == n + (middle is not None)
        assert ds.total("people") == sum(range(n)) + (middle is not None)
        assert [p.key for p in ds.projects()] == ["k%d" % i for i in range(1, 10)]
        assert ds.aggregate("count", by="metric")["m39"] == len(range(39, n, 40))
        if middle is not None:
            labels = [m.label for m in ds.metrics(project=5) if m.label]
            assert labels == ["line\n" * 200_000]


@pytest.mark.slow
@pytest.mark.parametrize("middle_row, line_of_first, what", [
    # project 3 has key k3 everywhere else
    ("3,x,1,people,2022-01-01,,other,\n", 4, "project_key"),
    # project 4's key is k4
    ("10,x,1,people,2022-01-01,,k4,\n", 5, "a project_key of its own"),
    ("6,x,1,people,2022-01-01,culture,k6,\n", None, None),
])
def test_two_halves_that_disagree_report_what_one_pass_would(middle_row, line_of_first, what):
    # a project's key or category given differently in each half of a large
    # file is an error at the row where one pass meets it, with that line
    n = 1_000_000
    text = big_text(n, middle_row)
    if what is None:
        # a category only in the middle: the rows of project 6 take it
        ds = shanxi.loads(text)
        assert ds.project(6).category == "culture"
        assert {m.category for m in ds.metrics(project=6)} == {"culture"}
        return
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(text)
    assert info.value.line == n // 2 + 2
    assert what in str(info.value) and ("line %d" % line_of_first) in str(info.value)


# ------------------------------------------------------------------ round trips

def test_round_trip_of_the_cli_csv():
    out = subprocess.run([sys.executable, "-m", "shanxi", "--format", "csv"], check=True,
                         capture_output=True, text=True, encoding="utf-8").stdout
    back = shanxi.loads(out)
    assert back.metrics() == shanxi.metrics()
    assert figures(back) == figures(shanxi.data)


@pytest.mark.parametrize("which", ["data", "panel"])
@pytest.mark.parametrize("lineterminator", ["\r\n", "\n"])
def test_round_trip_through_dictwriter(ds, which, lineterminator):
    source = shanxi.data if which == "data" else ds
    dicts = source.to_dicts()
    if lineterminator == "\n":
        # the csv module only quotes a lone \r when it is in the line terminator
        dicts = [d for d in dicts if "\r" not in (d["region"] or "")]
    text = write_csv(dicts, lineterminator=lineterminator)
    back = shanxi.loads(text)
    assert back.to_dicts() == dicts
    assert figures(back) == expected_figures(dicts)
    # Metric equality: two figures with the same fields are equal, whichever dataset
    if which == "data":
        assert back.metrics() == shanxi.metrics()
        assert [hash(m) for m in back.metrics()] == [hash(m) for m in shanxi.metrics()]
    else:
        assert back.metrics() == ds.metrics()
    assert back.projects() == source.projects()


def test_round_trip_twice_is_byte_identical(ds):
    once = write_csv(ds.to_dicts())
    twice = write_csv(shanxi.loads(once).to_dicts())
    assert once == twice


def test_embedded_file_equals_embedded_data():
    loaded = shanxi.load(DATA_CSV)
    assert loaded.source == str(DATA_CSV)
    assert len(loaded) == len(shanxi.data) == 33
    assert loaded.metrics() == shanxi.metrics()
    for a, b in zip(loaded.metrics(), shanxi.metrics()):
        for field in ("key", "project", "label", "value", "unit", "as_of", "period_start",
                      "part_of", "region", "category"):
            x, y = getattr(a, field), getattr(b, field)
            assert x == y and type(x) is type(y), (a.key, field)
    assert figures(loaded) == figures(shanxi.data)
    assert loaded.projects() == shanxi.projects()
    assert loaded.total("CNY") == shanxi.total("CNY") == 47_230_000
    assert loaded.aggregate("count", by="category") == shanxi.aggregate("count", by="category")


# ------------------------------------------------------------------ encodings and line breaks

@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("final", [True, False])
def test_bom_line_breaks_final_newline(bom, newline, final):
    text = PANEL.replace("\r\n", "\n")
    # the quoted region holds a line break of its own: it becomes this newline too
    text = text.replace("\n", newline)
    if not final:
        text = text[:-len(newline)]
    if bom:
        text = "\ufeff" + text
    loaded = shanxi.loads(text.encode("utf-8"))
    want = [dict(r, region=r["region"].replace("\n", newline)) if r["region"] else r
            for r in ROWS]
    assert figures(loaded) == expected_figures(want)


def test_bom_file_on_disk(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + PANEL.replace("\r\n", "\n").replace("\n", "\r\n")
                     .encode("utf-8")[:-2])
    loaded = shanxi.load(path)
    assert len(loaded) == len(ROWS)
    assert loaded.to_dicts()[0]["project"] == ROWS[0]["project"]


def test_blank_lines_at_the_end_are_allowed():
    loaded = shanxi.loads(HEADER + "1,a,1,u,2022-01-01\n\n\r\n\n")
    assert len(loaded) == 1


def test_unicode_regions_and_text():
    rows = [
        dict(project=1, metric="人数", value=606900, unit="人", as_of=D(2022, 11, 30),
             region="山西省", label="职业技能培训 ✓", category="就业"),
        dict(project=1, metric="rate", value=93.41, unit="percent", as_of=D(2022, 12, 31),
             region="Ürümqi, 新疆", label="emoji 🧑‍🔧 and \u00a0nbsp", category="就业"),
        dict(project=2, metric="人数", value=7, unit="人", as_of=D(2022, 12, 31),
             region="山西省", label='quote " and comma ,', category="健康"),
    ]
    loaded = shanxi.loads(write_csv(rows))
    assert figures(loaded) == expected_figures(rows)
    assert loaded.aggregate("sum", by="region", unit="人") == {"山西省": 606907}
    assert [m.value for m in loaded.metrics(region="山西省")] == [606900, 7]
    assert loaded.search("职业技能培训")[0].key == "人数"
    assert loaded.metrics(category="健康")[0].region == "山西省"


# ------------------------------------------------------------------ values and dates

@pytest.mark.parametrize("text,value", [
    ("606900", 606900),
    ("-5", -5),
    ("+5", 5),
    ("0", 0),
    ("-0", 0),
    ("007", 7),
    ("9007199254740992", 2 ** 53),             # the largest exact integer stays an int
    ("-9007199254740992", -(2 ** 53)),
    ("93.41", 93.41),
    ("1.0", 1.0),
    ("5.", 5.0),
    (".5", 0.5),
    ("-0.0", -0.0),
    ("1e3", 1000.0),
    ("1E3", 1000.0),
    ("2.5e-3", 0.0025),
    ("1.7976931348623157e308", 1.7976931348623157e308),
    ("4.9e-324", 5e-324),
    ("1e-400", 0.0),                           # underflows to zero: finite, not an error
    ("0.1000000000000000055511151231257827", 0.1),
    ("123456789.123456789", 123456789.123456789),
])
def test_value_types(text, value):
    m = shanxi.loads(HEADER + "1,m,%s,u,2022-01-01\n" % text).metric("m")
    assert type(m.value) is type(value), text
    assert m.value == value and repr(m.value) == repr(value), text


@pytest.mark.parametrize("n", [2 ** 53 + 1, -(2 ** 53 + 1), 2 ** 63, 10 ** 30, 2 ** 64 + 1])
def test_integers_beyond_2_53_are_read_as_floats(n):
    # Integers are exact up to 2^53 (data/README.md); beyond it a count cannot be
    # exact in a float64 column, and the value is the correctly rounded float.
    loaded = shanxi.loads(HEADER + "1,m,%d,u,2022-01-01\n" % n)
    value = loaded.metric("m").value
    assert type(value) is float and value == float(n)


def test_shortest_reprs_of_doubles_read_back_bit_for_bit():
    # repr gives up to 17 significant digits: the long decimals that take the
    # exact 128-bit path (or strtod beyond its range) must all round trip.
    rng = random.Random(12)
    values = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-25, 25) for _ in range(20000)]
    values += [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(63)))[0]
               for _ in range(5000)]
    values = [v for v in values if math.isfinite(v)]
    text = HEADER + "".join("1,m%d,%r,u,2022-01-01\n" % (i, v) for i, v in enumerate(values))
    got = shanxi.loads(text).to_dicts()
    assert [struct.pack("<d", row["value"]) for row in got] == [struct.pack("<d", float(v))
                                                                   for v in values]


def test_integer_sums_are_exact_ints():
    big = 2 ** 53
    loaded = shanxi.loads(HEADER + "".join("1,m%d,%d,u,2022-01-01\n" % (i, big) for i in range(4)))
    assert loaded.total("u") == 4 * big
    assert type(loaded.total("u")) is int


def test_float_sums_are_correctly_rounded():
    values = [1e16, 1.0, -1e16, 0.1, 0.2, 0.3, 1e-9]
    loaded = shanxi.loads(HEADER + "".join("1,m%d,%r,u,2022-01-01\n" % (i, v)
                                           for i, v in enumerate(values)))
    assert loaded.total("u") == math.fsum(values)


@pytest.mark.parametrize("text,day", [
    ("2022-11-30", D(2022, 11, 30)),
    ("2024-02-29", D(2024, 2, 29)),
    ("2000-02-29", D(2000, 2, 29)),
    ("0001-01-01", D(1, 1, 1)),
    ("9999-12-31", D(9999, 12, 31)),
])
def test_dates(text, day):
    loaded = shanxi.loads("project,metric,value,unit,as_of,period_start\n"
                          "1,m,1,u,%s,%s\n" % (text, text))
    m = loaded.metric("m")
    assert m.as_of == day and m.period_start == day
    assert type(m.as_of) is D


# ------------------------------------------------------------------ generated datasets

def test_generated_datasets():
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    given, settings = hypothesis.given, hypothesis.settings

    # text of every kind the csv module must quote, and unicode; no NUL and no
    # surrogates (neither is text a file holds)
    texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    min_size=1, max_size=12)
    keys = st.text("abcz_0123456789人山", min_size=1, max_size=6)
    integers = st.integers(-(2 ** 53), 2 ** 53) | st.integers(-(10 ** 25), 10 ** 25)
    floats = st.floats(allow_nan=False, allow_infinity=False)
    dates = st.dates(min_value=D(1, 1, 1), max_value=D(9999, 12, 31))

    row = st.fixed_dictionaries({
        "project": st.integers(1, 2 ** 31 - 1) | st.integers(1, 4),
        "metric": keys,
        "label": st.none() | texts,
        "value": integers | floats,
        "unit": keys,
        "as_of": dates,
        "period_start": st.none() | dates,
        "region": st.none() | texts,
        "notes": st.none() | texts,
    })

    @settings(max_examples=examples(150), deadline=None)
    @given(rows=st.lists(row, max_size=25), columns_seed=st.randoms(use_true_random=False),
           bom=st.booleans(), lineterminator=st.sampled_from(["\r\n", "\n"]))
    def check(rows, columns_seed, bom, lineterminator):
        columns = ["project", "metric", "label", "value", "unit", "as_of", "period_start",
                   "region", "notes"]
        columns_seed.shuffle(columns)
        if lineterminator == "\n":
            # the csv module quotes \r only when it is in the line terminator
            for r in rows:
                for k in ("label", "region", "notes"):
                    if r[k] is not None and "\r" in r[k]:
                        r[k] = r[k].replace("\r", "")
                        r[k] = r[k] or None
        text = write_csv(rows, columns, lineterminator=lineterminator)
        loaded = shanxi.loads(("\ufeff" if bom else "") + text)
        got = loaded.to_dicts()
        assert len(got) == len(rows)
        for d, r in zip(got, rows):
            value = r["value"]
            if isinstance(value, int) and abs(value) > 2 ** 53:
                value = float(value)
            assert type(d["value"]) is type(value)
            assert repr(d["value"]) == repr(value)
            for k in ("project", "metric", "label", "unit", "as_of", "period_start", "region"):
                assert d[k] == r[k], (k, d[k], r[k])
            assert d["category"] is None and d["part_of"] is None
        assert [p.number for p in loaded.projects()] == sorted({r["project"] for r in rows})

    check()


def test_mutated_files_fail_cleanly():
    # Any bytes at all: a Dataset or a ParseError pointing inside the input,
    # never another exception.
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")
    given, settings = hypothesis.given, hypothesis.settings
    seed = write_csv(ROWS[:6]).encode("utf-8")
    specials = [b",", b'"', b"\n", b"\r", b"\r\n", b"\xff", b"\xe4\xb8", b"\xef\xbb\xbf", b"",
                b"nan", b"1e999", b"2022-02-30", b"\x00", b" "]

    @settings(max_examples=examples(300), deadline=None)
    @given(edits=st.lists(st.tuples(st.integers(0, len(seed)), st.integers(0, 4),
                                    st.sampled_from(specials) | st.binary(max_size=3)),
                          min_size=1, max_size=4))
    def check(edits):
        data = seed
        for at, cut, insert in edits:
            at = min(at, len(data))
            data = data[:at] + insert + data[at + cut:]
        try:
            with warnings.catch_warnings():
                # a mutated header is often a near miss of a column
                warnings.simplefilter("ignore", shanxi.ParseWarning)
                loaded = shanxi.loads(data)
        except shanxi.ParseError as error:
            assert error.source == "<string>"
            # an editor's lines: LF, CRLF and a lone CR each end one
            lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            assert 1 <= error.line <= len(lines)
            line = lines[error.line - 1]
            if error.line == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            assert 1 <= error.column <= len(line) + 1     # columns count characters
            assert error.reason.startswith(("expected", "project "))
        else:
            assert len(loaded) <= data.count(b"\n") + data.count(b"\r") + 1

    check()
