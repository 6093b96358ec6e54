"""One schema everywhere: to_dicts(), to_frame() and the Arrow export carry
the same columns, in the same order, with the same values, whatever columns
the file had."""
import datetime
import math

import panelgen
import pytest

import shanxi

COLUMNS = ["project", "project_key", "project_title", "category", "metric", "label", "value",
           "unit", "as_of", "period_start", "part_of", "region", "share"]

PANEL = """\
project,metric,value,unit,as_of,region,part_of,label
1,started,10,things,2022-01-31,North,,
1,done,4,things,2022-01-31,North,started,half done
1,started,20,things,2022-01-31,,,
1,done,5,things,2022-01-31,,started,
2,whole,0,things,2022-01-31,North,,
2,part,1,things,2022-01-31,North,whole,
"""


def _datasets():
    figures = [f._replace(part_of="trained_people") if f.metric == "certified_people" else f
               for f in panelgen.template()]
    return {
        "embedded": shanxi.data,
        "panel": shanxi.loads(PANEL),
        "generated": shanxi.loads(panelgen.panel_text(
            2000, figures=figures, columns=panelgen.COLUMNS)),
        "required only": shanxi.loads("project,metric,value,unit,as_of\n1,a,1.5,x,2022-02-28\n"),
        "empty": shanxi.loads("project,metric,value,unit,as_of,region\n"),
    }


DATASETS = _datasets()


@pytest.fixture(params=sorted(DATASETS))
def ds(request):
    return DATASETS[request.param]


def test_to_dicts_columns(ds):
    rows = ds.to_dicts()
    assert len(rows) == len(ds)
    for row in rows:
        assert list(row) == COLUMNS


def test_share_in_to_dicts_is_the_share(ds):
    for row in ds.to_dicts():
        share = row["share"]
        if row["part_of"] is None:
            assert share is None
        elif share is not None:
            assert isinstance(share, float)


def test_embedded_shares():
    shares = {r["metric"]: r["share"] for r in shanxi.to_dicts() if r["share"] is not None}
    assert shares == {k: shanxi.share(k) for k in shares}
    assert shares["elevators_completed"] == 519 / 641
    assert len(shares) == 4


def test_panel_shares():
    assert [r["share"] for r in DATASETS["panel"].to_dicts()] == [
        None, 0.4, None, 0.25, None, None]


def _plain(value):
    """A frame cell as to_dicts() gives it: None for NaN/NaT, dates as dates."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):
        value = value.item()
    return value


def _dict_values(row):
    return {k: (float(v) if k == "value" else v) for k, v in row.items()}


def test_frame_agrees_with_to_dicts(ds):
    pytest.importorskip("pandas")
    frame = ds.to_frame()
    assert list(frame.columns) == COLUMNS
    want = [_dict_values(r) for r in ds.to_dicts()]
    got = [{k: _plain(v) for k, v in zip(COLUMNS, row)}
           for row in frame.itertuples(index=False, name=None)]
    assert got == want


def test_arrow_agrees_with_to_dicts(ds):
    pa = pytest.importorskip("pyarrow")
    table = pa.table(ds)
    table.validate(full=True)
    assert table.column_names == COLUMNS
    assert table.to_pylist() == [_dict_values(r) for r in ds.to_dicts()]
    assert table.schema.field("share").type == pa.float64()
    assert table.schema.field("share").nullable


def test_pandas_from_arrow_has_the_frame_columns(ds):
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("pandas")
    assert list(pa.table(ds).to_pandas().columns) == list(ds.to_frame().columns)


def test_shares_have_no_nan_in_to_dicts(ds):
    for row in ds.to_dicts():
        assert row["share"] is None or not math.isnan(row["share"])


def test_dates_are_dates(ds):
    for row in ds.to_dicts():
        assert isinstance(row["as_of"], datetime.date)
        assert row["period_start"] is None or isinstance(row["period_start"], datetime.date)


def test_the_python_rule_agrees_with_the_core(ds):
    """Metric objects made by hand get their shares from _shares.py (the
    project HTML, the command line); for a dataset's own figures that gives
    the values of the core's column."""
    from shanxi._shares import metric_shares

    found = metric_shares(ds.metrics())
    assert found == {i: r["share"] for i, r in enumerate(ds.to_dicts())
                     if r["share"] is not None}


# ------------------------------------------------------------------ the native buffers

def test_native_buffers_outlive_the_dataset():
    import gc

    ds = shanxi.loads(PANEL)
    want = [r["share"] for r in ds.to_dicts()]
    columns = ds._columns()
    del ds
    gc.collect()
    junk = [bytearray(b"\xff" * 4096) for _ in range(1000)]
    share = columns["share"]
    assert [None if s != s else s for s in share] == want
    assert share.readonly and share.format == "d" and share.itemsize == 8
    assert columns["project"].tolist() == [1, 1, 1, 1, 2, 2]
    codes, strings = columns["region"]
    assert codes.format == "b" and strings == ("North",)
    assert [strings[c] if c >= 0 else None for c in codes] == [
        "North", "North", None, None, "North", "North"]
    assert columns["category"] is None and columns["period_start"] is None
    assert columns["is_int"].tolist() == [1] * 6
    del junk


def test_native_buffers_are_read_only():
    columns = shanxi.data._columns()
    view = columns["value"]
    with pytest.raises(TypeError):
        view[0] = 1.0
    np = pytest.importorskip("numpy")
    array = np.frombuffer(view, dtype="float64")
    assert not array.flags.writeable
    with pytest.raises(ValueError):
        array[0] = 1.0
    assert array[0] == 606900.0


def test_to_frame_without_pyarrow_in_a_fresh_interpreter():
    import subprocess
    import sys

    pytest.importorskip("pandas")
    code = (
        "import sys\n"
        "sys.modules['pyarrow'] = None\n"
        "import shanxi, shanxi._frame as f\n"
        "ds = shanxi.loads('project,metric,value,unit,as_of,part_of\\n'\n"
        "                  '1,a,8,x,2022-01-31,\\n1,b,2,x,2022-01-31,a\\n' * 1)\n"
        "f.ARROW_MIN_ROWS = 0\n"
        "df = ds.to_frame()\n"
        "print(list(df.columns) == list(ds.to_dicts()[0]), df['share'].tolist()[1],\n"
        "      'pyarrow' in sys.modules and sys.modules['pyarrow'] is not None)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "0.25", "False"]
