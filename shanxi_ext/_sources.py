"""What load() and loads() read through Python: open binary files, compressed
files (gzip, bzip2, xz, and zstd where the standard library has
compression.zstd) and text in any codec Python knows.

The extension registers these functions (see __init__.py) and calls them; it
reads plain UTF-8 paths itself.  chunks() yields the input as UTF-8 bytes, a
chunk at a time, which the extension feeds to the parser as they come, so
memory stays near the size of the table rather than of the decompressed
file; a str it yields instead is the reason the input cannot be read at that
point (undecodable bytes, or compressed data that is corrupt or cut short),
which the extension reports as a ParseError with the line and column of
where the text stopped.  The compression modules are imported only when a
file needs them.
"""
import codecs

CHUNK = 1 << 20  # bytes read, or produced by a decompressor, at a time
HEAD = 4096  # bytes looked at to say what an undecodable input looks like

MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def compression_of(head):
    """The compression whose magic bytes head starts with, or None."""
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    return None


def _raw_chunks(f, name):
    """A binary file's bytes, CHUNK at a time."""
    readinto = getattr(f, "readinto", None)
    buf = bytearray(CHUNK) if readinto is not None else None
    while True:
        if readinto is not None:
            n = readinto(buf)
            if n is None:  # a non-blocking file with nothing yet
                continue
            data = bytes(memoryview(buf)[:n])
        else:
            data = f.read(CHUNK)
            if isinstance(data, str):
                raise TypeError(
                    "load() needs a file opened in binary mode (open(path, 'rb')); "
                    "%s gives str" % type(f).__name__
                )
            if data is None:
                continue
            data = bytes(data)
        if not data:
            return
        yield data


def _truncated(kind):
    return "the %s data is truncated: it ends before its end-of-stream marker" % kind


def _corrupt(kind, e):
    return "the %s data is corrupt (%s)" % (kind, e)


def _gunzip(chunks):
    import zlib

    d, fresh = zlib.decompressobj(wbits=31), True
    for data in chunks:
        while data:
            fresh = False
            try:
                out = d.decompress(data, CHUNK)
            except zlib.error as e:
                yield _corrupt("gzip", e)
                return
            if out:
                yield out
            if d.eof:  # another member may follow, as in `cat a.gz b.gz`
                data, d, fresh = d.unused_data, zlib.decompressobj(wbits=31), True
            else:
                data = d.unconsumed_tail
    if not fresh and not d.eof:
        yield _truncated("gzip")


def _decompressor(kind):
    if kind == "bzip2":
        import bz2

        return bz2.BZ2Decompressor, OSError
    if kind == "xz":
        import lzma

        return lzma.LZMADecompressor, lzma.LZMAError
    try:
        from compression import zstd
    except ImportError:
        raise OSError(
            "the input is zstd-compressed, which needs Python 3.14's compression.zstd; "
            "decompress it first (zstd -d)"
        ) from None
    return zstd.ZstdDecompressor, zstd.ZstdError


def _unpack(kind, chunks):
    """bzip2, xz and zstd: each has decompress(data, max_length), needs_input,
    eof and unused_data; a stream may hold several members one after another."""
    make, error = _decompressor(kind)
    d, fresh = make(), True
    for data in chunks:
        while True:
            if data:
                fresh = False
            try:
                out = d.decompress(data, CHUNK)
            except error as e:
                yield _corrupt(kind, e)
                return
            if out:
                yield out
            if d.eof:
                data, d, fresh = d.unused_data, make(), True
                if not data:
                    break
                continue
            data = b""
            if d.needs_input:
                break
    if not fresh and not d.eof:
        yield _truncated(kind)


def _decoded(chunks, encoding):
    """Text in `encoding` transcoded to UTF-8 in chunks, or at the first
    undecodable bytes the UTF-8 of the text before them and then the reason
    (or the reason chunks gave, a str, for corrupt compressed data)."""
    codec = _text_codec(encoding)
    decoder = codec.incrementaldecoder("strict")
    for data in chunks:
        if isinstance(data, str):
            yield data
            return
        state = decoder.getstate()
        try:
            text = decoder.decode(data)
        except UnicodeDecodeError as e:
            # the text up to the bad bytes, then where and what they are
            buffered = len(state[0]) if isinstance(state[0], bytes) else 0
            decoder.setstate(state)
            good = max(e.start - buffered, 0)
            try:
                yield decoder.decode(data[:good]).encode("utf-8")
            except UnicodeDecodeError:
                pass
            bad = e.object[e.start:e.end]
            yield "expected %s text, found the invalid byte%s %s" % (
                codec.name,
                "s" if len(bad) > 1 else "",
                " ".join("%02X" % b for b in bad),
            )
            return
        except UnicodeError as e:
            # not a decode error of some bytes: utf-16 without a byte order
            # mark says only this
            yield "expected %s text: %s" % (codec.name, e)
            return
        if text:
            yield text.encode("utf-8", "surrogatepass")
    try:
        text = decoder.decode(b"", True)
    except UnicodeDecodeError as e:
        bad = e.object[e.start:e.end]
        yield "expected %s text, found the input ending inside a character (%s)" % (
            codec.name,
            " ".join("%02X" % b for b in bad),
        )
        return
    if text:
        yield text.encode("utf-8", "surrogatepass")


def _text_codec(encoding):
    """The codec named encoding, which must decode bytes to str: rot13
    (str to str) and base64 (bytes to bytes) are codecs but not encodings."""
    codec = codecs.lookup(encoding)
    if not getattr(codec, "_is_text_encoding", True):
        raise ValueError("%s is not a text encoding" % encoding)
    return codec


def chunks(source, encoding, name):
    """The UTF-8 text of source, a path or a binary file object, in chunks:
    decompressed when its first bytes say so, transcoded from encoding
    (None: it is UTF-8 already)."""
    # before the file opens, so that a wrong codec is said first
    utf8 = encoding is None or _text_codec(encoding).name == "utf-8"
    f = None
    if isinstance(source, memoryview):  # loads(bytes, encoding=...)
        raw = (bytes(source[i : i + CHUNK]) for i in range(0, len(source), CHUNK))
    elif isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        f = open(source, "rb")
        raw = _raw_chunks(f, name)
    else:
        raw = _raw_chunks(source, name)
    try:
        first = next(raw, b"")
        kind = None if isinstance(source, memoryview) else compression_of(bytes(first[:8]))

        def again():
            yield first
            yield from raw

        data = again()
        if kind == "gzip":
            data = _gunzip(data)
        elif kind:
            data = _unpack(kind, data)
        if not utf8:
            data = _decoded(data, encoding)
        yield from data
    finally:
        if f is not None:
            f.close()


def _looks_gb18030(head):
    if not any(b >= 0x80 for b in head):
        return False
    # a cut at the end of the head may split a character
    for cut in range(4):
        try:
            head[: len(head) - cut].decode("gb18030")
            return True
        except UnicodeDecodeError:
            continue
    return False


def hint(head):
    """What undecodable input (its first bytes) looks like, as the end of a
    ParseError's reason, or None."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return 'looks UTF-32 (it starts with a byte order mark); pass encoding="utf-32"'
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return 'looks UTF-16 (it starts with a byte order mark); pass encoding="utf-16"'
    pairs = head[: len(head) // 2 * 2][:512]
    if len(pairs) >= 4:
        even, odd = pairs[0::2], pairs[1::2]
        if odd.count(0) * 4 >= len(odd) * 3 and 0 not in even[:1]:
            return 'looks UTF-16 (little-endian); pass encoding="utf-16-le"'
        if even.count(0) * 4 >= len(even) * 3 and 0 not in odd[:1]:
            return 'looks UTF-16 (big-endian); pass encoding="utf-16-be"'
    kind = compression_of(head)
    if kind:
        return "looks %s-compressed; load() reads a compressed file, loads() does not" % kind
    if _looks_gb18030(head):
        return 'not UTF-8; if it is GB18030, pass encoding="gb18030"'
    return None
