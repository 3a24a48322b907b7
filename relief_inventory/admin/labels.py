"""The service layer's label tables (states, kinds, purposes, roles …) are Chinese: the
PDFs, the API and the seed print them as they are. The back office shows them in the
user's language: each Chinese label is a message id of the English catalogue
(``relief_inventory/translations``), looked up when the page is drawn."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext


def label(table: Mapping[str, object], key: str | None) -> str:
    """The label of ``key`` (a state, a kind …) in the user's language; an unknown key
    as it is, none as empty."""
    if key is None:
        return ""
    return gettext(str(table[key])) if key in table else key


def options(table: Mapping[str, object]) -> list[tuple[str, str]]:
    """``(key, label)`` pairs for a dropdown or a filter, in the user's language."""
    return [(key, gettext(str(text))) for key, text in table.items()]
