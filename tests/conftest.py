"""Shared pytest fixtures: where the source article lives."""
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
# The project's shared/ directory sits beside the checkout (CI copies it there).
ARTICLE_PATH = REPO_ROOT.parent / "shared" / "seed" / "000_ef6976a8143f6e80.txt"


@pytest.fixture(scope="session")
def article_text():
    """The source article's text; the test is skipped when the file is absent."""
    if not ARTICLE_PATH.is_file():
        pytest.skip("source article not found at %s" % ARTICLE_PATH)
    return ARTICLE_PATH.read_text(encoding="utf-8")
