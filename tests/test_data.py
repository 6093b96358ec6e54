"""Checks of the shipped dataset (data/shanxi_2022.csv) and its data dictionary.

Three groups:

* file tests read the CSV with the standard ``csv`` module only;
* article tests hold the CSV against the source article, number by number
  (skipped when the article is not beside the checkout);
* ``test_api_*`` tests hold the built ``shanxi`` package against the CSV
  (deselect them with ``-k "not api"`` before the extension is built).
"""
from __future__ import annotations

import calendar
import csv
import datetime
import pathlib
import re
from decimal import Decimal

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSV_PATH = ROOT / "data" / "shanxi_2022.csv"
README_PATH = ROOT / "data" / "README.md"

HEADER = [
    "project", "project_key", "project_title", "category", "metric", "label",
    "value", "unit", "as_of", "period_start", "part_of", "region",
]
N_FIGURES = 33

# The documented vocabularies; data/README.md must list exactly these.
UNITS = {
    "people", "screenings", "percent", "consultations", "cases", "activities",
    "brands", "teams", "performances", "projects", "CNY", "USD", "elevators",
    "couples", "devices", "stations", "counties", "schools", "cities",
}
CATEGORIES = {
    "employment", "health", "disability", "legal", "culture", "elderly",
    "housing", "rural", "education",
}
# Units whose values are not counts of things.
NON_COUNT_UNITS = {"percent", "CNY", "USD"}

# Every part/whole pair the article gives: part -> whole.
PART_OF = {
    "high_risk_pregnancies": "prenatal_screenings",
    "legal_aid_cases_closed": "legal_aid_cases_accepted",
    "elevators_completed": "elevators_started",
    "couples_examined": "couples_registered",
}

# as_of (and period_start) of each project, read from its time phrase.
D = datetime.date
EXPECTED_DATES = {
    1: (D(2022, 11, 30), None),
    2: (D(2022, 12, 31), None),
    3: (D(2022, 12, 31), None),
    4: (D(2022, 12, 31), None),
    5: (D(2022, 12, 31), D(2022, 1, 1)),  # "In 2022": a count over the year
    6: (D(2022, 12, 31), None),
    7: (D(2022, 12, 31), None),
    8: (D(2022, 12, 31), None),
    9: (D(2022, 9, 20), None),
    10: (D(2022, 7, 31), None),
    11: (D(2022, 10, 31), None),
    12: (D(2022, 11, 30), None),
}

SNAKE_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*\Z")
INT_RE = re.compile(r"(?:0|[1-9][0-9]*)\Z")
DECIMAL_RE = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]+\Z")
ISO_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def read_rows():
    """The CSV's data rows as dicts (header checked separately)."""
    with open(CSV_PATH, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, strict=True))


ROWS = read_rows()


def parse_date(text):
    assert ISO_DATE_RE.match(text), "not YYYY-MM-DD: %r" % text
    return datetime.date.fromisoformat(text)  # raises on 2022-02-30


def python_value(text):
    """The value the API must give for a CSV value: int for integer text."""
    if INT_RE.match(text):
        return int(text)
    return float(text)


def rows_of(project):
    return [r for r in ROWS if int(r["project"]) == project]


# ---------------------------------------------------------------- the file


def test_file_encoding_and_line_endings():
    raw = CSV_PATH.read_bytes()
    raw.decode("utf-8")  # strict: raises on invalid UTF-8
    assert not raw.startswith(b"\xef\xbb\xbf"), "shipped file has no BOM"
    assert b"\r" not in raw, "shipped file uses LF line endings"
    assert raw.endswith(b"\n") and not raw.endswith(b"\n\n")


def test_header():
    with open(CSV_PATH, encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == HEADER


def test_row_count_and_width():
    with open(CSV_PATH, encoding="utf-8", newline="") as f:
        records = list(csv.reader(f, strict=True))
    assert len(records) == 1 + N_FIGURES
    for i, record in enumerate(records, start=1):
        assert len(record) == len(HEADER), "record %d has %d fields" % (i, len(record))
    assert len(ROWS) == N_FIGURES


def test_no_stray_whitespace():
    for row in ROWS:
        for column, text in row.items():
            assert text == text.strip(), (row["metric"], column)
            assert "\n" not in text, (row["metric"], column)


def test_metric_keys_unique_snake_case():
    keys = [r["metric"] for r in ROWS]
    assert len(set(keys)) == len(keys), "duplicate metric keys"
    for key in keys:
        assert SNAKE_RE.match(key), key


def test_projects_numbered_1_to_12_in_order():
    numbers = [r["project"] for r in ROWS]
    for text in numbers:
        assert INT_RE.match(text) and text != "0", text
    numbers = [int(n) for n in numbers]
    assert numbers == sorted(numbers)
    assert sorted(set(numbers)) == list(range(1, 13))


def test_project_columns_constant_within_project():
    keys = []
    for number in range(1, 13):
        rows = rows_of(number)
        for column in ("project_key", "project_title", "category"):
            values = {r[column] for r in rows}
            assert len(values) == 1, (number, column, values)
            assert rows[0][column], (number, column)
        assert SNAKE_RE.match(rows[0]["project_key"])
        keys.append(rows[0]["project_key"])
    assert len(set(keys)) == 12, "project keys are unique"


def test_values_are_plain_decimals():
    for row in ROWS:
        text = row["value"]
        assert INT_RE.match(text) or DECIMAL_RE.match(text), (row["metric"], text)
        if row["unit"] not in NON_COUNT_UNITS:
            assert INT_RE.match(text), "count written as integer: %s" % row["metric"]
        if row["unit"] == "percent":
            assert 0 <= Decimal(text) <= 100, row["metric"]


def test_dates():
    for row in ROWS:
        as_of = parse_date(row["as_of"])
        period_start = parse_date(row["period_start"]) if row["period_start"] else None
        assert (as_of, period_start) == EXPECTED_DATES[int(row["project"])], row["metric"]
        if period_start is not None:
            assert period_start <= as_of


def test_part_of():
    by_key = {r["metric"]: r for r in ROWS}
    found = {}
    for row in ROWS:
        whole = row["part_of"]
        if not whole:
            continue
        assert whole in by_key, "%s: part_of names no metric: %s" % (row["metric"], whole)
        assert whole != row["metric"]
        assert by_key[whole]["project"] == row["project"], row["metric"]
        assert not by_key[whole]["part_of"], "a whole is not itself a part"
        assert Decimal(row["value"]) <= Decimal(by_key[whole]["value"]), row["metric"]
        found[row["metric"]] = whole
    assert found == PART_OF


def test_region():
    assert {r["region"] for r in ROWS} == {"Shanxi"}


def test_labels():
    labels = [r["label"] for r in ROWS]
    assert all(labels)
    assert len(set(labels)) == len(labels), "labels tell figures apart"


def test_units_and_categories_in_vocabulary():
    assert {r["unit"] for r in ROWS} <= UNITS
    assert {r["category"] for r in ROWS} <= CATEGORIES


def readme_table_keys(heading):
    """The backquoted first cells of the table under ``## heading``."""
    text = README_PATH.read_text(encoding="utf-8")
    match = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(heading), text, re.M | re.S)
    assert match, "data/README.md has no section %r" % heading
    return set(re.findall(r"^\| `([^`]+)` \|", match.group(1), re.M))


def test_readme_documents_vocabularies():
    assert readme_table_keys("Units") == UNITS
    assert readme_table_keys("Categories") == CATEGORIES


def test_readme_documents_columns_and_every_metric():
    assert readme_table_keys("Columns") == set(HEADER)
    text = README_PATH.read_text(encoding="utf-8")
    for row in ROWS:
        assert "`%s`" % row["metric"] in text, row["metric"]


def test_cny_total():
    total = sum(int(r["value"]) for r in ROWS if r["unit"] == "CNY")
    assert total == 47_230_000


# ------------------------------------------------------------- the article

MONTHS = "|".join(calendar.month_name[1:])
MONTH_NUMBER = {name: i for i, name in enumerate(calendar.month_name) if name}

# Numbers in the article that are not figures. Each entry is a pattern whose
# capture groups are the non-figure numbers, the exact number of times it must
# match (so nothing is excluded by accident), and why. Entries are applied in
# order; each one blanks the numbers it captured before the next one runs.
NOT_FIGURES = [
    (r"^Updated: (\d{4})-(\d{2})-(\d{2})[ \t]*$", 1,
     "the article's publication date"),
    (r"^(\d{1,2})\. (?=[A-Z])", 12,
     "list numbering 1. to 12. of the projects: it is the project column"),
    (r"\ball (12) civil affairs\b", 1,
     "the number of projects, i.e. the length of the list itself"),
    (r"\baged (0)-(6) ", 1,
     "the age range of the children project 3 counted, not a count"),
    (r"\b(?:%s) (\d{1,2}), (2022)\b" % MONTHS, 1,
     "day and year of project 9's exact date (September 20, 2022): as_of"),
    (r"\b(?:%s) (2022)\b" % MONTHS, 10,
     "year of an 'end of <month> 2022' cut-off: as_of"),
    (r"\bLooking back on (2022)\b", 1,
     "the year the article looks back on"),
    (r"^In (2022), ", 1,
     "the year project 5 counted over: as_of and period_start"),
]

NUMBER_RE = re.compile(
    r"(?<![\w.,])(\$)?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?!\d|,\d)(?:\s+(million)\b)?"
)


def blank_not_figures(text):
    """The article with every non-figure number replaced by spaces."""
    chars = list(text)
    for pattern, expected, reason in NOT_FIGURES:
        current = "".join(chars)
        matches = list(re.finditer(pattern, current, re.M))
        assert len(matches) == expected, (pattern, len(matches), reason)
        for match in matches:
            for group in range(1, match.re.groups + 1):
                start, end = match.span(group)
                chars[start:end] = " " * (end - start)
    return "".join(chars)


def article_figures(text):
    """(position, value in base units) of every figure in the article."""
    figures = []
    for match in NUMBER_RE.finditer(blank_not_figures(text)):
        dollar, digits, fraction, million = match.groups()
        value = Decimal(digits.replace(",", "") + (fraction or ""))
        if million:
            value *= 1_000_000
        figures.append((match.start(), value))
    return figures


def headings(text):
    """[(number, title, start of heading)] of the numbered project headings."""
    return [
        (int(m.group(1)), m.group(2).strip(), m.start())
        for m in re.finditer(r"^(\d{1,2})\. (.+)$", text, re.M)
    ]


def sections(text):
    """{project number: (start, end) of its text in the article}."""
    heads = headings(text)
    ends = [start for _, _, start in heads[1:]] + [len(text)]
    return {number: (start, end) for (number, _, start), end in zip(heads, ends)}


def test_article_list_numbering(article_text):
    assert [n for n, _, _ in headings(article_text)] == list(range(1, 13))


def test_article_titles(article_text):
    for number, title, _ in headings(article_text):
        assert {r["project_title"] for r in rows_of(number)} == {title}, number


def test_article_every_number_is_a_figure_or_listed(article_text):
    values = {Decimal(r["value"]) for r in ROWS}
    unaccounted = [
        (article_text[pos:pos + 20], value)
        for pos, value in article_figures(article_text)
        if value not in values
    ]
    assert not unaccounted, "numbers neither in the data nor in NOT_FIGURES"


def test_article_every_value_is_in_the_article(article_text):
    stated = {value for _, value in article_figures(article_text)}
    missing = [r["metric"] for r in ROWS if Decimal(r["value"]) not in stated]
    assert not missing, "data values the article does not state"


def test_article_figures_in_order(article_text):
    stated = [value for _, value in article_figures(article_text)]
    assert len(stated) == N_FIGURES
    assert stated == [Decimal(r["value"]) for r in ROWS]


def test_article_figures_by_project(article_text):
    spans = sections(article_text)
    figures = article_figures(article_text)
    first_heading = min(start for start, _ in spans.values())
    assert all(pos > first_heading for pos, _ in figures), "a figure before project 1"
    for number, (start, end) in spans.items():
        stated = [value for pos, value in figures if start <= pos < end]
        assert stated == [Decimal(r["value"]) for r in rows_of(number)], number


def last_day(year, month):
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


TIME_PHRASES = [
    # "by / as of / at the end of <Month> <year>": the month's last day
    (r"\b(?:By|As of|At) the end of (%s) (\d{4})\b" % MONTHS,
     lambda m: (last_day(int(m.group(2)), MONTH_NUMBER[m.group(1)]), None)),
    # "As of <Month> <day>, <year>": that date
    (r"\bAs of (%s) (\d{1,2}), (\d{4})\b" % MONTHS,
     lambda m: (datetime.date(int(m.group(3)), MONTH_NUMBER[m.group(1)],
                              int(m.group(2))), None)),
    # "In <year>,": the whole year, a period
    (r"^In (\d{4}),",
     lambda m: (datetime.date(int(m.group(1)), 12, 31),
                datetime.date(int(m.group(1)), 1, 1))),
]


def test_article_time_phrases(article_text):
    for number, (start, end) in sections(article_text).items():
        body = article_text[start:end]
        read = [
            reading(m)
            for pattern, reading in TIME_PHRASES
            for m in re.finditer(pattern, body, re.M)
        ]
        assert len(read) == 1, "project %d: %d time phrases" % (number, len(read))
        assert read[0] == EXPECTED_DATES[number], number
        for row in rows_of(number):
            period_start = parse_date(row["period_start"]) if row["period_start"] else None
            assert (parse_date(row["as_of"]), period_start) == read[0], row["metric"]


def test_article_source_in_readme(article_text):
    title = article_text.strip().splitlines()[0].strip()
    updated = re.search(r"^Updated: (\S+)", article_text, re.M).group(1)
    readme = README_PATH.read_text(encoding="utf-8")
    assert title in readme and updated in readme


# ----------------------------------------------- the public API (built package)


def _shanxi():
    import shanxi

    return shanxi


@pytest.fixture(params=ROWS, ids=[r["metric"] for r in ROWS])
def row(request):
    return request.param


def test_api_metric_count():
    assert len(_shanxi().metrics()) == N_FIGURES


def test_api_metrics_in_data_order():
    assert [m.key for m in _shanxi().metrics()] == [r["metric"] for r in ROWS]


def test_api_metric_matches_csv(row):
    m = _shanxi().metric(row["metric"])
    assert m.key == row["metric"]
    expected = python_value(row["value"])
    assert type(m.value) is type(expected)
    assert m.value == expected
    assert m.unit == row["unit"]
    assert m.as_of == parse_date(row["as_of"])
    assert type(m.as_of) is datetime.date
    expected_start = parse_date(row["period_start"]) if row["period_start"] else None
    assert m.period_start == expected_start
    assert type(m.project) is int and m.project == int(row["project"])
    assert m.part_of == (row["part_of"] or None)
    assert m.region == "Shanxi"
    assert m.label == row["label"]
    assert m.category == row["category"]


def test_api_counts_are_int():
    for m in _shanxi().metrics():
        if m.unit not in NON_COUNT_UNITS:
            assert type(m.value) is int, m.key


def test_api_projects_match_csv():
    projects = _shanxi().projects()
    assert [p.number for p in projects] == list(range(1, 13))
    for p in projects:
        first = rows_of(p.number)[0]
        assert p.key == first["project_key"]
        assert p.title == first["project_title"]
        assert p.category == first["category"]
        assert p.as_of == EXPECTED_DATES[p.number][0]
