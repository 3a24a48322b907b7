"""The strict input rules (relief_inventory/inputs.py, money.parse_amount), as properties.

Whatever hypothesis throws at them: what is accepted is exactly what the published pattern
describes and reads back to the same value; everything else is refused naming the field.
The schema fields (schemas/common.py) are checked to say the same as the services.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from marshmallow import ValidationError

from relief_inventory import inputs
from relief_inventory.errors import InvalidInput
from relief_inventory.money import AMOUNT_PATTERN, MAX_AMOUNT, parse_amount
from schemas.common import Amount, Day, Flag, InputSchema, QueryFlag, QueryInt

AMOUNT = re.compile(AMOUNT_PATTERN)
DATE = re.compile(inputs.DATE_PATTERN)

# What the issue found accepted as money, and what Python's own parsers would accept.
LOOSE_AMOUNTS = [
    "1e6",
    "1E2",
    "1_000",
    "+100",
    " 100.00 ",
    "100.00 ",
    "\t100",
    ".5",
    "5.",
    "１００",  # full-width digits
    "١٠٠",  # Arabic-Indic digits
    "100.001",
    "-1.00",
    "NaN",
    "Infinity",
    "0x10",
    "1,000.00",
    "",
    "100\n",
]
LOOSE_DATES = ["20261101", "2027-W05-1", "2027-001", "2026-1-5", " 2026-11-01", "2026-11-01\n"]
NOT_BOOLEANS = ["false", "true", 0, 1, None, "", [], {}, 0.0]


class AmountSchema(InputSchema):
    amount = Amount(required=True)


class DaySchema(InputSchema):
    day = Day(required=True)


class FlagSchema(InputSchema):
    flag = Flag(required=True)


class QuerySchema(InputSchema):
    flag = QueryFlag(required=True)
    page = QueryInt(minimum=1, maximum=100, message="须在 1–100 之间", required=True)


# -- money ---------------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=int(MAX_AMOUNT * 100)))
def test_every_amount_in_range_reads_back_exactly(fen):
    text = f"{fen // 100}.{fen % 100:02d}"
    assert parse_amount(text) == Decimal(fen) / 100
    assert AmountSchema().load({"amount": text})["amount"] == Decimal(fen) / 100


@given(st.text(max_size=20))
@example("1e6")
@example("１２")
def test_an_accepted_amount_matches_the_published_pattern(text):
    try:
        amount = parse_amount(text)
    except InvalidInput as refused:
        assert refused.field == "amount"
        return
    assert AMOUNT.fullmatch(text) and amount == Decimal(text)


@pytest.mark.parametrize("text", LOOSE_AMOUNTS)
def test_loose_amounts_are_refused_by_services_and_schemas(text):
    with pytest.raises(InvalidInput) as refused:
        parse_amount(text)
    assert refused.value.field == "amount"
    with pytest.raises(ValidationError) as caught:
        AmountSchema().load({"amount": text})
    assert "amount" in caught.value.messages


@given(st.floats() | st.integers() | st.booleans() | st.none() | st.lists(st.integers()))
def test_numbers_are_never_money(value):
    with pytest.raises(InvalidInput) as refused:
        parse_amount(value)
    assert "字符串" in refused.value.message
    with pytest.raises(ValidationError):
        AmountSchema().load({"amount": value})


# -- dates ---------------------------------------------------------------------------------


@given(st.dates())
def test_every_date_reads_back_exactly(day):
    text = day.isoformat()
    if not DATE.fullmatch(text):  # years before 1000 are not four digits here
        return
    assert inputs.parse_date(text, "day") == day
    assert DaySchema().load({"day": text})["day"] == day


@given(st.text(max_size=14))
@example("20261101")
@example("2027-W05-1")
def test_an_accepted_date_is_exactly_yyyy_mm_dd(text):
    try:
        day = inputs.parse_date(text, "day")
    except InvalidInput as refused:
        assert refused.field == "day"
        return
    assert DATE.fullmatch(text) and day.isoformat() == text


@pytest.mark.parametrize("text", LOOSE_DATES)
def test_what_python_would_read_as_a_date_is_refused(text):
    with pytest.raises(InvalidInput):
        inputs.parse_date(text, "production_date")
    with pytest.raises(ValidationError):
        DaySchema().load({"day": text})


def test_impossible_dates_and_times_are_refused():
    for value in ("2025-02-30", "2025-13-01", "0000-01-01"):
        with pytest.raises(InvalidInput):
            inputs.parse_date(value, "day")
    from datetime import datetime

    with pytest.raises(InvalidInput):
        inputs.parse_date(datetime(2025, 1, 1), "day")
    assert inputs.optional_date(None, "day") is None and inputs.optional_date("", "day") is None
    assert inputs.parse_date(date(2025, 1, 1), "day") == date(2025, 1, 1)


# -- booleans and integers -----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=4,
)


@given(json_values)
@example("false")
@example(0)
@example(1)
def test_a_boolean_is_a_json_boolean(value):
    if value is True or value is False:
        assert inputs.parse_flag(value, "submit") is value
        assert FlagSchema().load({"flag": value})["flag"] is value
        return
    with pytest.raises(InvalidInput) as refused:
        inputs.parse_flag(value, "submit")
    assert refused.value.field == "submit"
    with pytest.raises(ValidationError):
        FlagSchema().load({"flag": value})


@pytest.mark.parametrize("value", NOT_BOOLEANS)
def test_the_issues_booleans_are_refused(value):
    with pytest.raises(InvalidInput):
        inputs.parse_flag(value, "submit")


@given(json_values)
@example(True)
@example(5.0)
@example("5")
def test_an_integer_is_a_json_integer(value):
    accepted = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100
    try:
        parsed = inputs.parse_int(value, "n", minimum=0, maximum=100, message="须为 0–100 的整数")
    except InvalidInput:
        assert not accepted
        return
    assert accepted and parsed == value


@given(st.text(max_size=12))
@example("１")
@example("1_0")
@example(" 1")
@example("+1")
@example("true")
def test_query_strings_take_ascii_digits_and_true_or_false_only(text):
    number = inputs.query_int(text)
    assert (number is not None) == bool(re.fullmatch("[0-9]{1,9}", text))
    flag = inputs.query_flag(text)
    assert flag is {"true": True, "false": False}.get(text)
    if flag is not None and number is not None and 1 <= number <= 100:
        assert QuerySchema().load({"flag": text, "page": text}) == {"flag": flag, "page": number}
    elif flag is None:
        with pytest.raises(ValidationError) as caught:
            QuerySchema().load({"flag": text, "page": "1"})
        assert "flag" in caught.value.messages
