"""The audit log as a CSV file: safe to open in a spreadsheet, and still checkable.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (CSV
injection), and some read the full-width ``＝ ＋ － ＠``, a leading blank, tab or line break
the same way. Every text cell that starts with one of those — or with the escape mark
``'`` itself — gets one ``'`` in front. The rule is reversible: a reader drops exactly one
leading ``'``. An empty reason (None) is an empty cell; an empty *text* is a lone ``'``.

So an exported log can be read back field for field and checked against its hashes
(``relief audit verify --csv FILE``): each entry must hash to what it says, consecutive
entries must link, and an export that starts at entry 1 must start from the genesis hash.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime

from relief_inventory.audit.chain import GENESIS_HASH, HASHED_FIELDS, link_hash, utc_text

ESCAPE = "'"
FORMULA_START = frozenset("=+-@＝＋－＠" + ESCAPE)
COLUMNS = (*HASHED_FIELDS, "hash")  # every stored field, in the hash's order


def csv_cell(text: str | None) -> str:
    """A text field as a cell that no spreadsheet runs, and that ``read_cell`` restores."""
    if text is None:
        return ""
    if text == "" or text[0] in FORMULA_START or text[0].isspace():
        return ESCAPE + text
    return text


def read_cell(cell: str) -> str | None:
    """The text ``csv_cell`` was given: None for an empty cell, one leading ``'`` dropped."""
    if cell == "":
        return None
    return cell[1:] if cell.startswith(ESCAPE) else cell


def verify_csv(
    lines: Iterable[str], expected_head: tuple[int, str] | None = None
) -> tuple[int, list[str]]:
    """Check an exported log: (entries read, problems). Stops at the first broken entry,
    naming it as ``relief audit verify`` does. With ``expected_head`` (a head published
    earlier) that entry must be in the file, with that hash."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or [h.lstrip("\ufeff") for h in header] != list(COLUMNS):
        return 0, [f"CSV 表头不符，须为：{','.join(COLUMNS)}"]
    count, previous, head_seen = 0, None, expected_head is None
    for line, row in enumerate(reader, start=2):
        problem = _check_row(line, row, previous)
        if problem:
            return count, [problem]
        count += 1
        previous = (int(row[0]), row[10])
        head_seen = head_seen or previous == expected_head
    if not head_seen:
        assert expected_head is not None
        return count, [f"此前公布的链头（第 {expected_head[0]} 条）不在该文件中或与之不符"]
    return count, []


def _check_row(line: int, row: list[str], previous: tuple[int, str] | None) -> str | None:
    if len(row) != len(COLUMNS):
        return f"CSV 第 {line} 行：应有 {len(COLUMNS)} 列，实有 {len(row)} 列"
    try:
        seq = int(row[0])
        at = utc_text(datetime.fromisoformat(row[1]))
        actor_id = int(row[2]) if row[2] else None
    except ValueError:
        return f"CSV 第 {line} 行：序号、时间或用户编号格式不正确"
    actor, action, etype, eid, changes = (read_cell(c) or "" for c in row[3:8])
    reason, prev_hash, digest = read_cell(row[8]), row[9], row[10]
    if seq == 1 and prev_hash != GENESIS_HASH:
        return "审计日志第 1 条：前一条哈希应为创世哈希"
    if previous is not None and seq == previous[0] + 1 and prev_hash != previous[1]:
        return f"审计日志第 {seq} 条：前一条哈希不符，链条断裂"
    if previous is not None and seq <= previous[0]:
        return f"审计日志第 {seq} 条：序号未递增（上一条为 {previous[0]}）"
    if (
        link_hash(seq, at, actor_id, actor, action, etype, eid, changes, reason, prev_hash)
        != digest
    ):
        return f"审计日志第 {seq} 条：内容与哈希不符，记录被篡改"
    return None
