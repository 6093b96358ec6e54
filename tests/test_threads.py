"""Threads and interpreters.

* Eight threads hammering lookups, aggregations, loads and Arrow exports get
  exactly what one thread gets.  loads() and load() parse without the GIL,
  so concurrent parses of different texts really run at once.
* The first access to a dataset's lazily made objects, raced by eight
  threads, still hands every thread the same object.
* Grouped aggregations raced on a fresh dataset, whose kept group keys the
  threads make and replace, give what one thread gets.
* In a subinterpreter (3.12+: one sharing the main GIL, and one with its own
  GIL), shanxi imports and works, with its own types and data: module state
  is per interpreter.
* On a free-threaded build, importing shanxi turns the GIL back on: the module
  does not declare Py_mod_gil, since its lazy caches are filled without locks.
"""
import contextlib
import datetime
import gc
import math
import os
import random
import sys
import sysconfig
import textwrap
import threading
import time

import panelgen
import pytest

import shanxi

THREADS = 8
# Rounds per thread: 40 at scale (SHANXI_SLOW=1, as CI runs), 10 by default.
ITERATIONS = int(os.environ.get("SHANXI_THREAD_ITERATIONS",
                                "40" if os.environ.get("SHANXI_SLOW") == "1" else "10"))


# ------------------------------------------------------------------ data

def panel_text(nrows, seed):
    """A panel in the data/ format whose figures depend on seed, with
    quoted fields, several units, regions and dates."""
    units = ("CNY", "people", "percent")
    figures = []
    for k in range(40):
        p, unit = 1 + k % 6, units[k % 3]
        figures.append(panelgen.Figure(
            p, "m%d" % k, unit, 10 ** 7, "cents" if unit == "percent" else "int",
            project_key="p%d" % p, project_title="Project %d, part %d" % (p, seed),
            category="cat%d" % (p % 3), label='a "label"'))
    regions = ["r%d" % r for r in range(30)]
    blocks = -(-nrows // (len(figures) * len(regions)))
    return panelgen.panel_text(
        nrows, figures=figures, regions=regions, seed=seed,
        dates=[datetime.date(2022, 1 + d % 12, 1 + 11 * d % 28) for d in range(blocks)],
        columns=["project", "project_key", "project_title", "category", "metric", "label",
                 "value", "unit", "as_of", "region"])


def broken(text, at_line):
    """text with a quoting error on line at_line."""
    lines = text.splitlines(True)
    lines[at_line - 1] = lines[at_line - 1].replace(",m", ',"m', 1)
    return "".join(lines)


TEXTS = [panel_text(2000 + 1500 * k, seed=k) for k in range(THREADS - 2)]
TEXTS.append(broken(panel_text(3000, seed=99), at_line=1234))
TEXTS.append("project,metric,value,unit,as_of\n1,x,1e400,CNY,2022-01-01\n")
PANEL = shanxi.loads(panel_text(20_000, seed=1234))


def plain(x):
    """A comparable plain value of any result."""
    if isinstance(x, shanxi.Metric):
        return ("Metric", x.key, x.project, x.value, x.unit, x.as_of, x.period_start, x.label,
                x.part_of, x.region, x.category)
    if isinstance(x, shanxi.Project):
        return ("Project", x.number, x.key, x.title, x.category, x.as_of,
                tuple(m.key for m in x.metrics))
    if isinstance(x, (tuple, list)):
        return tuple(plain(i) for i in x)
    if isinstance(x, dict):
        return tuple((plain(k), plain(v)) for k, v in x.items())
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return x


def outcome(fn, *args):
    try:
        return ("ok", plain(fn(*args)))
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc),
                getattr(exc, "line", None), getattr(exc, "column", None))


def summary(ds):
    """What a loaded dataset holds, in a few numbers."""
    return (len(ds), plain(ds.projects()), ds.aggregate("count", by="unit"),
            ds.aggregate("sum", by="unit"), ds.aggregate("mean", by="month", unit="percent"),
            ds.aggregate("max", by="region", unit="CNY"), ds.total("people", project=1),
            len(ds.metrics(metric="m7")), plain(ds.search("part")[:3]))


def loads_summary(text):
    return outcome(lambda: summary(shanxi.loads(text)))


def load_summary(path):
    return outcome(lambda: summary(shanxi.load(path)))


OPERATIONS = {
    "projects": lambda: shanxi.projects(),
    "project(n)": lambda: [shanxi.project(n) for n in range(1, 13)],
    "project(word)": lambda: [shanxi.project(w) for w in ("elevator", "lunch", "legal")],
    "project(unknown)": lambda: shanxi.project("elevatr"),
    "metric": lambda: [shanxi.metric(m.key) for m in shanxi.data.metrics()],
    "metric(unknown)": lambda: shanxi.metric("elevators_complete"),
    "metrics": lambda: shanxi.metrics(),
    "metrics(filters)": lambda: shanxi.metrics(category="health", since="2022-12-01",
                                               until=datetime.date(2022, 12, 31)),
    "search": lambda: shanxi.search("free health"),
    "aggregate(by unit)": lambda: shanxi.aggregate("sum", by="unit"),
    "aggregate(by as_of)": lambda: shanxi.aggregate("count", by="as_of"),
    "aggregate(mixed units)": lambda: shanxi.aggregate(),
    "aggregate(mean)": lambda: shanxi.aggregate("mean", unit="percent"),
    "total": lambda: shanxi.total("CNY"),
    "share": lambda: shanxi.share("elevators_completed"),
    "to_dicts": lambda: shanxi.to_dicts(),
    "panel aggregate": lambda: PANEL.aggregate("sum", by="region", unit="CNY"),
    "panel aggregate month": lambda: PANEL.aggregate("mean", by="month", unit="percent"),
    "panel metrics": lambda: len(PANEL.metrics(metric="m3", region="r7")),
    "panel metric": lambda: PANEL.metric("m3"),
    "panel project": lambda: PANEL.project("p2").metrics[:5],
    "panel search": lambda: PANEL.search("part 1234")[:5],
    "panel min": lambda: PANEL.aggregate("min", by="project", unit="people"),
}
SMALL_TEXTS = [panel_text(50 + 10 * k, seed=100 + k) for k in range(3)]
SMALL_TEXTS.append(broken(panel_text(50, seed=200), at_line=17))
for _k, _text in enumerate(SMALL_TEXTS):
    OPERATIONS["loads text %d" % _k] = (lambda t: lambda: loads_summary(t))(_text)
    OPERATIONS["loads bytes %d" % _k] = (lambda t: lambda: loads_summary(t.encode()))(_text)


def arrow_operations():
    """Arrow exports through pyarrow, each compared with the table one thread
    made (as a bool, so a wrong table is a wrong result).  None without
    pyarrow."""
    try:
        import pyarrow as pa
    except ImportError:
        return {}
    ops = {}
    sources = {"data": lambda: shanxi.data, "panel": lambda: PANEL}
    for k, text in enumerate(TEXTS[:3]):
        sources["loads %d" % k] = (lambda t: lambda: shanxi.loads(t))(text)
    for name, source in sources.items():
        expected = pa.table(source())
        ops["arrow " + name] = (lambda s, e: lambda: pa.table(s()).equals(e))(source, expected)
    return ops


# ------------------------------------------------------------------ running

class FastSwitching:
    """Make the interpreter switch threads as often as it can."""

    def __enter__(self):
        self.interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        return self

    def __exit__(self, *exc):
        sys.setswitchinterval(self.interval)


def run_threads(work, threads=THREADS, slow_collections=False):
    """Run work(0) .. work(threads - 1) on their own threads, switching
    between threads as often as possible (and, if asked, with collections
    that let other threads run in the middle), and wait for all of them."""
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    with FastSwitching(), (SlowCollections() if slow_collections else contextlib.nullcontext()):
        for w in workers:
            w.start()
        for w in workers:
            w.join()


def hammer(operations, iterations=ITERATIONS, threads=THREADS):
    """Each thread runs every operation `iterations` times in its own random
    order; every result must equal the single-threaded one."""
    expected = {name: outcome(fn) for name, fn in operations.items()}
    names = sorted(operations)
    failures = []
    barrier = threading.Barrier(threads)

    def work(seed):
        rng = random.Random(seed)
        order = names * iterations
        rng.shuffle(order)
        barrier.wait()
        for name in order:
            got = outcome(operations[name])
            if got != expected[name]:
                failures.append((name, got, expected[name]))
                return

    run_threads(work, threads)
    assert not failures, "threads disagree with one thread: %r" % (failures[:3],)
    return expected


def test_expected_results_are_sane():
    assert outcome(OPERATIONS["total"]) == ("ok", 47_230_000)
    assert outcome(OPERATIONS["project(unknown)"])[:2] == ("raised", "KeyError")
    assert outcome(OPERATIONS["aggregate(mixed units)"])[:2] == ("raised", "ValueError")
    bad = loads_summary(TEXTS[-2])
    assert bad[:2] == ("raised", "ParseError") and bad[3] == 1234, bad
    assert loads_summary(TEXTS[-1])[:2] == ("raised", "ParseError")
    assert loads_summary(TEXTS[0])[0] == "ok"
    bad = loads_summary(SMALL_TEXTS[3])
    assert bad[:2] == ("raised", "ParseError") and bad[3] == 17, bad


def test_threads_agree_with_one_thread():
    hammer(OPERATIONS)


@pytest.mark.slow
def test_concurrent_loads_of_different_texts():
    """loads() parses without the GIL: eight parses of eight different texts
    at once, each must give its own dataset."""
    ops = {"loads %d" % k: (lambda t: lambda: loads_summary(t))(t) for k, t in enumerate(TEXTS)}
    hammer(ops, iterations=max(3, ITERATIONS // 10))


@pytest.mark.slow
def test_concurrent_load_of_different_files(tmp_path):
    ops = {}
    for k, text in enumerate(TEXTS):
        path = tmp_path / ("panel%d.csv" % k)
        path.write_text(text, encoding="utf-8")
        ops["load %d" % k] = (lambda p: lambda: load_summary(p))(path)
    ops["load missing"] = lambda: load_summary(tmp_path / "missing.csv")
    hammer(ops, iterations=max(3, ITERATIONS // 10))


def test_concurrent_arrow_export():
    ops = arrow_operations()

    def capsules():
        for ds in (shanxi.data, PANEL):
            capsule = ds.__arrow_c_stream__()
            del capsule
        return "done"

    ops["capsules"] = capsules
    hammer(ops, iterations=max(3, ITERATIONS // 10))


def test_arrow_stream_outlives_dataset_on_another_thread():
    """A stream made on one thread and read on another after the dataset is
    gone: the stream holds the table, not the Python object."""
    pa = pytest.importorskip("pyarrow")
    expected = pa.table(shanxi.loads(TEXTS[0])).to_pydict()
    readers = [pa.RecordBatchReader.from_stream(shanxi.loads(TEXTS[0])) for _ in range(THREADS)]
    gc.collect()
    results = [None] * THREADS

    def read(i):
        results[i] = readers[i].read_all().to_pydict()

    workers = [threading.Thread(target=read, args=(i,)) for i in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert all(r == expected for r in results)


# ------------------------------------------------------------------ first access

class SlowCollections:
    """Every garbage collection gives the GIL away for a moment.  Before
    3.12 a collection can start inside any allocation of a tracked object, so
    this makes a thread switch land in the middle of the C code that fills a
    lazy cache: the window in which two threads could each make the object
    the cache should make once."""

    def _pause(self, phase, info):
        if phase == "start":
            time.sleep(0.0002)

    def __enter__(self):
        self.thresholds = gc.get_threshold()
        gc.callbacks.append(self._pause)
        gc.set_threshold(1, 1, 1)
        return self

    def __exit__(self, *exc):
        gc.set_threshold(*self.thresholds)
        gc.callbacks.remove(self._pause)


FIRST_ACCESSES = {
    "projects()": lambda ds: ds.projects(),
    "project(7)": lambda ds: ds.project(7),
    "project(word)": lambda ds: ds.project("elevator"),
    "metrics()": lambda ds: ds.metrics(),
    "metric": lambda ds: ds.metric("elevators_completed"),
    "project(7).metrics": lambda ds: ds.project(7).metrics,
}


@pytest.mark.parametrize("access", sorted(FIRST_ACCESSES))
def test_racing_first_access_gives_one_object(access):
    """Lookups return the same object each time, also when eight threads make
    the first lookup of a fresh dataset at once."""
    fn = FIRST_ACCESSES[access]
    text = open_data_text()
    for trial in range(20):
        ds = shanxi.loads(text)
        results = [None] * THREADS
        barrier = threading.Barrier(THREADS)

        def work(i):
            barrier.wait()
            results[i] = fn(ds)

        run_threads(work, slow_collections=True)
        later = fn(ds)
        assert all(r is later for r in results), (
            "trial %d: %d different objects for %s" % (trial, len({id(r) for r in results}),
                                                        access))


GROUPED_CALLS = [(func, by, filters)
                 for by in ("project", "metric", "category", "unit", "region", "as_of", "month")
                 for func in ("count", "sum")
                 for filters in ((), (("unit", "people"),), (("since", "2022-10-01"),))]


def test_racing_grouped_aggregations_on_a_fresh_dataset():
    """A grouped dict starts from a copy of the keys the Dataset keeps per
    grouping, and a larger result replaces them: eight threads asking for
    every grouping under different filters, with thread switches inside the
    C code, each get what one thread gets."""
    text = open_data_text()

    def run(ds, call):
        func, by, filters = call
        return outcome(lambda: ds.aggregate(func, by=by, **dict(filters)))

    expected = {call: run(shanxi.loads(text), call) for call in GROUPED_CALLS}
    for trial in range(4):
        ds = shanxi.loads(text)
        failures = []
        barrier = threading.Barrier(THREADS)

        def work(i):
            order = list(GROUPED_CALLS)
            random.Random(trial * THREADS + i).shuffle(order)
            barrier.wait()
            for call in order:
                got = run(ds, call)
                if got != expected[call]:
                    failures.append((call, got, expected[call]))

        run_threads(work, slow_collections=True)
        assert not failures, "trial %d: %r" % (trial, failures[:3])


def open_data_text():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "data", "shanxi_2022.csv")
    with open(path, encoding="utf-8") as f:
        return f.read()


# ------------------------------------------------------------------ subinterpreters

class SubinterpreterFailed(AssertionError):
    pass


def run_in_subinterpreter(code, isolated):
    """Run code in a new interpreter (its own GIL when isolated) and destroy
    it; SubinterpreterFailed with the traceback if the code raised."""
    code = textwrap.dedent(code)
    if sys.version_info >= (3, 13):
        try:
            import _interpreters as interpreters
        except ImportError:
            pytest.skip("no _interpreters module")
        iid = interpreters.create("isolated" if isolated else "legacy")
        try:
            error = interpreters.run_string(iid, code)
        finally:
            interpreters.destroy(iid)
        if error is not None:
            raise SubinterpreterFailed(getattr(error, "errdisplay", None)
                                       or getattr(error, "formatted", None) or repr(error))
        return
    try:
        import _xxsubinterpreters as interpreters
    except ImportError:
        pytest.skip("no _xxsubinterpreters module")
    if sys.version_info >= (3, 12):
        iid = interpreters.create(isolated=isolated)
    elif isolated:
        pytest.skip("interpreters with their own GIL need Python 3.12+")
    else:
        iid = interpreters.create()
    try:
        interpreters.run_string(iid, code)
    except interpreters.RunFailedError as exc:
        raise SubinterpreterFailed(str(exc)) from None
    finally:
        interpreters.destroy(iid)


def subinterpreter_checks():
    """Code for a subinterpreter: import shanxi, check it against what this
    (the main) interpreter computed, and check that it got its own module
    state: its own types, data and exception class."""
    import shanxi._shanxi as ext
    small = "project,metric,value,unit,as_of\n1,a,5,CNY,2022-01-01\n2,b,7,CNY,2022-02-01\n"
    return """
        import datetime, pickle, sys
        import shanxi
        import shanxi._shanxi as ext
        main_ids = {main_ids!r}
        for name, main_id in main_ids.items():
            obj = ext if name == "module" else getattr(ext, name)
            assert id(obj) != main_id, name + " is shared with the main interpreter"
        assert shanxi.total("CNY") == {total!r}
        assert shanxi.aggregate("count", by="category") == {by_category!r}
        assert shanxi.aggregate("sum", by="unit") == {by_unit!r}
        assert shanxi.project(7) is shanxi.project("elevator")
        assert shanxi.project(7).title == {title!r}
        m = shanxi.metric("elevators_completed")
        assert m.value == 519 and m.as_of == datetime.date(2022, 12, 31)
        assert type(m) is shanxi.Metric and type(m).__module__ == "shanxi"
        assert pickle.loads(pickle.dumps(m)) == m
        assert pickle.loads(pickle.dumps(shanxi.data)) is shanxi.data
        assert round(shanxi.share("elevators_completed"), 4) == 0.8097
        ds = shanxi.loads({small!r})
        assert ds.total("CNY") == 12 and len(ds.projects()) == 2
        try:
            shanxi.loads("project,metric,value,unit,as_of\\n1,\\"x,1,CNY,2022-01-01\\n")
        except shanxi.ParseError as e:
            assert e.line == 2 and isinstance(e, ValueError)
        else:
            raise AssertionError("no ParseError")
        try:
            shanxi.project("elevatr")
        except KeyError:
            pass
        else:
            raise AssertionError("no KeyError")
        capsule = ds.__arrow_c_stream__()
        del capsule
        assert "pandas" not in sys.modules and "numpy" not in sys.modules
    """.format(
        main_ids={"module": id(ext), "Dataset": id(ext.Dataset), "Metric": id(ext.Metric),
                  "Project": id(ext.Project), "ParseError": id(ext.ParseError),
                  "data": id(ext.data)},
        total=shanxi.total("CNY"),
        by_category=shanxi.aggregate("count", by="category"),
        by_unit=shanxi.aggregate("sum", by="unit"),
        title=shanxi.project(7).title,
        small=small,
    )


def main_interpreter_still_works():
    assert shanxi.total("CNY") == 47_230_000
    assert shanxi.project(7) is shanxi.project("elevator")
    assert type(shanxi.metric("elevators_completed")) is shanxi.Metric
    assert shanxi.loads("project,metric,value,unit,as_of\n1,a,5,CNY,2022-01-01\n").total("CNY") == 5


def test_subinterpreter_sharing_the_gil():
    run_in_subinterpreter(subinterpreter_checks(), isolated=False)
    main_interpreter_still_works()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="own-GIL interpreters are 3.12+")
def test_subinterpreter_with_its_own_gil():
    """The module declares Py_MOD_PER_INTERPRETER_GIL_SUPPORTED: an isolated
    interpreter (own GIL, own allocator, strict extension checks) imports it."""
    run_in_subinterpreter(subinterpreter_checks(), isolated=True)
    main_interpreter_still_works()


def test_subinterpreters_come_and_go():
    """Creating and destroying interpreters that import shanxi: each import
    runs the module's exec, each destroy its clear and free."""
    code = "import shanxi\nassert shanxi.total('CNY') == 47230000\n"
    for i in range(8):
        run_in_subinterpreter(code, isolated=sys.version_info >= (3, 12) and i % 2 == 0)
    main_interpreter_still_works()


# Not slow: what it checks depends on the interpreter, and CI runs the quick
# suite on every Python.
@pytest.mark.skipif(sys.version_info < (3, 12), reason="own-GIL interpreters are 3.12+")
def test_own_gil_subinterpreters_in_parallel():
    """Several interpreters with their own GIL parse and aggregate at the same
    time, truly in parallel: nothing process-wide may be shared unsafely."""
    text = panel_text(5000, seed=7)
    expected = summary(shanxi.loads(text))
    code = """
        import shanxi
        text = {text!r}
        expected = {expected!r}
        for _ in range(15):
            ds = shanxi.loads(text)
            got = (len(ds), None, ds.aggregate("count", by="unit"), ds.aggregate("sum", by="unit"),
                   ds.aggregate("mean", by="month", unit="percent"),
                   ds.aggregate("max", by="region", unit="CNY"), ds.total("people", project=1),
                   len(ds.metrics(metric="m7")), None)
            assert got == expected, (got, expected)
            capsule = ds.__arrow_c_stream__()
            del capsule
    """.format(text=text, expected=(expected[0], None) + expected[2:8] + (None,))
    errors = []

    def run():
        try:
            run_in_subinterpreter(code, isolated=True)
        except BaseException as exc:   # pytest.skip too: report it below
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors[0]
    main_interpreter_still_works()


# ------------------------------------------------------------------ free threading

@pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED"),
                    reason="not a free-threaded build")
def test_free_threaded_build_keeps_the_gil_for_shanxi():
    """shanxi does not declare Py_mod_gil = Py_MOD_GIL_NOT_USED (its lazy
    caches are filled without locks), so importing it enables the GIL."""
    import subprocess
    code = "import sys, shanxi; print(sys._is_gil_enabled())"
    out = subprocess.run([sys.executable, "-X", "gil=0", "-W", "ignore", "-c", code],
                         capture_output=True, text=True, check=True).stdout.strip()
    # -X gil=0 forces it off whatever the modules say; without it, importing
    # a module that does not declare Py_mod_gil turns it on.
    assert out == "False"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "True"
