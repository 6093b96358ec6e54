"""The command line: ``python -m shanxi`` and the ``shanxi`` console script."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

import shanxi
from shanxi.__main__ import COLUMNS, main

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSV_PATH = ROOT / "data" / "shanxi_2022.csv"

ELEVATOR_HEADING = (
    "7  Incentives for voluntary elevator installation in existing residences  [housing]"
)


def run(*args, cwd=None):
    """python -m shanxi ARGS in a fresh interpreter, away from the checkout."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "shanxi", *args],
        capture_output=True, text=True, encoding="utf-8", env=env,
        cwd=cwd or pathlib.Path(__file__).parent, timeout=60,
    )


@pytest.fixture(scope="module")
def outputs():
    """Every format, full and for project 7, run once."""
    result = {}
    for fmt in ("table", "csv", "json", "markdown"):
        for project in (None, "7"):
            args = ["--format", fmt] + (["--project", project] if project else [])
            proc = run(*args)
            assert proc.returncode == 0, proc.stderr
            assert proc.stderr == ""
            result[fmt, project] = proc.stdout
    return result


# ------------------------------------------------------------------ table

def test_default_is_the_table(outputs):
    proc = run()
    assert proc.returncode == 0
    assert proc.stdout == outputs["table", None]


def test_table_has_every_project_and_figure(outputs):
    out = outputs["table", None]
    for p in shanxi.projects():
        assert "%2d  %s  [%s]" % (p.number, p.title, p.category) in out
    for m in shanxi.metrics():
        assert m.key in out
    assert ELEVATOR_HEADING in out
    assert "606,900" in out          # thousands separators for counts
    assert "26,580,000" in out
    assert "93.41" in out            # floats as they are
    assert "2022-01-01..2022-12-31" in out   # project 5 counts over 2022
    assert "80.97% of elevators_started" in out


def test_table_columns_are_aligned(outputs):
    lines = outputs["table", None].splitlines()
    value_ends, unit_starts = set(), set()
    for m in shanxi.metrics():
        [line] = [ln for ln in lines if ln.split()[0] == m.key]
        value = "{:,}".format(m.value) if isinstance(m.value, int) else repr(m.value)
        start = line.index("  " + value + "  ") + 2
        value_ends.add(start + len(value))
        unit_starts.add(line.index("  " + m.unit + " ", start) + 2)
    assert len(value_ends) == 1
    assert len(unit_starts) == 1


def test_table_of_one_project(outputs):
    out = outputs["table", "7"]
    lines = out.splitlines()
    assert lines[0] == ELEVATOR_HEADING
    assert len(lines) == 3
    assert "641" in lines[1] and "elevators_started" in lines[1]
    assert "519" in lines[2] and "80.97%" in lines[2]


@pytest.mark.parametrize("name", ["7", "elevator_installation", "elevator", "ELEVATOR"])
def test_project_by_number_key_or_word(name, outputs):
    proc = run("--project", name)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == outputs["table", "7"]


# ------------------------------------------------------------------ csv

def test_csv_is_the_data_file(outputs):
    out = outputs["csv", None]
    assert out.splitlines()[0] == ",".join(COLUMNS)
    if CSV_PATH.is_file():
        assert out == CSV_PATH.read_text(encoding="utf-8")


def test_csv_loads_back_to_equal_figures(outputs):
    back = shanxi.loads(outputs["csv", None])
    assert back.metrics() == shanxi.metrics()
    assert back.to_dicts() == shanxi.to_dicts()
    assert back.projects() == shanxi.projects()


def test_csv_reads_with_pandas(outputs):
    pd = pytest.importorskip("pandas")
    import io

    frame = pd.read_csv(io.StringIO(outputs["csv", None]))
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 33
    assert frame["value"].sum() == pytest.approx(sum(m.value for m in shanxi.metrics()))
    assert frame.loc[frame["metric"] == "elevators_completed", "value"].item() == 519


def test_csv_of_one_project_has_shares(outputs):
    lines = outputs["csv", "7"].splitlines()
    assert lines[0] == ",".join(COLUMNS) + ",share"
    assert len(lines) == 3
    assert lines[1].endswith(",Shanxi,")                     # started: no share
    assert lines[2].endswith(",Shanxi," + repr(519 / 641))   # completed: 519 / 641
    back = shanxi.loads(outputs["csv", "7"])                  # the extra column is ignored
    assert back.metrics() == shanxi.metrics(project=7)


# ------------------------------------------------------------------ json

def test_json_is_the_figures(outputs):
    objects = json.loads(outputs["json", None])
    assert len(objects) == 33
    expected = []
    for row in shanxi.to_dicts():
        expected.append({k: (v.isoformat() if hasattr(v, "isoformat") else v)
                         for k, v in row.items()})
    assert objects == expected
    assert all(list(obj) == list(COLUMNS) for obj in objects)
    by_key = {obj["metric"]: obj for obj in objects}
    assert by_key["trained_people"]["value"] == 606900
    assert isinstance(by_key["trained_people"]["value"], int)
    assert by_key["high_risk_referral_rate"]["value"] == 93.41
    assert by_key["cultural_brand_activities"]["period_start"] == "2022-01-01"
    assert by_key["trained_people"]["period_start"] is None
    assert outputs["json", None].startswith('[\n  {\n    "project": 1,')


def test_json_of_one_project_has_shares(outputs):
    objects = json.loads(outputs["json", "7"])
    assert [o["metric"] for o in objects] == ["elevators_started", "elevators_completed"]
    assert objects[0]["share"] is None
    assert objects[1]["share"] == 519 / 641


# ------------------------------------------------------------------ markdown

def test_markdown_is_a_table(outputs):
    lines = outputs["markdown", None].splitlines()
    assert lines[0].startswith("| project | metric | label | value | unit | as_of")
    assert set(lines[1]) <= set("|-: ")
    assert len(lines) == 2 + 33
    ncells = lines[0].count(" | ")
    for line in lines:
        assert line.startswith("| ") and line.endswith(" |")
        assert line.replace("\\|", "").count(" | ") == ncells
    assert any("| 606,900 |" in line for line in lines)


def test_markdown_of_one_project(outputs):
    lines = outputs["markdown", "7"].splitlines()
    assert len(lines) == 4
    assert lines[0].endswith("| share |")
    assert "80.97%" in lines[3]


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("args", [
    ["--format", "xml"],
    ["--bogus"],
    ["extra"],
    ["--project"],
])
def test_bad_arguments_exit_2_with_usage(args):
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage:")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("name, message", [
    ("99", "no project 99"),
    ("0", "no project 0"),
    ("elevatr", "did you mean"),
    ("free", "names several projects"),
])
def test_unknown_project_exits_2(name, message):
    proc = run("--project", name)
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage:")
    assert "shanxi: error: " in proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_help_and_version():
    proc = run("--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: shanxi")
    assert "--format" in proc.stdout and "--project" in proc.stdout
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == "shanxi " + shanxi.__version__


def test_broken_pipe_is_quiet():
    code = (
        "import os, sys\n"
        "r, w = os.pipe()\n"
        "os.close(r)\n"
        "os.dup2(w, 1)\n"
        "from shanxi.__main__ import main\n"
        "sys.exit(main(['--format', 'json']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.stderr == ""
    assert proc.returncode == 0


# ------------------------------------------------------------------ in process

def test_main_in_process(capsys):
    assert main(["--format", "csv", "--project", "elevator"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.count("\n") == 3


def test_main_in_process_bad_project(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--project", "99"])
    assert info.value.code == 2
    assert "no project 99" in capsys.readouterr().err


# ------------------------------------------------------------------ console script

def test_console_script_is_declared():
    from importlib.metadata import distribution

    [ep] = [ep for ep in distribution("shanxi").entry_points
            if ep.group == "console_scripts" and ep.name == "shanxi"]
    assert ep.value == "shanxi.__main__:main"
    assert ep.load() is main


def test_console_script_runs(outputs):
    bindir = pathlib.Path(sys.executable).parent
    script = bindir / ("shanxi.exe" if os.name == "nt" else "shanxi")
    if not script.exists():
        pytest.skip("no console script beside %s" % sys.executable)
    proc = subprocess.run([str(script), "--project", "7"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == outputs["table", "7"]
