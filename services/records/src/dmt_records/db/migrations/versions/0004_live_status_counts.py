"""Records not deleted, counted per status by the database: exact list totals in constant time.

Counting the records a list shows read the whole partial index of the live records (about
60 ms at 1,000,000 on SQLite), the largest part of a list page. ``record_status_count`` holds
one row per status with the number of records of that status whose ``deleted_at`` is NULL,
seeded here from the rows there are and kept by triggers on ``dmt_record`` from then on, so
every writer keeps it right: the service, bulk loads (``bench/seed.py``), ``copy-db``, the
predecessor import, a hand-written statement.

- insert of a live record: one more of its status;
- update: only when the status or liveness (``deleted_at`` NULL or not) changes, one less of
  the old status when the record was live, one more of the new one when it is live;
- delete of a live record: one less.

PostgreSQL keeps a new version of a row on every update, and the versions one transaction
makes cannot be cleaned up until it ends: updating the count row once per record written made
a bulk load in one transaction (``copy-db`` does that) quadratic (40,000 records: 12 s, and
growing with the square). There the row triggers add up the changes of the transaction in a
transaction-local setting, and a deferred constraint trigger writes them at commit, one update
per status in a fixed order: linear, and the count rows are locked only while committing,
always in the same order (no deadlock between two writers over them). The other databases
update rows in place: their triggers write at once, the old status before the new one.

A statement on ``dmt_record`` that SQLite carries out by making the table anew
(``op.batch_alter_table``) drops its triggers: such a migration must make them again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: The statuses of ``dmt_records.domain.records.rules.Status`` when this revision was written.
STATUSES = ("open", "in_analysis", "dispositioned", "closed", "reopened")
TABLE = "record_status_count"
INSERTED, UPDATED, DELETED = "trg_record_count_ins", "trg_record_count_upd", "trg_record_count_del"
#: PostgreSQL: the functions of the row triggers (note) and of the trigger at commit (apply).
NOTE, APPLY = "fn_record_count_note", "fn_record_count_apply"
APPLIED = "trg_record_count_apply"

SQLITE = [
    """CREATE TRIGGER trg_record_count_ins AFTER INSERT ON dmt_record
WHEN NEW.deleted_at IS NULL
BEGIN
  UPDATE record_status_count SET live = live + 1 WHERE status = NEW.status;
END""",
    """CREATE TRIGGER trg_record_count_upd AFTER UPDATE OF status, deleted_at ON dmt_record
WHEN NEW.status IS NOT OLD.status OR (NEW.deleted_at IS NULL) <> (OLD.deleted_at IS NULL)
BEGIN
  UPDATE record_status_count SET live = live - 1 WHERE OLD.deleted_at IS NULL AND status = OLD.status;
  UPDATE record_status_count SET live = live + 1 WHERE NEW.deleted_at IS NULL AND status = NEW.status;
END""",
    """CREATE TRIGGER trg_record_count_del AFTER DELETE ON dmt_record
WHEN OLD.deleted_at IS NULL
BEGIN
  UPDATE record_status_count SET live = live - 1 WHERE status = OLD.status;
END""",
]

# The transaction-local setting dmt_records.live_pending adds up the changes: JSON {status: change}.
POSTGRESQL = [
    """CREATE FUNCTION fn_record_count_note() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  pending jsonb := coalesce(nullif(current_setting('dmt_records.live_pending', true), '')::jsonb, '{}'::jsonb);
BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF OLD.deleted_at IS NULL THEN
      pending := jsonb_set(pending, ARRAY[OLD.status], to_jsonb(coalesce((pending ->> OLD.status)::integer, 0) - 1));
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.deleted_at IS NULL THEN
      pending := jsonb_set(pending, ARRAY[NEW.status], to_jsonb(coalesce((pending ->> NEW.status)::integer, 0) + 1));
    END IF;
  END IF;
  PERFORM set_config('dmt_records.live_pending', pending::text, true);
  RETURN NULL;
END
$fn$""",
    """CREATE FUNCTION fn_record_count_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  pending jsonb := nullif(current_setting('dmt_records.live_pending', true), '')::jsonb;
  change record;
BEGIN
  IF pending IS NULL OR pending = '{}'::jsonb THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('dmt_records.live_pending', '', true);
  FOR change IN
    SELECT key AS status, value::integer AS live FROM jsonb_each_text(pending)
    WHERE value::integer <> 0 ORDER BY key
  LOOP
    UPDATE record_status_count SET live = live + change.live WHERE status = change.status;
  END LOOP;
  RETURN NULL;
END
$fn$""",
    """CREATE TRIGGER trg_record_count_ins AFTER INSERT ON dmt_record
FOR EACH ROW WHEN (NEW.deleted_at IS NULL) EXECUTE FUNCTION fn_record_count_note()""",
    """CREATE TRIGGER trg_record_count_upd AFTER UPDATE OF status, deleted_at ON dmt_record
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
EXECUTE FUNCTION fn_record_count_note()""",
    """CREATE TRIGGER trg_record_count_del AFTER DELETE ON dmt_record
FOR EACH ROW WHEN (OLD.deleted_at IS NULL) EXECUTE FUNCTION fn_record_count_note()""",
    # Fires at commit once per row written; the first finds the sum and writes it, the rest find nothing.
    """CREATE CONSTRAINT TRIGGER trg_record_count_apply
AFTER INSERT OR UPDATE OF status, deleted_at OR DELETE ON dmt_record
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fn_record_count_apply()""",
]

# No WHEN on MySQL/MariaDB triggers: the IFs keep an update that changes neither status nor
# liveness from touching (and locking) a count row.
MYSQL = [
    """CREATE TRIGGER trg_record_count_ins AFTER INSERT ON dmt_record FOR EACH ROW
BEGIN
  IF NEW.deleted_at IS NULL THEN
    UPDATE record_status_count SET live = live + 1 WHERE status = NEW.status;
  END IF;
END""",
    """CREATE TRIGGER trg_record_count_upd AFTER UPDATE ON dmt_record FOR EACH ROW
BEGIN
  IF NOT (NEW.status <=> OLD.status) OR ((NEW.deleted_at IS NULL) <> (OLD.deleted_at IS NULL)) THEN
    IF OLD.deleted_at IS NULL THEN
      UPDATE record_status_count SET live = live - 1 WHERE status = OLD.status;
    END IF;
    IF NEW.deleted_at IS NULL THEN
      UPDATE record_status_count SET live = live + 1 WHERE status = NEW.status;
    END IF;
  END IF;
END""",
    """CREATE TRIGGER trg_record_count_del AFTER DELETE ON dmt_record FOR EACH ROW
BEGIN
  IF OLD.deleted_at IS NULL THEN
    UPDATE record_status_count SET live = live - 1 WHERE status = OLD.status;
  END IF;
END""",
]

# In the body :NEW and :OLD, in WHEN plain NEW and OLD (Oracle's rule).
ORACLE = [
    """CREATE TRIGGER trg_record_count_ins
AFTER INSERT ON dmt_record
FOR EACH ROW
WHEN (NEW.deleted_at IS NULL)
BEGIN
  UPDATE record_status_count SET live = live + 1 WHERE status = :NEW.status;
END;""",
    """CREATE TRIGGER trg_record_count_upd
AFTER UPDATE OF status, deleted_at ON dmt_record
FOR EACH ROW
WHEN (NEW.status <> OLD.status
      OR (NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL)
      OR (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL))
BEGIN
  IF :OLD.deleted_at IS NULL THEN
    UPDATE record_status_count SET live = live - 1 WHERE status = :OLD.status;
  END IF;
  IF :NEW.deleted_at IS NULL THEN
    UPDATE record_status_count SET live = live + 1 WHERE status = :NEW.status;
  END IF;
END;""",
    """CREATE TRIGGER trg_record_count_del
AFTER DELETE ON dmt_record
FOR EACH ROW
WHEN (OLD.deleted_at IS NULL)
BEGIN
  UPDATE record_status_count SET live = live - 1 WHERE status = :OLD.status;
END;""",
]

TRIGGERS = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "mysql": MYSQL, "mariadb": MYSQL, "oracle": ORACLE}


def _dialect() -> str:
    # The context's dialect: there is no connection to ask when the SQL is only written out.
    return str(op.get_context().dialect.name)


def _execute(statement: str) -> None:
    # Colons are SQL here (Oracle's :NEW, PostgreSQL's casts), never bound parameters.
    op.execute(sa.text(statement.replace(":", "\\:")))


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("live", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("status", name=op.f("pk_record_status_count")),
    )
    # Triggers first: on PostgreSQL making them locks out writers of dmt_record until the end of
    # this transaction, so no record is written between the count below and the triggers.
    for statement in TRIGGERS[_dialect()]:
        _execute(statement)
    for status in STATUSES:
        op.execute(
            sa.text(
                "INSERT INTO record_status_count (status, live) "
                "SELECT :status, COUNT(*) FROM dmt_record WHERE status = :status AND deleted_at IS NULL"
            ).bindparams(sa.bindparam("status", status, type_=sa.String(16)))
        )


def downgrade() -> None:
    dialect = _dialect()
    triggers = [INSERTED, UPDATED, DELETED]
    if dialect == "postgresql":
        for name in [APPLIED, *triggers]:
            op.execute(sa.text(f"DROP TRIGGER {name} ON dmt_record"))
        for function in (APPLY, NOTE):
            op.execute(sa.text(f"DROP FUNCTION {function}()"))
    else:
        for name in triggers:
            op.execute(sa.text(f"DROP TRIGGER {name}"))
    op.drop_table(TABLE)
