"""Every document the load tests use, read in chunks, gives what one buffer
gives: the same rows, or the same error at the same line and column.

The documents are the string literals of tests/test_load.py and
tests/test_hostile.py that look like CSV (they hold a line break), and the
files of tests/malformed.  Each goes through load() of a binary file object
whose reads return 1, 2, 3, 7 or 64 bytes at a time, so the parser sees every
kind of cut: inside a field, a quoted line break, a CRLF, a UTF-8 sequence,
the BOM.  (tests/c/test_chunks.c does the same in C, with the fuzz corpus.)
"""
import ast
import pathlib

import pytest

import shanxi

HERE = pathlib.Path(__file__).resolve().parent


def documents():
    docs = set()
    for name in ("test_load.py", "test_hostile.py"):
        tree = ast.parse((HERE / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
                value = node.value
                if isinstance(value, str):
                    try:
                        value = value.encode("utf-8")
                    except UnicodeEncodeError:
                        continue
                if b"\n" in value or b"\r" in value:
                    docs.add(value)
    for path in sorted((HERE / "malformed").glob("*.csv")):
        docs.add(path.read_bytes())
    return sorted(docs)


DOCS = documents()


class Trickle:
    """A binary file whose reads return at most `step` bytes."""

    def __init__(self, data, step):
        self.data, self.step, self.at = data, step, 0

    def readinto(self, buf):
        n = min(self.step, len(buf), len(self.data) - self.at)
        buf[:n] = self.data[self.at : self.at + n]
        self.at += n
        return n


def outcome(load):
    try:
        ds = load()
    except shanxi.ParseError as e:
        return ("error", e.line, e.column, e.reason)
    except (OverflowError, MemoryError) as e:
        return (type(e).__name__, str(e))
    return ("rows", ds.to_dicts(), [repr(p) for p in ds.projects()])


def test_there_are_documents():
    assert len(DOCS) > 100


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64])
def test_every_document_in_chunks(step):
    differ = []
    for doc in DOCS:
        whole = outcome(lambda: shanxi.loads(doc))
        chunked = outcome(lambda: shanxi.load(Trickle(doc, step)))
        if chunked != whole:
            differ.append((doc[:80], whole[:4], chunked[:4]))
    assert not differ, differ[:5]
