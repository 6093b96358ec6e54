"""Exact partial aggregates: Dataset.partial(), Partial.merge()/merge_all(),
result(), and the compact pickle.  The partials of any split of the rows,
merged in any order, give exactly what aggregate() over all of them gives."""
import datetime
import math
import pickle
import random
import struct

import pytest
from conftest import examples, outcome, same
from hypothesis import given, settings
from hypothesis import strategies as st

import shanxi

FUNCS = ["sum", "count", "mean", "min", "max"]
BYS = [None, "project", "metric", "category", "unit", "region", "as_of", "month"]
# several keys, as aggregate() takes them: "unit" among them, and 1-tuples
KEYS = st.lists(st.sampled_from(BYS[1:]), min_size=1, max_size=4, unique=True).map(tuple)
TUPLES = [("region", "month"), ("unit",), ("month", "unit", "project"), ("as_of",)]
HEADER = "project,metric,value,unit,as_of,region,category\n"

# Values where the order of naive float summation matters, ties of int and
# float, signed zeros, integers past 2^53 (kept as floats by the parser).
VALUES = ["1e16", "1", "-1e16", "0.1", "0.2", "-0.3", "5", "5.0", "-0.0", "0", "0.0",
          "9007199254740993", "-9007199254740993", "123456789", "2.5e-300", "1e300",
          "-1e300", "3", "7.25", "-2"]


@st.composite
def panels(draw):
    n = draw(st.integers(0, 60))
    units = draw(st.sampled_from([["CNY"], ["CNY", "people"], ["u\u00e9", "CNY", "a"]]))
    rows = []
    for _ in range(n):
        project = draw(st.integers(1, 4))
        rows.append("%d,m%d,%s,%s,2022-%02d-%02d,%s,%s\n" % (
            project,
            draw(st.integers(0, 5)),
            draw(st.sampled_from(VALUES)),
            draw(st.sampled_from(units)),
            draw(st.integers(1, 3)), draw(st.integers(1, 28)),
            draw(st.sampled_from(["", "Taiyuan", "Datong", "L\u00fcliang"])),
            "cat%d" % (project % 2),
        ))
    return rows


def merge_tree(parts, rng):
    """The partials merged pairwise in a random tree, in a random order."""
    parts = list(parts)
    rng.shuffle(parts)
    while len(parts) > 1:
        i = rng.randrange(len(parts) - 1)
        parts[i:i + 2] = [parts[i].merge(parts[i + 1])]
    return parts[0]


def check_all(rows, pieces, rng, funcs=FUNCS, contiguous=True, bys=BYS, filters=None):
    whole = shanxi.loads(HEADER + "".join(rows))
    datasets = [shanxi.loads(HEADER + "".join(p)) for p in pieces]
    filters = filters or {}
    for func in funcs:
        for by in bys:
            expected = outcome(lambda: whole.aggregate(func, by=by, **filters))
            parts = [ds.partial(func, by=by, seq=i, **filters) for i, ds in enumerate(datasets)]
            got = outcome(lambda: merge_tree(parts, rng).result())
            assert got[0] == expected[0], (func, by, got, expected)
            if got[0] == "KeyError" and len(parts) > 1:
                # a value no part has: the first part's message, whose
                # suggestions are from its own names
                assert got[1].split(";")[0].rstrip("\"'") == expected[1].split(";")[0].rstrip(
                    "\"'"), (got, expected)
                continue
            assert same(got[1], expected[1]) if got[0] == "ok" else got == expected, (
                func, by, got, expected)
            # merge_all in another order, and through pickle
            rng.shuffle(parts)
            again = shanxi.Partial.merge_all(pickle.loads(pickle.dumps(p)) for p in parts)
            got2 = outcome(again.result)
            assert got2[0] == got[0] and (same(got2[1], got[1]) if got[0] == "ok" else got2 == got)


@settings(max_examples=examples(60), deadline=None)
@given(rows=panels(), data=st.data())
def test_contiguous_splits_merged_in_any_order_equal_the_whole(rows, data):
    k = data.draw(st.integers(1, 6))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), min_size=k - 1, max_size=k - 1)))
    bounds = [0] + cuts + [len(rows)]
    pieces = [rows[a:b] for a, b in zip(bounds, bounds[1:])]
    bys = BYS + [data.draw(st.sampled_from(TUPLES)), data.draw(KEYS)]
    check_all(rows, pieces, random.Random(data.draw(st.integers(0, 2**32))), bys=bys)


@settings(max_examples=examples(40), deadline=None)
@given(rows=panels(), data=st.data())
def test_filter_values_some_parts_lack_equal_the_whole(rows, data):
    # a value may be in some parts, in none (KeyError, as aggregate's), or
    # be a typo; with several filters each is looked up on its own
    k = data.draw(st.integers(1, 4))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), min_size=k - 1, max_size=k - 1)))
    bounds = [0] + cuts + [len(rows)]
    pieces = [rows[a:b] for a, b in zip(bounds, bounds[1:])]
    choices = {"region": ["Taiyuan", "Datong", "XYZ"], "unit": ["CNY", "people", "XYZ"],
               "metric": ["m1", "m5", "XYZ"], "category": ["cat0", "XYZ"], "project": [2, 9, "XYZ"]}
    names = data.draw(st.lists(st.sampled_from(sorted(choices)), min_size=1, max_size=3,
                               unique=True))
    filters = {n: data.draw(st.sampled_from(choices[n])) for n in names}
    bys = [None, "region", ("unit", "month"), data.draw(KEYS)]
    check_all(rows, pieces, random.Random(data.draw(st.integers(0, 2**32))), bys=bys,
              filters=filters)


@settings(max_examples=examples(40), deadline=None)
@given(rows=panels(), data=st.data())
def test_random_row_subsets_equal_the_whole(rows, data):
    # sums, counts and means do not depend on where a row is
    k = data.draw(st.integers(1, 5))
    owner = [data.draw(st.integers(0, k - 1)) for _ in rows]
    pieces = [[r for r, o in zip(rows, owner) if o == i] for i in range(k)]
    check_all(rows, pieces, random.Random(1), funcs=["sum", "count", "mean"],
              bys=BYS + [data.draw(KEYS)])


def test_float_sums_do_not_depend_on_the_split():
    rows = ["1,m,%s,CNY,2022-01-01,,\n" % v for v in ["1e16", "1", "-1e16"] * 50 + ["0.1"] * 30]
    whole = shanxi.loads(HEADER + "".join(rows)).aggregate("sum")
    assert whole == math.fsum([1e16, 1, -1e16] * 50 + [0.1] * 30)
    for k in range(1, 12):
        pieces = [rows[i::k] for i in range(k)]
        parts = [shanxi.loads(HEADER + "".join(p)).partial("sum") for p in pieces]
        assert same(shanxi.Partial.merge_all(parts).result(), whole)


def test_ties_of_int_and_float_follow_seq():
    a = shanxi.loads(HEADER + "1,m,5,CNY,2022-01-01,,\n")
    b = shanxi.loads(HEADER + "1,m,5.0,CNY,2022-01-01,,\n")
    for func in ("min", "max"):
        ab = a.partial(func, seq=0).merge(b.partial(func, seq=1)).result()
        ba = b.partial(func, seq=1).merge(a.partial(func, seq=0)).result()
        assert same(ab, 5) and same(ba, 5)
        assert same(b.partial(func, seq=0).merge(a.partial(func, seq=1)).result(), 5.0)


def test_errors_are_aggregates_own():
    ds = shanxi.loads(HEADER + "1,m,5,CNY,2022-01-01,,\n1,m,2,people,2022-01-01,,\n")
    for func in ("sum", "mean", "min", "max"):
        with pytest.raises(ValueError) as agg:
            ds.aggregate(func)
        with pytest.raises(ValueError) as part:
            ds.partial(func).result()
        assert str(part.value) == str(agg.value)
    # a unit no part has: aggregate's KeyError, not an empty answer
    for func in FUNCS:
        for by in (None, "unit", ("region", "unit")):
            with pytest.raises(KeyError) as agg:
                ds.aggregate(func, by=by, unit="USD")
            with pytest.raises(KeyError) as part:
                ds.partial(func, by=by, unit="USD").result()
            assert str(part.value) == str(agg.value)
    assert ds.partial("count", by="region").result() == {None: 2}
    with pytest.raises(ValueError) as agg:
        ds.aggregate("sum", by=("region", "month"))
    with pytest.raises(ValueError) as part:
        ds.partial("sum", by=("region", "month")).result()
    assert str(part.value) == str(agg.value)
    assert str(part.value).startswith("in region (empty), month 2022-01: cannot sum")


def test_unknown_filter_values_raise_as_aggregate():
    ds = shanxi.data
    for filters in ({"unit": "XYZ"}, {"unit": "CNY"}, {"region": "Taiyaun"}, {"metric": "nope"},
                    {"category": "x"}, {"project": 999}, {"project": "gdpp"},
                    {"unit": "XYZ", "region": "nowhere"}, {"project": "7"}):
        for by in (None, "month", ("region", "unit")):
            expected = outcome(lambda: ds.aggregate("sum", by=by, **filters))
            got = outcome(lambda: ds.partial("sum", by=by, **filters).result())
            assert got[0] == expected[0] and (
                same(got[1], expected[1]) if got[0] == "ok" else got == expected), (filters, got)
            again = outcome(lambda: pickle.loads(pickle.dumps(
                ds.partial("sum", by=by, **filters))).result())
            assert again[0] == got[0]
            assert same(again[1], got[1]) if got[0] == "ok" else again == got
    with pytest.raises(KeyError, match="did you mean 'CNY'"):
        ds.partial("sum", unit="CNX").result()


def test_an_empty_part_gives_way_to_the_parts_with_rows():
    # an empty part's message says it has no projects; the whole has some
    empty = shanxi.loads(HEADER)
    rows = shanxi.loads(HEADER + "1,m,5,CNY,2022-01-01,,\n3,m,2,CNY,2022-01-01,,\n")
    with pytest.raises(KeyError) as whole:
        rows.aggregate("sum", project=2)
    assert "numbered 1 to 3" in str(whole.value)
    for parts in ([empty, rows], [rows, empty], [empty, rows, empty]):
        partials = [ds.partial("sum", project=2, seq=i) for i, ds in enumerate(parts)]
        for order in (partials, partials[::-1]):
            with pytest.raises(KeyError) as merged:
                shanxi.Partial.merge_all(order).result()
            assert str(merged.value) == str(whole.value)
    # all empty: the empty whole's own message
    with pytest.raises(KeyError) as none:
        empty.aggregate("sum", project=2)
    with pytest.raises(KeyError) as merged:
        empty.partial("sum", project=2).merge(empty.partial("sum", project=2, seq=1)).result()
    assert str(merged.value) == str(none.value)


def test_a_value_one_part_lacks_is_the_other_parts_answer():
    a = shanxi.loads(HEADER + "1,m,5,CNY,2022-01-01,Taiyuan,\n")
    b = shanxi.loads(HEADER + "1,m,2,people,2022-01-01,Datong,\n1,m,3,CNY,2022-02-01,,\n")
    whole = shanxi.loads(HEADER + "1,m,5,CNY,2022-01-01,Taiyuan,\n"
                         "1,m,2,people,2022-01-01,Datong,\n1,m,3,CNY,2022-02-01,,\n")
    for func in FUNCS:
        for filters in ({"unit": "people"}, {"region": "Taiyuan"}, {"region": "Datong"},
                        {"region": "Datong", "unit": "people"}):
            for by in (None, ("region", "month")):
                expected = whole.aggregate(func, by=by, **filters)
                pa = a.partial(func, by=by, seq=0, **filters)
                pb = b.partial(func, by=by, seq=1, **filters)
                for merged in (pa.merge(pb), pb.merge(pa),
                               shanxi.Partial.merge_all(pickle.loads(pickle.dumps(p))
                                                        for p in (pb, pa))):
                    assert same(merged.result(), expected), (func, filters, by)
    # the miss of the part first by seq names the dataset
    c = shanxi.loads(HEADER + "1,m,5,USD,2022-01-01,,\n")
    with pytest.raises(KeyError) as e:
        b.partial("sum", unit="CNX", seq=1).merge(c.partial("sum", unit="CNX", seq=0)).result()
    assert str(e.value) == str(pytest.raises(KeyError, c.aggregate, "sum", unit="CNX").value)
    # partials of different values merge, and a value no part had still raises
    with pytest.raises(KeyError, match="no unit 'USD'"):
        a.partial("sum", unit="CNY").merge(a.partial("sum", unit="USD")).result()
    assert same(a.partial("count", unit="CNY").merge(c.partial("count", unit="USD")).result(), 2)


def test_units_message_is_shortened_like_aggregate():
    units = ["unit%03d_%s" % (i, "x" * 30) for i in range(40)]
    ds = shanxi.loads(HEADER + "".join("1,m,1,%s,2022-01-01,,\n" % u for u in units))
    with pytest.raises(ValueError) as agg:
        ds.aggregate("sum")
    parts = [shanxi.loads(HEADER + "1,m,1,%s,2022-01-01,,\n" % u).partial("sum") for u in units]
    with pytest.raises(ValueError) as part:
        shanxi.Partial.merge_all(parts[::-1]).result()
    assert str(part.value) == str(agg.value)


def test_overflowing_sum_raises_as_aggregate():
    ds = shanxi.loads(HEADER + "1,m,1.7e308,CNY,2022-01-01,,\n" * 3)
    with pytest.raises(ValueError, match="^sum overflows a double$"):
        ds.aggregate("sum")
    with pytest.raises(ValueError, match="^sum overflows a double$"):
        ds.partial("sum").merge(ds.partial("sum")).result()


def test_keys_are_values_across_datasets():
    a = shanxi.loads(HEADER + "1,x,1,CNY,2022-01-05,Taiyuan,\n2,y,2,CNY,2022-02-01,,\n")
    b = shanxi.loads(HEADER + "2,y,4,CNY,2022-01-05,,\n3,x,8,CNY,2022-02-07,Taiyuan,\n")
    whole = shanxi.loads(HEADER + "1,x,1,CNY,2022-01-05,Taiyuan,\n2,y,2,CNY,2022-02-01,,\n"
                         "2,y,4,CNY,2022-01-05,,\n3,x,8,CNY,2022-02-07,Taiyuan,\n")
    for by in BYS:
        got = a.partial("sum", by=by).merge(b.partial("sum", by=by)).result()
        assert same(got, whole.aggregate("sum", by=by))
    assert a.partial("sum", by="as_of").merge(b.partial("sum", by="as_of")).result() == {
        datetime.date(2022, 1, 5): 5, datetime.date(2022, 2, 1): 2, datetime.date(2022, 2, 7): 8}
    assert shanxi.data.partial("count", by="region").result() == shanxi.aggregate(
        "count", by="region")


def test_merge_checks_its_partner():
    ds = shanxi.data
    with pytest.raises(TypeError, match="cannot merge a partial sum by unit with a partial "
                                        "count by unit"):
        ds.partial("sum", by="unit").merge(ds.partial("count", by="unit"))
    with pytest.raises(TypeError, match="by none with a partial sum by unit"):
        ds.partial("sum").merge(ds.partial("sum", by="unit"))
    with pytest.raises(TypeError, match="takes shanxi.Partial objects, not int"):
        ds.partial("sum").merge(3)
    with pytest.raises(TypeError):
        shanxi.Partial.merge_all([ds.partial("sum"), ds.partial("mean")])
    with pytest.raises(ValueError, match="no partials"):
        shanxi.Partial.merge_all([])
    with pytest.raises(TypeError):
        shanxi.Partial()
    p = ds.partial("sum", by="unit")
    with pytest.raises(AttributeError):
        p.func = "count"
    assert (p.func, p.by, p.rows, len(p)) == ("sum", "unit", len(ds), 19)
    assert repr(p) == "<shanxi.Partial sum by unit: 19 groups, 33 figures>"
    assert repr(ds.partial("count")) == "<shanxi.Partial count: 1 group, 33 figures>"
    q = ds.partial("sum", by=("region", "month"))
    assert q.by == ("region", "month") and ds.partial("sum", by=("unit",)).by == ("unit",)
    assert repr(q) == "<shanxi.Partial sum by ('region', 'month'): 5 groups, 33 figures>"
    with pytest.raises(TypeError, match=r"by unit with a partial sum by \('unit',\)"):
        ds.partial("sum", by="unit").merge(ds.partial("sum", by=("unit",)))
    with pytest.raises(TypeError, match="by region, month|by \\('region', 'month'\\) with"):
        q.merge(ds.partial("sum", by=("month", "region")))
    with pytest.raises(TypeError, match="by must be a str or a tuple of str, not list"):
        ds.partial("sum", by=["region"])
    with pytest.raises(ValueError, match="twice"):
        ds.partial("sum", by=("region", "region"))
    with pytest.raises(ValueError, match="at least one key"):
        ds.partial("sum", by=())
    with pytest.raises(TypeError, match="seq must be an int"):
        ds.partial("sum", seq=1.5)
    with pytest.raises(ValueError):
        ds.partial("median")


def test_pickle_is_compact_and_stable():
    p = shanxi.data.partial("sum", by="metric")
    blob = p.to_bytes()
    assert blob[:5] == b"SXPA\x02"
    assert len(blob) < 40 * len(p)
    assert shanxi.Partial.from_bytes(blob).to_bytes() == blob
    assert pickle.loads(pickle.dumps(p)).result() == p.result()
    assert len(pickle.dumps(p)) < len(blob) + 120  # the blob and a reference to from_bytes


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return struct.pack("<I", h)


def blobs():
    ds = shanxi.loads(HEADER + "".join(
        "%d,m%d,%s,%s,2022-01-%02d,%s,\n" % (i % 3 + 1, i % 4, VALUES[i % len(VALUES)],
                                              "CNY" if i % 5 else "people", i % 28 + 1,
                                              "r%d" % (i % 3) if i % 2 else "")
        for i in range(40)))
    return [ds.partial(f, by=by).to_bytes() for f in FUNCS for by in BYS + TUPLES] + [
        ds.partial(f, by=("month", "region"), seq=3, unit="CNY", region="none", metric="m1")
        .to_bytes() for f in FUNCS]


BLOBS = blobs()


def decodes_or_refuses(data):
    try:
        p = shanxi.Partial.from_bytes(data)
    except ValueError as e:
        assert "shanxi partial" in str(e)
        return
    outcome(p.result)  # whatever it holds, using it never crashes
    p.merge(p)
    p.to_bytes()


def test_foreign_truncated_corrupted_blobs_are_value_errors():
    with pytest.raises(ValueError, match=r"^not a shanxi partial"):
        shanxi.Partial.from_bytes(b"\x80\x04pickle")
    with pytest.raises(ValueError, match="version 3; this shanxi reads versions 1 to 2"):
        body = b"SXPA\x03\x00\x00\x00\x00\x00"
        shanxi.Partial.from_bytes(body + fnv1a(body))
    with pytest.raises(TypeError):
        shanxi.Partial.from_bytes("SXPA")
    for blob in BLOBS:
        for n in range(len(blob)):
            with pytest.raises(ValueError):
                shanxi.Partial.from_bytes(blob[:n])
        for i in range(0, len(blob), 3):
            flipped = bytearray(blob)
            flipped[i] ^= 1 << (i % 8)
            with pytest.raises(ValueError):
                shanxi.Partial.from_bytes(bytes(flipped))


def test_several_keys_without_the_tuple_flag_are_refused():
    # a well-formed blob whose header says two keys but not "keyed by
    # tuples" would give a dict keyed by the first key alone: refused
    ds = shanxi.loads(HEADER + "1,m,1,CNY,2022-01-01,r1,\n1,m,2,CNY,2022-02-01,r1,\n")
    blob = ds.partial("sum", by=("region", "month")).to_bytes()
    body = bytearray(blob[:-4])
    assert body[:5] == b"SXPA\x02" and body[6] == 2 and body[9] == 1  # version, keys, tuple
    assert shanxi.Partial.from_bytes(bytes(body) + fnv1a(body)).result() == {
        ("r1", "2022-01"): 1, ("r1", "2022-02"): 2}
    body[9] = 0
    with pytest.raises(ValueError, match="shanxi partial"):
        shanxi.Partial.from_bytes(bytes(body) + fnv1a(body))


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=200), st.sampled_from(BLOBS), st.integers(0, 2**32))
def test_random_bytes_never_crash(junk, blob, seed):
    decodes_or_refuses(junk)
    decodes_or_refuses(b"SXPA" + junk)
    # a body with a valid checksum reaches every check of the decoder
    rng = random.Random(seed)
    body = bytearray(blob[:-4])
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(5, len(body)) if len(body) > 5 else 4
        if i < len(body):
            body[i] = rng.randrange(256)
    if rng.random() < 0.3:
        del body[rng.randrange(5, len(body)):]
    decodes_or_refuses(bytes(body) + fnv1a(bytes(body)))
    for version in (b"\x01", b"\x02"):
        forged = b"SXPA" + version + junk
        decodes_or_refuses(forged + fnv1a(forged))


# blobs of format version 1 (one key at most, no filter values), as the
# shanxi before several keys wrote them for V1_DATA
V1_DATA = HEADER + ("1,m,0.1,CNY,2022-01-05,Taiyuan,c\n2,n,3,CNY,2022-02-01,,c\n"
                    "1,m,5,people,2022-01-05,Datong,c\n")
V1_BLOBS = [
    ("sum", "region", "5358504101000105030203434e590670656f706c6503085461697975616e0101000000"
     "01001f03808080c006e6cc99b306e6cc0100010100000600074461746f6e67010101000a004837956b"),
    ("count", None, "53585041010100030203434e590670656f706c6501030200003e363f91"),
    ("max", "month", "5358504101040107030203434e590670656f706c650290fb0202020000000000000000"
     "144001000292fb020101000000000000000840010001b619cd91"),
    ("mean", "unit", "5358504101020104030203434e590670656f706c650204434e59020100000601001f03"
     "808080c006e6cc99b306e6cc010770656f706c65010101000a005ccbc115"),
]


def test_version_1_blobs_still_read():
    ds = shanxi.loads(V1_DATA)
    for func, by, hexed in V1_BLOBS:
        p = shanxi.Partial.from_bytes(bytes.fromhex(hexed))
        assert (p.func, p.by) == (func, by)
        assert outcome(p.result) == outcome(lambda: ds.aggregate(func, by=by))
        twice = outcome(p.merge(ds.partial(func, by=by)).result)
        assert twice[0] == outcome(ds.partial(func, by=by).merge(ds.partial(func, by=by)).result)[0]
        assert twice == outcome(ds.partial(func, by=by).merge(p).result)
        assert p.to_bytes()[:5] == b"SXPA\x02"


def test_partials_of_many_files(tmp_path):
    paths = []
    for i, rows in enumerate(["1,m,0.1,CNY,2022-01-01,a,\n", "1,m,0.2,CNY,2022-01-02,b,\n",
                              "2,n,3,CNY,2022-02-01,a,\n"]):
        path = tmp_path / ("f%d.csv" % i)
        path.write_text(HEADER + rows)
        paths.append(path)
    parts = [shanxi.load(p).partial("sum", by="region", seq=i) for i, p in enumerate(paths)]
    assert same(shanxi.Partial.merge_all(parts).result(),
                shanxi.load(paths).aggregate("sum", by="region"))
