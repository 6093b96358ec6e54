"""Write the seed corpora of the fuzz harnesses: corpus/parse/ and corpus/query/.

    python3 tests/fuzz/make_seeds.py        # rewrites the generated seeds

The seeds are the shipped data file, small valid documents that use every
feature of the format, malformed and odd documents (one for each kind of
error the parser reports), and corrupted copies of the data file (truncated,
bytes flipped, rows swapped; from a fixed random seed, so the output never
changes).  A query seed is a 24-byte query, some search words and a
document: see fuzz_query.c for the layout.

Files named regress-* are inputs that once crashed a harness: they are not
generated, so this script leaves them alone.  Add each new one by hand (the
crash file, minimized) and as a case in tests/c.
"""
import pathlib
import random

HERE = pathlib.Path(__file__).resolve().parent
DATA = (HERE.parent.parent / "data" / "shanxi_2022.csv").read_bytes()

H = b"project,metric,value,unit,as_of\n"
FULL = (b"project,project_key,project_title,category,metric,label,value,unit,as_of,"
        b"period_start,part_of,region\n")


def full_row(p, metric, value, unit="people", as_of="2022-12-31", period="", part="",
             region="Shanxi", key=None, title=None, cat="health", label="A label"):
    key = "p%d" % p if key is None else key
    title = "Project %d" % p if title is None else title
    return ("%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n" % (
        p, key, title, cat, metric, label, value, unit, as_of, period, part, region)).encode()


VALID = {
    "ok-data": DATA,
    "ok-header-only": H,
    "ok-one-row": H + b"1,m,1,u,2022-01-01\n",
    "ok-no-final-newline": H + b"1,m,1,u,2022-01-01",
    "ok-bom-crlf": b"\xef\xbb\xbf" + H.replace(b"\n", b"\r\n") + b"1,m,1,u,2022-01-01\r\n",
    "ok-lone-cr": H.replace(b"\n", b"\r") + b"1,m,1,u,2022-01-01\r2,n,2,u,2022-01-02\r",
    "ok-trailing-blank-lines": H + b"1,m,1,u,2022-01-01\n\n\r\n\n",
    "ok-columns-reordered": (b"as_of,unit,value,metric,project,extra\n"
                             b"2022-01-01,u,1.5,m,3,whatever\n2022-01-31,u,-2e3,n,3,\n"),
    "ok-quoted": H + b'1,"m, with ""quotes""","1","u\nline",2022-01-01\n',
    "ok-utf8": H + ("1,\u6307\u6807,42,\u4eba,2022-01-01\n"
                    "1,\U0001F600,0.5,\u4eba,2022-02-28\n").encode(),
    "ok-values": H + b"".join(b"1,m%d,%s,u,2022-01-01\n" % (i, v) for i, v in enumerate([
        b"0", b"-0", b"+7", b"-0.0", b"9007199254740992", b"9007199254740993", b"1e308",
        b"-1.7976931348623157e308", b"4.9e-324", b"1e-400", b".5", b"5.", b"00012", b"1E+2",
        b"0.1", b"123456789012345678901234567890"])),
    "ok-dates": H + b"".join(b"1,d%d,1,u,%s\n" % (i, d) for i, d in enumerate([
        b"0001-01-01", b"9999-12-31", b"2000-02-29", b"1970-01-01", b"1969-12-31",
        b"2022-11-30"])),
    "ok-full-panel": FULL + b"".join(
        full_row(p, "m%d" % (i % 3), i * 10 + p, unit=["people", "CNY", "percent"][i % 3],
                 as_of="2022-%02d-28" % (1 + i % 12), period="2022-01-01" if i % 2 else "",
                 part="m0" if i % 3 == 1 else "", region=["Shanxi", "Taiyuan", ""][i % 3],
                 cat=["health", "rural"][p % 2], label="" if i % 4 == 0 else "row %d" % i)
        for p in (1, 2, 7, 1000) for i in range(6)),
    "ok-project-attrs-partial": FULL + full_row(1, "a", 1, key="", title="", cat="")
    + full_row(1, "b", 2) + full_row(1, "c", 3, key="", title="", cat=""),
    "ok-big-project-numbers": H + b"2147483647,m,1,u,2022-01-01\n1,m,2,u,2022-01-01\n"
                              b"65536,m,3,u,2022-01-01\n",
    "ok-mixed-units": H + b"1,a,1,CNY,2022-01-01\n1,b,2,USD,2022-01-01\n2,c,3.5,CNY,2022-02-01\n",
    "ok-overflowing-sum": H + b"1,a,1.7e308,u,2022-01-01\n1,b,1.7e308,u,2022-01-01\n"
                          b"1,c,-1.7e308,u,2022-01-01\n",
}

MALFORMED = {
    "bad-empty": b"",
    "bad-only-newlines": b"\n\r\n\n",
    "bad-missing-columns": b"project,metric,value\n1,m,1\n",
    "bad-duplicate-column": b"project,metric,value,unit,as_of,metric\n1,m,1,u,2022-01-01,m\n",
    "bad-empty-header-names": b",,\n",
    "bad-too-few-fields": H + b"1,m,1,u\n",
    "bad-too-many-fields": H + b"1,m,1,u,2022-01-01,x,y\n",
    "bad-blank-line-inside": H + b"1,m,1,u,2022-01-01\n\n1,n,1,u,2022-01-01\n",
    "bad-unclosed-quote": H + b'1,"m,1,u,2022-01-01\n',
    "bad-quote-in-field": H + b'1,m"x,1,u,2022-01-01\n',
    "bad-text-after-quote": H + b'1,"m"x,1,u,2022-01-01\n',
    "bad-utf8-truncated": H + b"1,m\xe4\xb8,1,u,2022-01-01\n",
    "bad-utf8-overlong": H + b"1,m\xc0\xaf,1,u,2022-01-01\n",
    "bad-utf8-surrogate": H + b'1,"\xed\xa0\x80",1,u,2022-01-01\n',
    "bad-utf8-in-header": b"project,metric,value,unit,as_of,\xff\n",
    "bad-project-zero": H + b"0,m,1,u,2022-01-01\n",
    "bad-project-overflow": H + b"2147483648,m,1,u,2022-01-01\n",
    "bad-project-sign": H + b"+1,m,1,u,2022-01-01\n",
    "bad-value-empty": H + b"1,m,,u,2022-01-01\n",
    "bad-value-nan": H + b"1,m,nan,u,2022-01-01\n",
    "bad-value-inf": H + b"1,m,1e999,u,2022-01-01\n",
    "bad-value-thousands": H + b'1,m,"1,000",u,2022-01-01\n',
    "bad-value-hex": H + b"1,m,0x10,u,2022-01-01\n",
    "bad-metric-empty": H + b"1,,1,u,2022-01-01\n",
    "bad-unit-empty": H + b'1,m,1,"",2022-01-01\n',
    "bad-date-format": H + b"1,m,1,u,2022-1-01\n",
    "bad-date-unreal": H + b"1,m,1,u,2023-02-29\n",
    "bad-date-year-zero": H + b"1,m,1,u,0000-01-01\n",
    "bad-period-start": (b"project,metric,value,unit,as_of,period_start\n"
                         b"1,m,1,u,2022-01-01,2022-13-01\n"),
    "bad-part-of-unknown": b"project,metric,value,unit,as_of,part_of\n1,m,1,u,2022-01-01,nope\n",
    "bad-key-conflict": FULL + full_row(1, "a", 1, key="k1") + full_row(1, "b", 1, key="k2"),
    "bad-key-shared": FULL + full_row(1, "a", 1, key="k") + full_row(2, "b", 1, key="k"),
    "bad-category-conflict": FULL + full_row(1, "a", 1, cat="x") + full_row(1, "b", 1, cat="y"),
    "bad-title-conflict": FULL + full_row(1, "a", 1, title="T") + full_row(1, "b", 1, title="U"),
    "bad-nul-byte": H + b"1,m\x00,1,u,2022-01-01\n1,m,1,u,20\x0022-01-01\n",
}


def corrupted(rng):
    """Damaged copies of the data file."""
    out = {}
    lines = DATA.split(b"\n")
    for i in range(4):
        cut = rng.randrange(len(DATA))
        out["corrupt-truncated-%d" % i] = DATA[:cut]
    for i in range(6):
        b = bytearray(DATA)
        for _ in range(1 + i):
            b[rng.randrange(len(b))] = rng.choice(b'",\n\r\x00\xff\xc3x9-.e')
        out["corrupt-flipped-%d" % i] = bytes(b)
    swapped = lines[:]
    swapped[3], swapped[20] = swapped[20], swapped[3]
    out["corrupt-rows-swapped"] = b"\n".join(swapped)
    out["corrupt-header-dropped"] = b"\n".join(lines[1:])
    out["corrupt-row-doubled"] = b"\n".join(lines[:10] + lines[9:])
    out["corrupt-crlf-mixed"] = b"\n".join(
        line + (b"\r" if k % 3 == 0 else b"") for k, line in enumerate(lines))
    return out


def query_prefix(func, by, project=(0, 0), codes=(0,) * 8, since=(0, 0, 0), until=(0, 0, 0),
                 nwords=0, limit=3, flags=1, keys=(0, 0, 0)):
    """The 24 query bytes of fuzz_query.c (keys: bytes 21..23, several keys)."""
    b = bytes([func, by, project[0], project[1], *codes, *since, *until, nwords, limit, flags,
               *keys])
    assert len(b) == 24
    return b


def raw_word(w):
    return bytes([len(w)]) + w


def dict_word(length, which, at, flip):
    return bytes([0x80 | length, which, at, flip])


def query_seeds():
    out = {}
    # func: 0 sum 1 count 2 mean 3 min 4 max (5, 6 invalid); by: 0..7 (8, 9 invalid)
    docs = {"data": DATA, "panel": VALID["ok-full-panel"], "mixed": VALID["ok-mixed-units"],
            "values": VALID["ok-values"], "overflow": VALID["ok-overflowing-sum"],
            "dates": VALID["ok-dates"], "empty": H}
    plans = [
        ("sum-by-unit", query_prefix(0, 4)),
        ("count-by-project", query_prefix(1, 1)),
        ("mean-by-metric", query_prefix(2, 2)),
        ("min-by-month", query_prefix(3, 7)),
        ("max-by-as-of", query_prefix(4, 6)),
        ("sum-none-filtered-project", query_prefix(0, 0, project=(1, 4))),
        ("sum-by-region-unit-filter", query_prefix(0, 5, codes=(0, 2 | 4, 0, 0, 0, 0, 0, 0))),
        ("count-by-category-null-filter", query_prefix(1, 3, codes=(0, 0, 1, 0, 0, 0, 0, 0))),
        ("count-date-range", query_prefix(1, 6, since=(1, 3, 0), until=(1, 9, 0))),
        ("invalid-func", query_prefix(5, 0)),
        ("invalid-by", query_prefix(0, 9)),
        # several keys: byte 21 is 1 + 4 * (how many - 1), bit 7 repeats one
        ("sum-by-region-month", query_prefix(0, 5, keys=(1 | 1 << 2, 0, 0))),
        ("count-by-four-keys", query_prefix(1, 7, keys=(1 | 3 << 2, 0x5A, 0x13))),
        ("mean-by-every-key", query_prefix(2, 0, keys=(1 | 6 << 2, 7, 1))),
        ("max-by-three-keys-filtered", query_prefix(4, 6, codes=(0, 2 | 4, 0, 0, 0, 0, 0, 0),
                                                    keys=(1 | 2 << 2, 0xC3, 0x9E))),
        ("sum-by-a-key-twice", query_prefix(0, 5, keys=(0x80 | 1 | 1 << 2, 0, 0))),
    ]
    for doc_name in ("data", "panel", "mixed", "values", "overflow", "dates", "empty"):
        for plan_name, prefix in plans:
            if doc_name != "panel" and plan_name not in (
                    "sum-by-unit", "mean-by-metric", "min-by-month", "count-by-project",
                    "count-date-range", "sum-by-region-month", "count-by-four-keys"):
                continue
            out["%s-%s" % (doc_name, plan_name)] = prefix + docs[doc_name]
    searches = {
        "search-raw-words": (2, raw_word(b"Rural") + raw_word(b"stations")),
        "search-dict-words": (3, dict_word(6, 0, 2, 0x55) + dict_word(4, 1, 0, 0)
                              + dict_word(9, 2, 3, 0xF0)),
        "search-empty-and-miss": (2, raw_word(b"") + raw_word(b"zzzz")),
        "search-many-words": (6, b"".join(raw_word(w) for w in
                                          (b"e", b"s", b"r", b"a", b"t", b"o"))),
        "edit-distance": (2, raw_word(b"trained_peple") + raw_word(b"TRAINED_PEOPLE")),
    }
    for name, (n, words) in searches.items():
        out["data-" + name] = query_prefix(1, 0, nwords=n, limit=5) + words + DATA
        out["panel-" + name] = query_prefix(0, 2, nwords=n, limit=255) + words + docs["panel"]
    return out


def write(directory, seeds):
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        if not old.name.startswith("regress-"):
            old.unlink()
    for name, data in sorted(seeds.items()):
        (directory / name).write_bytes(data)


def main():
    rng = random.Random(20221231)
    parse = dict(VALID)
    parse.update(MALFORMED)
    parse.update(corrupted(rng))
    write(HERE / "corpus" / "parse", parse)
    write(HERE / "corpus" / "query", query_seeds())
    print("parse: %d seeds, query: %d seeds" % (len(parse), len(query_seeds())))


if __name__ == "__main__":
    main()
