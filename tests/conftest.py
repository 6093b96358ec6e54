"""Shared pytest fixtures: where the source article lives; slow tests only on request.

`python -m pytest` runs the quick suite (under a minute on two cores).
Two switches, which CI turns on, add the rest:
  SHANXI_SLOW=1   tests marked slow: large inputs (24 MB to 600 MB files,
                  tables of a million rows and more), threads at scale,
                  leak loops, stubtest, every combination of the Dask
                  cluster's calls; and the property tests' full example
                  counts (examples() below);
  SHANXI_SDIST=1  tests marked sdist: build an sdist and install it (CI does
                  this once per run).

tools/ goes on sys.path, so the tests import the panel generator they share
with bench/ as ``import panelgen`` (tools/panelgen.py).
"""
import os
import pathlib
import struct
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOLS = str(REPO_ROOT / "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
# The project's shared/ directory sits beside the checkout (CI copies it there).
ARTICLE_PATH = REPO_ROOT.parent / "shared" / "seed" / "000_ef6976a8143f6e80.txt"
ARTICLE_MISSING = (
    "needs the source article of the dataset (China Daily's \"Deeds benefit residents of "
    "Shanxi\", 2023-01-12, as plain text: %s in the project's shared/seed/ folder); put a "
    "copy at %s, i.e. shared/seed/ beside this checkout" % (ARTICLE_PATH.name, ARTICLE_PATH))


@pytest.fixture(scope="session")
def article_text():
    """The source article's text; the test is skipped when the file is absent."""
    if not ARTICLE_PATH.is_file():
        pytest.skip(ARTICLE_MISSING)
    return ARTICLE_PATH.read_text(encoding="utf-8")


SWITCHES = {"slow": "SHANXI_SLOW", "sdist": "SHANXI_SDIST"}
SLOW = os.environ.get("SHANXI_SLOW") == "1"


def examples(n):
    """A property test's max_examples: n when SHANXI_SLOW=1, a fifth of it
    (at least 10) in the quick suite, whose runs differ from one another
    (hypothesis draws afresh), so that many quick runs cover what one slow
    run does."""
    return n if SLOW else max(10, n // 5)


def outcome(call):
    """A call's value, or its exception's type and message (the tests of
    partial aggregates compare these with same())."""
    try:
        return ("ok", call())
    except (ValueError, KeyError) as e:
        return (type(e).__name__, str(e))


def same(a, b):
    """Equal results, floats compared by their bits (and ints stay ints)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return isinstance(b, float) and struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b


def pytest_collection_modifyitems(config, items):
    for marker, variable in SWITCHES.items():
        if os.environ.get(variable) == "1":
            continue
        skip = pytest.mark.skip(reason="%s: set %s=1 to run" % (marker, variable))
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
