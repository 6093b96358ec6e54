"""The README's ```python blocks are doctests, and its ```console blocks are
command lines whose output must be as written."""
from __future__ import annotations

import doctest
import importlib.util
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

import pytest

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

CONSOLE = re.compile(r"^```[ \t]*console[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def console_examples():
    """(line, command, expected output) of each `$ ` line of the ```console blocks."""
    text = README.read_text(encoding="utf-8")
    examples = []
    for match in CONSOLE.finditer(text):
        first = text.count("\n", 0, match.start(1))
        for i, line in enumerate(match.group(1).splitlines(keepends=True)):
            if line.startswith("$ "):
                examples.append([first + i + 1, line[2:].strip(), ""])
            else:
                assert examples, "README.md:%d: output before any command" % (first + i + 1)
                examples[-1][2] += line
    return [tuple(e) for e in examples]


CONSOLE_EXAMPLES = console_examples()


def test_the_readme_has_doctested_examples():
    assert BLOCKS, "README.md has no ```python blocks"
    parser = doctest.DocTestParser()
    assert sum(len(parser.get_examples(block)) for _, block in BLOCKS) >= 3


def test_readme_examples(tmp_path, monkeypatch):
    """The blocks run in order in one namespace, as a reader would type them."""
    # The examples' tempfile.mkdtemp() folders go under pytest's tmp_path,
    # which pytest removes, instead of piling up in /tmp.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
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


def test_the_readme_has_command_line_examples():
    commands = [cmd for _, cmd, _ in CONSOLE_EXAMPLES]
    assert any(cmd.startswith("shanxi examples/") for cmd in commands)
    assert any("--by" in cmd for cmd in commands)


@pytest.mark.parametrize("line, command, expected", CONSOLE_EXAMPLES,
                         ids=[str(e[0]) for e in CONSOLE_EXAMPLES])
def test_readme_command_line(line, command, expected):
    """`shanxi ARGS` runs as python -m shanxi, `python` as this interpreter; | pipes."""
    stages = []
    words = shlex.split(command)
    while words:
        stage = words[:words.index("|")] if "|" in words else words
        words = words[len(stage) + 1:]
        if stage[0] == "shanxi":
            stages.append([sys.executable, "-m", "shanxi"] + stage[1:])
        elif stage[0] == "python":
            if "import pandas" in " ".join(stage):
                pytest.importorskip("pandas")
            stages.append([sys.executable] + stage[1:])
        else:
            pytest.fail("README.md:%d: only shanxi and python commands run here" % line)
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    data = None
    for argv in stages:
        proc = subprocess.run(argv, input=data, capture_output=True, cwd=str(ROOT), env=env,
                              timeout=120)
        assert proc.returncode == 0, "README.md:%d: %s" % (line, proc.stderr.decode())
        data = proc.stdout
    assert data.decode("utf-8") == expected, "README.md:%d" % line
