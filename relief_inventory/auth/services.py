"""Users, role grants and tokens: the only code that writes them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import cache
from typing import NoReturn

from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from relief_inventory.auth.actor import SYSTEM_USERNAME, Actor, Role
from relief_inventory.auth.models import ApiToken, LoginFailure, RoleGrant, User
from relief_inventory.auth.passwords import (
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
from relief_inventory.auth.policy import require_role
from relief_inventory.db import is_sqlite, open_session
from relief_inventory.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    Unauthenticated,
)
from relief_inventory.timeutil import utcnow
from relief_inventory.uow import UnitOfWork
from relief_inventory.warehouse.models import County, Depot

# Login limits (see ``authenticate``): per account *and* client address, and per address.
MAX_FAILED_LOGINS = 5  # failures for one name from one address before that pair is locked
MAX_ADDRESS_FAILURES = 20  # failures from one address, any names, before it gets 429
LOCKOUT_MINUTES = 15  # the sliding window both limits count in
LOCKOUT = timedelta(minutes=LOCKOUT_MINUTES)
LOGIN_LOCK_CLASS = 72_300_006  # pg_advisory_xact_lock(class, client): one count at a time
MIN_PASSWORD_LENGTH = 8
MAX_TOKEN_DAYS = 366
UNKNOWN_CLIENT = "unknown"


@cache
def _dummy_hash() -> str:
    """Checked when the user does not exist, so that the answer takes as long."""
    return hash_password("not-a-password")


def actor_for(session: Session, user: User) -> Actor:
    grants = session.scalars(
        select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.active.is_(True))
    ).all()
    depots = {g.depot_id for g in grants if g.depot_id is not None}
    if depots:  # a depot's keeper keeps the township stock points below it too
        depots.update(session.scalars(select(Depot.id).where(Depot.parent_id.in_(depots))))
    return Actor(
        user_id=user.id,
        username=user.username,
        roles=frozenset(g.role for g in grants),
        depot_ids=frozenset(depots),
        county_ids=frozenset(g.county_id for g in grants if g.county_id is not None),
    )


def user_by_name(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户不存在：{username}", field="username")
    return user


def system_actor(engine: Engine) -> Actor:
    """The actor of set-up commands (init-db, seed); created on first use."""
    with open_session(engine) as session:
        user = session.scalar(select(User).where(User.username == SYSTEM_USERNAME))
        if user is not None:
            return actor_for(session, user)
    bootstrap = Actor(None, SYSTEM_USERNAME, frozenset({Role.ADMIN}))
    with UnitOfWork(engine, bootstrap, reason="系统初始化") as uow:
        user = User(username=SYSTEM_USERNAME, display_name="系统", active=True)
        uow.session.add(user)
        uow.session.flush()
        uow.session.add(RoleGrant(user_id=user.id, role=Role.ADMIN))
    with open_session(engine) as session:
        return actor_for(session, user_by_name(session, SYSTEM_USERNAME))


def _validate_username(username: str) -> str:
    name = (username or "").strip()
    if not (2 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
        raise InvalidInput("用户名须为 2–64 位字母、数字或 . _ -", field="username")
    return name


def _validate_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD_LENGTH} 位", field="password")
    return password


def create_user(uow: UnitOfWork, username: str, password: str, *, display_name: str = "") -> User:
    require_role(uow.actor, Role.ADMIN)
    name = _validate_username(username)
    if uow.session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict(f"用户名已存在：{name}", field="username")
    user = User(
        username=name,
        display_name=display_name or name,
        password_hash=hash_password(_validate_password(password)),
    )
    uow.session.add(user)
    uow.session.flush()
    return user


def grant_role(
    uow: UnitOfWork,
    username: str,
    role: str,
    *,
    depot_code: str | None = None,
    county_code: str | None = None,
) -> RoleGrant:
    """Keepers need a depot, requesters a county; other roles take no scope."""
    require_role(uow.actor, Role.ADMIN)
    if role not in Role.ALL:
        raise InvalidInput(f"未知角色：{role}（可选：{', '.join(Role.ALL)}）", field="role")
    user = user_by_name(uow.session, username)
    depot_id = county_id = None
    if role == Role.KEEPER:
        if not depot_code:
            raise InvalidInput("仓库保管员必须指定仓库（--depot）", field="depot")
        depot = uow.session.scalar(select(Depot).where(Depot.code == depot_code))
        if depot is None:
            raise NotFound(f"仓库不存在：{depot_code}", field="depot")
        depot_id = depot.id
    elif role == Role.REQUESTER:
        if not county_code:
            raise InvalidInput("县级申请人必须指定县市（--county）", field="county")
        county = uow.session.scalar(select(County).where(County.code == county_code))
        if county is None:
            raise NotFound(f"县市不存在：{county_code}", field="county")
        county_id = county.id
        other_county = uow.session.scalar(
            select(RoleGrant.id).where(
                RoleGrant.user_id == user.id,
                RoleGrant.role == Role.REQUESTER,
                RoleGrant.active.is_(True),
                RoleGrant.county_id != county_id,
            )
        )
        if other_county is not None:
            raise InvalidInput("县级申请人只能属于一个县市", field="county")
    elif depot_code or county_code:
        raise InvalidInput(f"角色 {role} 不限定仓库或县市", field="role")
    existing = uow.session.scalar(
        select(RoleGrant).where(
            RoleGrant.user_id == user.id,
            RoleGrant.role == role,
            RoleGrant.depot_id.is_(None) if depot_id is None else RoleGrant.depot_id == depot_id,
            RoleGrant.county_id.is_(None)
            if county_id is None
            else RoleGrant.county_id == county_id,
        )
    )
    if existing is not None:
        existing.active = True
        return existing
    grant = RoleGrant(user_id=user.id, role=role, depot_id=depot_id, county_id=county_id)
    uow.session.add(grant)
    uow.session.flush()
    return grant


def grant_roles(
    uow: UnitOfWork,
    username: str,
    roles: Iterable[str],
    *,
    depots: Iterable[str] = (),
    counties: Iterable[str] = (),
) -> list[RoleGrant]:
    """Several roles at once, as ``relief user add --role keeper --depot ZX --depot SB
    --role finance`` means them: a keeper grant per depot, a requester grant per county,
    one grant for every other role. A keeper without depots (or a requester without a
    county) is refused by ``grant_role``, naming the missing scope."""
    depot_codes, county_codes = tuple(depots), tuple(counties)
    scoped = {
        Role.KEEPER: ("depot_code", depot_codes),
        Role.REQUESTER: ("county_code", county_codes),
    }
    grants = []
    for role in dict.fromkeys(roles):  # each role once, in the order given
        keyword, codes = scoped.get(role, ("", ()))
        if not keyword:
            grants.append(grant_role(uow, username, role))
            continue
        for code in codes or (None,):
            grants.append(grant_role(uow, username, role, **{keyword: code}))
    return grants


def set_active(uow: UnitOfWork, username: str, active: bool) -> User:
    """Disable or enable a user. Disabling revokes every token the user holds, for good:
    enabling the user again does not revive them (issue new ones)."""
    require_role(uow.actor, Role.ADMIN)
    if active is not True and active is not False:
        raise InvalidInput("须为 true 或 false", field="active")
    user = user_by_name(uow.session, username)
    if user.username == SYSTEM_USERNAME:
        raise InvalidInput("系统用户不可停用", field="username")
    user.active = active
    if not active:
        now = utcnow()
        for token in uow.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            token.revoked_at = now
    uow.session.flush()
    return user


def change_password(uow: UnitOfWork, username: str, password: str) -> None:
    if uow.actor.username != username:
        require_role(uow.actor, Role.ADMIN)
    user = user_by_name(uow.session, username)
    user.password_hash = hash_password(_validate_password(password))
    # A new password (an admin's reset) also lifts the lock on every address.
    uow.session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))


def _client(value: str | None) -> str:
    return (value or UNKNOWN_CLIENT)[:64]


def _failures(session: Session, client: str, since: datetime, username: str | None = None) -> int:
    query = select(func.count(LoginFailure.id)).where(
        LoginFailure.client == client, LoginFailure.at > since
    )
    if username is not None:
        query = query.where(LoginFailure.username == username)
    return int(session.scalar(query) or 0)


def _serialise_client(uow: UnitOfWork, client: str) -> None:
    """One login from an address is counted at a time (PostgreSQL: an advisory lock;
    SQLite: the unit of work's write lock), so parallel guesses cannot slip past a limit."""
    if is_sqlite(uow.engine):
        return
    key = int.from_bytes(hashlib.sha256(client.encode()).digest()[:4], "big", signed=True)
    uow.session.execute(
        text("SELECT pg_advisory_xact_lock(:cls, :key)"), {"cls": LOGIN_LOCK_CLASS, "key": key}
    )


def authenticate(
    engine: Engine, username: str, password: str, *, client: str | None = None
) -> Actor:
    """Check a password, under two limits counted over the last ``LOCKOUT_MINUTES``:

    - **per name and address**: after ``MAX_FAILED_LOGINS`` failures for one name from one
      client address, that name is refused *from that address* (even with the right
      password) until the window has passed or an admin sets a new password. The owner,
      from their own address, can still log in: nobody can lock the admin out at will.
    - **per address**: after ``MAX_ADDRESS_FAILURES`` failures from one address, whatever
      the names, every login from it is answered 429 without looking at the password and
      without an audit entry (one ``login_rate_limited`` entry marks the moment), so a
      guesser can neither try name after name nor flood the audit log.

    Unknown, disabled and known names get the same answer after the same scrypt work, and
    count alike, so neither the message, the timing nor the lock reveals which names exist.
    The failure rows and audit entries are committed before the refusal is raised. The
    counts live in the database (``login_failure``), so every process of a server shares
    them.
    """
    now = utcnow()
    name = (username or "")[:64]  # as logged: the audit columns hold 64 characters
    address = _client(client)
    since = now - LOCKOUT
    outcome: Actor | Exception
    with UnitOfWork(engine, Actor(None, name or "anonymous")) as uow:
        session = uow.session
        _serialise_client(uow, address)
        session.execute(delete(LoginFailure).where(LoginFailure.at <= since))
        if _failures(session, address, since) >= MAX_ADDRESS_FAILURES:
            outcome = TooManyRequests(
                f"该地址登录失败次数过多，请 {LOCKOUT_MINUTES} 分钟后再试", field="username"
            )
        else:
            outcome = _check_password(uow, username or "", name, password or "", address, now)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _check_password(
    uow: UnitOfWork, username: str, name: str, password: str, address: str, now: datetime
) -> Actor | Exception:
    session = uow.session
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    usable = user is not None and user.active and bool(user.password_hash)
    # The scrypt work is done whatever the case, so every answer takes as long.
    matches = verify_password(password, user.password_hash if usable else _dummy_hash())  # type: ignore[union-attr]
    entity = ("app_user", user.id) if user is not None else ("security", name)
    locked = _failures(session, address, now - LOCKOUT, name) >= MAX_FAILED_LOGINS
    if usable and matches and not locked:
        assert user is not None
        session.execute(
            delete(LoginFailure).where(
                LoginFailure.client == address, LoginFailure.username == name
            )
        )
        user.last_login_at = now
        return actor_for(session, user)
    session.add(LoginFailure(client=address, username=name, at=now))
    session.flush()
    if locked:
        uow.record("login_refused_locked", *entity, {"client": address})
        return Unauthenticated(LOCKED_MESSAGE)
    why = "wrong_password" if usable else "unknown_or_disabled"
    uow.record("login_failed", *entity, {"client": address, "reason": why})
    if _failures(session, address, now - LOCKOUT, name) == MAX_FAILED_LOGINS:
        uow.record("account_locked", *entity, {"client": address, "minutes": LOCKOUT_MINUTES})
    if _failures(session, address, now - LOCKOUT) == MAX_ADDRESS_FAILURES:
        uow.record("login_rate_limited", "security", address, {"minutes": LOCKOUT_MINUTES})
    return Unauthenticated(FAILED_MESSAGE)


FAILED_MESSAGE = "用户名或密码错误，或账户已停用"
LOCKED_MESSAGE = "连续登录失败次数过多，该账户在此地址已临时锁定，请稍后再试"


def issue_token(uow: UnitOfWork, username: str, days: int = 90) -> tuple[ApiToken, str]:
    """Returns the row and the token text, which is shown once and never stored."""
    if uow.actor.username != username:
        require_role(uow.actor, Role.ADMIN)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"有效天数须为 1–{MAX_TOKEN_DAYS} 的整数", field="days")
    user = user_by_name(uow.session, username)
    if not user.active:
        raise Conflict("用户已停用，不能签发令牌", field="username")
    text = new_token()
    token = ApiToken(
        user_id=user.id,
        token_hash=token_digest(text),
        prefix=text[:12],
        expires_at=utcnow() + timedelta(days=days),
    )
    uow.session.add(token)
    uow.session.flush()
    return token, text


def revoke_token(uow: UnitOfWork, prefix_or_id: str) -> ApiToken:
    key = (prefix_or_id or "").strip()
    as_id = int(key) if key.isdigit() and len(key) <= 9 else -1
    token = uow.session.scalar(
        select(ApiToken).where((ApiToken.prefix == key) | (ApiToken.id == as_id))
    )
    if token is None:
        raise NotFound("令牌不存在", field="token")
    owner = uow.session.get(User, token.user_id)
    if owner is None or owner.username != uow.actor.username:
        require_role(uow.actor, Role.ADMIN)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def check_logged(engine: Engine, actor: Actor, check: Callable[[], None]) -> None:
    """Run a policy check for a read; a refusal is logged as a security event, exactly as
    a refused write is (the unit of work logs the ``PermissionDenied`` leaving it)."""
    try:
        check()
    except PermissionDenied:
        with UnitOfWork(engine, actor):
            raise


def actor_for_token(session: Session, token: str) -> Actor:
    """Bearer authentication: unknown, expired, revoked or disabled all answer 401.

    Using a revoked token, or any token of a disabled user, is a security event: a
    credential that was withdrawn is being tried, so it is logged with whose it was.
    Unknown and merely expired tokens are not logged (they name nobody, or are routine).
    """
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None:
        raise Unauthenticated("令牌无效")
    user = session.get(User, row.user_id)
    if row.revoked_at is not None:
        _refuse_token(session, row, user, "令牌已被吊销", "revoked")
    if user is None or not user.active:
        _refuse_token(session, row, user, "用户已停用", "user_disabled")
    if row.expires_at <= utcnow():
        raise Unauthenticated("令牌已过期")
    assert user is not None
    return actor_for(session, user)


def _refuse_token(
    session: Session, row: ApiToken, user: User | None, message: str, why: str
) -> NoReturn:
    who = Actor(row.user_id, user.username if user else f"user#{row.user_id}")
    with UnitOfWork(session.get_bind(), who) as uow:  # type: ignore[arg-type]
        uow.record("token_refused", "api_token", row.id, {"reason": why, "prefix": row.prefix})
    raise Unauthenticated(message)


def revoke_role(
    uow: UnitOfWork,
    username: str,
    role: str,
    *,
    depot_code: str | None = None,
    county_code: str | None = None,
) -> RoleGrant:
    """Take a role (with its depot or county) away; the grant row stays, inactive, so the
    history of who held what stays readable."""
    require_role(uow.actor, Role.ADMIN)
    user = user_by_name(uow.session, username)
    query = select(RoleGrant).where(
        RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.active.is_(True)
    )
    if depot_code:
        query = query.where(
            RoleGrant.depot_id == select(Depot.id).where(Depot.code == depot_code).scalar_subquery()
        )
    if county_code:
        query = query.where(
            RoleGrant.county_id
            == select(County.id).where(County.code == county_code).scalar_subquery()
        )
    grant = uow.session.scalars(query.order_by(RoleGrant.id)).first()
    if grant is None:
        raise NotFound(f"用户 {username} 没有该角色", field="role")
    if user.username == SYSTEM_USERNAME:
        raise InvalidInput("系统用户的角色不可撤销", field="username")
    grant.active = False
    uow.session.flush()
    return grant


def update_user(uow: UnitOfWork, username: str, *, display_name: object) -> User:
    require_role(uow.actor, Role.ADMIN)
    user = user_by_name(uow.session, username)
    name = display_name.strip() if isinstance(display_name, str) else ""
    if not name or len(name) > 64 or "\x00" in name:
        raise InvalidInput("姓名不能为空且不超过 64 个字符", field="display_name")
    user.display_name = name
    uow.session.flush()
    return user


LOCALES = ("zh_Hans_CN", "en")  # the back office's languages; Chinese is the default


def set_locale(uow: UnitOfWork, locale: object) -> User:
    """The signed-in user changes their own back-office language (no one else's: it is a
    preference, not an administrative act). Stored on the user, so it follows them to
    every browser and survives logging out."""
    if not isinstance(locale, str) or locale not in LOCALES:
        raise InvalidInput(f"语言须为 {' 或 '.join(LOCALES)}", field="locale")
    user = user_by_name(uow.session, uow.actor.username)
    if user.locale != locale:
        user.locale = locale
        uow.session.flush()
    return user
