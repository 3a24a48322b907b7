"""Reading printed PDFs back the way a person would: the text (pypdf), the QR code
(poppler's pdftoppm renders the page, zbar's zbarimg reads it), and PNG pages kept as
test artifacts under build/test-artifacts/ (git-ignored) for people to look at."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path

from pypdf import PdfReader

ARTIFACTS = Path(__file__).resolve().parent.parent / "build" / "test-artifacts"


def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def text(data: bytes) -> str:
    """All pages' text as one string, without the spaces and line breaks that layout puts
    between characters (labels are then found whatever the line wrapping)."""
    return "".join(pages_text(data)).replace(" ", "").replace("\n", "")


def metadata(data: bytes) -> dict[str, str]:
    return {k: str(v) for k, v in (PdfReader(io.BytesIO(data)).metadata or {}).items()}


def page_png(data: bytes, page: int = 1, dpi: int = 150) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "in.pdf"
        pdf.write_bytes(data)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-png",
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                str(pdf),
                str(Path(folder) / "page"),
            ],
            check=True,
        )
        return (Path(folder) / "page.png").read_bytes()


def decode_qr(data: bytes) -> str:
    """The text of the QR code on the first page."""
    with tempfile.TemporaryDirectory() as folder:
        png = Path(folder) / "page.png"
        png.write_bytes(page_png(data, dpi=200))
        found = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
            capture_output=True,
            text=True,
            check=True,
        )
        return found.stdout.strip()


def keep_png(data: bytes, name: str, page: int = 1) -> Path:
    """Page ``page`` of a PDF as build/test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(page_png(data, page=page, dpi=80))
    return path
