"""load() of many files as one dataset: a list or tuple of paths, a directory
or a glob pattern, parsed on a pool of threads and merged as one pass over
the files' rows one after another would read them."""
import bz2
import csv
import gzip
import io
import lzma
import os
import pathlib
import random
import threading

import panelgen
import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shanxi

REQUIRED = ("project", "metric", "value", "unit", "as_of")


def split_text(text, cuts, rng, drop_columns=True, shuffle=True):
    """The panel's rows cut into files at `cuts`, each with its own column
    order and (when drop_columns) without some optional columns; and the
    text of one file with every row, blank where a file lacked a column."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows = list(reader)
    bounds = [0] + sorted(cuts) + [len(rows)]
    files, whole_rows = [], []
    for lo, hi in zip(bounds, bounds[1:]):
        columns = [c for c in header if c in REQUIRED or not drop_columns or rng.random() < 0.7]
        if shuffle:
            rng.shuffle(columns)
        out = io.StringIO(newline="")
        w = csv.writer(out, lineterminator="\n")
        w.writerow(columns)
        index = [header.index(c) for c in columns]
        for r in rows[lo:hi]:
            w.writerow([r[i] for i in index])
            whole_rows.append([r[i] if c in columns else "" for i, c in enumerate(header)])
        files.append(out.getvalue())
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(whole_rows)
    return files, out.getvalue()


def write_files(directory, texts):
    paths = []
    for i, t in enumerate(texts):
        p = directory / ("part%03d.csv" % i)
        p.write_bytes(t.encode("utf-8"))
        paths.append(str(p))
    return paths


def outcome(call, *args, **kwargs):
    """What call gives, or the type of what it raises (whose message names
    the source, which differs)."""
    try:
        return call(*args, **kwargs)
    except (KeyError, ValueError) as e:
        return type(e)


def same_dataset(a, b):
    assert len(a) == len(b)
    assert a.to_dicts() == b.to_dicts()
    assert a.projects() == b.projects()
    for by in ("metric", "unit", "region", "project", "category", "as_of"):
        assert a.aggregate("count", by=by) == b.aggregate("count", by=by)
        for func in ("sum", "mean", "max"):
            assert outcome(a.aggregate, func, by=by, unit="CNY") == outcome(
                b.aggregate, func, by=by, unit="CNY")


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    nrows=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
    nfiles=st.integers(1, 7),
    all_columns=st.booleans(),
)
def test_random_panels_in_random_files_equal_one_pass(tmp_path_factory, nrows, seed, nfiles,
                                                      all_columns):
    rng = random.Random(seed)
    columns = panelgen.COLUMNS if all_columns else panelgen.SHORT_COLUMNS
    text = panelgen.panel_text(nrows, columns=columns, seed=seed)
    cuts = [rng.randint(0, nrows) for _ in range(nfiles - 1)]
    files, whole = split_text(text, cuts, rng)
    paths = write_files(tmp_path_factory.mktemp("panel"), files)
    many = shanxi.load(paths)
    same_dataset(many, shanxi.loads(whole))
    assert many.source == tuple(paths)


def test_row_order_is_file_order(tmp_path):
    text = panelgen.panel_text(300, columns=panelgen.COLUMNS)
    files, whole = split_text(text, [100, 200], random.Random(1), drop_columns=False,
                              shuffle=False)
    paths = write_files(tmp_path, files)
    same_dataset(shanxi.load(paths), shanxi.loads(text))
    # reversed files: their rows reversed in blocks, codes in that order
    back = shanxi.load(paths[::-1])
    expected = shanxi.loads(files[2] + "".join(f.split("\n", 1)[1] for f in files[1::-1]))
    same_dataset(back, expected)


def test_arrow_export_of_many_files(tmp_path):
    pa = pytest.importorskip("pyarrow")
    text = panelgen.panel_text(500, columns=panelgen.COLUMNS)
    files, whole = split_text(text, [0, 120, 499], random.Random(7))
    paths = write_files(tmp_path, files)
    many = shanxi.load(paths)
    table = pa.table(many)
    assert table.drop_columns([]).to_pylist() == pa.table(shanxi.loads(whole)).to_pylist()
    assert table.schema.metadata[b"shanxi.source"] == "\n".join(paths).encode()


def test_list_tuple_pathlike(tmp_path):
    text = panelgen.panel_text(90)
    files, _ = split_text(text, [30, 60], random.Random(2), drop_columns=False)
    paths = write_files(tmp_path, files)
    expected = shanxi.loads(text).to_dicts()
    for arg in (paths, tuple(paths), [pathlib.Path(p) for p in paths],
                [os.fsencode(p) for p in paths]):
        ds = shanxi.load(arg)
        assert ds.to_dicts() == expected
        assert ds.source == tuple(paths)
    one = shanxi.load([paths[0]])
    assert one.source == (paths[0],)
    assert repr(one).startswith("<shanxi.Dataset 1 file")  # the file count, not the path
    assert repr(shanxi.load(paths)) == "<shanxi.Dataset 3 files: 90 figures, %d projects>" % len(
        shanxi.loads(text).projects())


def test_directory_reads_its_csv_files_by_name(tmp_path):
    text = panelgen.panel_text(120)
    files, _ = split_text(text, [40, 80], random.Random(3), drop_columns=False)
    # written out of order, read by name
    for name, t in zip(["b.csv", "c.csv", "a.csv"], [files[1], files[2], files[0]]):
        (tmp_path / name).write_bytes(t.encode("utf-8"))
    (tmp_path / "notes.txt").write_text("not csv")
    (tmp_path / "sub.csv").mkdir()  # a directory named like a file is not read
    ds = shanxi.load(tmp_path)
    assert ds.source == tuple(str(tmp_path / n) for n in ("a.csv", "b.csv", "c.csv"))
    assert ds.to_dicts() == shanxi.loads(text).to_dicts()
    assert shanxi.load(str(tmp_path)).source == ds.source


COMPRESS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def test_compressed_files_in_a_list_a_glob_and_a_directory(tmp_path):
    # each file opened as load() opens one: decompressed by its magic bytes
    text = panelgen.panel_text(120)
    files, _ = split_text(text, [30, 60, 90], random.Random(5), drop_columns=False)
    names = ["a.csv", "b.csv.gz", "c.csv.bz2", "d.csv.xz"]
    for name, t in zip(names, files):
        ext = name.rsplit(".", 1)[1]
        data = t.encode("utf-8")
        (tmp_path / name).write_bytes(COMPRESS[ext](data) if ext in COMPRESS else data)
    (tmp_path / "notes.txt").write_text("not csv")
    (tmp_path / "other.gz").write_bytes(gzip.compress(b"not csv"))
    expected = shanxi.loads(text).to_dicts()
    paths = [str(tmp_path / n) for n in names]
    assert shanxi.load(paths).to_dicts() == expected
    ds = shanxi.load(tmp_path)  # *.csv and *.csv.gz/.bz2/.xz/.zst, by name
    assert ds.source == tuple(paths)
    assert ds.to_dicts() == expected
    ds = shanxi.load(str(tmp_path / "*.csv.*"))
    assert ds.source == tuple(paths[1:])
    assert ds.to_dicts() == shanxi.load(paths[1:]).to_dicts()
    assert shanxi.load([paths[1]]).to_dicts() == shanxi.loads(files[1]).to_dicts()


def test_a_bad_compressed_file_among_many_names_itself(tmp_path):
    good = tmp_path / "a.csv"
    good.write_text(panelgen.panel_text(3), encoding="utf-8")
    cut = tmp_path / "b.csv.gz"
    cut.write_bytes(gzip.compress(panelgen.panel_text(3).encode())[:-12])
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load([good, cut])
    assert info.value.source == str(cut)
    assert info.value.reason == (
        "the gzip data is truncated: it ends before its end-of-stream marker"
    )


def test_many_files_in_another_encoding(tmp_path):
    text = panelgen.panel_text(60)
    files, _ = split_text(text, [20, 40], random.Random(6), drop_columns=False)
    paths = []
    for i, t in enumerate(files):
        p = tmp_path / ("gb%d.csv" % i)
        data = t.encode("gb18030")
        p.write_bytes(gzip.compress(data) if i == 1 else data)
        paths.append(str(p))
    head = "project,metric,value,unit,as_of,region\n"
    (tmp_path / "gb9.csv").write_bytes((head + "1,gdp,1.5,CNY,2022-12-31,大同\n").encode("gb18030"))
    assert shanxi.load(paths, encoding="gb18030").to_dicts() == shanxi.loads(text).to_dicts()
    assert len(shanxi.load(tmp_path, encoding="gb18030")) == 61
    # without encoding=, the file that is not UTF-8 says what it looks like
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load([paths[0], str(tmp_path / "gb9.csv")])
    assert str(info.value) == (
        '%s:2:26: expected UTF-8 text, found the invalid byte B4; not UTF-8; if it is '
        'GB18030, pass encoding="gb18030"' % (tmp_path / "gb9.csv")
    )


def test_tilde_in_a_directory_a_glob_and_a_list(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "d").mkdir()
    text = panelgen.panel_text(10)
    (tmp_path / "d" / "a.csv").write_text(text, encoding="utf-8")
    want = (str(tmp_path / "d" / "a.csv"),)
    for arg in ("~/d", "~/d/*.csv", ["~/d/a.csv"], ("~/d/a.csv",), [pathlib.Path("~/d/a.csv")]):
        ds = shanxi.load(arg)
        assert ds.source == want, arg
        assert len(ds) == 10


def test_glob_pattern_sorted(tmp_path):
    text = panelgen.panel_text(60)
    files, _ = split_text(text, [20, 40], random.Random(4), drop_columns=False)
    for name, t in zip(["x2.csv", "x10.csv", "x1.csv"], [files[1], files[2], files[0]]):
        (tmp_path / name).write_bytes(t.encode("utf-8"))
    ds = shanxi.load(str(tmp_path / "x*.csv"))
    # sorted as strings: x1, x10, x2
    assert [os.path.basename(p) for p in ds.source] == ["x1.csv", "x10.csv", "x2.csv"]
    assert len(ds) == 60
    assert shanxi.load(str(tmp_path / "x?.csv")).source == (str(tmp_path / "x1.csv"),
                                                             str(tmp_path / "x2.csv"))


def test_a_glob_takes_files_only(tmp_path):
    # a directory the pattern also matches is not a file to read (it was an
    # IsADirectoryError), as a directory's listing takes files only
    (tmp_path / "a.csv").write_bytes(b"project,metric,value,unit,as_of\n1,x,1,p,2022-01-01\n")
    (tmp_path / "sub.csv").mkdir()
    ds = shanxi.load(str(tmp_path / "*"))
    assert ds.source == (str(tmp_path / "a.csv"),)
    (tmp_path / "a.csv").unlink()
    with pytest.raises(FileNotFoundError, match="no files match the pattern"):
        shanxi.load(str(tmp_path / "*"))


def test_a_file_whose_name_looks_like_a_glob_is_read_as_itself(tmp_path):
    path = tmp_path / "panel[1].csv"
    path.write_text(panelgen.panel_text(5), encoding="utf-8")
    ds = shanxi.load(str(path))
    assert ds.source == str(path) and len(ds) == 5


def test_empty_list_and_nothing_to_read(tmp_path):
    with pytest.raises(ValueError, match=r"^load\(\) of an empty list: no files to read$"):
        shanxi.load([])
    with pytest.raises(ValueError, match=r"empty tuple"):
        shanxi.load(())
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="the directory holds no .csv files") as info:
        shanxi.load(tmp_path)
    assert info.value.filename == str(tmp_path)
    with pytest.raises(FileNotFoundError, match="no files match the pattern") as info:
        shanxi.load(str(tmp_path / "*.csv"))
    assert info.value.filename == str(tmp_path / "*.csv")


def test_bad_items(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(panelgen.panel_text(3), encoding="utf-8")
    with pytest.raises(TypeError, match="item 1 is int"):
        shanxi.load([str(path), 7])
    with pytest.raises(FileNotFoundError) as info:
        shanxi.load([str(path), str(tmp_path / "missing.csv")])
    assert info.value.filename == str(tmp_path / "missing.csv")
    with pytest.raises(IsADirectoryError):
        shanxi.load([str(path), str(tmp_path)])


def test_error_names_the_file_line_and_column(tmp_path):
    head = "project,metric,value,unit,as_of,category\n"
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    c = tmp_path / "c.csv"
    a.write_text(head + "1,x,1,CNY,2022-01-01,health\n")
    b.write_text(head + "2,y,1,CNY,2022-01-01,\n2,y,oops,CNY,2022-01-01,\n")
    c.write_text(head + "1,z,1,CNY,2022-01-01,jobs\n")
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load([a, b, c])
    e = info.value
    assert (e.source, e.line, e.column) == (str(b), 3, 5)
    assert str(e).startswith("%s:3:5: " % b)
    # a disagreement with an earlier file is reported where one pass meets it
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load([a, c])
    e = info.value
    assert (e.source, e.line, e.column) == (str(c), 2, 22)
    assert e.reason == 'project 1 has category "health" on line 2 of %s, found "jobs"' % a


def test_part_of_may_name_a_metric_of_another_file(tmp_path):
    head = "project,metric,value,unit,as_of,part_of\n"
    (tmp_path / "a.csv").write_text(head + "1,whole,10,CNY,2022-01-01,\n")
    (tmp_path / "b.csv").write_text(head + "1,piece,4,CNY,2022-01-01,whole\n")
    ds = shanxi.load(tmp_path)
    assert ds.share("piece") == 0.4
    (tmp_path / "c.csv").write_text(head + "1,other,4,CNY,2022-01-01,nothing\n")
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(tmp_path)
    assert (info.value.source, info.value.line) == (str(tmp_path / "c.csv"), 2)
    assert "one of the files" in info.value.reason


def test_many_files_messages_name_them(tmp_path):
    text = panelgen.panel_text(10)
    paths = write_files(tmp_path, [text, text])
    ds = shanxi.load(paths)
    with pytest.raises(KeyError, match="2 files: "):
        ds.project(999)


def test_loads_from_threads_at_once(tmp_path):
    text = panelgen.panel_text(3000)
    files, _ = split_text(text, [1000, 2000], random.Random(5), drop_columns=False)
    paths = write_files(tmp_path, files)
    expected = shanxi.loads(text).to_dicts()
    results = []

    def work():
        results.append(shanxi.load(paths).to_dicts() == expected)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4


def test_html_says_how_many_files(tmp_path):
    paths = write_files(tmp_path, [panelgen.panel_text(4), panelgen.panel_text(4)])
    assert "<strong>2 files</strong>: 8 figures" in shanxi.load(paths)._repr_html_()


@settings(max_examples=examples(30), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nrows=st.integers(2, 200), seed=st.integers(0, 2**32 - 1), nfiles=st.integers(2, 6),
       data=st.data())
def test_an_error_names_its_file_and_line(tmp_path_factory, nrows, seed, nfiles, data):
    rng = random.Random(seed)
    text = panelgen.panel_text(nrows, seed=seed)
    cuts = [rng.randint(0, nrows) for _ in range(nfiles - 1)]
    files, _ = split_text(text, cuts, rng, drop_columns=False, shuffle=False)
    bad = data.draw(st.sampled_from([i for i, f in enumerate(files) if f.count("\n") > 1]))
    lines = files[bad].split("\n")
    row = data.draw(st.integers(1, len(lines) - 2))
    fields = lines[row].split(",")
    fields[panelgen.SHORT_COLUMNS.index("value")] = "x1"
    lines[row] = ",".join(fields)
    files[bad] = "\n".join(lines)
    paths = write_files(tmp_path_factory.mktemp("bad"), files)
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(paths)
    with pytest.raises(shanxi.ParseError) as alone:
        shanxi.load(paths[bad])
    assert (info.value.source, info.value.line, info.value.column, info.value.reason) == (
        paths[bad], row + 1, alone.value.column, alone.value.reason)


def test_files_of_no_rows(tmp_path):
    # every part has no rows: merging them once freed an array twice
    names = []
    for i in range(3):
        path = tmp_path / ("%d.csv" % i)
        path.write_text("project,metric,value,unit,as_of\n")
        names.append(str(path))
    ds = shanxi.load(names)
    assert len(ds) == 0 and ds.aggregate("count") == 0


# ------------------------------------------------------------------ threads=

def threads_now():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


def most_threads_during(call):
    """The most threads this process had while call() ran, over the number
    it had just before (a sampler thread of ours counted in both)."""
    seen, stop, ready = [], threading.Event(), threading.Event()

    def sample():
        ready.set()
        while not stop.is_set():
            seen.append(threads_now())
            stop.wait(0.0005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    ready.wait()
    before = threads_now()
    try:
        result = call()
    finally:
        stop.set()
        sampler.join()
    return result, max(seen) - before


@pytest.fixture(scope="module")
def big_panel(tmp_path_factory):
    """A panel file over 48 MiB, which load() splits into as many as three
    parts (of 16 MiB at least) on its threads."""
    path = tmp_path_factory.mktemp("big") / "panel.csv"
    info = panelgen.write_panel(path, 950_000, columns=panelgen.COLUMNS)
    assert info["bytes"] >= 48 << 20
    return str(path)


def same_frame(a, b):
    pytest.importorskip("pandas")
    fa, fb = a.to_frame(), b.to_frame()
    assert fa.equals(fb) and list(fa.dtypes) == list(fb.dtypes)
    assert [p.key for p in a.projects()] == [p.key for p in b.projects()]
    assert a.source == b.source
    assert a.aggregate("sum", by=("region", "month"), unit="people") == b.aggregate(
        "sum", by=("region", "month"), unit="people")


@pytest.mark.slow
def test_threads_one_loads_a_large_file_as_the_default_does(big_panel):
    default = shanxi.load(big_panel)
    for threads in (1, 2, 3, 4, 10**30):
        same_frame(shanxi.load(big_panel, threads=threads), default)
    assert len(default) == 950_000


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="counts threads in /proc")
def test_threads_one_makes_no_thread_and_the_default_splits(big_panel, tmp_path):
    # the default parses a file of 32 MiB or more on a second thread too;
    # threads=1 parses it all on the calling thread, one file or many
    _, extra = most_threads_during(lambda: shanxi.load(big_panel))
    assert extra >= 1
    _, extra = most_threads_during(lambda: shanxi.load(big_panel, threads=1))
    assert extra == 0
    # three parts, whatever the machine's cores: the merge takes them all
    three, extra = most_threads_during(lambda: shanxi.load(big_panel, threads=3))
    assert extra >= 2
    same_frame(three, shanxi.load(big_panel, threads=1))
    small = write_files(tmp_path, [panelgen.panel_text(50_000), panelgen.panel_text(50_000)])
    for paths in ([big_panel, big_panel], small):
        many, extra = most_threads_during(lambda: shanxi.load(paths, threads=1))
        assert extra == 0
        same_frame(many, shanxi.load(paths))


@pytest.mark.slow
def test_threads_one_reports_the_error_one_pass_reports(tmp_path):
    # a project key that disagrees in the second half of a large file: the
    # same line, column and message whether one thread or two read it
    figures = [f._replace(project_key="key%d" % f.project) for f in panelgen.template()]
    text = panelgen.panel_text(620_000, figures=figures, columns=panelgen.COLUMNS)
    lines = text.split("\n")
    row = len(lines) * 3 // 4
    fields = lines[row].split(",")
    assert fields[1].startswith("key")
    fields[1] = "another_key"
    lines[row] = ",".join(fields)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    errors = []
    for threads in (None, 1, 2):
        with pytest.raises(shanxi.ParseError) as info:
            shanxi.load(path, threads=threads)
        errors.append((info.value.line, info.value.column, str(info.value)))
    assert errors[0][0] == row + 1
    assert errors == [errors[0]] * 3


def test_threads_small_files_give_the_same_frame(tmp_path):
    text = panelgen.panel_text(3000)
    files, _ = split_text(text, [1000, 2000], random.Random(8), drop_columns=False)
    paths = write_files(tmp_path, files)
    expected = shanxi.load(paths).to_dicts()
    for threads in (1, 2, 5):
        assert shanxi.load(paths, threads=threads).to_dicts() == expected
        assert shanxi.load(paths[0], threads=threads).to_dicts() == shanxi.load(
            paths[0]).to_dicts()


@pytest.mark.parametrize("threads, error, message", [
    (True, TypeError, "load() threads must be an int or None, not bool"),
    (False, TypeError, "load() threads must be an int or None, not bool"),
    (2.0, TypeError, "load() threads must be an int or None, not float"),
    ("2", TypeError, "load() threads must be an int or None, not str"),
    (0, ValueError, "load() threads must be at least 1, not 0"),
    (-1, ValueError, "load() threads must be at least 1, not -1"),
    (-10**30, ValueError, "load() threads must be at least 1, not -%d" % 10**30),
])
def test_threads_must_be_a_positive_int(tmp_path, threads, error, message):
    path = tmp_path / "a.csv"
    path.write_text(panelgen.panel_text(3), encoding="utf-8")
    for source in (str(path), [str(path)], io.BytesIO(path.read_bytes())):
        with pytest.raises(error) as info:
            shanxi.load(source, threads=threads)
        assert str(info.value) == message
