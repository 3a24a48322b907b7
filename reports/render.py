"""HTML from Jinja2 templates, PDF from HTML with WeasyPrint, QR codes with segno.

Templates live in ``reports/templates`` and autoescape everything: every text a user typed
(reasons, partners, notes) reaches the paper as text, never as markup. The Chinese font is
named with ``@font-face`` on ``html`` (page margin boxes, where the page numbers are, take
their font from there) and points at the local file of Debian's ``fonts-wqy-microhei``; no
font or stylesheet is ever fetched from the network.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from relief_inventory.timeutil import format_local

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT_FAMILY = "WenQuanYi Micro Hei"


def font_file() -> str:
    """The CJK font file (``RELIEF_PDF_FONT`` overrides Debian's path)."""
    return os.environ.get("RELIEF_PDF_FONT", DEFAULT_FONT)


def _yuan(value: Any) -> str:
    return "" if value in (None, "") else f"{Decimal(str(value)):,.2f}"


def _pieces(value: Any) -> str:
    return "" if value in (None, "") else f"{int(value):,}"


def _signed(value: Any) -> str:
    return f"{int(value):+,}" if int(value) else "0"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(yuan=_yuan, pieces=_pieces, signed=_signed, local=format_local)
    env.globals.update(font_file=font_file(), font_family=FONT_FAMILY)
    return env


def html(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def qr_data_uri(text: str) -> str:
    """A QR code as an SVG data URI: vector, so it scans off any printer."""
    return segno.make(text, error="m").svg_data_uri(scale=4, border=2)


@cache
def _font_config() -> Any:
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def pdf(markup: str) -> bytes:
    """Render HTML to PDF. HTML ``<meta>`` names become PDF metadata (custom_metadata), so
    a paper's verification code can be read back without decoding the QR image."""
    from weasyprint import HTML  # heavy import: only where PDFs are made

    document = HTML(string=markup, base_url=str(TEMPLATES))
    return document.write_pdf(font_config=_font_config(), custom_metadata=True)
