"""Users, roles and API tokens."""

from __future__ import annotations

import sys

import click

from relief_inventory.auth import services as auth_services
from relief_inventory.auth.actor import Role
from relief_inventory.cli import DomainAwareGroup, admin_uow, current_engine, main
from relief_inventory.db import open_session

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
    password = _read_password(password_stdin)
    with admin_uow() as uow:
        auth_services.create_user(uow, username, password, display_name=display_name)
        auth_services.grant_roles(uow, username, roles, depots=depots, counties=counties)
    click.echo(f"已创建用户 {username}（{', '.join(roles)}）")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt=True)


@user.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_password(username: str, password_stdin: bool) -> None:
    """Set a new password; this also lifts a lockout after repeated failed logins."""
    password = _read_password(password_stdin)
    with admin_uow("管理员重置密码") as uow:
        auth_services.change_password(uow, username, password)
    click.echo(f"已重置用户 {username} 的密码")


@user.command("list")
def user_list() -> None:
    """List users with their roles and scopes."""
    from relief_inventory.auth.queries import user_rows

    with open_session(current_engine()) as session:
        for row in user_rows(session):
            status = "启用" if row["active"] else "停用"
            click.echo(f"{row['username']:<20} {status}  {row['roles']}")


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable a user: logins stop working and every token is revoked for good."""
    with admin_uow() as uow:
        auth_services.set_active(uow, username, False)
    click.echo(f"已停用用户 {username}")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Enable a disabled user again (their old tokens stay revoked: issue new ones)."""
    with admin_uow() as uow:
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
    with admin_uow() as uow:
        row, text = auth_services.issue_token(uow, username, days)
    click.echo(text)
    click.echo(
        f"（编号 {row.prefix}，有效至 {row.expires_at:%Y-%m-%d}；令牌仅显示这一次）", err=True
    )


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token by its id or its shown prefix."""
    with admin_uow() as uow:
        row = auth_services.revoke_token(uow, token_id)
    click.echo(f"已吊销令牌 {row.prefix}")
