"""HTML for notebooks: _repr_html_ of Dataset, Project, Metric and of the
tuples metrics() and search() return."""
import re

import pytest

import shanxi
from shanxi import _render

RIGHT = "text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums"
LEFT = "text-align:left"
DATE = "text-align:left;white-space:nowrap"

PANEL = """\
project,project_title,metric,label,value,unit,as_of,region,part_of
1,职业技能提升培训,trained,参加培训人数,1000,people,2022-01-31,Taiyuan,
1,职业技能提升培训,certified,,600,people,2022-01-31,Taiyuan,trained
1,职业技能提升培训,trained,参加培训人数,2000.5,people,2022-01-31,Datong,
1,职业技能提升培训,certified,,1500,people,2022-01-31,Datong,trained
7,,elevators,,3,elevators,2022-02-28,Datong,
"""


def table(html, css_class):
    """The <table class=css_class> of html."""
    found = re.search(r'<table class="%s">(.*?)</table>' % css_class, html, re.S)
    assert found, css_class
    return found.group(1)


def cells(html):
    """The text of every <td> cell, tags stripped."""
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def header(html):
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<th[^>]*>(.*?)</th>",
                                                         html.split("<tbody>")[0], re.S)]


def body_rows(html):
    return re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>", 1)[1], re.S)


def card(html):
    """A card's rows as {name: text}."""
    return {re.sub(r"<[^>]+>", "", k): re.sub(r"<[^>]+>", "", v) for k, v in re.findall(
        r"<tr><th[^>]*>(.*?)</th><td[^>]*>(.*?)</td></tr>", html, re.S)}


def styles(html):
    """Every (tag, style, text) of a th or td cell."""
    return [(tag, style, re.sub(r"<[^>]+>", "", content)) for tag, style, content in
            re.findall(r'<(th|td) style="([^"]*)">(.*?)</\1>', html, re.S)]


# ------------------------------------------------------------------ dataset

def test_dataset_summary():
    html = shanxi.data._repr_html_()
    assert html == _render.html(shanxi.data)
    assert html.startswith('<div class="shanxi-dataset">')
    assert "<strong>the embedded 2022 dataset</strong>: 33 figures, 12 projects" in html
    summary = card(table(html, "shanxi-summary"))
    assert list(summary) == ["regions", "units", "as_of"]
    assert summary["regions"] == "1: Shanxi"
    assert summary["units"].startswith("19: people, screenings, percent, ")
    assert summary["units"].endswith(", USD, \N{HORIZONTAL ELLIPSIS} (7 more)")
    assert summary["as_of"] == "2022-07-31 \N{EN DASH} 2022-12-31 (5 dates)"


def test_dataset_projects():
    projects = table(shanxi.data._repr_html_(), "shanxi-projects")
    assert header(projects) == ["number", "key", "title", "category", "as_of", "figures"]
    rows = body_rows(projects)
    assert len(rows) == 12
    assert cells(rows[6]) == ["7", "elevator_installation",
                              "Incentives for voluntary elevator installation in existing "
                              "residences", "housing", "2022-12-31", "2"]
    assert sum(int(cells(row)[-1]) for row in rows) == 33


def test_dataset_preview_is_bounded():
    html = shanxi.data._repr_html_()
    preview = table(html, "shanxi-figures")
    assert "the first and last 5 of 33 figures" in preview
    assert header(preview) == ["project", "metric", "value", "unit", "as_of", "region", "share"]
    rows = [cells(r) for r in body_rows(preview)]
    assert len(rows) == 11
    assert rows[5] == ["\N{HORIZONTAL ELLIPSIS}"] * 7 or rows[5] == ["&hellip;"] * 7
    metrics = shanxi.metrics()
    assert [r[1] for r in rows[:5]] == [m.key for m in metrics[:5]]
    assert [r[1] for r in rows[6:]] == [m.key for m in metrics[-5:]]
    assert rows[0] == ["1", "trained_people", "606,900", "people", "2022-11-30", "Shanxi", ""]


def test_rows_without_a_region_are_no_region():
    # ds.regions has None for them; the summary lists only real regions
    no_column = shanxi.loads("project,metric,value,unit,as_of\n1,x,1,p,2022-01-01\n")
    assert "regions" not in card(table(no_column._repr_html_(), "shanxi-summary"))
    some = shanxi.loads("project,metric,value,unit,as_of,region\n1,x,1,p,2022-01-01,\n"
                        "1,y,2,p,2022-01-01,B\n1,z,2,p,2022-01-01,A\n")
    assert None in some.regions
    assert card(table(some._repr_html_(), "shanxi-summary"))["regions"] == "2: A, B"


def test_a_loaded_panel():
    ds = shanxi.loads(PANEL)
    html = ds._repr_html_()
    assert "<strong>&lt;string&gt;</strong>: 5 figures, 2 projects" in html
    summary = card(table(html, "shanxi-summary"))
    # regions sorted, as ds.regions is (the file has Taiyuan first)
    assert summary == {"regions": "2: Datong, Taiyuan", "units": "2: people, elevators",
                       "as_of": "2022-01-31 \N{EN DASH} 2022-02-28 (2 dates)"}
    projects = table(html, "shanxi-projects")
    # the columns the file has no value for are left out
    assert header(projects) == ["number", "title", "as_of", "figures"]
    assert [cells(r) for r in body_rows(projects)] == [
        ["1", "职业技能提升培训", "2022-01-31", "4"], ["7", "", "2022-02-28", "1"]]
    preview = table(html, "shanxi-figures")
    assert "all 5 figures" in preview
    rows = [cells(r) for r in body_rows(preview)]
    assert rows[1] == ["1", "certified", "600", "people", "2022-01-31", "Taiyuan", "60.00%"]
    assert rows[2][2] == "2,000.5"


def test_a_large_panel_preview_reads_no_row_objects():
    lines = ["project,metric,value,unit,as_of,region"]
    lines += ["%d,m,%d,x,2022-01-01,r%d" % (1 + i % 3, i, i % 40) for i in range(50000)]
    ds = shanxi.loads("\n".join(lines) + "\n")
    html = ds._repr_html_()
    assert "50,000 figures, 3 projects" in html
    assert card(table(html, "shanxi-summary"))["regions"].startswith("40: r0, r1, ")
    rows = [cells(r) for r in body_rows(table(html, "shanxi-figures"))]
    assert len(rows) == 11
    assert rows[-1] == ["2", "m", "49,999", "x", "2022-01-01", "r39"]


def test_one_figure_one_project():
    ds = shanxi.loads("project,metric,value,unit,as_of,region\n3,m,1,x,2022-01-01,Yuncheng\n")
    assert "<strong>&lt;string&gt;</strong>: 1 figure, 1 project</" in ds._repr_html_()


def test_summary_lists_regions_as_the_dataset_does():
    ds = shanxi.loads("project,metric,value,unit,as_of,region\n"
                      "1,m,1,z,2022-01-01,Yuncheng\n1,m,1,a,2022-01-01,Changzhi\n"
                      "1,m,1,z,2022-01-01,Datong\n")
    summary = card(table(ds._repr_html_(), "shanxi-summary"))
    assert summary["regions"] == "3: " + ", ".join(ds.regions) == "3: Changzhi, Datong, Yuncheng"


def test_empty_dataset():
    html = shanxi.loads("project,metric,value,unit,as_of\n")._repr_html_()
    assert "0 figures, 0 projects" in html
    assert "shanxi-figures" not in html


# ------------------------------------------------------------------ project

def test_project_table():
    p = shanxi.project(7)
    html = p._repr_html_()
    assert html == _render.html(p)
    assert "<strong>7</strong>" in html
    assert "Incentives for voluntary elevator installation in existing residences" in html
    assert "housing" in html and "as of 2022-12-31" in html
    assert header(html) == ["metric", "label", "value", "unit", "as_of", "share"]
    rows = [cells(r) for r in body_rows(html)]
    assert rows[0] == ["elevators_started", "Elevators whose installation began in older housing",
                       "641", "elevators", "2022-12-31", ""]
    assert rows[1][0] == "elevators_completed"
    assert rows[1][2] == "519"
    assert rows[1][-1] == "80.97%"


def test_project_without_parts_has_no_share_column():
    html = shanxi.project(1)._repr_html_()
    assert "share" not in header(html)
    assert "606,900" in html and "430,400" in html


def test_project_float_values():
    html = shanxi.project(2)._repr_html_()
    assert ">93.41<" in html
    assert "209,739" in html
    assert "7.73%" in html      # 16219 / 209739


def test_project_of_a_panel_shows_the_region_of_each_row():
    p = shanxi.loads(PANEL).project(1)
    html = p._repr_html_()
    assert "职业技能提升培训" in html
    assert header(html) == ["metric", "label", "value", "unit", "as_of", "region", "share"]
    rows = [cells(r) for r in body_rows(html)]
    assert [r[5] for r in rows] == ["Taiyuan", "Taiyuan", "Datong", "Datong"]
    assert rows[3] == ["certified", "", "1,500", "people", "2022-01-31", "Datong", "74.98%"]


# ------------------------------------------------------------------ metric

def test_metric_card():
    m = shanxi.metric("cultural_brand_activities")
    html = m._repr_html_()
    assert html == _render.html(m)
    assert card(html) == {
        "key": "cultural_brand_activities",
        "project": "5",
        "label": m.label,
        "value": "4,505",
        "unit": "activities",
        "as_of": "2022-12-31",
        "period_start": "2022-01-01",
        "region": "Shanxi",
        "category": "culture",
    }


def test_metric_card_leaves_empty_fields_out():
    html = shanxi.Metric("k", 3, 1.5, "x", "2022-03-04")._repr_html_()
    assert card(html) == {"key": "k", "project": "3", "value": "1.5", "unit": "x",
                          "as_of": "2022-03-04"}
    assert list(card(shanxi.metric("elevators_completed")._repr_html_())) == [
        "key", "project", "label", "value", "unit", "as_of", "part_of", "region", "category"]


def test_metric_values():
    assert ">26,580,000<" in shanxi.metric("senior_care_subsidy_cny")._repr_html_()
    assert ">99.99<" in shanxi.metric("consultation_satisfaction_rate")._repr_html_()
    html = shanxi.metric("elevators_completed")._repr_html_()
    assert ">elevators_started<" in html


# ------------------------------------------------------------------ the look

@pytest.mark.parametrize("obj", [
    shanxi.data, shanxi.project(7), shanxi.metric("elevators_completed"),
    shanxi.loads(PANEL), shanxi.loads(PANEL).project(1), shanxi.metrics(project=2),
], ids=["dataset", "project", "metric", "panel", "panel project", "metrics"])
def test_every_cell_is_styled(obj):
    html = obj._repr_html_()
    assert len(re.findall(r"<td[ >]", html)) == html.count('<td style="')
    assert len(re.findall(r"<th[ >]", html)) == html.count('<th style="')
    found = styles(html)
    assert found
    for tag, style, content in found:
        if re.fullmatch(r"-?[\d,]+(\.\d+)?(e[+-]\d+)?%?", content):
            assert style == RIGHT or (tag == "th" or content.isdigit()), (tag, style, content)
        if re.fullmatch(r"\d{4}-\d\d-\d\d", content):
            assert style == DATE, content
        if style == RIGHT:
            assert "white-space:nowrap" in style
        assert style in (RIGHT, LEFT, DATE)


def test_header_aligned_as_its_column():
    html = shanxi.project(7)._repr_html_()
    th = [style for tag, style, _ in styles(html) if tag == "th"]
    assert th == [LEFT, LEFT, RIGHT, LEFT, DATE, RIGHT]


def test_text_formats():
    import datetime

    assert _render.text(None) == ""
    assert _render.text(1234) == "1,234"
    assert _render.text(-1234567) == "-1,234,567"
    assert _render.text(0.1) == "0.1"
    assert _render.text(1234567.25) == "1,234,567.25"
    assert _render.text(-2000.5) == "-2,000.5"
    assert _render.text(1e22) == "1e+22"
    assert _render.text(datetime.date(2022, 1, 2)) == "2022-01-02"
    assert _render.percent(519 / 641) == "80.97%"


# ------------------------------------------------------------------ escaping

def test_everything_is_escaped(tmp_path):
    text = (
        "project,project_key,project_title,category,metric,label,value,unit,as_of,part_of\n"
        '1,k<1>,"<b>""A"" & B</b>",c&d,whole,<script>x</script>,8,<u>,2022-01-31,\n'
        "1,k<1>,\"<b>\"\"A\"\" & B</b>\",c&d,part,it's,2,<u>,2022-01-31,whole\n"
    )
    path = tmp_path / "a&b<c>.csv"
    path.write_text(text, encoding="utf-8")
    ds = shanxi.load(path)
    for html in (ds._repr_html_(), ds.project(1)._repr_html_(), ds.metric("whole")._repr_html_(),
                 ds.metrics()._repr_html_()):
        assert "<script>" not in html
        assert "<b>" not in html and "<u>" not in html
        assert "c&d" not in html
    html = ds._repr_html_()
    assert "&lt;b&gt;&quot;A&quot; &amp; B&lt;/b&gt;" in html
    assert "a&amp;b&lt;c&gt;.csv" in html
    assert "k&lt;1&gt;" in html
    html = ds.project(1)._repr_html_()
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "it&#x27;s" in html
    assert "25.00%" in html
    html = ds.metric("whole")._repr_html_()
    assert "&lt;u&gt;" in html and "c&amp;d" in html


def test_objects_made_by_hand():
    m = shanxi.Metric("k", 1, 1234567, "<unit>", "2022-03-04", label="a & b")
    part = shanxi.Metric("p", 1, 0.5, "<unit>", "2022-03-04", part_of="k")
    html = m._repr_html_()
    assert "1,234,567" in html and "&lt;unit&gt;" in html and "a &amp; b" in html
    p = shanxi.Project(1, title="<i>T</i>", metrics=[m, part])
    html = p._repr_html_()
    assert "&lt;i&gt;T&lt;/i&gt;" in html
    assert "0.00%" in html          # 0.5 / 1234567
    assert "share" in header(html)
    assert "<strong>1</strong>" in shanxi.Project(1)._repr_html_()


def test_long_tables_are_cut():
    lines = ["project,metric,value,unit,as_of"]
    lines += ["%d,m%d,%d,x,2022-01-01" % (i, i, i) for i in range(1, 201)]
    ds = shanxi.loads("\n".join(lines) + "\n")
    html = ds._repr_html_()
    projects = table(html, "shanxi-projects")
    rows = body_rows(projects)
    # as pandas: over 60 rows, the first and last 5
    assert len(rows) == 2 * _render.PREVIEW_ROWS + 1 == 11
    assert "&hellip;" in rows[_render.PREVIEW_ROWS]
    assert [cells(r)[0] for r in rows] == ["1", "2", "3", "4", "5", "&hellip;",
                                           "196", "197", "198", "199", "200"]
    assert "the first and last 5 of 200 projects" in projects
    assert "200 figures, 200 projects" in html
    # 60 rows are shown whole
    lines = ["project,metric,value,unit,as_of"]
    lines += ["%d,m%d,%d,x,2022-01-01" % (i, i, i) for i in range(1, 61)]
    html = shanxi.loads("\n".join(lines) + "\n")._repr_html_()
    assert len(body_rows(table(html, "shanxi-projects"))) == 60


def test_long_projects_are_cut():
    lines = ["project,metric,value,unit,as_of,region"]
    lines += ["1,m,%d,x,2022-01-01,r%d" % (i, i) for i in range(100)]
    html = shanxi.loads("\n".join(lines) + "\n").project(1)._repr_html_()
    assert "the first and last 5 of 100 figures" in html
    rows = [cells(r) for r in body_rows(html)]
    assert [r[-1] for r in rows] == ["r0", "r1", "r2", "r3", "r4", "&hellip;",
                                     "r95", "r96", "r97", "r98", "r99"]


def test_html_of_something_else():
    with pytest.raises(TypeError):
        _render.html(object())
    with pytest.raises(TypeError):
        _render.html((1, 2))


# ------------------------------------------------------------------ metrics() as a table

def test_metrics_is_a_tuple_that_shows_as_a_table():
    import pickle

    found = shanxi.metrics(project=7)
    assert isinstance(found, tuple)
    assert found == tuple(found) and tuple(found) == found
    assert found == (shanxi.metric("elevators_started"), shanxi.metric("elevators_completed"))
    assert repr(found) == repr(tuple(found))
    assert pickle.loads(pickle.dumps(found)) == found
    assert found[0] is shanxi.metric("elevators_started")
    assert found[1:] == (shanxi.metric("elevators_completed"),)
    assert found + (1,) == tuple(found) + (1,)
    html = found._repr_html_()
    assert "2 figures" in html
    assert header(html) == ["metric", "label", "value", "unit", "as_of", "share"]
    assert cells(body_rows(html)[1])[-1] == "80.97%"


def test_metrics_of_several_projects_show_the_project():
    html = shanxi.metrics(unit="CNY")._repr_html_()
    assert header(html)[0] == "project"


def test_metrics_show_shares_whose_whole_is_not_among_them():
    found = shanxi.metrics(unit="people", since="2022-12-01")
    assert shanxi.metric("prenatal_screenings") not in found
    rows = [cells(r) for r in body_rows(found._repr_html_())]
    assert rows[0][1] == "high_risk_pregnancies" and rows[0][-1] == "7.73%"
    # a tuple made by hand has only the figures it holds
    made = shanxi.Figures(found)
    assert made == found and "share" not in header(made._repr_html_())
    panel = shanxi.loads(PANEL)
    rows = [cells(r) for r in body_rows(panel.metrics(metric="certified")._repr_html_())]
    assert [r[-1] for r in rows] == ["60.00%", "74.98%"]


def test_figures_pickle_as_plain_figures():
    import copy
    import pickle

    found = shanxi.loads(PANEL).metrics(metric="certified")
    for again in (pickle.loads(pickle.dumps(found)), copy.copy(found)):
        assert again == found and type(again) is shanxi.Figures
        assert not hasattr(again, "_shares")


def test_search_shows_as_a_table():
    found = shanxi.search("elevator")
    assert isinstance(found, tuple)
    assert "2 figures" in found._repr_html_()
    assert type(found) is type(shanxi.metrics())


def test_empty_result():
    found = shanxi.metrics(since="2030-01-01")
    assert found == ()
    assert "no figures" in found._repr_html_()
