"""The README's ```python blocks are doctests, and they must pass as written."""
from __future__ import annotations

import doctest
import importlib.util
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# A fenced block opened by ```python (or ```pycon) at the start of a line and
# closed by the next ``` line.
FENCE = re.compile(r"^```[ \t]*(?:python|py|pycon)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def python_blocks():
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start(1))   # 0-based line of the block's first line
        blocks.append((line, match.group(1)))
    return blocks


BLOCKS = python_blocks()


def test_the_readme_has_doctested_examples():
    assert BLOCKS, "README.md has no ```python blocks"
    parser = doctest.DocTestParser()
    assert sum(len(parser.get_examples(block)) for _, block in BLOCKS) >= 3


def test_readme_examples():
    """The blocks run in order in one namespace, as a reader would type them."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    globs = {"__name__": "README"}
    for line, block in BLOCKS:
        if "to_frame" in block and importlib.util.find_spec("pandas") is None:
            continue   # the pandas part of the tour needs pandas; the rest must not
        test = parser.get_doctest(block, globs, "README.md", str(README), line)
        assert test.examples, "a ```python block at README.md:%d has no >>> examples" % (line + 1)
        report = []
        result = runner.run(test, out=report.append, clear_globs=False)
        assert result.failed == 0, "README.md:%d: %s" % (line + 1, "".join(report))
        assert result.attempted == len(test.examples)
        globs = test.globs
