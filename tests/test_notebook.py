"""examples/tour.ipynb runs headless from top to bottom, and renders to HTML.

Skipped without nbformat, nbclient, ipykernel and pandas (the test extra has
them); the HTML half also needs nbconvert.  The kernel is this interpreter, by
a kernel spec made for the test, so it imports the shanxi under test whatever
kernels the machine has installed.
"""
import json
import pathlib
import re
import sys
from html import unescape

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("pandas")        # to_frame() in the tour

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "tour.ipynb"
KERNEL = "shanxi-test"


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    tmp = tmp_path_factory.mktemp("notebook")
    spec_dir = tmp / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "shanxi tests", "language": "python",
        # the tour's tempfile.mkdtemp() folders go under tmp, which pytest removes
        "env": {"TMPDIR": str(tmp)},
    }))
    specs = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])
    # The connection file in tmp too: by default it is left in /tmp.
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs,
                       connection_file=str(tmp / "connection.json"))
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    client = nbclient.NotebookClient(nb, km=km, timeout=180, allow_errors=False,
                                     resources={"metadata": {"path": str(tmp)}})
    client.execute()
    return nb


def _outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield from cell.outputs


def _text(nb):
    """Every stream and text/plain output of the executed notebook, joined."""
    parts = []
    for out in _outputs(nb):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def _html_of(nb, source):
    """The text/html output of the code cell whose last line is source."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip().splitlines()[-1] == source:
            for out in cell.outputs:
                if "data" in out and "text/html" in out.data:
                    return out.data["text/html"]
    raise AssertionError("no HTML output for %r" % source)


def test_stored_without_outputs():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 20
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_no_cell_errored_or_warned(executed):
    for out in _outputs(executed):
        assert out.output_type != "error", out
        if out.output_type == "stream":
            assert out.name == "stdout", out.text     # a warning would be on stderr


def test_the_tour_gives_the_readme_answers(executed):
    text = _text(executed)
    assert "elevators_completed 519 elevators 2022-12-31 elevators_started" in text
    assert "47230000" in text
    assert "0.8097" in text
    assert "{'2022-07': 1, '2022-09': 1, '2022-10': 3, '2022-11': 6, '2022-12': 22}" in text
    assert "did you mean 'elevators_completed', 'elevators_started'?" in text
    assert "cannot sum figures in different units (CNY, USD, projects)" in text


def test_metrics_show_as_a_table(executed):
    table = _html_of(executed, 'shanxi.metrics(unit="people", since="2022-12-01")')
    assert '<div class="shanxi-figures">' in table and "4 figures" in table
    for key in ("high_risk_pregnancies", "child_disability_screenings", "disability_assessments",
                "child_rehabilitation_aid"):
        assert ">%s<" % key in table
    # high_risk_pregnancies' whole is not among them: its share is the dataset's
    assert ">16,219<" in table and ">7.73%<" in table


def test_the_panel_analysis(executed):
    text = _text(executed)
    assert "396 figures, 2 projects" in text              # 11 cities x 12 months x 3
    assert "132" in text
    assert "cannot sum figures in different units (elevators, people)" in text
    for city in ("Taiyuan", "Datong", "Shuozhou", "Xinzhou", "Yangquan", "Lüliang",
                 "Jinzhong", "Changzhi", "Jincheng", "Linfen", "Yuncheng"):
        assert "'%s': " % city in text
    for month in range(1, 13):
        assert "'2022-%02d': " % month in text
    # what is in it, and each city month by month in one aggregate()
    flat = " ".join(text.split())  # as IPython wraps a long tuple
    assert ("('Changzhi', 'Datong', 'Jincheng', 'Jinzhong', 'Linfen', 'Lüliang', 'Shuozhou', "
            "'Taiyuan', 'Xinzhou', 'Yangquan', 'Yuncheng')") in flat
    assert "(datetime.date(2022, 1, 31), datetime.date(2022, 12, 31))" in flat
    assert re.search(r"\(132, \{'2022-01': \d+, ('2022-\d\d': \d+, ){10}'2022-12': \d+\}\)", flat)
    assert "其中取得职业资格证书人数" in text                  # labels in Chinese
    assert "职业技能提升培训" in _html_of(executed, "panel.project(1)")
    charts = [out for out in _outputs(executed) if "data" in out and "image/png" in out.data]
    if _has("matplotlib"):
        assert len(charts) == 1
    else:
        assert not charts and "matplotlib is not installed" in text


def test_the_tour_uses_what_the_package_has_now():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    source = "\n".join(c.source for c in nb.cells)
    assert "panel = shanxi.load(path)" in source                   # a file, not loads(text)
    assert 'by=("region", "month")' in source
    assert "panel.regions" in source and "panel.date_range" in source
    for stale in ("come later", "for now", "shanxi.loads(text)\n", 'by="region"))\n'):
        assert stale not in source, stale


def test_renders_to_html(executed, tmp_path):
    nbconvert = pytest.importorskip("nbconvert")

    body, _ = nbconvert.HTMLExporter().from_notebook_node(
        executed, resources={"metadata": {"name": "tour"}})
    path = tmp_path / "tour.html"
    path.write_text(body, encoding="utf-8")
    html = path.read_text(encoding="utf-8")
    assert "<title>tour</title>" in html
    # The dataset's table, as the notebook shows it, is in the page (nbconvert
    # writes some characters as themselves rather than as entities: compare text).
    page = unescape(html)
    table = _html_of(executed, "shanxi.data")
    assert "<table" in table and "Incentives for voluntary elevator installation" in table
    assert unescape(table) in page
    assert unescape(_html_of(executed, "panel")) in page
    assert "职业技能提升培训" in html
    if _has("matplotlib"):
        assert "data:image/png;base64," in html
