"""Parse errors that say what is wrong (issue 14.7).

A number past a column's limit names the limit, and a value past the range
of a double says so, rather than calling "2147483648" not a positive integer
or "1e309" not a finite number.  Invisible characters (a byte order mark,
zero-width and no-break spaces, the soft hyphen, other format characters and
controls) are escaped in the quoted text as Python's repr() writes them, so
``found "\\ufeff1"`` is not mistaken for ``found "1"``.  (Running out of room
for distinct text, 2 GiB, is a ParseError with its line: tests/c/test_limits.c
reaches it with a lowered limit.)
"""

import pytest

import shanxi

HEADER = "project,metric,value,unit,as_of\n"


def reason_of(text):
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(text)
    return info.value


def test_a_project_number_past_the_limit_says_the_limit():
    error = reason_of(HEADER + "2147483648,m,1,u,2022-01-01\n")
    assert str(error) == ('<string>:2:1: expected a positive integer up to 2147483647 in column '
                          '"project", found "2147483648"')
    assert shanxi.loads(HEADER + "2147483647,m,1,u,2022-01-01\n").projects()[0].number \
        == 2147483647
    # not digits at all: no limit to tell
    assert reason_of(HEADER + "12x,m,1,u,2022-01-01\n").reason == (
        'expected a positive integer in column "project", found "12x"')


@pytest.mark.parametrize("value", ["1e309", "-1e309", "1.8e308", "1" + "0" * 400])
def test_a_value_outside_the_range_of_a_double_says_so(value):
    error = reason_of(HEADER + f"1,m,{value},u,2022-01-01\n")
    assert (error.line, error.column) == (2, 5)
    assert error.reason == ('expected a number within the range of a double (up to about 1.8e308) '
                            f'in column "value", found "{value[:40]}'
                            f'{"…" if len(value) > 40 else ""}"')


def test_text_that_is_no_number_is_still_not_a_finite_number():
    assert reason_of(HEADER + "1,m,nan,u,2022-01-01\n").reason == (
        'expected a finite number in column "value", found "nan"')


@pytest.mark.parametrize("invisible, shown", [
    ("\ufeff", "\\ufeff"),      # byte order mark
    ("\u200b", "\\u200b"),      # zero-width space
    ("\u00a0", "\\xa0"),        # no-break space
    ("\u00ad", "\\xad"),        # soft hyphen
    ("\u2060", "\\u2060"),      # word joiner
    ("\u202e", "\\u202e"),      # right-to-left override
    ("\u3000", "\\u3000"),      # ideographic space
    ("\u0085", "\\x85"),        # C1 control (next line)
    ("\U000e0041", "\\U000e0041"),  # tag latin capital letter A
])
def test_invisible_characters_are_escaped_in_messages(invisible, shown):
    error = reason_of(HEADER + f"1,m,{invisible}1,u,2022-01-01\n")
    assert error.reason == f'expected a finite number in column "value", found "{shown}1"'
    assert shown == repr(invisible)[1:-1]  # as Python writes it


def test_visible_text_is_quoted_as_it_is():
    assert reason_of(HEADER + "1,m,太原 1,u,2022-01-01\n").reason == (
        'expected a finite number in column "value", found "太原 1"')
    assert reason_of(HEADER + "1,m,1\x01,u,2022-01-01\n").reason == (
        'expected a finite number in column "value", found "1\\x01"')
