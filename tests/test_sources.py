"""What load() and loads() read besides plain UTF-8 paths (issue 15 part 7):
binary file objects, "~", gzip/bzip2/xz/zstd files known by their magic bytes,
other encodings with encoding=, and what an undecodable input looks like."""
import bz2
import gzip
import io
import lzma
import os
import subprocess
import sys
import textwrap

import pytest

import shanxi

HEADER = "project,metric,value,unit,as_of,region\n"
TEXT = HEADER + "1,gdp,1.5,CNY,2022-12-31,太原\n2,gdp,2.25,CNY,2022-12-31,大同\n"

COMPRESSORS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}
try:
    from compression import zstd  # Python 3.14+
except ImportError:
    zstd = None
else:
    COMPRESSORS["zst"] = zstd.compress


def rows(ds):
    return [(m.project, m.value, m.region) for m in ds]


WANT = [(1, 1.5, "太原"), (2, 2.25, "大同")]


# ------------------------------------------------------------ compressed files


def test_utf16_without_a_byte_order_mark_is_a_parse_error(tmp_path):
    # Python's utf-16 decoder raises a bare UnicodeError for it up to 3.12
    # (no bytes to point at) and a UnicodeDecodeError from 3.13: either way
    # a ParseError at the start, not that error leaking
    path = tmp_path / "u16.csv"
    path.write_bytes(TEXT.encode("utf-16-le"))
    with pytest.raises(shanxi.ParseError, match=r":1:1: expected utf-16 text(: UTF-16 stream "
                       r"does not start with BOM|, found the invalid bytes 70 00)$"):
        shanxi.load(str(path), encoding="utf-16")
    assert rows(shanxi.load(str(path), encoding="utf-16-le")) == rows(shanxi.loads(TEXT))


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_compressed_file_is_read_by_its_magic_bytes(tmp_path, ext):
    path = tmp_path / ("panel.csv." + ext)  # the name plays no part
    path.write_bytes(COMPRESSORS[ext](TEXT.encode()))
    assert rows(shanxi.load(path)) == WANT
    other = tmp_path / "no_suffix"
    other.write_bytes(COMPRESSORS[ext](TEXT.encode()))
    assert rows(shanxi.load(other)) == WANT
    with open(path, "rb") as f:
        assert rows(shanxi.load(f)) == WANT


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_members_one_after_another(tmp_path, ext):
    # `cat a.gz b.gz > c.gz`, pbzip2 and multi-stream xz
    compress = COMPRESSORS[ext]
    path = tmp_path / "parts"
    path.write_bytes(compress(TEXT.encode()) + compress("3,gdp,4,CNY,2022-12-31,\n".encode()))
    assert [r[0] for r in rows(shanxi.load(path))] == [1, 2, 3]


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_errors_count_in_the_decompressed_text(tmp_path, ext):
    path = tmp_path / "bad"
    path.write_bytes(COMPRESSORS[ext]((TEXT + "3,gdp,x,CNY,2022-12-31,\n").encode()))
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert str(info.value) == (
        '%s:4:7: expected a finite number in column "value", found "x"' % path
    )


KINDS = {"gz": "gzip", "bz2": "bzip2", "xz": "xz", "zst": "zstd"}


@pytest.mark.parametrize("ext", sorted(COMPRESSORS))
def test_truncated_file_is_a_parse_error(tmp_path, ext):
    # not the EOFError of the decompressor: bad data, named and placed
    path = tmp_path / ("cut." + ext)
    path.write_bytes(COMPRESSORS[ext](TEXT.encode())[:-12])
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert info.value.source == str(path)
    assert info.value.reason == (
        "the %s data is truncated: it ends before its end-of-stream marker" % KINDS[ext]
    )
    with open(path, "rb") as f, pytest.raises(shanxi.ParseError) as info:
        shanxi.load(f)
    assert info.value.reason.startswith("the %s data is truncated" % KINDS[ext])


def test_truncated_gzip_is_placed_where_the_text_stops(tmp_path):
    path = tmp_path / "cut.gz"
    data = (HEADER + TEXT[len(HEADER):] * 200).encode()
    path.write_bytes(gzip.compress(data, compresslevel=0)[:len(data) // 2])
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert info.value.line > 100
    assert str(info.value).startswith("%s:%d:" % (path, info.value.line))


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b" + b"x" * 30)
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert str(info.value) == (
        "%s:1:1: the gzip data is corrupt (Error -3 while decompressing data: "
        "unknown compression method)" % path
    )


@pytest.mark.parametrize("ext", ["bz2", "xz"])
def test_corrupt_bzip2_and_xz(tmp_path, ext):
    path = tmp_path / ("bad." + ext)
    good = COMPRESSORS[ext](TEXT.encode())
    path.write_bytes(good[:8] + b"\0" * 40 + good[48:])
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert info.value.reason.startswith("the %s data is corrupt (" % KINDS[ext])


@pytest.mark.skipif(zstd is not None, reason="this Python reads zstd")
def test_zstd_without_compression_zstd(tmp_path):
    path = tmp_path / "panel.csv.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 20)
    with pytest.raises(OSError) as info:
        shanxi.load(path)
    assert str(info.value) == (
        "the input is zstd-compressed, which needs Python 3.14's compression.zstd; "
        "decompress it first (zstd -d)"
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.skipif(bool(os.environ.get("SHANXI_SANITIZED")),
                    reason="ASan's allocator and quarantine make a peak meaningless")
def test_gzip_streams_in_bounded_memory(tmp_path):
    """A gzip file of 1M rows (10 MB of table, 130 MB of text) peaks near the
    table's size, not the table's plus the text's (what reading it whole and
    calling loads() costs)."""
    path = tmp_path / "big.csv.gz"
    body = ("7,gdp,1.5,CNY,2022-12-31,%s\n" % ("太原市小店区坞城路" * 4) * 1000).encode()
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(HEADER.encode())
        for _ in range(1000):
            f.write(body)
    code = textwrap.dedent(
        """
        import sys, shanxi
        def peak_kb():  # VmHWM: unlike ru_maxrss, not inherited across exec
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        before = peak_kb()
        ds = shanxi.load(sys.argv[1])
        print(len(ds), (peak_kb() - before) // 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    n, grown_mb = map(int, out.stdout.split())
    text_mb = len(body) * 1000 // (1 << 20)
    print("1M-row gzip: peak grew %d MB (the text is %d MB)" % (grown_mb, text_mb))
    assert n == 1_000_000
    assert grown_mb < text_mb / 3


# ------------------------------------------------------------ file objects, ~


def test_binary_file_objects():
    assert rows(shanxi.load(io.BytesIO(TEXT.encode()))) == WANT

    class OnlyRead:  # no readinto, short reads
        def __init__(self, data):
            self.data = data

        def read(self, n):
            out, self.data = self.data[:7], self.data[7:]
            return out

    ds = shanxi.load(OnlyRead(TEXT.encode()))
    assert rows(ds) == WANT
    assert ds.source == "<file>"


def test_file_object_name_is_the_source(tmp_path):
    path = tmp_path / "named.csv"
    path.write_text(HEADER + "1,gdp,x,CNY,2022-12-31,\n", encoding="utf-8")
    with open(path, "rb") as f, pytest.raises(shanxi.ParseError) as info:
        shanxi.load(f)
    assert info.value.source == str(path)
    assert (info.value.line, info.value.column) == (2, 7)


def test_text_file_object_is_refused():
    with pytest.raises(TypeError) as info:
        shanxi.load(io.StringIO(TEXT))
    assert str(info.value) == (
        "load() needs a file opened in binary mode (open(path, 'rb')); StringIO gives str"
    )


def test_not_a_path_or_file():
    with pytest.raises(TypeError) as info:
        shanxi.load(42)
    assert str(info.value) == "load() takes a path or a binary file object, not int"


def test_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "mine.csv").write_text(TEXT, encoding="utf-8")
    ds = shanxi.load("~/mine.csv")
    assert rows(ds) == WANT
    assert ds.source == str(tmp_path / "mine.csv")


# ------------------------------------------------------------ encodings


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-16", "utf-16-le", "utf-8-sig"])
def test_encodings(tmp_path, encoding):
    path = tmp_path / "enc.csv"
    path.write_bytes(TEXT.encode(encoding))
    assert rows(shanxi.load(path, encoding=encoding)) == WANT
    assert rows(shanxi.loads(TEXT.encode(encoding), encoding=encoding)) == WANT


def test_compressed_and_encoded(tmp_path):
    path = tmp_path / "both.gz"
    path.write_bytes(gzip.compress(TEXT.encode("gb18030")))
    assert rows(shanxi.load(path, encoding="gb18030")) == WANT


def test_transcoding_in_chunks_across_character_boundaries(tmp_path):
    # 3 MB of two-byte characters: the 1 MiB chunks split some of them
    row = "%d,m,%d,CNY,2022-12-31,%s\n"
    text = HEADER + "".join(row % (i, i, "晋中" * 40) for i in range(1, 20001))
    text += "1,m,x,CNY,2022-12-31,%s\n" % ("晋中" * 40)
    path = tmp_path / "long.csv"
    path.write_bytes(text.encode("gb18030"))
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path, encoding="gb18030")
    assert (info.value.line, info.value.column) == (20002, 5)
    path.write_bytes(text.rsplit("1,m,x", 1)[0].encode("gb18030"))
    ds = shanxi.load(path, encoding="gb18030")
    assert len(ds) == 20000 and ds.metrics(project=20000)[0].region == "晋中" * 40


def test_undecodable_bytes_with_an_encoding(tmp_path):
    data = (HEADER + "1,gdp,1.5,CNY,2022-12-31,太原\n2,gdp,2,CNY,2022-12-31,").encode("gb18030")
    data += b"\x81\x20\n"
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(data, encoding="gb18030")
    assert str(info.value) == "<string>:3:24: expected gb18030 text, found the invalid byte 81"
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path, encoding="gb18030")
    assert (info.value.line, info.value.column) == (3, 24)


def test_text_ending_inside_a_character():
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(TEXT.encode("utf-16-le") + b"\x31", encoding="utf-16-le")
    assert str(info.value) == (
        "<string>:4:1: expected utf-16-le text, found the input ending inside a character (31)"
    )


def test_encoding_arguments():
    with pytest.raises(TypeError) as info:
        shanxi.loads(TEXT, encoding="gb18030")
    assert str(info.value) == "loads() takes encoding= with bytes; a str is already decoded"
    with pytest.raises(TypeError) as info:
        shanxi.loads(TEXT.encode(), encoding=b"gb18030")
    assert str(info.value) == "loads() encoding must be a str or None, not bytes"
    with pytest.raises(LookupError):
        shanxi.loads(TEXT.encode(), encoding="no-such-codec")
    assert rows(shanxi.loads(TEXT.encode(), encoding="utf-8")) == WANT
    assert rows(shanxi.loads(TEXT.encode(), encoding="UTF_8")) == WANT


@pytest.mark.parametrize("codec", ["rot13", "base64", "zlib_codec", "hex"])
def test_codecs_that_are_not_text_encodings(tmp_path, codec):
    path = tmp_path / "plain.csv"
    path.write_text(TEXT, encoding="utf-8")
    for call in (lambda: shanxi.load(path, encoding=codec),
                 lambda: shanxi.loads(TEXT.encode(), encoding=codec),
                 lambda: shanxi.load([path, path], encoding=codec)):
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == "%s is not a text encoding" % codec
        assert type(info.value) is ValueError


# ------------------------------------------------------------ what it looks like


def test_gb18030_without_encoding(tmp_path):
    path = tmp_path / "gb.csv"
    path.write_bytes((HEADER + "1,gdp,1.5,CNY,2022-12-31,大同\n").encode("gb18030"))
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert str(info.value) == (
        '%s:2:26: expected UTF-8 text, found the invalid byte B4; not UTF-8; if it is '
        'GB18030, pass encoding="gb18030"' % path
    )


def test_utf16_without_encoding(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes(TEXT.encode("utf-16"))
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert info.value.reason == (
        "expected UTF-8 text, found the invalid byte FF; looks UTF-16 (it starts with a byte "
        'order mark); pass encoding="utf-16"'
    )
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(TEXT.encode("utf-16-le"))
    assert str(info.value) == (
        "<string>:1:2: expected a header row of column names, found a NUL byte; looks UTF-16 "
        '(little-endian); pass encoding="utf-16-le"'
    )
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(io.BytesIO(TEXT.encode("utf-16-be")))
    assert info.value.reason == (
        "expected a header row of column names, found a NUL byte; looks UTF-16 "
        '(big-endian); pass encoding="utf-16-be"'
    )


def test_utf32_is_not_called_utf16(tmp_path):
    path = tmp_path / "u32.csv"
    path.write_bytes(TEXT.encode("utf-32"))
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert info.value.reason == (
        "expected UTF-8 text, found the invalid byte FF; looks UTF-32 (it starts with a byte "
        'order mark); pass encoding="utf-32"'
    )
    assert rows(shanxi.load(path, encoding="utf-32")) == WANT
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(b"\x00\x00\xfe\xff" + TEXT.encode("utf-32-be"))
    assert info.value.reason.endswith('looks UTF-32 (it starts with a byte order mark); '
                                      'pass encoding="utf-32"')


def test_compressed_bytes_to_loads():
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(gzip.compress(TEXT.encode()))
    assert str(info.value) == (
        "<string>:1:2: expected UTF-8 text, found the invalid byte 8B; looks gzip-compressed; "
        "load() reads a compressed file, loads() does not"
    )


def test_random_bytes_get_no_guess(tmp_path):
    path = tmp_path / "noise"
    path.write_bytes(b"project,\xff\xfe\x80" + os.urandom(64))
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    assert info.value.reason == "expected UTF-8 text, found the invalid byte FF"
