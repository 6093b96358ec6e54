"""Aggregating files without building their table: shanxi.aggregate_files and
partial_files parse each file in chunks, reduce each chunk to an exact partial
and drop it.  Whatever the chunk size (down to a few bytes, so records span
chunks and quoted fields are cut), the answer and every error are those of
load(paths).aggregate(...)."""
import datetime
import gzip
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading

import panelgen
import pytest
from conftest import outcome, same
from hypothesis import given, settings
from hypothesis import strategies as st

import shanxi

FUNCS = ["sum", "count", "mean", "min", "max"]
BYS = [None, "project", "metric", "category", "unit", "region", "as_of", "month",
       ("region", "month"), ("unit",), ("month", "unit", "project"), ("category", "region")]
HEADER = "project,metric,value,unit,as_of,region,category,project_key\n"


def check(paths, chunk_sizes, funcs=FUNCS, bys=BYS, filters=({},), **options):
    """aggregate_files equals load().aggregate for every combination."""
    whole = shanxi.load(paths, **options)
    for flt in filters:
        for func in funcs:
            for by in bys:
                want = outcome(lambda: whole.aggregate(func, by=by, **flt))
                for size in chunk_sizes:
                    got = outcome(lambda: shanxi.aggregate_files(
                        paths, func, by=by, chunk_size=size, **flt, **options))
                    assert same(got, want), (func, by, flt, size, got, want)


def panel_figures():
    """The shipped figures with every optional column, a few kinds of values."""
    kinds = ["int", "percent", "cents", "eighths", "exp", "digits"]
    out = []
    for i, fig in enumerate(panelgen.template()[:12]):
        out.append(fig._replace(kind=kinds[i % len(kinds)], project_key="key%d" % fig.project,
                                project_title="Project, number %d" % fig.project,
                                category="cat%d" % (fig.project % 3),
                                label='a "label", with\na line break' if i % 5 == 0 else None))
    return out


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    path = tmp_path_factory.mktemp("bounded") / "panel.csv"
    panelgen.write_panel(path, 1500, figures=panel_figures(), columns=panelgen.COLUMNS, seed=7)
    return str(path)


def test_every_func_and_key_equals_load(panel):
    # chunks of 1 KiB (about 10 rows: quoted fields with line breaks cut
    # everywhere) and one chunk for the whole
    check(panel, [1024, 4096, 1 << 30], filters=({}, {"unit": "people"}))


def test_filters_equal_load(panel):
    filters = [{"unit": "CNY"}, {"region": "Taiyuan-01"}, {"category": "cat1"},
               {"project": "key7"}, {"project": 3, "since": "2015-01-05"},
               {"metric": "trained_people", "until": datetime.date(2015, 1, 3)},
               {"region": "Taiyuan"}, {"unit": "nothing"}, {"project": "nope"}]
    check(panel, [700], bys=[None, "region", ("month", "unit")], filters=filters)


def test_tiny_chunks_and_long_records(tmp_path):
    # chunks of one byte, and records far longer than a chunk
    long = '"' + 'x, ""y""\n' * 300 + '"'
    text = "project,metric,value,unit,as_of,label\n" + "".join(
        "%d,m%d,%s,CNY,2022-0%d-01,%s\r\n" % (i % 3 + 1, i % 2, v, i % 9 + 1, long if i % 4 else "")
        for i, v in enumerate(["1", "5", "5.0", "-0.0", "0", "1e16", "-1e16", "0.5", "7"]))
    path = tmp_path / "long.csv"
    path.write_text(text, encoding="utf-8")
    check(str(path), [1, 7, 100, 5000], bys=[None, "project", "metric", ("project", "month")])


def test_many_files_directory_glob_and_compressed(tmp_path, panel):
    text = open(panel, encoding="utf-8").read()
    lines = text.splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    parts = [body[:400], body[400:900], body[900:]]
    folder = tmp_path / "many"
    folder.mkdir()
    names = []
    for i, rows in enumerate(parts):
        name = folder / ("%d.csv" % i)
        if i == 1:  # one compressed file among them
            name = folder / "1.csv.gz"
            with gzip.open(name, "wt", encoding="utf-8", newline="") as f:
                f.write(header + "".join(rows))
        else:
            # (open, not write_text: its newline= is 3.10+)
            with open(name, "w", encoding="utf-8", newline="") as f:
                f.write(header + "".join(rows))
        names.append(str(name))
    bys = [None, "project", ("region", "month"), "category"]
    check(names, [900, 1 << 30], bys=bys)
    check(str(folder), [3000], funcs=["min", "max"], bys=bys)
    check(str(folder / "*.csv"), [3000], funcs=["sum"], bys=bys)
    # the files in order are the one file's rows
    assert same(shanxi.aggregate_files(names, "max", by=("region", "unit"), chunk_size=500),
                shanxi.loads(text).aggregate("max", by=("region", "unit")))


def test_encoding_and_file_object(tmp_path):
    text = HEADER + "1,gdp,1.5,CNY,2022-12-31,大同,c,k\n2,gdp,2,CNY,2022-11-30,太原,,\n" * 50
    path = tmp_path / "gb.csv"
    path.write_bytes(text.encode("gb18030"))
    check(str(path), [64], funcs=["sum", "max"], bys=[None, "region"], encoding="gb18030")
    with open(path, "rb") as f:
        got = shanxi.aggregate_files(f, "count", by="region", encoding="gb18030", chunk_size=50)
    assert got == shanxi.loads(text).aggregate("count", by="region")


def test_ties_follow_the_row_order(tmp_path):
    # equal extremes that differ in being an int or a float: the first row wins,
    # across chunks and across files
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEADER + "1,m,5,u,2022-01-01,,,\n1,m,-0.0,u,2022-01-01,,,\n" * 20)
    b.write_text(HEADER + "1,m,5.0,u,2022-01-01,,,\n1,m,0,u,2022-01-01,,,\n" * 20)
    for paths in ([str(a), str(b)], [str(b), str(a)], str(a), str(b)):
        for func in ("min", "max"):
            for size in (1, 30, 1 << 20):
                got = shanxi.aggregate_files(paths, func, chunk_size=size)
                assert same(got, shanxi.load(paths).aggregate(func)), (paths, func, size)


def test_a_category_given_late_and_a_project_named_late(tmp_path, monkeypatch):
    # rows leave the category and the key empty before later rows give them:
    # the result is still the whole table's (the files are read again)
    rows = ["%d,m,%d,u,2022-01-0%d,R%d,,\n" % (i % 3 + 1, i, i % 9 + 1, i % 2)
            for i in range(60)]
    rows += ["%d,m,1,u,2022-02-01,R0,cat%d,key%d\n" % (p, p % 2, p) for p in (1, 2, 3)]
    path = tmp_path / "late.csv"
    path.write_text(HEADER + "".join(rows))
    filters = [{}, {"category": "cat1"}, {"project": "key2"}, {"project": "key9"}]
    check(str(path), [40, 10000], bys=[None, "category", ("region", "category")],
          filters=filters)
    # the second reading happens when it must, and only then
    passes = []
    real = shanxi._bounded._run
    monkeypatch.setattr(shanxi._bounded, "_run", lambda *a: passes.append(a[-1]) or real(*a))
    for by, flt, size, want in [("category", {}, 40, 2), ("category", {}, 10000, 1),
                                ("region", {}, 40, 1), (None, {"project": "key2"}, 40, 2),
                                (None, {"project": 2}, 40, 1), (None, {"category": "cat0"}, 40, 2)]:
        passes.clear()
        shanxi.partial_files(str(path), "count", by=by, chunk_size=size, **flt)
        assert len(passes) == want, (by, flt, size)
        assert passes[-1] is None or isinstance(passes[-1], shanxi.Dataset)


def test_a_second_reading_of_a_file_object(tmp_path):
    # the same late category from a file object: a seekable one is read
    # again from where it was; one that cannot seek is a ValueError (over
    # 1 MiB of rows first: what Python reads comes a MiB at a time)
    rows = ["%d,m,%d,u,2022-01-0%d,R%d,,\n" % (i % 3 + 1, i, i % 9 + 1, i % 2)
            for i in range(60000)]
    rows += ["%d,m,1,u,2022-02-01,R0,cat%d,key%d\n" % (p, p % 2, p) for p in (1, 2, 3)]
    data = ("junk before\n" + HEADER + "".join(rows)).encode()
    expected = shanxi.loads(data[len("junk before\n"):]).aggregate("sum", by="category")
    f = io.BytesIO(data)
    f.readline()  # read from the header on, not from the start of the buffer
    got = shanxi.aggregate_files(f, "sum", by="category", chunk_size=40)
    assert same(got, expected)

    class Stream:
        def __init__(self, data):
            self.f = io.BytesIO(data)

        def read(self, n=-1):
            return self.f.read(n)

    with pytest.raises(ValueError, match="must be read twice .* cannot be read again"):
        shanxi.aggregate_files(Stream(data[len("junk before\n"):]), "sum", by="category",
                               chunk_size=40)
    # no second reading needed: a stream is fine
    assert same(shanxi.aggregate_files(Stream(data[len("junk before\n"):]), "sum", by="region",
                                       chunk_size=40),
                shanxi.loads(data[len("junk before\n"):]).aggregate("sum", by="region"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as w:
            w.write(data[len("junk before\n"):])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with pytest.raises(ValueError, match="fifo must be read twice"):
            shanxi.aggregate_files(str(fifo), "sum", by="category", chunk_size=40)
    finally:
        writer.join()


def test_a_file_without_the_category_column_takes_its_projects_category(tmp_path):
    # load() fills the category of b's rows from the project a gives one
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(HEADER + "".join("%d,m,%d,u,2022-01-0%d,R%d,cat%d,\n" % (p, p, p, p % 2, p % 2)
                                  for p in (1, 2)))
    b.write_text("project,metric,value,unit,as_of,region\n"
                 + "".join("%d,m,%d.5,u,2022-02-0%d,R%d\n" % (p, i, i % 9 + 1, i % 2)
                           for i in range(40) for p in (1, 2, 3)))
    filters = [{}, {"category": "cat1"}, {"category": "cat0"}]
    for paths in ([str(a), str(b)], [str(b), str(a)]):
        check(paths, [30, 10000], bys=[None, "category", ("region", "category")],
              filters=filters)


def test_a_metric_without_rows_in_a_chunk_is_not_found(tmp_path):
    # the chunk tables and the row-less whole know metrics they have no row of
    path = tmp_path / "m.csv"
    rows = "".join("1,b%d,2,u,2022-01-01,,,\n" % i for i in range(30))
    path.write_text(HEADER + "1,a,1,u,2022-01-01,,,\n" + rows)
    seen = []

    def on_chunk(ds, seq):
        seen.append(ds)
        for fn in (ds.metric, ds.share):
            if seq > 0:  # a later chunk: "a" is in its dictionary, without rows
                with pytest.raises(KeyError, match="no metric 'a'"):
                    fn("a")

    whole, _ = shanxi._shanxi._read_chunks([str(path)], False, on_chunk, 40)
    assert len(seen) > 1
    for fn in (whole.metric, whole.share):
        with pytest.raises(KeyError, match="no metric 'a'"):
            fn("a")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 3),
                          st.sampled_from(["1", "5", "5.0", "-0.0", "1e16", "-1e16", "0.1",
                                           "9007199254740993", "2.5"]),
                          st.sampled_from(["CNY", "people"]), st.integers(1, 12),
                          st.sampled_from(["", "Taiyuan", '"Da,tong"', "L\u00fcliang"]),
                          st.sampled_from(["", "c1", "c2"])), max_size=40),
       st.integers(1, 300), st.sampled_from(FUNCS), st.sampled_from(BYS),
       st.sampled_from([{}, {"unit": "CNY"}, {"region": "Taiyuan"}, {"category": "c1"}]))
def test_random_rows_any_chunk_size(tmp_path_factory, rows, size, func, by, flt):
    text = "project,metric,value,unit,as_of,region,category\n" + "".join(
        "%d,m%d,%s,%s,2022-%02d-01,%s,%s\n" % row for row in rows)
    path = tmp_path_factory.mktemp("h") / "p.csv"
    path.write_text(text, encoding="utf-8")
    want = outcome(lambda: shanxi.load(str(path)).aggregate(func, by=by, **flt))
    got = outcome(lambda: shanxi.aggregate_files(str(path), func, by=by, chunk_size=size, **flt))
    assert same(got, want), (got, want)


# ------------------------------------------------------------------ errors


def errors_equal(path, size, **kw):
    with pytest.raises(Exception) as loaded:
        shanxi.load(path, **kw.get("load", {})).aggregate("sum", by="region")
    with pytest.raises(Exception) as chunked:
        shanxi.aggregate_files(path, "sum", by="region", chunk_size=size, **kw.get("load", {}))
    assert type(chunked.value) is type(loaded.value)
    assert str(chunked.value) == str(loaded.value)
    if isinstance(loaded.value, shanxi.ParseError):
        e, f = chunked.value, loaded.value
        assert (e.source, e.line, e.column, e.reason) == (f.source, f.line, f.column, f.reason)
    return chunked.value


GOOD = "1,m,2,CNY,2022-01-01,R1,c,k1\n"


@pytest.mark.parametrize("bad, where", [
    ("1,m,12a,CNY,2022-01-01,R1,c,k1\n", "value"),
    ("1,m,2,CNY,2022-13-01,R1,c,k1\n", "as_of"),
    ("1,m,2,CNY,2022-01-01,R1,c,k2\n", "project_key"),   # project 1 had k1
    ("2,m,2,CNY,2022-01-01,R1,c,k1\n", "owner"),         # k1 is project 1's
    ("1,m,2,CNY,2022-01-01,R1,d,k1\n", "category"),
    ('1,m,2,CNY,2022-01-01,"R1\n', "quote"),
    ("1,m,2,CNY\n", "fields"),
])
def test_parse_errors_at_the_same_place(tmp_path, bad, where):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + GOOD * 300 + bad + GOOD * 5)
    for size in (1, 50, 1000, 1 << 20):
        e = errors_equal(str(path), size)
        assert isinstance(e, shanxi.ParseError) and e.line == 302, (where, e)


def test_part_of_and_conflicts_across_files(tmp_path):
    header = "project,metric,value,unit,as_of,part_of,project_key\n"
    one = tmp_path / "1.csv"
    one.write_text(header + "1,a,1,u,2022-01-01,,k1\n" * 30 + "1,b,1,u,2022-01-01,zz,k1\n")
    errors_equal(str(one), 40)
    two, three = tmp_path / "2.csv", tmp_path / "3.csv"
    two.write_text(header + "1,a,1,u,2022-01-01,,k1\n" * 30)
    three.write_text(header + "2,a,1,u,2022-01-01,,k2\n" * 30 + "1,a,1,u,2022-01-01,,k9\n")
    e = errors_equal([str(two), str(three)], 40)
    assert e.source == str(three)
    # a part_of naming a metric of another file is no error
    four = tmp_path / "4.csv"
    four.write_text(header + "1,c,1,u,2022-01-01,a,k1\n")
    assert shanxi.aggregate_files([str(two), str(four)], "count", chunk_size=10) == 31


def test_a_header_near_miss_warns_once_as_load_does(tmp_path):
    import warnings

    path = tmp_path / "w.csv"
    # a category given late: the file is read twice, the warning said once
    path.write_text("project,metric,value,unit,as_of,regoin,category\n"
                    + "1,a,1,u,2022-01-01,x,\n" * 20 + "1,a,1,u,2022-01-01,x,c\n")
    for call in (lambda: shanxi.load(str(path)).aggregate("count", by="category"),
                 lambda: shanxi.aggregate_files(str(path), "count", by="category", chunk_size=30)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert call() == {"c": 21}
        assert [(w.category, str(w.message)) for w in caught] == [
            (shanxi.ParseWarning, '%s: the header field "regoin" names no column and is '
                                  'ignored; did you mean "region"?' % path)]


def test_missing_file_and_bad_arguments(tmp_path):
    errors_equal(str(tmp_path / "none.csv"), 10)
    errors_equal([str(tmp_path / "none.csv")], 10)
    path = tmp_path / "p.csv"
    path.write_text(HEADER + GOOD)
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        shanxi.aggregate_files(str(path), chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        shanxi.aggregate_files(str(path), chunk_size=True)
    with pytest.raises(ValueError):
        shanxi.aggregate_files(str(path), "median")
    with pytest.raises(TypeError):
        shanxi.aggregate_files(3.5)
    with pytest.raises(ValueError, match="empty list"):
        shanxi.aggregate_files([])


@pytest.mark.parametrize("encoding", [5, b"utf-8"])
def test_an_encoding_not_a_str_is_a_type_error_as_in_load(tmp_path, encoding):
    path = tmp_path / "p.csv"
    path.write_text(HEADER + GOOD)
    with pytest.raises(TypeError) as want:
        shanxi.load(str(path), encoding=encoding)
    for fn in (shanxi.aggregate_files, shanxi.partial_files):
        with pytest.raises(TypeError) as got:
            fn(str(path), encoding=encoding)
        assert str(got.value) == str(want.value).replace("load()", fn.__name__ + "()")


def test_partial_files_merges_with_other_partials(tmp_path, panel):
    p = shanxi.partial_files(panel, "sum", by=("unit", "month"), chunk_size=2000)
    assert isinstance(p, shanxi.Partial)
    assert p.result() == shanxi.load(panel).aggregate("sum", by=("unit", "month"))
    extra = shanxi.loads(open(panel).read()).partial("sum", by=("unit", "month"), seq=1 << 40)
    # twice every figure: twice every exact sum, rounded once
    assert same(p.merge(extra).result(), {k: 2 * v for k, v in p.result().items()})


HUGE_CHUNK = textwrap.dedent("""
    import resource, sys, shanxi
    # 1 GiB of address space: room for load(), not for 2**31 rows reserved
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    for path in sys.argv[1:]:
        want = shanxi.load(path).aggregate("sum", by="region")
        for size in (2**40, 2**63, 2**64, 10**30):
            assert shanxi.aggregate_files(path, "sum", by="region", chunk_size=size) == want
    print("ok")
""")


@pytest.mark.skipif(sys.platform != "linux", reason="needs RLIMIT_AS as Linux keeps it")
@pytest.mark.skipif(bool(os.environ.get("SHANXI_SANITIZED")),
                    reason="ASan reserves terabytes of address space: no RLIMIT_AS fits it")
def test_a_chunk_larger_than_the_file_reserves_what_the_file_needs(tmp_path):
    # a plain file (its size known) and a compressed one (fed, its size unknown)
    plain, packed = tmp_path / "p.csv", tmp_path / "p.csv.gz"
    plain.write_text(HEADER + GOOD * 50)
    with gzip.open(packed, "wt", encoding="utf-8", newline="") as f:
        f.write(HEADER + GOOD * 50)
    out = subprocess.run([sys.executable, "-c", HUGE_CHUNK, str(plain), str(packed)],
                         capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_ctrl_c_stops_a_long_run(tmp_path):
    # a pipe whose writer keeps it open: only the signal can end the run
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer():
        with open(fifo, "wb") as f:
            f.write((HEADER + GOOD * 1000).encode())
            f.flush()
            stop.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []

    def interrupt(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(KeyboardInterrupt):
            shanxi.aggregate_files(str(fifo), chunk_size=100)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        stop.set()
        thread.join()
    assert seen == [signal.SIGALRM]


# ------------------------------------------------------------------ memory

PEAK = textwrap.dedent("""
    import sys, shanxi
    def rss(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    before = rss("VmHWM:")
    result = shanxi.aggregate_files(sys.argv[1], "sum", by=("region", "unit"),
                                    chunk_size=4 << 20)
    print(rss("VmHWM:") - before, len(result))
""")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_peak_memory_does_not_grow_with_the_file(tmp_path):
    growth = []
    for rows in (600_000, 2_400_000):          # about 36 MB and 145 MB
        path = tmp_path / ("%d.csv" % rows)
        panelgen.write_panel(path, rows)
        out = subprocess.run([sys.executable, "-c", PEAK, str(path)], capture_output=True,
                             text=True, check=True).stdout.split()
        growth.append(int(out[0]))
        path.unlink()
    small, large = growth
    # the 4x larger file: the same chunks, a few more groups
    assert large < small * 1.25 + (4 << 20), growth
