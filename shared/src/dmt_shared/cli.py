"""The command line every service offers: ``python -m dmt_<service> <command>``.

- ``migrate``: bring the service's database to the newest schema (or ``--revision``), the same
  migrations the service applies when it starts, under the same lock.
- ``current``: print the schema revision the database is at.
- ``copy-db``: copy the service's data from one database to another and verify it
  (:mod:`dmt_shared.dbcopy`).

A service adds commands of its own (auth: ``create-admin``) through ``extra``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from dmt_shared import dbcopy
from dmt_shared.db import ServiceDatabase


class CommandError(Exception):
    """A command cannot do what was asked; the message says why (exit code 2)."""


@dataclass(frozen=True)
class ServiceDefinition:
    """What the generic commands need to know of a service."""

    name: str
    database_url: Callable[[], str]
    metadata: MetaData
    migrations: Path
    version_table: str

    def database(self, url: str | None = None, pool_size: int = 2) -> ServiceDatabase:
        return ServiceDatabase(
            url or self.database_url(),
            migrations=self.migrations,
            version_table=self.version_table,
            pool_size=pool_size,
        )


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


async def _migrate(service: ServiceDefinition, args: argparse.Namespace) -> str:
    database = service.database(args.url)
    try:
        await database.migrate(args.revision)
        revision = await _current_revision(database)
    finally:
        await database.dispose()
    return f"{service.name}: {safe_url(str(database.engine.url))} is at revision {revision}"


async def _current_revision(database: ServiceDatabase) -> str:
    from alembic.runtime.migration import MigrationContext

    def read(sync_conn: Any) -> str | None:
        context = MigrationContext.configure(sync_conn, opts={"version_table": database.version_table})
        return context.get_current_revision()

    async with database.engine.connect() as conn:
        value = await conn.run_sync(read)
    return value or "none (not migrated)"


async def _current(service: ServiceDefinition, args: argparse.Namespace) -> str:
    database = service.database(args.url)
    try:
        return f"{service.name}: {await _current_revision(database)}"
    finally:
        await database.dispose()


def _copy_db(service: ServiceDefinition, args: argparse.Namespace) -> Coroutine[Any, Any, str]:
    if args.replace and not args.yes:
        try:
            where = safe_url(args.target)
        except ArgumentError as exc:
            raise CommandError(f"the target URL cannot be used: {exc}") from exc
        question = f"Empty every {service.name} table in {where} before copying? [y/N] "
        if not sys.stdin.isatty():
            raise CommandError("--replace deletes the target's rows: confirm with --yes")
        if input(question).strip().lower() not in ("y", "yes"):
            raise CommandError("nothing copied")

    async def copy() -> str:
        try:
            report = await dbcopy.copy_database(
                service, args.source, args.target, batch_size=args.batch_size, replace=args.replace
            )
        except dbcopy.CopyRefused as exc:
            raise CommandError(str(exc)) from exc
        if not report.ok:
            print(report.render())
            raise CommandError("the target's rows differ from the source's (see the table above)")
        return report.render()

    return copy()


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {raw!r}")
    return value


#: A command answers its message, or a coroutine that does (run to completion here).
Command = Callable[[ServiceDefinition, argparse.Namespace], "str | Coroutine[Any, Any, str]"]


def add_common_commands(commands: Any, service: ServiceDefinition) -> None:
    migrate = commands.add_parser("migrate", help="apply the migrations (what the service does when it starts)")
    migrate.add_argument("--url", help=f"database URL (default: {service.name.upper()}_DATABASE_URL or the default)")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    migrate.set_defaults(command_func=_migrate)

    current = commands.add_parser("current", help="print the schema revision of the database")
    current.add_argument("--url", help="database URL")
    current.set_defaults(command_func=_current)

    copy = commands.add_parser(
        "copy-db",
        help="copy the service's data to another database (migrated first) and verify counts and checksums",
    )
    copy.add_argument("--source", required=True, help="database URL to copy from (at the newest revision)")
    copy.add_argument("--target", required=True, help="database URL to copy to (empty unless --replace)")
    copy.add_argument("--batch-size", type=_positive, default=dbcopy.DEFAULT_BATCH_SIZE, help="rows per batch")
    copy.add_argument("--replace", action="store_true", help="empty the target's tables first")
    copy.add_argument("--yes", action="store_true", help="do not ask before --replace empties the target")
    copy.set_defaults(command_func=_copy_db)


def run(
    service: ServiceDefinition,
    argv: Sequence[str] | None = None,
    *,
    extra: Callable[[Any], None] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m dmt_{service.name}", description=f"DMT {service.name} commands")
    commands = parser.add_subparsers(dest="command", required=True)
    add_common_commands(commands, service)
    if extra is not None:
        extra(commands)
    args = parser.parse_args(argv)
    func: Command = args.command_func
    try:
        outcome = func(service, args)
        print(outcome if isinstance(outcome, str) else asyncio.run(outcome))
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        print(f"error: the database cannot be used: {reason}", file=sys.stderr)
        return 1
    return 0
