"""Reading a printed PDF back: its verification code, from the metadata the renderer wrote
or, failing that, from the text of its pages (the code is printed on every page)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from reports.verify import find_code

METADATA_KEYS = ("/reliefverifycode", "/Keywords")


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def code_in_pdf(path: Path) -> str | None:
    try:
        reader = PdfReader(path)
        metadata = reader.metadata or {}
        for key in METADATA_KEYS:
            code = find_code(str(metadata.get(key) or ""))
            if code:
                return code
        for page in reader.pages:
            code = find_code(page.extract_text() or "")
            if code:
                return code
    except (PdfReadError, OSError, ValueError):
        return None
    return None
