"""Amounts in Chinese capital numerals (人民币大写) for printed money documents.

The conversion itself is ``cn2an`` (maintained, tested against the banking rules); this
module fixes the one place where it stops short of the form finance staff write. The
People's Bank rules for filling in vouchers (《支付结算办法》附件《正确填写票据和结算凭证的
基本规定》) say: after 元 write 整; after 角 整 "may be omitted"; after 分 never. cn2an gives
``0.30`` as 叁角 and ``100.10`` as 壹佰元壹角. We always close an amount that ends in 角
with 整 (叁角整, 壹佰元壹角整): 整 is there so that nothing can be appended to the words
on paper, and an amount ending in 角 is just as open to that as one ending in 元.

Pure: no database, no Flask.
"""

from __future__ import annotations

from decimal import Decimal

import cn2an

CENT = Decimal("0.01")
# cn2an handles up to 万亿 (10^16); relief money stays far below money.MAX_AMOUNT (1e11).
LIMIT = Decimal("10000000000000000")


def rmb_capital(amount: Decimal) -> str:
    """壹万贰仟叁佰肆拾伍元陆角柒分 for ``Decimal("12345.67")``.

    Only exact two-place amounts are accepted (money is never a float here); negative
    amounts are refused, because no printed relief document carries one.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError("amount must be a finite Decimal")
    if amount != amount.quantize(CENT):
        raise ValueError(f"amount has more than two decimal places: {amount}")
    if amount < 0 or amount >= LIMIT:
        raise ValueError(f"amount out of range for capital numerals: {amount}")
    words = cn2an.an2cn(f"{amount:.2f}", "rmb")
    return words + "整" if words.endswith("角") else words
