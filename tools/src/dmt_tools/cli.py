"""Command line of the DMT tools: ``python -m dmt_tools <command>``.

``import-predecessor --source URL``: import the predecessor's users, catalogs and records into
the services' databases (each service's ``*_DATABASE_URL`` unless given), migrating them first.
Progress goes to standard error, the report to standard output or ``--report FILE`` (JSON when
the name ends in ``.json``, else text). Running it again imports only what is new.

Exit status: 0 when every source row is here, 3 when some rows were refused (the rest was
imported; the report names each refused row and why), 2 when the command cannot run as asked,
1 when a database cannot be used.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from dmt_shared.settings import SettingsError
from dmt_tools.importer import DEFAULT_BATCH_SIZE, ImportReport, Targets, import_predecessor
from dmt_tools.predecessor import SourceError

EXIT_REFUSED = 3


def _positive(raw: str) -> int:
    value = int(raw) if raw.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {raw!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dmt_tools", description="DMT tools")
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser(
        "import-predecessor",
        help="import users, catalogs and records from the predecessor's database",
        description="Import users, catalogs and records from the predecessor's database. "
        "Rows already imported are left as they are, so it may be run again.",
    )
    imp.add_argument(
        "--source",
        required=True,
        help="the predecessor's DATABASE_URL, e.g. sqlite:///./dmt.db, mysql+pymysql://user:pw@host/dmt_db, "
        "postgresql://user:pw@host/dmt_db (read only)",
    )
    imp.add_argument("--auth-url", help="database URL of the auth service (default: AUTH_DATABASE_URL or its default)")
    imp.add_argument(
        "--masterdata-url", help="database URL of the masterdata service (default: MASTERDATA_DATABASE_URL)"
    )
    imp.add_argument("--records-url", help="database URL of the records service (default: RECORDS_DATABASE_URL)")
    imp.add_argument("--report", type=Path, help="write the report here (.json for JSON, else text)")
    imp.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE, help="rows per batch")
    return parser


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _write_report(report: ImportReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.to_json() + "\n" if path.suffix.lower() == ".json" else report.render(), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        targets = Targets.from_settings(args.auth_url, args.masterdata_url, args.records_url)
        report = asyncio.run(import_predecessor(args.source, targets, batch_size=args.batch_size, progress=_progress))
    except (SourceError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        print(f"error: a database cannot be used: {reason}", file=sys.stderr)
        return 1
    if args.report is not None:
        _write_report(report, args.report)
        print(report.summary())
        if report.refused or report.notes:
            print(f"{len(report.refused)} refused, {len(report.notes)} notes: see {args.report}")
    else:
        print(report.render(), end="")
    return 0 if report.complete else EXIT_REFUSED
