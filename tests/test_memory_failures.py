"""Allocation failures: every public call, with its Nth allocation failing,
gives its normal outcome or MemoryError; never SystemError, another
exception, or a crash.

_testcapi.set_nomemory(start, stop) makes allocations start..stop-1 fail
(stop 0: all from start on).  For each call the script below tries the
first STEPS allocations both ways: only the Nth failing (which finds code
that goes on after an error with the exception set, where the next C API
call raises SystemError or crashes) and every one from the Nth on.  It runs
in a subprocess, so a crash fails the test instead of ending the run, and
on a fresh Dataset each time, so the lazy caches are made under the failure.
"""
import json
import pathlib
import subprocess
import sys

import pytest

_testcapi = pytest.importorskip("_testcapi")
if not hasattr(_testcapi, "set_nomemory"):  # pragma: no cover - 3.9-3.13 have it
    pytest.skip("this Python's _testcapi has no set_nomemory", allow_module_level=True)

DATA_CSV = pathlib.Path(__file__).resolve().parent.parent / "data" / "shanxi_2022.csv"
STEPS = 200

SCRIPT = r"""
import atexit, datetime, json, os, pickle, shutil, sys, tempfile
import _testcapi
import shanxi
import shanxi._render  # imported here: an import failing half-way is not ours to test
import shanxi._paths
try:  # the same for pandas, which to_frame() imports on first use
    import pandas
    import shanxi._frame
except ImportError:
    pandas = None

DATA = open(sys.argv[1], "rb").read()
STEPS = int(sys.argv[2])
PANEL = (b"project,project_title,metric,value,unit,as_of,part_of,region,period_start\n"
         b"1,First one,a,1,people,2022-01-31,,r1,2022-01-01\n"
         b"1,First one,b,2.5,people,2022-02-28,a,r1,\n"
         b"2,Second,a,3,CNY,2022-03-31,,r2,2022-03-01\n")
tmp = tempfile.mkdtemp()
atexit.register(shutil.rmtree, tmp, True)
PATH = os.path.join(tmp, "data.csv")
with open(PATH, "wb") as f:
    f.write(DATA)
MISSING = os.path.join(tmp, "missing.csv")
PART = os.path.join(tmp, "part.csv")
with open(PART, "wb") as f:
    f.write(PANEL)
BLOB = shanxi.loads(PANEL).partial("sum", by="region").to_bytes()
# Titles and keys that are not ASCII: their UTF-8 is made (allocated) on use.
ACCENTS = ("project,project_key,project_title,metric,value,unit,as_of\n"
           "1,éclairage,Éclairage public des villages,points_lumineux,5,points,2022-12-31\n"
           "2,écoles,Écoles rurales et éclairage,écoles_ouvertes,3,écoles,2022-12-31\n"
           ).encode("utf-8")
BIG = "9" * 30
# A header field shanxi does not read: Dataset.ignored_columns lists it.
EXTRA = (b"project,metric,value,unit,as_of,notes\n"
         b"1,a,1,people,2022-01-31,anything\n")

CALLS = {
    "projects": lambda ds: ds.projects(),
    "project(7)": lambda ds: ds.project(7),
    "project(key)": lambda ds: ds.project("elevator_installation"),
    "project(word)": lambda ds: ds.project("Elevator"),
    "project(unknown)": lambda ds: ds.project("elevatr"),
    "project(ambiguous)": lambda ds: ds.project("and"),
    "project(99)": lambda ds: ds.project(99),
    "project(big)": lambda ds: ds.project(int(BIG)),
    "project.metrics": lambda ds: ds.project(7).metrics,
    "metric": lambda ds: ds.metric("elevators_completed"),
    "metric(unknown)": lambda ds: ds.metric("elevators_complete"),
    "metric(surrogate)": lambda ds: ds.metric("\udcff"),
    "metrics": lambda ds: ds.metrics(),
    "metrics(filters)": lambda ds: ds.metrics(project=7, unit="elevators", since="2022-01-01",
                                              until=datetime.date(2022, 12, 31)),
    "metrics(bad date)": lambda ds: ds.metrics(since="2022-13-01"),
    "search": lambda ds: ds.search("elevator"),
    "search(none)": lambda ds: ds.search("nothing matches this"),
    "aggregate": lambda ds: ds.aggregate(),
    "aggregate(count, by)": lambda ds: ds.aggregate("count", by="category"),
    "aggregate(mean, by project)": lambda ds: ds.aggregate("mean", by="project", unit="people"),
    "aggregate(sum, by as_of)": lambda ds: ds.aggregate("sum", by="as_of", unit="CNY"),
    "aggregate(max, by month)": lambda ds: ds.aggregate("max", by="month", unit="people"),
    "aggregate(by metric)": lambda ds: ds.aggregate("min", by="metric"),
    "aggregate(by unit)": lambda ds: ds.aggregate("sum", by="unit"),
    "aggregate(bad func)": lambda ds: ds.aggregate("median"),
    "aggregate(bad by)": lambda ds: ds.aggregate("sum", by="colour"),
    "total": lambda ds: ds.total("CNY"),
    "total(project)": lambda ds: ds.total("people", project="elevator"),
    "share": lambda ds: ds.share("elevators_completed"),
    "share(no whole)": lambda ds: ds.share("elevators_started"),
    "to_dicts": lambda ds: ds.to_dicts(),
    "repr": lambda ds: repr(ds),
    "repr(metric)": lambda ds: repr(ds.metric("elevators_completed")),
    "repr(project)": lambda ds: repr(ds.project(7)),
    "hash and ==": lambda ds: (hash(ds.project(7)), ds.project(7) == shanxi.project(7)),
    "arrow": lambda ds: ds.__arrow_c_stream__(),
    "key completions": lambda ds: ds._ipython_key_completions_(),
    "contains": lambda ds: "elevators_completed" in ds,
    "iter": lambda ds: list(ds),
    "_repr_html_": lambda ds: ds._repr_html_(),
    "pickle(metric)": lambda ds: pickle.loads(pickle.dumps(ds.metric("elevators_completed"))),
    "Metric()": lambda ds: shanxi.Metric("k", 1, 2, "people", "2022-01-01", label="x"),
    "Project()": lambda ds: shanxi.Project(1, "k", "title", None, "2022-01-01"),
    "loads": lambda ds: shanxi.loads(DATA),
    "loads(str)": lambda ds: shanxi.loads(DATA.decode("utf-8")),
    "loads(malformed)": lambda ds: shanxi.loads(b"project,metric\n1,a\n"),
    "load": lambda ds: shanxi.load(PATH),
    "load(missing)": lambda ds: shanxi.load(MISSING),
    "panel": lambda ds: shanxi.loads(PANEL).aggregate("sum", by="region", unit="people"),
    "load(list)": lambda ds: shanxi.load([PATH, PART, PART]),
    "load(dir)": lambda ds: shanxi.load(tmp),
    "load(list, missing)": lambda ds: shanxi.load([PATH, MISSING]),
    "partial": lambda ds: ds.partial("sum", by="unit").result(),
    "partial(mean, by metric)": lambda ds: ds.partial("mean", by="metric", unit="people"),
    "partial merge": lambda ds: ds.partial("max", by="month").merge(
        ds.partial("max", by="month")).result(),
    "partial merge_all": lambda ds: shanxi.Partial.merge_all(
        [ds.partial("count", by="region")] * 3).result(),
    "partial pickle": lambda ds: pickle.loads(pickle.dumps(ds.partial("sum", by="as_of"))),
    "partial from_bytes": lambda ds: shanxi.Partial.from_bytes(BLOB).result(),
    "partial units error": lambda ds: ds.partial("sum", by="project").result(),
    "unique(project)": lambda ds: ds.unique("project"),
    "unique(metric)": lambda ds: ds.unique("metric"),
    "unique(region)": lambda ds: ds.unique("region"),
    "unique(project_title)": lambda ds: ds.unique("project_title"),
    "unique(bad column)": lambda ds: ds.unique("colour"),
    "regions": lambda ds: ds.regions,
    "units": lambda ds: ds.units,
    "metric_keys": lambda ds: ds.metric_keys,
    "categories": lambda ds: ds.categories,
    "date_range": lambda ds: ds.date_range,
    "columns": lambda ds: ds.columns,
    "ignored_columns": lambda ds: ds.ignored_columns,
    "ignored_columns(some)": lambda ds: shanxi.loads(EXTRA).ignored_columns,
    "_columns": lambda ds: ds._columns(),
}
# to_frame("projects") is left out: with an allocation failing inside
# pandas' Index() (a generator there), the interpreter hangs in pandas' code.
if pandas is not None:
    CALLS["to_frame"] = lambda ds: ds.to_frame()
# Calls on the dataset with accents (fresh for each attempt like the others).
ACCENT_CALLS = {
    "accents: project(unknown)": lambda ds: ds.project("villag"),
    "accents: project(near)": lambda ds: ds.project("ecoles"),
    "accents: project(word)": lambda ds: ds.project("rurales"),
    "accents: project(ambiguous)": lambda ds: ds.project("éclairage"),
    "accents: metric(unknown)": lambda ds: ds.metric("écoles_ouverte"),
    "accents: aggregate(by unit)": lambda ds: ds.aggregate("sum", by="unit"),
    "accents: to_dicts": lambda ds: ds.to_dicts(),
    "accents: search": lambda ds: ds.search("ÉCOLES rurales"),
}


# What a call gives: (exception type, message) or (None, result).
def outcome(fn, ds):
    try:
        result = fn(ds)
    except BaseException as e:
        return type(e), str(e)
    return None, result


# Whether two outcomes agree.  Datasets and Arrow capsules compare only by
# identity: a Dataset by what it holds, two capsules always agree.
def comparable(value):
    if isinstance(value, shanxi.Dataset):
        return value.source, value.to_dicts()
    if type(value).__name__ == "PyCapsule":
        return "capsule"
    if isinstance(value, shanxi.Partial):
        return "partial", value.to_bytes()
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return "frame", list(value.columns), [str(t) for t in value.dtypes], value.to_csv()
    if isinstance(value, dict):  # _columns(): buffers by content (NaN != NaN)
        return {k: bytes(v) if isinstance(v, memoryview) else v for k, v in value.items()}
    return value


def same(a, b):
    return a[0] is b[0] and comparable(a[1]) == comparable(b[1])


# Bound once: with every allocation failing, the hooks must come off
# through calls that allocate nothing.
set_nomemory = _testcapi.set_nomemory
remove_mem_hooks = _testcapi.remove_mem_hooks


def outcome_without_memory(fn, ds, start, stop):
    set_nomemory(start, stop)
    try:
        result = fn(ds)
    except BaseException as e:
        remove_mem_hooks()
        return e, None
    finally:
        remove_mem_hooks()
    return None, result


# Where the one failing allocation is the exception of an error being
# raised, the interpreter itself gives an odd exception ({}[1] does it too),
# which says nothing about the code under test: from 3.11 on this
# SystemError, before 3.11 the error's own type without its message (the
# message could not be made).  Every other SystemError counts.
OWN_ERROR = "error return without exception set"


def interpreter_limitation(e, stop, normal):
    if stop == 0 or e is None:
        return False
    if sys.version_info >= (3, 11):
        return type(e) is SystemError and str(e) == OWN_ERROR
    return type(e) is normal[0] and str(e) == ""


bad = []
for name, (text, fn) in [*((n, (DATA, f)) for n, f in CALLS.items()),
                         *((n, (ACCENTS, f)) for n, f in ACCENT_CALLS.items())]:
    normal = outcome(fn, shanxi.loads(text))
    for n in range(1, STEPS + 1):
        for stop in (n + 1, 0):
            e, result = outcome_without_memory(fn, shanxi.loads(text), n, stop)
            if type(e) is MemoryError or interpreter_limitation(e, stop, normal):
                continue
            got = (None, result) if e is None else (type(e), str(e))
            if not same(got, normal):
                # an error the call does not give, or its normal error with
                # another message (a MemoryError swallowed on the way)
                bad.append([name, n, stop, repr(got)[:300], repr(normal)[:300]])
    # and after all that, the call still works as before
    if not same(outcome(fn, shanxi.loads(text)), normal):
        bad.append([name, 0, 0, "changed", ""])
print(json.dumps(bad))
"""


def test_allocation_failures_raise_memory_error_only(tmp_path):
    script = tmp_path / "nomemory.py"
    script.write_text(SCRIPT, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(DATA_CSV), str(STEPS)],
                          capture_output=True, text=True, timeout=900, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    bad = json.loads(proc.stdout.strip().splitlines()[-1])
    assert bad == [], "\n".join(map(repr, bad[:40]))


# The project suggestions read the UTF-8 of every candidate word; a word
# with accents has it made then, and a failure there is a MemoryError, not a
# KeyError without the suggestion.  A script of its own, kept small: what
# else the process did before shifts where that allocation falls.
SUGGESTIONS = r"""
import sys
import _testcapi
import shanxi

TEXT = ("project,project_key,project_title,metric,value,unit,as_of\n"
        "1,éclairage,Éclairage public des villages,points,5,points,2022-12-31\n"
        "2,écoles,Écoles rurales,écoles_ouvertes,3,écoles,2022-12-31\n").encode("utf-8")
set_nomemory = _testcapi.set_nomemory
remove_mem_hooks = _testcapi.remove_mem_hooks


def attempt(ds, n):
    set_nomemory(n, n + 1)
    try:
        ds.project("ecoles")
    except BaseException as e:
        remove_mem_hooks()
        return e
    finally:
        remove_mem_hooks()
    return None


for n in range(1, int(sys.argv[1])):
    e = attempt(shanxi.loads(TEXT), n)
    # (a KeyError without a message: before 3.11, the message was what
    # could not be made; see interpreter_limitation above)
    if type(e) is KeyError and e.args and "did you mean 'écoles'?" not in str(e):
        print("step %d: %r" % (n, e))
"""


def test_allocation_failures_in_project_suggestions(tmp_path):
    script = tmp_path / "suggestions.py"
    script.write_text(SUGGESTIONS, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(3 * STEPS)], capture_output=True,
                          text=True, timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == ""
