"""Honest headers: a header field that names no column is kept in
Dataset.ignored_columns, and one that looks like a slip for a column the
file lacks is reported (a ParseError for a required column, a
shanxi.ParseWarning for an optional one)."""

import io
import warnings

import pytest

import shanxi

ROW = "1,gdp,1.5,CNY,2022-12-31"
REQUIRED = "project,metric,value,unit,as_of"


def load_quietly(text):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        return shanxi.loads(text)


def near_miss_warnings(text, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = shanxi.loads(text, **kwargs)
    return ds, [str(w.message) for w in caught if w.category is shanxi.ParseWarning]


def test_parse_warning_is_a_user_warning():
    assert issubclass(shanxi.ParseWarning, UserWarning)
    assert shanxi.ParseWarning.__module__ == "shanxi"
    assert "ParseWarning" in shanxi.__all__


def test_the_embedded_dataset_ignores_nothing():
    assert shanxi.data.ignored_columns == ()


def test_known_columns_ignore_nothing_and_warn_nothing():
    ds = load_quietly(REQUIRED + ",region,category\n" + ROW + ",Taiyuan,health\n")
    assert ds.ignored_columns == ()


def test_an_unrelated_column_is_listed_without_a_warning():
    ds = load_quietly(REQUIRED + ",note,source_page\n" + ROW + ",checked,4\n")
    assert ds.ignored_columns == ("note", "source_page")


@pytest.mark.parametrize(
    "field, column",
    [
        ("regoin", "region"),  # letters swapped
        ("Region", "region"),  # case
        (" region", "region"),  # a space before
        ("region ", "region"),  # a space after
        ("Category", "category"),
        ("labels", "label"),
        ("period_strat", "period_start"),
        ("part-of", "part_of"),
    ],
)
def test_a_near_miss_of_an_optional_column_warns(field, column):
    text = REQUIRED + "," + field + "\n" + ROW + ",Taiyuan\n"
    ds, messages = near_miss_warnings(text)
    assert messages == [
        '<string>: the header field "%s" names no column and is ignored; did you mean "%s"?'
        % (field, column)
    ]
    assert ds.ignored_columns == (field,)
    assert column not in ds.columns


@pytest.mark.parametrize(
    "field, shown",
    [
        ("region\u200b", "region\\u200b"),  # a zero-width space after
        ("\ufeffregion", "\\ufeffregion"),  # a byte order mark before
        ("region\u00a0", "region\\xa0"),  # a no-break space
        ("regi\"on", 'regi\\"on'),
    ],
)
def test_a_near_miss_is_quoted_as_a_parse_error_quotes_it(field, shown):
    # invisible characters escaped as in a ParseError, so the field does not
    # look like the column it misses
    quoted = '"%s"' % field.replace('"', '""') if '"' in field else field
    text = REQUIRED + "," + quoted + "\n" + ROW + ",Taiyuan\n"
    ds, messages = near_miss_warnings(text)
    assert messages == [
        '<string>: the header field "%s" names no column and is ignored; did you mean "region"?'
        % shown
    ]
    assert ds.ignored_columns == (field,)


def test_the_warning_points_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shanxi.loads(REQUIRED + ",regoin\n" + ROW + ",Taiyuan\n")
    assert caught[0].filename == __file__


def test_the_region_a_near_miss_leaves_empty():
    # What the warning is for: every region is None, so a filter finds nothing.
    ds, messages = near_miss_warnings(REQUIRED + ",regoin\n" + ROW + ",Taiyuan\n")
    assert len(messages) == 1
    assert ds.regions == (None,)
    with pytest.raises(KeyError):
        ds.metrics(region="Taiyuan")


def test_no_warning_when_the_column_is_there_too():
    # "Region" beside "region" is a column of the user's own, not a slip.
    ds = load_quietly(REQUIRED + ",region,Region\n" + ROW + ",Taiyuan,TY\n")
    assert ds.ignored_columns == ("Region",)
    assert ds.regions == ("Taiyuan",)


def test_a_near_miss_of_a_required_column_is_the_error():
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads("project,metric,value,unit,as_off\n")
    assert str(info.value) == (
        "<string>:1:1: expected a header with the columns project, metric, value, unit and "
        'as_of, found no "as_of" column; did you mean "as_off"?'
    )
    assert info.value.line == 1 and info.value.column == 1


@pytest.mark.parametrize(
    "header, message",
    [
        ("project,metric,value,Unit,as_of", 'found no "unit" column; did you mean "Unit"?'),
        ("project, metric,value,unit,as_of", 'found no "metric" column; did you mean " metric"?'),
        ("Project,metric,value,unit,as_of", 'found no "project" column; did you mean "Project"?'),
        ("project,metric,valeu,unit,as_of", 'found no "value" column; did you mean "valeu"?'),
    ],
)
def test_each_required_near_miss(header, message):
    with pytest.raises(shanxi.ParseError, match="^<string>:1:1: ") as info:
        shanxi.loads(header + "\n" + ROW + "\n")
    assert info.value.reason == (
        "expected a header with the columns project, metric, value, unit and as_of, " + message
    )


def test_several_missing_columns_name_every_near_miss():
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads("project,metric,value,Unit,as_off\n")
    assert info.value.reason == (
        "expected a header with the columns project, metric, value, unit and as_of, "
        'found none named "unit", "as_of"; did you mean "Unit" for "unit", "as_off" for "as_of"?'
    )


def test_a_missing_column_without_a_near_miss_says_only_what_is_missing():
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads("project,metric,value,as_of,note\n")
    assert info.value.reason == (
        "expected a header with the columns project, metric, value, unit and as_of, "
        'found none named "unit"'
    )


def test_warnings_as_errors_raise_the_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", shanxi.ParseWarning)
        with pytest.raises(shanxi.ParseWarning, match='"regoin"'):
            shanxi.loads(REQUIRED + ",regoin\n" + ROW + ",Taiyuan\n")


def test_load_names_the_file(tmp_path):
    path = tmp_path / "panel.csv"
    path.write_bytes((REQUIRED + ",Region\n" + ROW + ",Taiyuan\n").encode())
    with pytest.warns(shanxi.ParseWarning) as caught:
        ds = shanxi.load(path)
    assert str(caught[0].message).startswith(str(path) + ': the header field "Region"')
    assert ds.ignored_columns == ("Region",)


class Trickle(io.RawIOBase):
    """A binary file that gives a few bytes per read, so the header comes in
    many chunks."""

    def __init__(self, data, step):
        self.data, self.step, self.at = data, step, 0

    def readable(self):
        return True

    def readinto(self, buf):
        out = self.data[self.at : self.at + min(self.step, len(buf))]
        buf[: len(out)] = out
        self.at += len(out)
        return len(out)


@pytest.mark.parametrize("step", [1, 3, 7])
def test_a_header_read_in_pieces_is_reported_once(step):
    text = REQUIRED + ',"regoin","a ""quoted"" note"\n' + ROW + ",Taiyuan,x\n"
    with pytest.warns(shanxi.ParseWarning) as caught:
        ds = shanxi.load(Trickle(text.encode(), step))
    assert [str(w.message).split(": ", 1)[1] for w in caught] == [
        'the header field "regoin" names no column and is ignored; did you mean "region"?'
    ]
    assert ds.ignored_columns == ("regoin", 'a "quoted" note')


def test_many_files_list_each_ignored_field_once_in_file_order(tmp_path):
    (tmp_path / "a.csv").write_bytes((REQUIRED + ",note\n" + ROW + ",x\n").encode())
    (tmp_path / "b.csv").write_bytes((REQUIRED + ",regoin,note\n" + ROW + ",Datong,y\n").encode())
    with pytest.warns(shanxi.ParseWarning, match='"regoin"'):
        ds = shanxi.load(tmp_path / "*.csv")
    assert ds.ignored_columns == ("note", "regoin")
    assert len(ds) == 2


def test_text_that_is_not_ascii_is_kept_as_written():
    ds = load_quietly(REQUIRED + ",备注\n" + ROW + ",已核对\n")
    assert ds.ignored_columns == ("备注",)
