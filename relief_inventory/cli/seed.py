"""``relief seed``: the demo prefecture with its 2024 history (see seed/generate.py)."""

from __future__ import annotations

import sys

import click

from relief_inventory.bootstrap import init_database
from relief_inventory.cli import current_engine, fail, main
from relief_inventory.cli.tables import render_table
from relief_inventory.errors import Conflict
from relief_inventory.ops.marks import is_unfinished
from seed.generate import (
    DEFAULT_SEED,
    SeedReport,
    database_is_empty,
    reset_database,
    seed_database,
)


class _Bar:
    """A click progress bar sized once the first replica is planned."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=total, label="写入台账", file=sys.stderr, show_eta=True, width=30
            )
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@main.command("seed")
@click.option("--reset", is_flag=True, help="Drop ALL data first, then seed.")
@click.option(
    "--if-empty", is_flag=True, help="Seed only an empty database; otherwise note it, exit 0."
)
@click.option("--random-seed", default=DEFAULT_SEED, show_default=True, type=int)
@click.option(
    "--scale",
    default=1,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Copies of the depots, items and history (1 = the real prefecture).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def seed(reset: bool, if_empty: bool, random_seed: int, scale: int, quiet: bool) -> None:
    """Fill an empty database with the demo prefecture and its 2024 history."""
    if reset and if_empty:
        raise click.UsageError("--reset 与 --if-empty 不能同时使用")
    engine = current_engine(create=True)
    init_database(engine)
    if reset:
        reset_database(engine)
        click.echo("已删除全部数据并重建数据库结构", err=True)
    elif if_empty and is_unfinished(engine, "seed"):
        click.echo("上次演示数据写入未完成（进程被中断）：删除半成品并重新写入", err=True)
        reset_database(engine)
    elif not database_is_empty(engine):
        if if_empty:
            click.echo("数据库已有数据，跳过演示数据（如需重建：relief seed --reset）")
            return
        fail(Conflict("数据库已有数据：演示数据只能写入空库（如需重建：relief seed --reset）"))
    bar = _Bar(enabled=not quiet)
    try:
        report = seed_database(engine, random_seed=random_seed, scale=scale, progress=bar)
    finally:
        bar.close()
    click.echo(describe(report))


def describe(report: SeedReport) -> str:
    facts = render_table(
        ["项目", "数量"],
        [
            ["储备库", f"{report.depots:,}"],
            ["乡镇预置点", f"{report.points:,}"],
            ["物资类别", f"{report.categories:,}"],
            ["物资品种", f"{report.items:,}"],
            ["批次", f"{report.lots:,}"],
            ["单据", f"{report.documents:,}"],
            ["台账明细（moves）", f"{report.moves:,}"],
            ["库存合计（件）", f"{report.on_hand:,}"],
            ["2024年调拨棉被、衣服（件）", f"{report.winter_relief_issued:,}"],
        ],
        ["<", ">"],
    )
    logins = render_table(
        ["用户名", "密码", "角色"],
        [[u.username, u.password, u.roles_text] for u in report.users],
    )
    others = (
        f"\n其他模块创建的演示用户（密码见各模块说明）：{'、'.join(report.other_users)}"
        if report.other_users
        else ""
    )
    return (
        f"演示数据已写入（随机种子 {report.random_seed}，规模 {report.scale}，"
        f"用时 {report.seconds:.1f} 秒）\n\n{facts}\n\n"
        f"演示账户（仅供演示，请勿用于生产）：\n{logins}{others}"
    )
