"""Importing the predecessor's database into the three services' databases.

Each service decides how its own data is written (``dmt_auth.domain.users.legacy``,
``dmt_masterdata.domain.catalogs.legacy``, ``dmt_records.domain.records.legacy``); this module
only orchestrates: it migrates the three target databases, reads the source in batches, hands
users, then the eleven catalogs, then records to their service's import, carries the id
mappings from one to the next, and gathers one report. Every source row ends up counted as
imported, already present or refused (with its reason); nothing is dropped unsaid.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dmt_auth.cli import SERVICE as AUTH
from dmt_auth.domain.users.legacy import UserImport, import_users
from dmt_masterdata.cli import SERVICE as MASTERDATA
from dmt_masterdata.domain.catalogs.legacy import LEGACY_TABLES, CatalogImport, import_catalog_entries
from dmt_records.cli import SERVICE as RECORDS
from dmt_records.domain.records.legacy import RecordImport, import_records
from dmt_shared.cli import safe_url
from dmt_shared.db import ServiceDatabase
from dmt_tools.predecessor import CATALOG_REQUIRED_COLUMNS, PredecessorSource

USER_TABLE = "user"
RECORD_TABLE = "dmtrecord"
DEFAULT_BATCH_SIZE = 500

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Targets:
    """The database URL of each service to import into."""

    auth: str
    masterdata: str
    records: str

    @classmethod
    def from_settings(
        cls, auth: str | None = None, masterdata: str | None = None, records: str | None = None
    ) -> Targets:
        """The given URLs, else each service's own setting (``AUTH_DATABASE_URL``, ...)."""
        return cls(
            auth=auth or AUTH.database_url(),
            masterdata=masterdata or MASTERDATA.database_url(),
            records=records or RECORDS.database_url(),
        )


@dataclass
class Outcome:
    """What happened to the rows of one kind (users, one catalog, records)."""

    name: str
    table: str
    read: int = 0
    imported: int = 0
    present: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)

    def add(self, table: str, part: UserImport | CatalogImport | RecordImport) -> None:
        self.read += part.read
        self.imported += part.imported
        self.present += part.present
        self.refused += [{"table": table, "id": r.legacy_id, "key": r.key, "reason": r.reason} for r in part.refused]
        self.notes += [{"table": table, "id": n.legacy_id, "key": n.key, "note": n.note} for n in part.notes]

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "imported": self.imported, "present": self.present, "refused": len(self.refused)}


@dataclass
class ImportReport:
    source: str
    targets: dict[str, str]
    started_at: str
    seconds: float = 0.0
    users: Outcome = field(default_factory=lambda: Outcome("users", USER_TABLE))
    catalogs: dict[str, Outcome] = field(default_factory=dict)
    records: Outcome = field(default_factory=lambda: Outcome("records", RECORD_TABLE))
    #: Things about the source as a whole (a catalog table it does not have, rows without an id).
    remarks: list[str] = field(default_factory=list)

    def outcomes(self) -> list[Outcome]:
        return [self.users, *self.catalogs.values(), self.records]

    @property
    def refused(self) -> list[dict[str, Any]]:
        return [r for o in self.outcomes() for r in o.refused]

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [n for o in self.outcomes() for n in o.notes]

    @property
    def complete(self) -> bool:
        """Every source row is here (imported now or before): nothing refused, nothing unread."""
        return not self.refused and not self.remarks

    def catalog_totals(self) -> dict[str, int]:
        keys = ("read", "imported", "present", "refused")
        return {k: sum(o.counts()[k] for o in self.catalogs.values()) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "targets": self.targets,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 2),
            "users": self.users.counts(),
            "catalogs": {**self.catalog_totals(), "by_kind": {k: o.counts() for k, o in self.catalogs.items()}},
            "records": self.records.counts(),
            "remarks": self.remarks,
            "refused": self.refused,
            "notes": self.notes,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def summary(self) -> str:
        lines = [
            f"Import of {self.source} ({self.started_at}, {self.seconds:.1f} s)",
            f"{'':<18}{'read':>8}{'imported':>10}{'present':>10}{'refused':>10}",
        ]
        rows = [("users", self.users.counts())]
        rows += [(f"  {kind}", o.counts()) for kind, o in self.catalogs.items()]
        rows += [("catalogs", self.catalog_totals()), ("records", self.records.counts())]
        for label, c in rows:
            lines.append(f"{label:<18}{c['read']:>8}{c['imported']:>10}{c['present']:>10}{c['refused']:>10}")
        lines += [f"! {remark}" for remark in self.remarks]
        return "\n".join(lines)

    def render(self) -> str:
        """The whole report as text: the counts, then every refused row, then every note."""
        parts = [self.summary()]
        if self.refused:
            parts.append(f"\nRefused ({len(self.refused)}): not imported, fix them in the source and import again")
            parts += [f"- {r['table']} id {r['id']} ({r['key']}): {r['reason']}" for r in self.refused]
        if self.notes:
            parts.append(f"\nNotes ({len(self.notes)}): imported with a change worth knowing")
            parts += [f"- {n['table']} id {n['id']} ({n['key']}): {n['note']}" for n in self.notes]
        return "\n".join(parts) + "\n"


def _silent(_: str) -> None:
    return None


async def _unread(source: PredecessorSource, table: str, read: int, report: ImportReport) -> None:
    """Rows of ``table`` that could not be read (no id): said, never skipped quietly."""
    total = await source.count(table)
    if total > read:
        report.remarks.append(f"{total - read} rows of {table!r} have no id and were not read")


async def import_predecessor(
    source_url: str,
    targets: Targets,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress = _silent,
) -> ImportReport:
    """Import everything from the predecessor at ``source_url``; running it again changes nothing."""
    started = time.perf_counter()
    report = ImportReport(
        source=safe_url(source_url),
        targets={
            "auth": safe_url(targets.auth),
            "masterdata": safe_url(targets.masterdata),
            "records": safe_url(targets.records),
        },
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    source = await PredecessorSource.open(source_url, (USER_TABLE, *LEGACY_TABLES, RECORD_TABLE))
    databases: list[ServiceDatabase] = []
    try:
        auth_db, masterdata_db, records_db = (
            service.database(url)
            for service, url in ((AUTH, targets.auth), (MASTERDATA, targets.masterdata), (RECORDS, targets.records))
        )
        databases += [auth_db, masterdata_db, records_db]
        for database, name in ((auth_db, "auth"), (masterdata_db, "masterdata"), (records_db, "records")):
            progress(f"migrating the {name} database {report.targets[name]}")
            await database.migrate()

        users = UserImport()
        async with auth_db.sessionmaker() as session:
            async for rows in source.batches(USER_TABLE, batch_size):
                await import_users(session, rows, report=users)
        report.users.add(USER_TABLE, users)
        await _unread(source, USER_TABLE, users.read, report)
        progress(_line("users", report.users.counts()))

        catalog_ids: dict[tuple[str, int], int] = {}
        async with masterdata_db.sessionmaker() as session:
            for table, kind in LEGACY_TABLES.items():
                outcome = report.catalogs[kind] = Outcome(kind, table)
                if not source.has(table):
                    report.remarks.append(
                        f"the source has no table {table!r}: the catalog {kind} had nothing to import"
                    )
                    continue
                source.require(table, CATALOG_REQUIRED_COLUMNS)
                entries = CatalogImport()
                async for rows in source.batches(table, batch_size):
                    await import_catalog_entries(session, kind, rows, report=entries)
                outcome.add(table, entries)
                catalog_ids.update(entries.ids)
                await _unread(source, table, entries.read, report)
        progress(_line("catalogs", report.catalog_totals()))

        total = await source.count(RECORD_TABLE)
        records = RecordImport()
        async with records_db.sessionmaker() as session:
            async for rows in source.batches(RECORD_TABLE, batch_size):
                await import_records(session, rows, catalog_ids=catalog_ids, user_ids=users.ids, report=records)
                progress(_line("records", _counts(records), total))
        report.records.add(RECORD_TABLE, records)
        await _unread(source, RECORD_TABLE, records.read, report)
    finally:
        for database in databases:
            await database.dispose()
        await source.close()
    report.seconds = time.perf_counter() - started
    return report


def _counts(done: RecordImport) -> dict[str, int]:
    return {"read": done.read, "imported": done.imported, "present": done.present, "refused": len(done.refused)}


def _line(name: str, counts: dict[str, int], total: int | None = None) -> str:
    read = f"{counts['read']} of {total}" if total is not None else f"{counts['read']}"
    return (
        f"{name}: {read} read, {counts['imported']} imported, {counts['present']} already present, "
        f"{counts['refused']} refused"
    )
