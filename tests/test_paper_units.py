"""Pure parts of printing: capital numerals, periods, verification codes, differences."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relief_inventory.errors import InvalidInput, NotFound
from reports.numerals import rmb_capital
from reports.period import parse_period
from reports.verify import differences, digest, find_code, make_code, parse_code


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"),
        ("0.00", "零元整"),
        ("1.00", "壹元整"),
        ("10.00", "壹拾元整"),  # 10-19 keep 壹拾
        ("10.05", "壹拾元零伍分"),  # 角 is zero, 分 is not: 零 after 元
        ("1004.00", "壹仟零肆元整"),  # a zero inside: one 零
        ("1010.01", "壹仟零壹拾元零壹分"),
        ("0.05", "伍分"),  # fen only: no 零元, no 整 after 分
        ("0.01", "壹分"),
        ("0.29", "贰角玖分"),
        ("0.30", "叁角整"),  # cn2an says 叁角: we close every amount ending in 角 with 整
        ("100.10", "壹佰元壹角整"),
        ("10000.00", "壹万元整"),  # 万 boundary
        ("10000.01", "壹万元零壹分"),
        ("100001.00", "壹拾万零壹元整"),
        ("99999.99", "玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("100000000.00", "壹亿元整"),  # 亿 boundary
        ("100010000.00", "壹亿零壹万元整"),
        ("110000000.00", "壹亿壹仟万元整"),
        ("100000000.10", "壹亿元壹角整"),
        ("1000000001.00", "壹拾亿零壹元整"),
        ("32270000.00", "叁仟贰佰贰拾柒万元整"),
        ("12350000.00", "壹仟贰佰叁拾伍万元整"),
    ],
)
def test_capital_numerals(amount, words):
    assert rmb_capital(Decimal(amount)) == words


def test_capital_numerals_refuse_what_money_never_is():
    for bad in (Decimal("1.005"), Decimal("-1.00"), Decimal("NaN"), Decimal("1E16")):
        with pytest.raises((ValueError, TypeError)):
            rmb_capital(bad)
    with pytest.raises(TypeError):
        rmb_capital(1.5)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**13 - 1))
def test_capitals_always_close_properly(fen):
    words = rmb_capital(Decimal(fen) / 100)
    assert words.endswith(("整", "分"))
    assert not words.startswith("零") or words == "零元整"
    assert "零零" not in words


def test_periods():
    assert parse_period("2024").start == date(2024, 1, 1)
    assert parse_period("2024").end == date(2025, 1, 1)
    assert parse_period("2024").label == "2024年"
    q2 = parse_period("2024-Q2")
    assert (q2.start, q2.end) == (date(2024, 4, 1), date(2024, 7, 1))
    dec = parse_period("2024-12")
    assert (dec.start, dec.end, dec.last) == (
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2024, 12, 31),
    )
    span = parse_period("2024-03-01..2024-05-31")
    assert (span.end, span.label) == (date(2024, 6, 1), "2024-03-01 至 2024-05-31")
    for bad in (
        "",
        "24",
        "2024-13",
        "2024-Q5",
        "1e6",
        "2024-02-30..2024-03-01",
        "2024-05-01..2024-04-01",
        "1999",
        "2024/06",
    ):
        with pytest.raises(InvalidInput) as caught:
            parse_period(bad)
        assert caught.value.field == "period"


PAPER = {
    "kind": "stock_note",
    "number": "RK-2025-000001",
    "standing": None,
    "fields": [],
    "lines": [
        {
            "key": "1|TENT-12|T-1",
            "name": "帐篷",
            "lot": "T-1",
            "quantity": 10,
            "unit": "顶",
            "amount": Decimal("14500.00"),
        }
    ],
    "total": {"quantity": 10, "amount": Decimal("14500.00"), "amount_capital": "壹万肆仟伍佰元整"},
}


def test_codes_seal_exactly_the_paper():
    code = make_code("secret", PAPER)
    number, sealed = parse_code(code)
    assert number == "RK-2025-000001" and len(sealed) == 24
    assert digest("secret", PAPER) == sealed
    assert digest("other key", PAPER) != sealed
    changed = {**PAPER, "lines": [{**PAPER["lines"][0], "quantity": 11}]}
    assert digest("secret", changed) != sealed
    assert parse_code(code.lower()) == (number, sealed)
    assert find_code(f"扫码核验 核验码 {code} 第 1 页") == code
    for bad in ("", "RK-2025-000001", "RK-2025-000001.abc", "x" * 100, None):
        with pytest.raises(NotFound):
            parse_code(bad)  # type: ignore[arg-type]


def test_differences_name_what_changed():
    after = {
        **PAPER,
        "standing": "已冲销（冲销单 CX-2025-000002，2025-06-02 10:00）",
        "lines": [{**PAPER["lines"][0], "quantity": 8, "amount": Decimal("11600.00")}],
        "total": {
            "quantity": 8,
            "amount": Decimal("11600.00"),
            "amount_capital": "壹万壹仟陆佰元整",
        },
    }
    found = differences(PAPER, after)
    assert found[0] == "单据已作废：已冲销（冲销单 CX-2025-000002，2025-06-02 10:00）"
    assert "帐篷（批次 T-1） 数量：纸面为 10，现为 8" in found
    assert "合计数量：纸面为 10，现为 8" in found
    assert differences(PAPER, PAPER) == []
