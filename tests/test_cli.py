"""The command line: ``python -m shanxi`` and the ``shanxi`` console script."""
import json
import os
import pathlib
import re
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

def test_csv_is_the_data_file_with_shares(outputs):
    out = outputs["csv", None]
    lines = out.splitlines()
    assert lines[0] == ",".join(COLUMNS) + ",share"
    # The share is the last field, after any quoted commas: cut it off and
    # what is left is the data file.
    assert all(line.count(",") >= len(COLUMNS) for line in lines)
    without = "".join(line.rsplit(",", 1)[0] + "\n" for line in lines)
    if CSV_PATH.is_file():
        assert without == CSV_PATH.read_text(encoding="utf-8")
    shares = [line.rsplit(",", 1)[1] for line in lines[1:]]
    assert sum(1 for x in shares if x) == 4       # the four figures with a part_of
    assert repr(519 / 641) in shares


def test_csv_loads_back_to_equal_figures(outputs):
    back = shanxi.loads(outputs["csv", None])
    assert back.metrics() == shanxi.metrics()
    assert back.to_dicts() == shanxi.to_dicts()
    assert back.projects() == shanxi.projects()


def test_csv_reads_with_pandas(outputs):
    pd = pytest.importorskip("pandas")
    import io

    frame = pd.read_csv(io.StringIO(outputs["csv", None]))
    assert list(frame.columns) == list(COLUMNS) + ["share"]
    assert len(frame) == 33
    assert frame["share"].count() == 4
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
        # The C share() of each figure with a whole (the keys are unique here).
        expected[-1]["share"] = shanxi.share(row["metric"]) if row["part_of"] else None
    assert objects == expected
    assert all(list(obj) == list(COLUMNS) + ["share"] for obj in objects)
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


# ------------------------------------------------------------------ your own file

# A small panel: two regions (one named in Chinese, two columns wide in a
# terminal), a part and its whole in each, a float in another unit.
PANEL = (
    "project,project_key,metric,label,value,unit,as_of,part_of,region\n"
    "1,training,trained,参加培训人数,1200,people,2022-11-30,,太原\n"
    "1,training,certified,取得证书人数,900,people,2022-11-30,trained,太原\n"
    "1,training,trained,参加培训人数,800,people,2022-11-30,,Datong\n"
    "1,training,certified,取得证书人数,600,people,2022-11-30,trained,Datong\n"
    "1,training,subsidy,补贴（元）,1500.5,CNY,2022-12-31,,Datong\n"
)

PANEL_TABLE = (
    "1  training\n"
    "   trained    太原      1,200  people  2022-11-30\n"
    "   certified  太原        900  people  2022-11-30  75.00% of trained\n"
    "   trained    Datong      800  people  2022-11-30\n"
    "   certified  Datong      600  people  2022-11-30  75.00% of trained\n"
    "   subsidy    Datong  1,500.5  CNY     2022-12-31\n"
)


@pytest.fixture
def panel(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_text(PANEL, encoding="utf-8")
    return path


def ok(*args, cwd=None, input=None):
    """Run, check success and a quiet stderr, and give stdout."""
    if input is None:
        proc = run(*args, cwd=cwd)
    else:
        env = dict(os.environ, PYTHONIOENCODING="utf-8")
        proc = subprocess.run([sys.executable, "-m", "shanxi", *args], input=input,
                              capture_output=True, text=True, encoding="utf-8", env=env,
                              cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_file_table_has_regions_and_shares(panel):
    assert ok(str(panel)) == PANEL_TABLE


def test_file_from_stdin(panel):
    assert ok("-", input=PANEL) == PANEL_TABLE


def test_file_markdown(panel):
    lines = ok(str(panel), "--format", "markdown").splitlines()
    assert lines[0] == "| project | metric | region | label | value | unit | as_of | share |"
    assert lines[2] == "| 1 | trained | 太原 | 参加培训人数 | 1,200 | people | 2022-11-30 |  |"
    assert lines[3].endswith("| 900 | people | 2022-11-30 | 75.00% of trained |")
    assert len(lines) == 7


def test_file_csv_carries_share_and_loads_back(panel):
    out = ok(str(panel), "--format", "csv")
    lines = out.splitlines()
    assert lines[0] == ",".join(COLUMNS) + ",share"
    assert lines[1] == "1,training,,,trained,参加培训人数,1200,people,2022-11-30,,,太原,"
    assert lines[2].endswith(",trained,太原,0.75")
    assert shanxi.loads(out).metrics() == shanxi.load(panel).metrics()


def test_file_json_carries_share(panel):
    objects = json.loads(ok(str(panel), "--format", "json"))
    assert [o["share"] for o in objects] == [None, 0.75, None, 0.75, None]
    assert objects[4]["value"] == 1500.5 and objects[4]["region"] == "Datong"
    assert objects[0]["label"] == "参加培训人数"


def test_no_share_column_without_parts(panel):
    out = ok(str(panel), "--format", "csv", "--metric", "subsidy")
    assert out.splitlines()[0] == ",".join(COLUMNS)
    assert "share" not in json.loads(ok(str(panel), "--format", "json", "--unit", "CNY"))[0]


def test_filters(panel):
    # The whole of a share may be filtered out: the share is still there.
    assert ok(str(panel), "--metric", "certified", "--region", "Datong") == (
        "1  training\n"
        "   certified  600  people  2022-11-30  75.00% of trained\n")
    out = ok(str(panel), "--format", "csv", "--since", "2022-12-01")
    assert out.splitlines()[1:] == [
        "1,training,,,subsidy,补贴（元）,1500.5,CNY,2022-12-31,,,Datong"]
    out = ok(str(panel), "--format", "csv", "--until", "2022-11-30", "--unit", "people")
    assert len(out.splitlines()) == 5
    assert ok(str(panel), "--format", "json", "--since", "2023-01-01") == "[]\n"
    assert ok(str(panel), "--since", "2023-01-01") == ""


def test_embedded_filters_match_metrics():
    out = ok("--format", "csv", "--unit", "people", "--since", "2022-12-01")
    import csv

    assert [row["metric"] for row in csv.DictReader(out.splitlines())] == [
        m.key for m in shanxi.metrics(unit="people", since="2022-12-01")]
    out = ok("--format", "json", "--category", "health", "--until", "2022-11-30")
    assert [o["metric"] for o in json.loads(out)] == [
        m.key for m in shanxi.metrics(category="health", until="2022-11-30")]


# ------------------------------------------------------------------ aggregation

def test_aggregate_table(panel):
    assert ok(str(panel), "--by", "region", "--unit", "people") == (
        "region    sum\n"
        "Datong  1,400\n"
        "太原    2,100\n")


def test_aggregate_formats(panel):
    assert ok(str(panel), "--by", "as_of", "--func", "count", "--format", "csv") == (
        "as_of,count\n2022-11-30,4\n2022-12-31,1\n")
    assert json.loads(ok(str(panel), "--by", "region", "--func", "mean", "--metric",
                         "certified", "--format", "json")) == [
        {"region": "Datong", "mean": 600.0}, {"region": "太原", "mean": 900.0}]
    assert ok(str(panel), "--by", "region", "--unit", "people", "--format", "markdown") == (
        "| region | sum |\n| --- | ---: |\n| Datong | 1,400 |\n| 太原 | 2,100 |\n")


def test_aggregate_one_number():
    assert ok("--func", "count") == "33\n"
    assert ok("--func", "sum", "--unit", "CNY") == "47,230,000\n"
    assert ok("--func", "sum", "--unit", "CNY", "--format", "csv") == "sum\n47230000\n"
    assert json.loads(ok("--func", "max", "--unit", "percent", "--format", "json")) == [
        {"max": 99.99}]


def test_aggregate_matches_the_api():
    out = ok("--by", "category", "--func", "count", "--format", "json")
    assert {o["category"]: o["count"] for o in json.loads(out)} == shanxi.aggregate(
        "count", by="category")
    out = ok("--by", "project", "--unit", "CNY", "--format", "csv")
    assert out == "project,sum\n6,26580000\n12,20650000\n"
    assert ok("--by", "month", "--func", "count", "--limit", "2") == (
        "month    count\n"
        "2022-07      1\n"
        "2022-09      1\n"
        "... 3 more groups (--all shows every one)\n")


# ------------------------------------------------------------------ large files

def test_large_file_listing_is_a_preview(tmp_path):
    path = tmp_path / "many.csv"
    rows = ["project,metric,value,unit,as_of,region"]
    rows += ["1,m%d,%d,people,2022-01-01,r%d" % (i, i, i % 3) for i in range(120)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    lines = ok(str(path)).splitlines()
    assert lines[0] == "1"
    assert len(lines) == 1 + 50 + 1
    assert lines[1].split() == ["m0", "r0", "0", "people", "2022-01-01"]
    assert lines[50].split()[0] == "m49"
    assert lines[-1] == "... 70 more figures (--all shows every one)"
    md = ok(str(path), "--format", "markdown").splitlines()
    assert len(md) == 2 + 50 + 2
    assert md[-2:] == ["", "... 70 more figures (--all shows every one)"]
    assert len(ok(str(path), "--all").splitlines()) == 1 + 120
    assert len(ok(str(path), "--limit", "3").splitlines()) == 1 + 3 + 1
    # For programs: every figure, unless asked for fewer, and no trailer.
    assert len(ok(str(path), "--format", "csv").splitlines()) == 1 + 120
    assert len(json.loads(ok(str(path), "--format", "json"))) == 120
    assert ok(str(path), "--format", "csv", "--limit", "2").splitlines()[1:] == [
        "1,,,,m0,,0,people,2022-01-01,,,r0", "1,,,,m1,,1,people,2022-01-01,,,r1"]
    assert ok(str(path), "--limit", "0") == "... 120 more figures (--all shows every one)\n"


# ------------------------------------------------------------------ bad files

def fails(*args, cwd=None):
    proc = run(*args, cwd=cwd)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("text, where", [
    ("project,metric,value,unit,as_of\n1,x,12a,people,2022-01-01\n",
     '2:5: expected a finite number in column "value", found "12a"'),
    ("", "1:1: expected a header row, found an empty input"),
    ("project,metric,value,unit,as_of\n1,x,1,people,2022-02-30\n",
     None),
])
def test_bad_file_exits_1_with_file_line_column(tmp_path, text, where):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load(path)
    if where is None:     # whatever the parser says, the command line says it the same way
        where = "%d:%d: %s" % (info.value.line, info.value.column, info.value.reason)
    code, err = fails("bad.csv", cwd=tmp_path)
    assert code == 1
    assert err == "shanxi: bad.csv:%s\n" % where


def test_bad_bytes_exit_1(tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"project,metric,value,unit,as_of\n1,\xff,1,u,2022-01-01\n")
    assert fails("bad.csv", cwd=tmp_path) == (
        1, "shanxi: bad.csv:2:3: expected UTF-8 text, found the invalid byte FF\n")


def test_bad_stdin_exits_1():
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, "-m", "shanxi", "-"], input="project,metric\n1,x\n",
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("shanxi: <stdin>:1:1: expected a header with the columns")


def test_a_directory_is_its_csv_files(tmp_path):
    head = "project,metric,value,unit,as_of\n"
    (tmp_path / "a.csv").write_text(head + "1,x,2,CNY,2022-01-01\n")
    (tmp_path / "b.csv").write_text(head + "1,y,3,CNY,2022-01-01\n")
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, "-m", "shanxi", "--format", "csv", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "x" in proc.stdout and "y" in proc.stdout
    (tmp_path / "c.csv").write_text(head + "1,z,oops,CNY,2022-01-01\n")
    assert fails(".", cwd=tmp_path) == (
        1, "shanxi: %s:2:5: expected a finite number in column \"value\", found \"oops\"\n"
        % os.path.join(".", "c.csv"))


def test_truncated_or_corrupt_compressed_file_exits_1(tmp_path):
    import gzip

    (tmp_path / "cut.csv.gz").write_bytes(gzip.compress(PANEL.encode())[:-12])
    code, err = fails("cut.csv.gz", cwd=tmp_path)
    assert code == 1
    assert re.fullmatch(r"shanxi: cut\.csv\.gz:\d+:\d+: the gzip data is truncated: it ends "
                        r"before its end-of-stream marker\n", err), err
    (tmp_path / "bad.csv.gz").write_bytes(b"\x1f\x8b" + b"x" * 30)
    assert fails("bad.csv.gz", cwd=tmp_path) == (
        1, "shanxi: bad.csv.gz:1:1: the gzip data is corrupt (Error -3 while decompressing "
           "data: unknown compression method)\n")


def test_compressed_stdin(panel):
    import gzip

    proc = subprocess.run([sys.executable, "-m", "shanxi", "-"],
                          input=gzip.compress(PANEL.encode()), capture_output=True,
                          env=dict(os.environ, PYTHONIOENCODING="utf-8"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert proc.stdout.decode("utf-8") == PANEL_TABLE


def test_encoding_option(tmp_path):
    (tmp_path / "gb.csv").write_bytes(PANEL.encode("gb18030"))
    assert ok("--encoding", "gb18030", "gb.csv", cwd=tmp_path) == PANEL_TABLE
    code, err = fails("gb.csv", cwd=tmp_path)
    assert code == 1
    assert err.endswith('not UTF-8; if it is GB18030, pass encoding="gb18030"\n')
    proc = subprocess.run([sys.executable, "-m", "shanxi", "--encoding", "utf-16", "-"],
                          input=PANEL.encode("utf-16"), capture_output=True,
                          env=dict(os.environ, PYTHONIOENCODING="utf-8"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == PANEL_TABLE


@pytest.mark.parametrize("args, message", [
    (["--encoding", "no-such-codec", "x.csv"], "argument --encoding: unknown encoding "
                                               "'no-such-codec'"),
    (["--encoding", "rot13", "x.csv"], "argument --encoding: rot13 is not a text encoding"),
    (["--encoding", "gbk", "--encoding", "gbk", "x.csv"],
     "argument --encoding: given more than once ('gbk', then 'gbk')"),
    (["--encoding", "gbk"], "--encoding is for FILE; the embedded data has none"),
])
def test_bad_encoding_option_exits_2(args, message):
    code, err = fails(*args)
    assert code == 2
    assert err.startswith("usage: shanxi")
    assert err.endswith("shanxi: error: %s\n" % message)


def test_parse_warning_is_said_as_the_command_line_says_things(tmp_path):
    (tmp_path / "slip.csv").write_text(PANEL.replace(",region\n", ",regoin\n", 1),
                                       encoding="utf-8")
    for flags in ([], ["-W", "error"]):
        proc = subprocess.run([sys.executable, *flags, "-m", "shanxi", "slip.csv"], cwd=tmp_path,
                              capture_output=True, text=True, encoding="utf-8", timeout=60,
                              env=dict(os.environ, PYTHONIOENCODING="utf-8"))
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == (
            'shanxi: warning: slip.csv: the header field "regoin" names no column and is '
            'ignored; did you mean "region"?\n'
        )
        assert proc.stdout.startswith("1  training\n")


# A directory is read as its .csv files (shanxi.load): "." has none.
@pytest.mark.parametrize("name, reason", [("missing.csv", os.strerror(2)),
                                          (".", "the directory holds no .csv files")])
def test_unopenable_file_exits_2_with_usage(tmp_path, name, reason):
    code, err = fails(name, cwd=tmp_path)
    assert code == 2
    assert err.startswith("usage: shanxi")
    assert err.endswith("shanxi: error: can't open %r: %s\n" % (name, reason))


# ------------------------------------------------------------------ bad arguments

USAGE = "usage: shanxi "
UNITS = ("CNY, USD, activities, brands, cases, cities, consultations, counties, couples, devices, "
         "elevators, people, percent, performances, projects, schools, screenings, stations, teams")


@pytest.mark.parametrize("args, message", [
    (["--format", "csv", "--format", "json"],
     "argument --format: given more than once ('csv', then 'json')"),
    (["--format", "csv", "--format", "csv"],
     "argument --format: given more than once ('csv', then 'csv')"),
    (["--by", "region", "--by", "month"],
     "argument --by: given more than once ('region', then 'month')"),
    (["--func", "sum", "--func=count"],
     "argument --func: given more than once ('sum', then 'count')"),
    (["--project", "7", "--project", "8"],
     "argument --project: given more than once ('7', then '8')"),
    (["--unit", "CNY", "--unit", "USD"],
     "argument --unit: given more than once ('CNY', then 'USD')"),
    (["--region", "Shanxi", "--region", "Shanxi"],
     "argument --region: given more than once ('Shanxi', then 'Shanxi')"),
    (["--since", "2022-01-01", "--since", "2022-02-01"],
     "argument --since: given more than once ('2022-01-01', then '2022-02-01')"),
    (["--limit", "1", "--limit", "2"], "argument --limit: given more than once (1, then 2)"),
    (["--limit", "2", "--all"], "argument --all: not allowed with argument --limit"),
    (["--limit", "-1"], "argument --limit: expected a whole number >= 0, not '-1'"),
    (["--limit", "ten"], "argument --limit: expected a whole number >= 0, not 'ten'"),
    (["--by", "city"], "argument --by: invalid choice: 'city' (choose from 'project', "
                       "'metric', 'category', 'unit', 'region', 'as_of', 'month')"),
    (["--func", "median"], "argument --func: invalid choice: 'median' (choose from 'sum', "
                           "'count', 'mean', 'min', 'max')"),
    (["a.csv", "b.csv"], "unrecognized arguments: b.csv"),
    (["--by", "region"], "in region Shanxi: cannot sum figures in different units (%s); "
                         "pass --unit UNIT or --by unit" % UNITS),
    (["--func", "mean"],
     "cannot average figures in different units (%s); pass --unit UNIT or --by unit" % UNITS),
    (["--func", "mean", "--since", "2030-01-01"], "mean of no figures"),
    (["--region", "Taiyuan"], "no region 'Taiyuan' in the embedded 2022 dataset"),
    (["--metric", "elevators"], "no metric 'elevators' in the embedded 2022 dataset; "
                                "did you mean 'elevators_started', 'elevators_completed'?"),
    (["--unit", "yuan"], "no unit 'yuan' in the embedded 2022 dataset"),
    (["--category", "sport", "--by", "unit"], "no category 'sport' in the embedded 2022 dataset"),
    (["--since", "2022-13-01"], "since must be a date as YYYY-MM-DD, not '2022-13-01'"),
    (["--until", "yesterday", "--format", "csv"],
     "until must be a date as YYYY-MM-DD, not 'yesterday'"),
])
def test_bad_arguments_exit_2_with_the_message(args, message):
    code, err = fails(*args)
    assert code == 2
    assert err.startswith(USAGE)
    [last] = [line for line in err.splitlines() if line.startswith("shanxi: error: ")]
    if "invalid choice" in message:
        # argparse quotes the choices on some Pythons (3.9-3.13), not on
        # others, and 3.15 adds its own guess ("median, maybe you meant mean?")
        plain = re.sub(r", maybe you meant [^?]*\?", "", last.replace("'", ""))
        assert plain == ("shanxi: error: " + message).replace("'", "")
    else:
        assert last == "shanxi: error: " + message
    assert err.endswith("\n") and err.splitlines()[-1] == last


def test_mixed_units_in_a_file(panel):
    code, err = fails(str(panel), "--func", "sum")
    assert code == 2
    assert err.splitlines()[-1] == (
        "shanxi: error: cannot sum figures in different units (CNY, people); "
        "pass --unit UNIT or --by unit")
    code, err = fails(str(panel), "--region", "Taiyuan")
    assert err.splitlines()[-1] == "shanxi: error: no region 'Taiyuan' in %s" % panel


def test_repeated_options_in_process(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--format", "csv", "--format", "json"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "shanxi: error: argument --format: given more than once ('csv', then 'json')")


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


def test_stdin_closed_is_a_usage_error():
    # `shanxi - <&-`: no sys.stdin at all (it was an AttributeError)
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "import os, runpy, sys; os.close(0); sys.stdin = None; "
         "sys.argv = ['shanxi', '-']; runpy.run_module('shanxi', run_name='__main__')"],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=60,
    )
    assert done.returncode == 2
    assert "can't open '-': standard input is closed" in done.stderr
    assert "Traceback" not in done.stderr
