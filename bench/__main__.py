"""``python -m bench`` (``make bench``): run every benchmark and print a table per benchmark.

Each benchmark is a module ``bench/<name>.py`` with ``run(args) -> list[dict]``: one dict per
measured case, with whatever keys suit it (``case``, ``seconds``, ``target_*``,
``meets_target``...). A module may also define ``add_arguments(parser)`` for its own options.
Options no module declares are passed through anyway (``--dispatch-requests 50`` becomes
``args.dispatch_requests == "50"``), so each module reads its own with ``getattr``.

BENCHMARKS is the fixed list; a module not written yet is skipped with a note.

    python -m bench                          # everything, scales 1 and 100
    python -m bench --only ledger --scale 1  # just the ledger at scale 1
    python -m bench --pg-url postgresql://postgres@127.0.0.1:5432/test --json out.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from relief_inventory.cli.tables import render_table

BENCHMARKS = (
    "ledger",
    "dispatch",
    "audit",
    "funds",
    "documents",
    "backoffice",
    "readiness",
    "load",
)


def parse(argv: Sequence[str] | None, modules: dict[str, Any]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="Run only these (repeatable)."
    )
    parser.add_argument(
        "--scale",
        action="append",
        type=int,
        help="Seed scale(s) for the benchmarks that seed (repeatable; default 1 and 100).",
    )
    parser.add_argument("--pg-url", default=None, help="Also run on this PostgreSQL.")
    parser.add_argument("--json", default=None, help="Also write all rows to this file.")
    for module in modules.values():
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)
    args, extra = parser.parse_known_args(argv)
    _pass_through(args, extra, parser)
    if args.scale:
        scales = ",".join(str(s) for s in args.scale)
        for name in ("ledger_scales", "dispatch_scales", "funds_scales"):
            if getattr(args, name, None) is None:
                setattr(args, name, scales)
    return args


def _pass_through(args: argparse.Namespace, extra: list[str], parser: Any) -> None:
    """``--some-option value`` / ``--flag`` that no module declared, kept as attributes."""
    index = 0
    while index < len(extra):
        option = extra[index]
        if not option.startswith("--"):
            parser.error(f"unexpected argument: {option}")
        name, _, value = option[2:].partition("=")
        if not value:
            following = extra[index + 1] if index + 1 < len(extra) else None
            if following is not None and not following.startswith("--"):
                value = following
                index += 1
            else:
                value = "1"
        setattr(args, name.replace("-", "_"), value)
        index += 1


def load(names: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The benchmark modules that exist; the names of those that do not (yet)."""
    modules, missing = {}, []
    for name in names:
        try:
            modules[name] = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"bench.{name}":
                raise
            missing.append(name)
    return modules, missing


def table(rows: list[dict]) -> str:
    """One column per key, in the order keys first appear; numbers right-aligned."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys and k != "benchmark"]
    cells = [[_text(row.get(k, "")) for k in keys] for row in rows]
    align = [
        ">" if all(isinstance(r.get(k), int | float) for r in rows if k in r) else "<" for k in keys
    ]
    return render_table(keys, cells, align)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    modules, missing = load(BENCHMARKS)
    args = parse(argv, modules)
    wanted = args.only or list(BENCHMARKS)
    for name in missing:
        if name in wanted:
            print(f"(bench.{name} is not there yet: skipped)", file=sys.stderr)
    everything: list[dict] = []
    for name in wanted:
        if name not in modules:
            continue
        print(f"== {name} ==", file=sys.stderr, flush=True)
        started = time.perf_counter()
        rows = modules[name].run(args)
        everything += rows
        print(f"\n{name} ({time.perf_counter() - started:.0f} s)\n{table(rows)}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(everything, handle, ensure_ascii=False, indent=2, default=str)
    missed = [r for r in everything if r.get("meets_target") is False]
    for row in missed:
        print(f"target missed: {row.get('benchmark')} / {row.get('case')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
