"""Command line of the auth service.

``python -m dmt_auth create-admin ADM001 --full-name "María Fernanda López"`` makes an Admin
(or re-activates and resets an existing user as Admin). This is how the first Admin comes to be
in production, where no demo users are loaded. The password is asked for twice, or read from
standard input with ``--password-stdin``; it never appears on the command line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dmt_auth.config import Settings, get_settings
from dmt_auth.db import MIGRATIONS, VERSION_TABLE
from dmt_auth.db.models import Base, RefreshToken, UserAccount, utcnow
from dmt_auth.domain.users import rules
from dmt_auth.passwords import Passwords
from dmt_shared import cli
from dmt_shared.cli import CommandError
from dmt_shared.db import create_engine, migrate
from dmt_shared.tokens import Role


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise CommandError("the passwords differ")
    if not rules.PASSWORD_MIN <= len(password) <= rules.PASSWORD_MAX:
        raise CommandError(f"the password needs {rules.PASSWORD_MIN} to {rules.PASSWORD_MAX} characters")
    return password


async def create_admin(settings: Settings, username: str, full_name: str, email: str | None, password: str) -> str:
    """Create the Admin, or make an existing user an active Admin with this password."""
    username = rules.normalize_username(username)
    if not rules.username_is_valid(username):
        raise CommandError("the username needs 3 to 32 of A-Z, 0-9, '.', '_' and '-'")
    full_name = rules.normalize_full_name(full_name)
    if not full_name or len(full_name) > 120:
        raise CommandError("the full name needs 1 to 120 characters")
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        await migrate(engine, MIGRATIONS, VERSION_TABLE)
        password_hash = await Passwords(settings).hash(password)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            user = (
                await session.execute(select(UserAccount).where(UserAccount.username == username))
            ).scalar_one_or_none()
            if user is None:
                session.add(
                    UserAccount(
                        username=username,
                        full_name=full_name,
                        email=rules.normalize_email(email),
                        role=Role.ADMIN.value,
                        password_hash=password_hash,
                        is_active=True,
                        language="en",
                        time_zone="UTC",
                    )
                )
                outcome = f"created Admin {username}"
            else:
                user.role = Role.ADMIN.value
                user.is_active = True
                user.password_hash = password_hash
                await session.execute(
                    update(RefreshToken)
                    .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
                outcome = f"made {username} an active Admin with the new password"
            await session.commit()
    finally:
        await engine.dispose()
    return outcome


SERVICE = cli.ServiceDefinition(
    name="auth",
    database_url=lambda: get_settings().database_url,
    metadata=Base.metadata,
    migrations=MIGRATIONS,
    version_table=VERSION_TABLE,
)


def _create_admin_command(_: cli.ServiceDefinition, args: argparse.Namespace) -> Coroutine[Any, Any, str]:
    password = _read_password(args.password_stdin)  # asked before anything else is done
    return create_admin(get_settings(), args.username, args.full_name, args.email, password)


def _add_commands(commands: Any) -> None:
    admin = commands.add_parser("create-admin", help="create an Admin (the first one, in production)")
    admin.add_argument("username", help="employee number, e.g. ADM001")
    admin.add_argument("--full-name", required=True)
    admin.add_argument("--email")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.set_defaults(command_func=_create_admin_command)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(SERVICE, argv, extra=_add_commands)
