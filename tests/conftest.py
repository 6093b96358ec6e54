"""Shared pytest fixtures: where the source article lives; slow tests only on request."""
import os
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


# Tests marked slow (10M-row files) run only with SHANXI_SLOW=1 in the environment.
RUN_SLOW = os.environ.get("SHANXI_SLOW") == "1"


def pytest_collection_modifyitems(config, items):
    if RUN_SLOW:
        return
    skip = pytest.mark.skip(reason="slow: set SHANXI_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
