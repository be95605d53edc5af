"""The label objects added next to the id fields of a record."""

from __future__ import annotations

import msgspec


class CatalogLabel(msgspec.Struct, frozen=True):
    """A catalog entry as a person reads it: ``part_number`` next to ``part_number_id``."""

    id: int
    item_number: str
    #: In the reader's language (Accept-Language) when the entry has a name in it, else English.
    item_name: str


class UserLabel(msgspec.Struct, frozen=True):
    """A user as a person reads them: ``engineer`` next to ``engineer_id``."""

    id: int
    username: str
    full_name: str
