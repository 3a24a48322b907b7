"""The ``relief`` command line: thin, every write goes through the services."""

from __future__ import annotations

import sys

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from relief_inventory.audit.services import chain_head
from relief_inventory.audit.verify import verify
from relief_inventory.auth import services as auth_services
from relief_inventory.auth.actor import Role
from relief_inventory.bootstrap import init_database
from relief_inventory.checks import run_checks
from relief_inventory.config import Settings
from relief_inventory.db import engine_for
from relief_inventory.errors import DomainError
from relief_inventory.uow import UnitOfWork


def current_engine() -> Engine:
    return engine_for(Settings.from_env().database_url)


def fail(error: DomainError) -> None:
    where = f"（{error.field}）" if error.field else ""
    click.echo(f"错误{where}：{error.message}", err=True)
    sys.exit(2)


class DomainAwareGroup(click.Group):
    """Turns domain refusals into a message and exit status 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DomainError as error:
            fail(error)
            return None


@click.group(cls=DomainAwareGroup)
def main() -> None:
    """Relief-material inventory and relief-fund disbursement (楚雄州救灾物资与资金管理)."""


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    engine = current_engine()
    init_database(engine)
    click.echo(f"数据库已就绪：{engine.url.render_as_string(hide_password=True)}")


@main.command("check")
def check() -> None:
    """Recompute every balance from the ledger; exit 1 naming each difference."""
    with Session(current_engine()) as session:
        results = run_checks(session)
    failed = False
    for name, problems in results.items():
        click.echo(f"[{'通过' if not problems else '不符'}] {name}")
        for problem in problems:
            click.echo(f"    {problem}")
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


# -- users and tokens --------------------------------------------------------------------------


@main.group(cls=DomainAwareGroup)
def user() -> None:
    """Users and their roles."""


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(Role.ALL))
@click.option("--depot", "depots", multiple=True, help="Depot code (keepers).")
@click.option("--county", "counties", multiple=True, help="County code (requesters).")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(
    username: str,
    roles: tuple[str, ...],
    depots: tuple[str, ...],
    counties: tuple[str, ...],
    display_name: str,
    password_stdin: bool,
) -> None:
    """Create a user with one or more roles."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
    engine = current_engine()
    with UnitOfWork(engine, auth_services.system_actor(engine)) as uow:
        auth_services.create_user(uow, username, password, display_name=display_name)
        for role in roles:
            if role == Role.KEEPER:
                for depot in depots or (None,):
                    auth_services.grant_role(uow, username, role, depot_code=depot)
            elif role == Role.REQUESTER:
                for county in counties or (None,):
                    auth_services.grant_role(uow, username, role, county_code=county)
            else:
                auth_services.grant_role(uow, username, role)
    click.echo(f"已创建用户 {username}（{', '.join(roles)}）")


@user.command("list")
def user_list() -> None:
    """List users with their roles and scopes."""
    from relief_inventory.auth.queries import user_rows

    with Session(current_engine()) as session:
        for row in user_rows(session):
            status = "启用" if row["active"] else "停用"
            click.echo(f"{row['username']:<20} {status}  {row['roles']}")


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a user: logins and tokens stop working at once."""
    engine = current_engine()
    with UnitOfWork(engine, auth_services.system_actor(engine)) as uow:
        auth_services.set_active(uow, username, False)
    click.echo(f"已停用用户 {username}")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Enable a disabled user again."""
    engine = current_engine()
    with UnitOfWork(engine, auth_services.system_actor(engine)) as uow:
        auth_services.set_active(uow, username, True)
    click.echo(f"已启用用户 {username}")


@main.group(cls=DomainAwareGroup)
def token() -> None:
    """API bearer tokens."""


@token.command("issue")
@click.argument("username")
@click.option("--days", default=90, show_default=True, type=int)
def token_issue(username: str, days: int) -> None:
    """Issue a token; it is printed once and stored only as a hash."""
    engine = current_engine()
    with UnitOfWork(engine, auth_services.system_actor(engine)) as uow:
        row, text = auth_services.issue_token(uow, username, days)
    click.echo(text)
    click.echo(
        f"（编号 {row.prefix}，有效至 {row.expires_at:%Y-%m-%d}；令牌仅显示这一次）", err=True
    )


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token by its id or its shown prefix."""
    engine = current_engine()
    with UnitOfWork(engine, auth_services.system_actor(engine)) as uow:
        row = auth_services.revoke_token(uow, token_id)
    click.echo(f"已吊销令牌 {row.prefix}")


# -- audit ---------------------------------------------------------------------------------


@main.group(cls=DomainAwareGroup)
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("head")
def audit_head() -> None:
    """Print the latest sequence number and hash: publish it to detect rewriting later."""
    with Session(current_engine()) as session:
        seq, digest = chain_head(session)
    click.echo(f"{seq}:{digest}")


@audit.command("verify")
@click.option("--head", "head", default=None, help="A head printed earlier, as SEQ:HASH.")
@click.option("--chain-only", is_flag=True, help="Skip replaying the log against the tables.")
def audit_verify(head: str | None, chain_only: bool) -> None:
    """Walk the hash chain and replay it against the ledger; exit 1 at the first fault."""
    expected = None
    if head:
        seq_text, _, digest = head.partition(":")
        if not seq_text.isdigit() or len(digest) != 64:
            raise click.BadParameter("须为 SEQ:HASH 形式", param_hint="--head")
        expected = (int(seq_text), digest)
    with Session(current_engine()) as session:
        result = verify(session, expected_head=expected, check_rows=not chain_only)
    if result.ok:
        click.echo(
            f"审计日志完整：已核验 {result.entries} 条，链头 {result.head[0]}:{result.head[1]}"
        )
        return
    for problem in result.problems:
        click.echo(problem, err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
