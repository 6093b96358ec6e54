"""README.md's Layout tables name every source file with its size in lines
(tools/layout.py checks them; `python tools/layout.py --write` fixes the sizes)."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_readme_layout_matches_the_tree():
    if not (ROOT / "README.md").is_file() or not (ROOT / "tools" / "layout.py").is_file():
        pytest.skip("README.md and tools/ are not beside the tests (an sdist)")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "layout.py")],
                          capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert proc.returncode == 0, "README.md's Layout is out of date:\n" + proc.stdout + proc.stderr
