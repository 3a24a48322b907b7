"""``relief user …`` and ``relief token …`` on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from relief_inventory.auth import services as auth
from relief_inventory.cli import main
from tests.factories import PASSWORD, build_world


@pytest.fixture
def world(engine):
    return build_world(engine)


def relief(db_url: str, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin, env={"RELIEF_DATABASE_URL": db_url})


def test_add_a_user_with_several_roles_and_log_in(world, engine, db_url):
    result = relief(
        db_url,
        "user", "add", "li_wei", "--role", "keeper", "--depot", "ZX", "--depot", "SB",
        "--role", "finance", "--name", "李伟", "--password-stdin",
        stdin="a-strong-password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    actor = auth.authenticate(engine, "li_wei", "a-strong-password")
    assert actor.roles == {"keeper", "finance"} and len(actor.depot_ids) == 2
    listing = relief(db_url, "user", "list").output
    assert "li_wei" in listing and "keeper:SB" in listing and "keeper:ZX" in listing


def test_the_password_can_be_typed_at_a_prompt(world, engine, db_url):
    result = relief(
        db_url, "user", "add", "zhao", "--role", "auditor", stdin="prompted-pass\nprompted-pass\n"
    )
    assert result.exit_code == 0, result.output
    assert "prompted-pass" not in result.output
    assert auth.authenticate(engine, "zhao", "prompted-pass").roles == {"auditor"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "keeper"), "必须指定仓库"),
        (("--role", "keeper", "--depot", "NOPE"), "仓库不存在"),
        (("--role", "requester"), "必须指定县市"),
        (("--role", "requester", "--county", "532322", "--county", "532327"), "一个县市"),
        (("--role", "superuser"), "superuser"),
    ],
)
def test_bad_users_get_a_message_and_nothing_is_created(world, engine, db_url, args, message):
    result = relief(db_url, "user", "add", "newbie", *args, "--password-stdin", stdin="pw123456\n")
    assert result.exit_code == 2
    assert message in result.output
    with Session(engine) as session, pytest.raises(auth.NotFound):
        auth.user_by_name(session, "newbie")


def test_disable_enable_and_reset_a_password(world, engine, db_url):
    assert relief(db_url, "user", "disable", "finance").exit_code == 0
    assert "停用" in relief(db_url, "user", "list").output
    with pytest.raises(auth.Unauthenticated):
        auth.authenticate(engine, "finance", PASSWORD)
    assert relief(db_url, "user", "enable", "finance").exit_code == 0
    reset = relief(db_url, "user", "password", "finance", "--password-stdin", stdin="new-pw-12\n")
    assert reset.exit_code == 0, reset.output
    assert auth.authenticate(engine, "finance", "new-pw-12").username == "finance"
    unknown = relief(db_url, "user", "disable", "ghost")
    assert unknown.exit_code == 2 and "用户不存在" in unknown.output


def test_issue_and_revoke_a_token(world, engine, db_url):
    issued = relief(db_url, "token", "issue", "finance", "--days", "7")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert token.startswith("rlf_") and "仅显示这一次" in issued.stderr
    with Session(engine) as session:
        assert auth.actor_for_token(session, token).username == "finance"
    revoked = relief(db_url, "token", "revoke", token[:12])
    assert revoked.exit_code == 0, revoked.output
    with Session(engine) as session, pytest.raises(auth.Unauthenticated):
        auth.actor_for_token(session, token)
    assert relief(db_url, "token", "issue", "finance", "--days", "0").exit_code == 2
    assert relief(db_url, "token", "issue", "ghost").exit_code == 2
