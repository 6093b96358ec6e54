"""HTML for notebooks: _repr_html_ of Dataset, Project and Metric."""
import re

import pytest

import shanxi
from shanxi import _render


def cells(html):
    """The text of every <td> cell, tags stripped."""
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def body_rows(html):
    return re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>", 1)[1], re.S)


# ------------------------------------------------------------------ dataset

def test_dataset_table():
    html = shanxi.data._repr_html_()
    assert html == _render.html(shanxi.data)
    assert html.startswith('<table class="shanxi-dataset">')
    assert "<th>number</th><th>key</th><th>title</th><th>category</th><th>as_of</th>" \
           "<th>figures</th>" in html
    rows = body_rows(html)
    assert len(rows) == 12
    seventh = cells(rows[6])
    assert seventh == ["7", "elevator_installation",
                       "Incentives for voluntary elevator installation in existing residences",
                       "housing", "2022-12-31", "2"]
    assert cells(rows[0])[-1] == "3"
    assert "33 figures, 12 projects" in html


def test_dataset_figures_add_up():
    html = shanxi.data._repr_html_()
    assert sum(int(cells(row)[-1]) for row in body_rows(html)) == 33


# ------------------------------------------------------------------ project

def test_project_table():
    p = shanxi.project(7)
    html = p._repr_html_()
    assert html == _render.html(p)
    assert "<strong>7</strong>" in html
    assert "Incentives for voluntary elevator installation in existing residences" in html
    assert "housing" in html and "as of 2022-12-31" in html
    assert "<th>metric</th><th>label</th><th>value</th><th>unit</th><th>as_of</th>" \
           "<th>share</th>" in html
    rows = [cells(r) for r in body_rows(html)]
    assert rows[0] == ["elevators_started", "Elevators whose installation began in older housing",
                       "641", "elevators", "2022-12-31", ""]
    assert rows[1][0] == "elevators_completed"
    assert rows[1][2] == "519"
    assert rows[1][-1] == "80.97%"


def test_project_without_parts_has_no_share_column():
    html = shanxi.project(1)._repr_html_()
    assert "<th>share</th>" not in html
    assert "606,900" in html and "430,400" in html


def test_project_float_values_as_repr():
    html = shanxi.project(2)._repr_html_()
    assert ">93.41<" in html
    assert "209,739" in html
    assert "7.73%" in html      # 16219 / 209739


# ------------------------------------------------------------------ metric

def test_metric_table():
    m = shanxi.metric("cultural_brand_activities")
    html = m._repr_html_()
    assert html == _render.html(m)
    rows = dict(cells(r) for r in body_rows(html))
    assert rows == {
        "key": "cultural_brand_activities",
        "project": "5",
        "label": m.label,
        "value": "4,505",
        "unit": "activities",
        "as_of": "2022-12-31",
        "period_start": "2022-01-01",
        "part_of": "",
        "region": "Shanxi",
        "category": "culture",
    }


def test_metric_values():
    assert ">26,580,000<" in shanxi.metric("senior_care_subsidy_cny")._repr_html_()
    assert ">99.99<" in shanxi.metric("consultation_satisfaction_rate")._repr_html_()
    html = shanxi.metric("elevators_completed")._repr_html_()
    assert ">elevators_started<" in html


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
    for html in (ds._repr_html_(), ds.project(1)._repr_html_(), ds.metric("whole")._repr_html_()):
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
    assert "<th>share</th>" in html
    assert "<strong>1</strong>" in shanxi.Project(1)._repr_html_()


def test_long_tables_are_cut():
    lines = ["project,metric,value,unit,as_of"]
    lines += ["%d,m%d,%d,x,2022-01-01" % (i, i, i) for i in range(1, 201)]
    ds = shanxi.loads("\n".join(lines) + "\n")
    html = ds._repr_html_()
    rows = body_rows(html)
    assert len(rows) == _render.MAX_ROWS + 1
    assert "&hellip;" in rows[_render.MAX_ROWS // 2]
    assert cells(rows[0])[0] == "1" and cells(rows[-1])[0] == "200"
    assert "200 figures, 200 projects" in html


def test_html_of_something_else():
    with pytest.raises(TypeError):
        _render.html(object())


def test_text_formats():
    import datetime

    assert _render.text(None) == ""
    assert _render.text(1234) == "1,234"
    assert _render.text(-1234567) == "-1,234,567"
    assert _render.text(0.1) == "0.1"
    assert _render.text(1e22) == "1e+22"
    assert _render.text(datetime.date(2022, 1, 2)) == "2022-01-02"
    assert _render.percent(519 / 641) == "80.97%"
