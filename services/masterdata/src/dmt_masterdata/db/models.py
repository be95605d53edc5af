"""The masterdata service's one table: an entry of one of the eleven catalogs."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.mixins import AuditColumns, IdentityPrimaryKey
from sqlalchemy import Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dmt_shared.db import declarative_base

Base: Any = declarative_base()

KIND_LENGTH = 32
ITEM_NUMBER_LENGTH = 64
ITEM_NAME_LENGTH = 255


class CatalogEntry(IdentityPrimaryKey, AuditColumns, Base):
    """A code and its name in one catalog (a part number, a work center, a failure code, ...).

    Records point to entries by id. An entry that records use is never deleted: it is
    deactivated, so history keeps its meaning while new records can no longer pick it.
    """

    __tablename__ = "catalog_entry"
    __table_args__ = (
        UniqueConstraint("kind", "item_number", name="uq_catalog_entry_kind_number"),
        Index("ix_catalog_entry_kind_name", "kind", "item_name"),
    )

    #: Which catalog: a key of :data:`dmt_shared.contracts.CATALOG_KINDS` (``part-numbers``, ...).
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    #: The code, unique in its catalog regardless of letter case (``A108``, ``WC-003``).
    item_number: Mapped[str] = mapped_column(String(ITEM_NUMBER_LENGTH))
    #: The English name.
    item_name: Mapped[str] = mapped_column(String(ITEM_NAME_LENGTH))
    item_name_es: Mapped[str | None] = mapped_column(String(ITEM_NAME_LENGTH), default=None)
    item_name_zh: Mapped[str | None] = mapped_column(String(ITEM_NAME_LENGTH), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
