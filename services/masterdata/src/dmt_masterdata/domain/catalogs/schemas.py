"""Request and response bodies of the catalog endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from dmt_masterdata.db.models import ITEM_NAME_LENGTH, ITEM_NUMBER_LENGTH

ItemNumber = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=ITEM_NUMBER_LENGTH,
        description="The code, unique in its catalog regardless of letter case; trimmed.",
        examples=["WC-003"],
    ),
]
ItemName = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=ITEM_NAME_LENGTH, description="The English name; trimmed.", examples=["Cast"]
    ),
]
TranslatedName = Annotated[
    str,
    msgspec.Meta(max_length=ITEM_NAME_LENGTH, description="The name in one language; blank or null clears it."),
]


class CatalogEntryCreate(msgspec.Struct, forbid_unknown_fields=True):
    item_number: ItemNumber
    item_name: ItemName
    item_name_es: TranslatedName | None = None
    item_name_zh: TranslatedName | None = None
    is_active: bool = True


class CatalogEntryUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields given change; the code and English name cannot be cleared."""

    item_number: ItemNumber | UnsetType = UNSET
    item_name: ItemName | UnsetType = UNSET
    item_name_es: TranslatedName | UnsetType | None = UNSET
    item_name_zh: TranslatedName | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET

    def changes(self) -> dict[str, object]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class CatalogEntryRead(msgspec.Struct):
    id: int
    kind: str
    item_number: str
    item_name: str
    item_name_es: str | None
    item_name_zh: str | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CatalogSummary(msgspec.Struct):
    """One catalog in the overview: its kind, title, and how many entries it has (and how many active)."""

    kind: str
    title: str
    total: int
    active: int


class CatalogOverview(msgspec.Struct):
    items: list[CatalogSummary]
