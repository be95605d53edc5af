"""The records not deleted, per status: one row per status, kept by the database itself.

Triggers on ``dmt_record`` (migration 0004) add and take away one as records are inserted,
change status, are deleted (the tombstone) or removed, whoever writes them: the service, a
bulk load such as ``bench/seed.py``, ``copy-db``, the predecessor import. So an exact total of
a list filtered by status at most is one small read instead of a count over the records. (On
PostgreSQL they change when the writing transaction commits: it does not see its own writes in
them before.) ``TRUNCATE`` fires no row trigger: after one, run migration 0004's seeding again.

The table has a metadata of its own, apart from the models' (``Base.metadata``), on purpose:
``copy-db`` copies and checks every table of the models, and this one is not data to copy. On
the target the migration makes its rows and the triggers count the records as they arrive.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, PrimaryKeyConstraint, String, Table

metadata = MetaData()

record_status_count = Table(
    "record_status_count",
    metadata,
    Column("status", String(16), nullable=False),
    #: Records of this status whose ``deleted_at`` is NULL.
    Column("live", Integer, nullable=False),
    PrimaryKeyConstraint("status", name="pk_record_status_count"),
)
