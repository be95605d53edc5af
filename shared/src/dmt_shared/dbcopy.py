"""Copying one service's data from one database to another: ``python -m dmt_<service> copy-db``.

For moving a service to another database (SQLite to PostgreSQL as it grows, one server to
another). The service should be stopped while its data moves.

1. Refuse what cannot end well: the same database on both sides, an in-memory database, a
   source that is not at the newest schema revision of the service (its data would not fit),
   a target that already holds rows (unless ``replace``, which empties it first).
2. Migrate the target to the newest revision, then copy every table of the service's metadata,
   parents before children, in batches read in primary-key order (keyset pages: each page is an
   index range, however far into the table) and written with one executemany INSERT per batch,
   all in one transaction on the target: a copy that fails leaves the target's tables as they
   were.
3. Move the identity counters past the copied ids so that new rows do not collide (PostgreSQL:
   ``setval`` on each identity's sequence; MariaDB/MySQL: InnoDB moves AUTO_INCREMENT past
   explicit ids by itself; SQLite takes the largest id plus one; Oracle: ``START WITH LIMIT
   VALUE``, not yet tried on a real Oracle, and its DDL commits the copy before the checks).
4. Read both sides again and compare per table the row count and a SHA-256 over the rows in
   primary-key order, each value written the same way whatever the database: datetimes in UTC
   ISO form cut to the fractions both sides keep (MariaDB's plain DATETIME keeps whole seconds),
   decimals with the column's scale, booleans as 0/1, NULL as a marker distinct from any text.

Datetimes are cut (never rounded) to what the target's column keeps before they are written, so
a copy to MariaDB loses the sub-second part of timestamps, and says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dmt_shared.db import create_engine, dialect_of, migrate

if TYPE_CHECKING:
    from dmt_shared.cli import ServiceDefinition

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "CopyRefused",
    "CopyReport",
    "Progress",
    "TableCheck",
    "copy_database",
    "table_checksum",
]

DEFAULT_BATCH_SIZE = 5000
#: Fractional digits of a datetime that a SQLite column keeps (SQLAlchemy writes microseconds).
FULL_PRECISION = 6
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "oracle": 1521}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


class CopyRefused(Exception):
    """The copy was not started (or not finished) for a reason the message gives."""


@dataclass(frozen=True)
class TableCheck:
    """What the verification found for one table."""

    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sha256 == self.target_sha256


@dataclass
class CopyReport:
    """The outcome of a copy: one check per table and what else the user should know."""

    service: str
    source: str
    target: str
    tables: list[TableCheck]
    rows_copied: int
    seconds: float
    check_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.matches for check in self.tables)

    def render(self) -> str:
        """The counts and checksums of every table as a text table."""
        head = ("table", "source rows", "target rows", "source sha256", "target sha256", "")
        lines = [
            (
                check.table,
                f"{check.source_rows:,}",
                f"{check.target_rows:,}",
                check.source_sha256[:16],
                check.target_sha256[:16],
                "ok" if check.matches else "DIFFERENT",
            )
            for check in self.tables
        ]
        widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
        right = {1, 2}

        def fmt(row: Sequence[str]) -> str:
            cells = [
                cell.rjust(w) if i in right else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ]
            return "  ".join(cells).rstrip()

        rate = self.rows_copied / self.seconds if self.seconds > 0 else 0.0
        out = [
            f"{self.service}: copied {self.rows_copied:,} rows from {self.source} to {self.target} "
            f"in {self.seconds:.1f} s ({rate:,.0f} rows/s), checked in {self.check_seconds:.1f} s",
            fmt(head),
            *(fmt(row) for row in lines),
        ]
        out.extend(f"note: {note}" for note in self.notes)
        out.append("verified: every table has the same rows" if self.ok else "MISMATCH: the target differs")
        return "\n".join(out)


class Progress:
    """Rows done per table on standard error: redrawn in place on a terminal, otherwise one
    line every ``interval`` seconds and one when the table is done."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None, interval: float = 5.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval
        self._label = ""
        self._total = 0
        self._done = 0
        self._started = 0.0
        self._shown = 0.0

    def start(self, label: str, total: int) -> None:
        self._label, self._total, self._done = label, total, 0
        self._started = self._shown = time.monotonic()
        if self.live:
            self._write(self.line())

    def advance(self, rows: int) -> None:
        self._done += rows
        now = time.monotonic()
        if now - self._shown >= (0.1 if self.live else self.interval):
            self._shown = now
            self._write(self.line())

    def finish(self) -> None:
        self._write(self.line(), end=True)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self._done / elapsed
        share = self._done / self._total if self._total else 1.0
        filled = round(share * 24)
        bar = "#" * filled + "." * (24 - filled)
        if self._done >= self._total:
            eta = "done in " + _clock(elapsed)
        elif rate > 0:
            eta = "ETA " + _clock((self._total - self._done) / rate)
        else:
            eta = "ETA --:--"
        return (
            f"{self._label:<28} [{bar}] {self._done:>11,}/{self._total:,} rows {share:6.1%} {rate:>9,.0f} rows/s  {eta}"
        )

    def _write(self, line: str, *, end: bool = False) -> None:
        if self.live:
            self.stream.write("\r\x1b[K" + line + ("\n" if end else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


# -- checks before copying ---------------------------------------------------------------------


def _database_identity(url: str) -> tuple[str, ...]:
    """Enough of a URL to tell whether two URLs name the same database."""
    sa_url = make_url(url)
    dialect = dialect_of(url)
    if dialect == "sqlite":
        database = sa_url.database or ""
        if database.startswith("file:"):
            database = database[len("file:") :].split("?", 1)[0]
        if database in ("", ":memory:") or "mode=memory" in (sa_url.database or ""):
            raise CopyRefused("an in-memory SQLite database cannot be copied from or to: use a file")
        return (dialect, str(Path(database).expanduser().resolve()))
    host = (sa_url.host or "").lower()
    host = "localhost" if host in _LOCAL_HOSTS else host
    port = sa_url.port or _DEFAULT_PORTS.get(dialect, 0)
    service_name = str(sa_url.query.get("service_name", ""))
    return (dialect, host, str(port), sa_url.database or "", service_name)


def _check_urls(source_url: str, target_url: str) -> None:
    try:
        source, target = _database_identity(source_url), _database_identity(target_url)
    except ArgumentError as exc:
        raise CopyRefused(f"not a database URL: {exc}") from exc
    if source == target:
        raise CopyRefused("the source and the target are the same database")
    if source[0] == "sqlite" and not Path(source[1]).is_file():
        # Connecting would create an empty database there.
        raise CopyRefused(f"there is no source database file {source[1]}")


def _engine(url: str, side: str) -> AsyncEngine:
    try:
        return create_engine(url, pool_size=2)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise CopyRefused(f"the {side} database's driver is not installed ({exc})") from exc
    except (ArgumentError, InvalidRequestError) as exc:
        raise CopyRefused(f"the {side} URL cannot be used: {exc}") from exc


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _revisions(conn: AsyncConnection, version_table: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    def read(sync_conn: Any) -> set[str]:
        context = MigrationContext.configure(sync_conn, opts={"version_table": version_table})
        return set(context.get_current_heads())

    return await conn.run_sync(read)


def _heads(migrations: Path) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory(str(migrations)).get_heads())


async def _migrate_target(engine: AsyncEngine, service: ServiceDefinition) -> None:
    from alembic.util import CommandError as AlembicError

    try:
        await migrate(engine, service.migrations, service.version_table)
    except AlembicError as exc:
        # A revision this version of the service does not know, for instance a newer one.
        raise CopyRefused(f"the target's schema cannot be brought to this version's: {exc}") from exc


async def _counts(conn: AsyncConnection, tables: Sequence[sa.Table]) -> dict[str, int]:
    counts = {}
    for table in tables:
        counts[table.name] = int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())
    return counts


def _datetime_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [column for column in table.columns if _python_type(column) is dt.datetime]


def _python_type(column: sa.Column[Any]) -> type | None:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


async def _datetime_precisions(conn: AsyncConnection, tables: Sequence[sa.Table]) -> dict[tuple[str, str], int]:
    """Fractional digits each datetime column of the database keeps, from its catalog."""
    dialect = conn.dialect.name

    def read(sync_conn: Any) -> dict[tuple[str, str], int]:
        inspector = sa.inspect(sync_conn)
        found: dict[tuple[str, str], int] = {}
        for table in tables:
            wanted = {column.name for column in _datetime_columns(table)}
            if not wanted:
                continue
            for reflected in inspector.get_columns(table.name):
                if reflected["name"] in wanted:
                    found[(table.name, reflected["name"])] = _precision_of(reflected["type"], dialect)
        return found

    return await conn.run_sync(read)


def _precision_of(column_type: Any, dialect: str) -> int:
    if dialect == "mysql":
        # DATETIME without (fsp) keeps whole seconds.
        return int(getattr(column_type, "fsp", None) or 0)
    if dialect == "oracle" and type(column_type).__name__ == "DATE":
        return 0
    precision = getattr(column_type, "precision", None)
    return precision if isinstance(precision, int) and 0 <= precision <= FULL_PRECISION else FULL_PRECISION


# -- reading, normalising, hashing ------------------------------------------------------------


def _after(key: Sequence[sa.Column[Any]], last: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows whose primary key comes after ``last`` (keyset paging; composite keys spelled out)."""
    if len(key) == 1:
        return key[0] > last[0]
    alternatives = [
        sa.and_(*(key[j] == last[j] for j in range(i)), key[i] > last[i])  # type: ignore[arg-type]
        for i in range(len(key))
    ]
    return sa.or_(*alternatives)


async def _pages(conn: AsyncConnection, table: sa.Table, batch_size: int) -> AsyncIterator[Sequence[sa.Row[Any]]]:
    key = list(table.primary_key.columns)
    if not key:
        raise CopyRefused(f"table {table.name} has no primary key, so it cannot be read in a stable order")
    positions = [list(table.columns).index(column) for column in key]
    last: list[Any] | None = None
    while True:
        query = sa.select(table).order_by(*key).limit(batch_size)
        if last is not None:
            query = query.where(_after(key, last))
        rows = (await conn.execute(query)).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        last = [rows[-1][p] for p in positions]


def _cut(value: dt.datetime | None, digits: int) -> dt.datetime | None:
    """The datetime with its fraction cut to ``digits`` decimals (never rounded up)."""
    if value is None or digits >= FULL_PRECISION:
        return value
    step = 10 ** (FULL_PRECISION - digits)
    return value.replace(microsecond=value.microsecond // step * step)


_NULL = "N;"


def _text(value: str) -> str:
    return f"{len(value)}:{value}"


def _normaliser(column: sa.Column[Any], precision: int) -> Callable[[Any], str]:
    """How one column's values are written for the checksum, the same on every database."""
    kind = _python_type(column)
    if kind is bool:
        return lambda v: _NULL if v is None else ("1:1" if v else "1:0")
    if kind is dt.datetime:

        def moment(v: Any) -> str:
            if v is None:
                return _NULL
            if v.tzinfo is None:
                v = v.replace(tzinfo=dt.UTC)
            cut = _cut(v.astimezone(dt.UTC), precision)
            assert cut is not None
            return _text(cut.isoformat(timespec="microseconds"))

        return moment
    if kind is Decimal:
        scale = getattr(column.type, "scale", None)
        quantum = Decimal(1).scaleb(-(scale if isinstance(scale, int) else 2))
        return lambda v: _NULL if v is None else _text(format(Decimal(v).quantize(quantum), "f"))
    return _value


def _value(value: Any) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "1:1" if value else "1:0"
    if isinstance(value, dt.datetime):
        return _text(value.astimezone(dt.UTC).isoformat(timespec="microseconds"))
    if isinstance(value, (dt.date, dt.time)):
        return _text(value.isoformat())
    if isinstance(value, Decimal):
        return _text(format(value, "f"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _text(bytes(value).hex())
    return _text(str(value))


async def table_checksum(
    conn: AsyncConnection,
    table: sa.Table,
    precisions: dict[str, int],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_rows: Callable[[int], None] | None = None,
) -> tuple[int, str]:
    """Row count and SHA-256 (hex) of a table, rows in primary-key order; datetime columns cut to
    ``precisions[column name]`` fractional digits (6 when not given)."""
    normalisers = [_normaliser(column, precisions.get(column.name, FULL_PRECISION)) for column in table.columns]
    digest = hashlib.sha256()
    count = 0
    async for rows in _pages(conn, table, batch_size):
        chunk = "".join("".join(f(v) for f, v in zip(normalisers, row, strict=True)) + "\n" for row in rows)
        digest.update(chunk.encode("utf-8"))
        count += len(rows)
        if on_rows is not None:
            on_rows(len(rows))
    return count, digest.hexdigest()


# -- writing ----------------------------------------------------------------------------------


async def _reset_identities(conn: AsyncConnection, tables: Sequence[sa.Table]) -> None:
    """Make each table's next generated id larger than every copied one."""
    dialect = conn.dialect.name
    preparer = conn.dialect.identifier_preparer
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        top = (await conn.execute(sa.select(sa.func.max(column)))).scalar()
        name, column_name = preparer.format_table(table), preparer.quote(column.name)
        if dialect == "postgresql":
            await conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:table, :column), :next, false)"),
                {"table": name, "column": column.name, "next": (top or 0) + 1},
            )
        elif dialect == "oracle":
            await conn.exec_driver_sql(
                f"ALTER TABLE {name} MODIFY {column_name} GENERATED BY DEFAULT AS IDENTITY (START WITH LIMIT VALUE)"
            )
        elif dialect == "sqlite" and top is not None:
            # Only a table declared AUTOINCREMENT keeps a counter (sqlite_sequence); ours take max + 1.
            has_counter = await conn.execute(
                sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
            )
            if has_counter.first() is not None:
                await conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table.name})
                await conn.execute(
                    sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"), {"t": table.name, "seq": top}
                )
        # MariaDB/MySQL (InnoDB): an explicit id above AUTO_INCREMENT moves the counter past it.


async def _copy_table(
    source: AsyncConnection,
    target: AsyncConnection,
    table: sa.Table,
    cuts: dict[str, int],
    batch_size: int,
    progress: Progress,
) -> int:
    keys = [column.key for column in table.columns]
    cut_positions = [(i, cuts[column.name]) for i, column in enumerate(table.columns) if column.name in cuts]
    insert = table.insert()
    copied = 0
    async for rows in _pages(source, table, batch_size):
        values = []
        for row in rows:
            item = list(row)
            for position, digits in cut_positions:
                item[position] = _cut(item[position], digits)
            values.append(dict(zip(keys, item, strict=True)))
        await target.execute(insert, values)
        copied += len(rows)
        progress.advance(len(rows))
    return copied


async def copy_database(
    service: ServiceDefinition,
    source_url: str,
    target_url: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    replace: bool = False,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every table of ``service`` from ``source_url`` to ``target_url`` and verify it.

    Raises :class:`CopyRefused` before copying any row when the copy should not happen (the
    target may have been migrated by then).
    The report says whether the counts and checksums agree; the caller decides what a
    mismatch means (the command line exits non-zero).
    """
    if batch_size < 1:
        raise CopyRefused("the batch size must be at least 1")
    _check_urls(source_url, target_url)
    progress = progress or Progress()
    tables = list(service.metadata.sorted_tables)
    source = _engine(source_url, "source")
    target = _engine(target_url, "target")
    started = time.monotonic()
    try:
        heads = _heads(service.migrations)
        async with source.connect() as src:
            found = await _revisions(src, service.version_table)
            if found != heads:
                at = ", ".join(sorted(found)) or "none (not migrated)"
                raise CopyRefused(
                    f"the source is at schema revision {at}, not {', '.join(sorted(heads))} as this version of "
                    f"the {service.name} service expects: migrate it first "
                    f"(python -m dmt_{service.name} migrate --url SOURCE)"
                )
            source_counts = await _counts(src, tables)
            source_precisions = await _datetime_precisions(src, tables)

        await _migrate_target(target, service)
        notes: list[str] = []
        async with target.connect() as tgt:
            target_counts = await _counts(tgt, tables)
            target_precisions = await _datetime_precisions(tgt, tables)
        filled = {name: count for name, count in target_counts.items() if count}
        if filled and not replace:
            listed = ", ".join(f"{name} ({count:,} rows)" for name, count in filled.items())
            raise CopyRefused(f"the target already holds data: {listed}; --replace empties it first")

        # Fractions the target cannot keep are cut before writing, and both checksums ignore them.
        cuts = {
            key: digits
            for key, digits in target_precisions.items()
            if digits < source_precisions.get(key, FULL_PRECISION)
        }
        if cuts:
            columns = ", ".join(f"{table}.{column}" for table, column in sorted(cuts))
            notes.append(f"the target keeps fewer fractions of a second in {columns}: cut to what it keeps")
        common = {
            key: min(source_precisions.get(key, FULL_PRECISION), target_precisions.get(key, FULL_PRECISION))
            for key in {*source_precisions, *target_precisions}
        }

        copied = 0
        async with source.connect() as src, target.begin() as tgt:
            if filled:
                for table in reversed(tables):
                    await tgt.execute(table.delete())
                notes.append(f"emptied the target first ({sum(filled.values()):,} rows)")
            for table in tables:
                progress.start(f"copy {table.name}", source_counts[table.name])
                table_cuts = {column: digits for (name, column), digits in cuts.items() if name == table.name}
                copied += await _copy_table(src, tgt, table, table_cuts, batch_size, progress)
                progress.finish()
            await _reset_identities(tgt, tables)
        seconds = time.monotonic() - started

        checks = []
        async with source.connect() as src, target.connect() as tgt:
            for table in tables:
                table_precisions = {column: digits for (name, column), digits in common.items() if name == table.name}
                progress.start(f"check {table.name} (both)", 2 * source_counts[table.name])
                (source_rows, source_sha), (target_rows, target_sha) = await asyncio.gather(
                    table_checksum(src, table, table_precisions, batch_size=batch_size, on_rows=progress.advance),
                    table_checksum(tgt, table, table_precisions, batch_size=batch_size, on_rows=progress.advance),
                )
                progress.finish()
                checks.append(TableCheck(table.name, source_rows, target_rows, source_sha, target_sha))
        check_seconds = time.monotonic() - started - seconds
        return CopyReport(
            service=service.name,
            source=_safe(source_url),
            target=_safe(target_url),
            tables=checks,
            rows_copied=copied,
            seconds=seconds,
            check_seconds=check_seconds,
            notes=notes,
        )
    finally:
        await source.dispose()
        await target.dispose()
