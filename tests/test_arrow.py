"""Dataset.__arrow_c_stream__: the Arrow PyCapsule export read back by pyarrow,
polars, DuckDB and pandas, compared figure by figure with to_dicts(), and with
pyarrow's own reading of the CSV file."""
from __future__ import annotations

import datetime
import gc
import math
import os
import sys

import panelgen
import pytest

import shanxi

pa = pytest.importorskip("pyarrow")

D = datetime.date
# The columns of the data/ format, then each figure's share: every export
# has all of them, in this order, whatever the file had (one schema with
# to_dicts() and to_frame(): test_schema.py).
FILE_COLUMNS = [
    "project", "project_key", "project_title", "category", "metric", "label",
    "value", "unit", "as_of", "period_start", "part_of", "region",
]
ALL_COLUMNS = FILE_COLUMNS + ["share"]
STRING_COLUMNS = {"project_key", "project_title", "category", "metric", "label", "unit",
                  "part_of", "region"}
NOT_NULL = {"project", "metric", "value", "unit", "as_of"}


def _figures():
    """Eight projects (titles with commas, some without a category) of the same
    eight metrics: counts, a percentage, CNY and USD in exact binary fractions."""
    metrics = [("people_%d" % i, "people", 1000 * (i + 1), "int") for i in range(4)] + [
        ("people_4", "people", -1000, "int"), ("rate", "percent", None, "cents"),
        ("money", "CNY", 10 ** 7, "int"), ("usd", "USD", None, "eighths")]
    figures = []
    for n in range(1, 9):
        for i, (metric, unit, base, kind) in enumerate(metrics):
            figures.append(panelgen.Figure(
                n, metric, unit, base, kind, project_key="p%d" % n,
                project_title="Project number %d, in full" % n,
                category=["health", "culture", None][n % 3],
                label=[None, "label %d" % (i % 17), "with, comma"][(n + i) % 3],
                part_of="people_0" if metric == "people_1" else None,
                period_start="year" if (n + i) % 2 else None))
    return figures


PANEL_OPTIONS = dict(
    figures=_figures(),
    regions=["太原", "Datong", 'Lüliang, "west"', "two\nlines", "Yangquan", None],
    dates=[D(2020, 1, 1) + datetime.timedelta(days=15 * d) for d in range(100)])


def make_panel(n_rows, seed=7, columns=FILE_COLUMNS):
    """CSV text of a generated panel (CRLF lines, as the csv module writes them)
    and its rows as to_dicts() would give them."""
    options = dict(PANEL_OPTIONS, seed=seed, columns=columns)
    # columns of other names are unknown to shanxi, and ignored
    return (panelgen.panel_text(n_rows, newline="\r\n", **options),
            panelgen.panel_rows(n_rows, **options))


PANEL_TEXT, PANEL_ROWS = make_panel(3000)


@pytest.fixture(scope="module")
def panel():
    return shanxi.loads(PANEL_TEXT)


@pytest.fixture(params=["data", "panel"])
def ds(request, panel):
    return shanxi.data if request.param == "data" else panel


def expected_rows(dataset, columns):
    """to_dicts() as an Arrow reader gives them back: values as floats."""
    return [{k: (float(d[k]) if k == "value" else d[k]) for k in columns}
            for d in dataset.to_dicts()]


def same_floats(a, b):
    return len(a) == len(b) and all(
        x == y and math.copysign(1, x) == math.copysign(1, y) for x, y in zip(a, b))


class Stream:
    """A holder of a stream capsule, for readers that take PyCapsule objects."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __arrow_c_stream__(self, requested_schema=None):
        capsule, self.capsule = self.capsule, None
        return capsule


# ------------------------------------------------------------------ pyarrow

def test_schema_of_the_embedded_data():
    table = pa.table(shanxi.data)
    assert table.column_names == ALL_COLUMNS
    assert table.num_rows == 33


def index_type(n_distinct):
    """The dictionary index type of a column of n distinct strings: the
    narrowest that holds every code, as the table stores it."""
    return pa.int8() if n_distinct <= 128 else pa.int16() if n_distinct <= 32768 else pa.int32()


def test_schema_types_and_nullability(ds):
    schema = pa.table(ds).schema
    rows = ds.to_dicts()
    for field in schema:
        if field.name == "project":
            assert field.type == pa.int32()
        elif field.name == "value":
            assert field.type == pa.float64()
        elif field.name in ("as_of", "period_start"):
            assert field.type == pa.date32()
        elif field.name == "share":
            assert field.type == pa.float64()
        else:
            assert field.name in STRING_COLUMNS
            # the table's own codes (or, for the per-project columns, codes
            # into the same dictionary), at the width it keeps them in
            distinct = len({r[field.name] for r in rows} - {None})
            assert field.type == pa.dictionary(index_type(distinct), pa.string())
            assert not field.type.ordered
        assert field.nullable == (field.name not in NOT_NULL), field.name


def test_metadata(ds):
    schema = pa.table(ds).schema
    assert schema.metadata[b"shanxi.source"] == ds.source.encode("utf-8")
    units = []
    for d in ds.to_dicts():
        if d["unit"] not in units:
            units.append(d["unit"])
    assert schema.field("value").metadata[b"shanxi.units"] == ",".join(units).encode("utf-8")


def test_metadata_of_a_file(tmp_path):
    path = tmp_path / "山西.csv"
    path.write_text("project,metric,value,unit,as_of\n1,a,1,元,2022-01-01\n", encoding="utf-8")
    schema = pa.table(shanxi.load(path)).schema
    assert schema.metadata[b"shanxi.source"].decode("utf-8") == str(path)
    assert schema.field("value").metadata[b"shanxi.units"].decode("utf-8") == "元"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                    reason="needs a file system that takes any bytes as a name")
def test_metadata_of_a_file_whose_name_is_not_utf8(tmp_path):
    # The source is the name decoded with the file system encoding: a byte
    # that is not UTF-8 becomes a lone surrogate, which the export writes as
    # a backslash escape, since Arrow metadata must be UTF-8.
    directory = os.fsencode(tmp_path)
    path = os.path.join(directory, b"panel\xff.csv")
    with open(path, "wb") as f:
        f.write(b"project,metric,value,unit,as_of\n1,a,1,people,2022-01-01\n")
    ds = shanxi.load(path)
    assert ds.source == os.fsdecode(path)
    table = pa.table(ds)
    assert table.column("value").to_pylist() == [1]
    expected = os.fsdecode(path).encode("utf-8", "backslashreplace")
    assert table.schema.metadata[b"shanxi.source"] == expected
    assert expected.endswith(b"panel\\udcff.csv")


def test_values_figure_by_figure(ds):
    table = pa.table(ds)
    table.validate(full=True)
    assert table.to_pylist() == expected_rows(ds, table.column_names)
    assert same_floats(table.column("value").to_pylist(),
                       [float(d["value"]) for d in ds.to_dicts()])


@pytest.mark.parametrize("present", [
    ["project", "metric", "value", "unit", "as_of"],
    ["as_of", "unit", "value", "metric", "project", "region"],
    ["project", "metric", "value", "unit", "as_of", "label", "period_start", "notes"],
])
def test_every_column_whatever_the_file_has(present):
    text, _ = make_panel(50, columns=present)
    loaded = shanxi.loads(text)
    table = pa.table(loaded)
    table.validate(full=True)
    assert table.column_names == ALL_COLUMNS
    assert table.to_pylist() == expected_rows(loaded, table.column_names)
    for name in FILE_COLUMNS:
        if name not in present:
            # a column the file lacks: all null, of the type it has when present
            assert table.column(name).null_count == 50, name
    assert table.schema.field("label").type.value_type == pa.string()
    assert table.schema.field("period_start").type == pa.date32()


def test_empty_dataset():
    table = pa.table(shanxi.loads("project,metric,value,unit,as_of,region\n"))
    table.validate(full=True)
    assert table.num_rows == 0
    assert table.column_names == ALL_COLUMNS
    assert table.schema.field("region").type == pa.dictionary(pa.int8(), pa.string())
    assert table.schema.field("label").type == pa.dictionary(pa.int8(), pa.string())


def test_nulls_are_nulls(panel):
    table = pa.table(panel)
    for name in ("region", "label", "period_start", "category", "part_of"):
        column = table.column(name)
        want = sum(r[name] is None for r in PANEL_ROWS)
        assert want > 0
        assert column.null_count == want, name
    for name in NOT_NULL:
        assert table.column(name).null_count == 0


def test_a_fresh_stream_on_every_call(ds):
    want = expected_rows(ds, pa.table(ds).column_names)
    first = ds.__arrow_c_stream__()
    second = ds.__arrow_c_stream__(None)
    assert first is not second
    # read the second before the first, and each completely
    assert pa.table(Stream(second)).to_pylist() == want
    assert pa.table(Stream(first)).to_pylist() == want
    assert pa.table(ds).to_pylist() == want
    assert pa.table(ds).to_pylist() == want


def test_exports_share_what_they_build():
    # the per-row project indices, the validity bitmaps and the zero block of
    # the columns a file lacks are made on the first export and kept with the
    # table: every later export hands out the same memory
    columns = [c for c in FILE_COLUMNS if c not in ("category", "label")]
    loaded = shanxi.loads(make_panel(300, columns=columns)[0])

    def addresses(table):
        out = {}
        for name in ("project_key", "project_title", "category", "label", "period_start",
                     "region", "share"):
            array = table.column(name).chunk(0)
            if pa.types.is_dictionary(array.type):
                array = array.indices
            out[name] = tuple(b.address if b is not None else None for b in array.buffers())
        return out

    first = addresses(pa.table(loaded))
    assert addresses(pa.table(loaded)) == first
    zeros = first["category"][1]
    assert first["category"] == first["label"] == (zeros, zeros)
    assert first["project_key"][1] != first["project_title"][1]
    assert pa.table(loaded).to_pylist() == expected_rows(loaded, ALL_COLUMNS)


def test_stream_capsule():
    capsule = shanxi.data.__arrow_c_stream__()
    assert type(capsule).__name__ == "PyCapsule"
    assert "arrow_array_stream" in repr(capsule)
    del capsule                 # never consumed: released with the capsule
    gc.collect()


def test_requested_schema_is_accepted():
    table = pa.table(shanxi.data)
    assert pa.table(Stream(shanxi.data.__arrow_c_stream__(requested_schema=None))).equals(table)
    # a consumer's requested schema is a hint: the stream is the same, and the
    # consumer casts if it wants other types
    wanted = pa.schema([("project", pa.int64())]).__arrow_c_schema__()
    assert pa.table(Stream(shanxi.data.__arrow_c_stream__(wanted))).equals(table)
    reader = pa.RecordBatchReader.from_stream(shanxi.data)
    assert reader.read_all().equals(table)


@pytest.mark.parametrize("args,kwargs", [
    ((None, None), {}),
    ((), {"schema": None}),
    ((), {"requested_schema": None, "other": 1}),
])
def test_wrong_arguments(args, kwargs):
    with pytest.raises(TypeError):
        shanxi.data.__arrow_c_stream__(*args, **kwargs)


def test_stream_outlives_the_dataset():
    text, _ = make_panel(500, seed=3)
    loaded = shanxi.loads(text)
    want = expected_rows(loaded, ALL_COLUMNS)
    capsule = loaded.__arrow_c_stream__()
    table = pa.table(loaded)
    del loaded
    gc.collect()
    # make the freed memory likely to be reused
    junk = [bytearray(b"\xff" * 4096) for _ in range(2000)]
    assert pa.table(Stream(capsule)).to_pylist() == want
    table.validate(full=True)
    assert table.to_pylist() == want
    del junk


def test_children_outlive_the_table():
    loaded = shanxi.loads(PANEL_TEXT)
    want = [r["region"] for r in loaded.to_dicts()]
    region = pa.table(loaded).column("region").combine_chunks()
    dictionary = region.dictionary
    del loaded
    gc.collect()
    assert region.to_pylist() == want
    assert set(dictionary.to_pylist()) == {r for r in want if r is not None}


# ------------------------------------------------------------------ other readers

@pytest.mark.parametrize("distinct", [1, 128, 129, 32768, 32769])
def test_every_index_width_reads_back(distinct):
    # int8, int16 and int32 codes, each at the edge where the column widens
    n = distinct + 300
    lines = ["project,metric,value,unit,as_of,region"]
    for i in range(n):
        region = "" if i % 11 == 5 else "r%d" % (i % distinct)
        lines.append("%d,m%d,%d,people,2022-12-31,%s" % (i % 3 + 1, i % distinct, i, region))
    loaded = shanxi.loads("\n".join(lines) + "\n")
    table = pa.table(loaded)
    table.validate(full=True)
    assert table.schema.field("metric").type == pa.dictionary(index_type(distinct), pa.string())
    assert table.to_pylist() == expected_rows(loaded, table.column_names)
    # filters and groups read the same codes
    some = "r%d" % (distinct - 1)
    assert len(loaded.metrics(region=some)) == sum(
        1 for i in range(n) if i % 11 != 5 and i % distinct == distinct - 1)
    by_metric = loaded.aggregate("count", by="metric")
    assert len(by_metric) == distinct and sum(by_metric.values()) == n
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(loaded)
    assert frame["metric"].cast(pl.String).to_list() == ["m%d" % (i % distinct) for i in range(n)]
    duckdb = pytest.importorskip("duckdb")
    [(count,)] = duckdb.sql("select count(*) from loaded where region = ?",
                            params=[some]).fetchall()
    assert count == len(loaded.metrics(region=some))


def test_polars(ds):
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(ds)
    columns = pa.table(ds).column_names
    assert frame.columns == columns
    assert frame.height == len(ds)
    assert frame.schema["project"] == pl.Int32
    assert frame.schema["value"] == pl.Float64
    assert frame.schema["as_of"] == pl.Date
    assert frame.schema["metric"] in (pl.Categorical, pl.Categorical())
    assert frame.to_dicts() == expected_rows(ds, columns)
    assert same_floats(frame["value"].to_list(), [float(d["value"]) for d in ds.to_dicts()])
    # group sums, the other way round
    sums = frame.group_by("unit").agg(pl.col("value").sum())
    by_unit = ds.aggregate("sum", by="unit")
    for unit, total in sums.iter_rows():
        assert total == pytest.approx(by_unit[unit], rel=1e-12)


def test_duckdb(ds):
    duckdb = pytest.importorskip("duckdb")
    rows = duckdb.sql("select project, metric, value, unit, as_of from ds").fetchall()
    assert rows == [(d["project"], d["metric"], float(d["value"]), d["unit"], d["as_of"])
                    for d in ds.to_dicts()]
    [(count,)] = duckdb.sql("from ds select count(*)").fetchall()
    assert count == len(ds)


def test_duckdb_sums_equal_aggregate(panel):
    duckdb = pytest.importorskip("duckdb")
    ds = panel
    for unit in ("people", "CNY", "percent", "USD"):
        want = ds.aggregate("sum", by="region", unit=unit)
        got = dict(duckdb.sql(
            "select cast(region as varchar), sum(value) from ds where unit = ? group by all",
            params=[unit]).fetchall())
        assert set(got) == set(want)
        for region, total in want.items():
            if isinstance(total, int):
                assert got[region] == total          # integer sums below 2^53: exact in float64
            else:
                # DuckDB adds floats in its own order; shanxi's sum is correctly rounded
                assert got[region] == pytest.approx(total, rel=1e-12, abs=1e-9)
        months = dict(duckdb.sql(
            "select strftime(as_of, '%Y-%m'), sum(value) from ds where unit = ? group by all",
            params=[unit]).fetchall())
        assert months == pytest.approx(ds.aggregate("sum", by="month", unit=unit), rel=1e-12)
    count_by_project = dict(duckdb.sql("select project, count(*) from ds group by all").fetchall())
    assert count_by_project == ds.aggregate("count", by="project")


def test_duckdb_from_the_embedded_data():
    duckdb = pytest.importorskip("duckdb")
    ds = shanxi.data  # noqa: F841 (DuckDB finds it by name)
    [(total,)] = duckdb.sql("select sum(value) from ds where unit = 'CNY'").fetchall()
    assert total == shanxi.total("CNY") == 47_230_000
    by_category = dict(duckdb.sql(
        "select cast(category as varchar), count(*) from ds group by all").fetchall())
    assert by_category == shanxi.aggregate("count", by="category")


def test_pandas_from_arrow(ds):
    pd = pytest.importorskip("pandas")
    if int(pd.__version__.split(".")[0]) < 3 or not hasattr(pd.DataFrame, "from_arrow"):
        pytest.skip("pandas.DataFrame.from_arrow needs pandas 3")
    frame = pd.DataFrame.from_arrow(ds)
    columns = pa.table(ds).column_names
    assert list(frame.columns) == columns
    assert len(frame) == len(ds)
    assert frame["value"].dtype == "float64"
    assert frame["value"].tolist() == [float(d["value"]) for d in ds.to_dicts()]
    assert frame["metric"].astype(str).tolist() == [d["metric"] for d in ds.to_dicts()]
    assert frame["project"].tolist() == [d["project"] for d in ds.to_dicts()]
    if "region" in columns:
        got = [None if pd.isna(x) else x for x in frame["region"]]
        assert got == [d["region"] for d in ds.to_dicts()]


# ------------------------------------------------------------------ against pyarrow's CSV reader

def read_csv_as_shanxi_types(path):
    pacsv = pytest.importorskip("pyarrow.csv")
    header = path.read_text(encoding="utf-8-sig").split("\n", 1)[0].strip().split(",")
    types = {c: pa.string() for c in header if c in STRING_COLUMNS}
    types.update({"project": pa.int32(), "value": pa.float64(), "as_of": pa.date32()})
    if "period_start" in header:
        types["period_start"] = pa.date32()
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=True))


def decoded(column):
    column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column


@pytest.mark.parametrize("seed,n,crlf", [(1, 20000, False), (2, 5000, True)])
def test_export_agrees_with_pyarrow_csv(tmp_path, seed, n, crlf):
    text, _ = make_panel(n, seed=seed)
    text = text.replace("\r\n", "\n")
    if crlf:
        text = "\ufeff" + text.replace("\n", "\r\n")
    path = tmp_path / "panel.csv"
    path.write_bytes(text.encode("utf-8"))
    theirs = read_csv_as_shanxi_types(path)
    ours = pa.table(shanxi.load(path))
    ours.validate(full=True)
    assert ours.num_rows == theirs.num_rows == n
    assert ours.column_names == ALL_COLUMNS
    assert theirs.column_names == FILE_COLUMNS
    for name in theirs.column_names:
        mine, other = decoded(ours.column(name)), decoded(theirs.column(name))
        if name == "project":
            other = other.cast(pa.int32())
        assert mine.type == other.type, name
        assert mine.null_count == other.null_count, name
        assert mine.equals(other), name
    # values bit for bit (equals() would let 0.0 match -0.0)
    assert same_floats(ours.column("value").to_pylist(), theirs.column("value").to_pylist())


def test_embedded_data_agrees_with_pyarrow_csv():
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "data" / "shanxi_2022.csv"
    theirs = read_csv_as_shanxi_types(path)
    ours = pa.table(shanxi.data)
    assert ours.column_names == theirs.column_names + ["share"]
    for name in theirs.column_names:
        assert decoded(ours.column(name)).equals(decoded(theirs.column(name))), name


@pytest.mark.parametrize("nprojects", [3, 200])
def test_project_columns_fill_rows_that_left_them_empty(nprojects):
    # a project's key and title are its first non-empty ones: rows that leave
    # them empty still show them, as codes of the table's own width (int8 up
    # to 128 distinct keys, int16 past that), and a project with none is null
    lines = ["project,project_key,project_title,metric,value,unit,as_of"]
    want = []
    for n in range(1, nprojects + 1):
        key, title = ("k%d" % n, "Title %d, in full" % n) if n % 3 else ("", "")
        for i in range(3):
            first = i == 0
            lines.append('%d,%s,"%s",m%d_%d,%d,people,2022-11-30' % (
                n, key if first else "", title if first else "", n, i, i))
            want.append((key or None, title or None))
    table = pa.table(shanxi.loads("\n".join(lines) + "\n"))
    index = index_type(len({k for k, _ in want} - {None}))
    for name in ("project_key", "project_title"):
        assert table.schema.field(name).type == pa.dictionary(index, pa.string())
    table.validate(full=True)
    got = list(zip(table.column("project_key").to_pylist(),
                   table.column("project_title").to_pylist()))
    assert got == want
    assert table.column("project_key").null_count == sum(k is None for k, _ in want)
