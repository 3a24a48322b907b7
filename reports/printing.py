"""Printing a document: read its paper with the reader's scope, seal it, log the print,
render the PDF — one at a time, or a batch in worker processes.

Reading and logging happen in one unit of work (a refused print is a logged security
event, like any refusal); rendering happens after the commit, outside the database
transaction, because it is slow. Batches are rendered by spawned worker processes that
are replaced every few dozen documents: WeasyPrint keeps fonts and layout caches that a
long-lived process would otherwise carry forever.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from relief_inventory.auth.actor import Actor
from relief_inventory.config import Settings
from relief_inventory.timeutil import format_local, utcnow
from relief_inventory.uow import UnitOfWork
from reports import render
from reports.papers import Letterhead, PaperKind, count_sheet, read_paper
from reports.verify import make_code, record_print, record_untracked_print, verify_url

TEMPLATES = {
    PaperKind.ALLOCATION_ORDER: "allocation_order.html",
    PaperKind.STOCK_NOTE: "stock_note.html",
    PaperKind.RELEASE_NOTICE: "release_notice.html",
    PaperKind.COUNT_SHEET: "count_sheet.html",
}
TASKS_PER_WORKER = 50


@dataclass(frozen=True)
class PrintOptions:
    secret: str
    public_url: str
    letterhead: Letterhead

    @classmethod
    def from_settings(cls, settings: Settings) -> PrintOptions:
        return cls(
            secret=settings.secret_key,
            public_url=settings.public_url,
            letterhead=Letterhead(settings.authority, settings.notice_prefix),
        )


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to render one paper: plain, picklable data."""

    number: str
    template: str
    context: dict[str, Any]


def _printed(actor: Actor) -> str:
    return f"{format_local(utcnow())} {actor.username}"


def prepare(uow: UnitOfWork, number: str, options: PrintOptions) -> Job:
    """Read, seal and log one document's paper (inside the caller's unit of work)."""
    paper = read_paper(uow.session, uow.actor, number, options.letterhead)
    code = make_code(options.secret, paper)
    record_print(uow, paper, code)
    context = {
        "paper": paper,
        "code": code,
        "url": verify_url(options.public_url, code),
        "printed": _printed(uow.actor),
    }
    return Job(paper["number"], TEMPLATES[paper["kind"]], context)


def prepare_count_sheet(uow: UnitOfWork, depot: str, options: PrintOptions) -> Job:
    paper = count_sheet(uow.session, uow.actor, depot, options.letterhead)
    record_untracked_print(uow, PaperKind.COUNT_SHEET, paper["number"])
    context = {"paper": paper, "code": None, "url": None, "printed": _printed(uow.actor)}
    return Job(paper["number"], TEMPLATES[PaperKind.COUNT_SHEET], context)


def render_job(job: Job) -> bytes:
    url = job.context.get("url")
    qr = render.qr_data_uri(url) if url else None
    return render.pdf(render.html(job.template, **job.context, qr=qr))


def print_document(engine: Engine, actor: Actor, number: str, options: PrintOptions) -> bytes:
    """One document's PDF, rendered in this process."""
    with UnitOfWork(engine, actor, reason="打印单据") as uow:
        job = prepare(uow, number, options)
    return render_job(job)


def print_count_sheet(engine: Engine, actor: Actor, depot: str, options: PrintOptions) -> bytes:
    with UnitOfWork(engine, actor, reason="打印盘点表") as uow:
        job = prepare_count_sheet(uow, depot, options)
    return render_job(job)


def _render_to_file(task: tuple[Job, str]) -> str:
    job, path = task
    Path(path).write_bytes(render_job(job))
    return path


def print_batch(
    engine: Engine,
    actor: Actor,
    numbers: Sequence[str],
    options: PrintOptions,
    directory: Path,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Each document into ``directory/<number>.pdf``, rendered by worker processes.

    All prints are read and logged in one unit of work first, so a refusal (another
    county's request) stops the batch before anything is printed. The workers are
    ``multiprocessing`` spawn processes, each replaced after TASKS_PER_WORKER documents
    (``maxtasksperchild``; concurrent.futures' own option hangs on Python 3.11)."""
    directory.mkdir(parents=True, exist_ok=True)
    with UnitOfWork(engine, actor, reason="批量打印单据") as uow:
        jobs = [prepare(uow, number, options) for number in numbers]
    if not jobs:
        return []
    tasks = [(job, str(directory / f"{job.number}.pdf")) for job in jobs]
    paths: list[Path] = []
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        processes=max(1, min(workers, len(jobs))), maxtasksperchild=TASKS_PER_WORKER
    ) as pool:
        for path in pool.imap_unordered(_render_to_file, tasks):
            paths.append(Path(path))
            if progress is not None:
                progress(1)
    return sorted(paths)
