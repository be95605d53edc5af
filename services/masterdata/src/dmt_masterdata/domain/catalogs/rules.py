"""The catalogs' rules, as data and small pure functions: which catalogs exist, how codes and
names are cleaned, when two codes are the same, how a list may be sorted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from dmt_shared.contracts import CATALOG_KINDS, MAX_LOOKUP

#: Columns a list may be sorted by, and the default.
DEFAULT_SORT = "item_number"
SortField = Literal["item_number", "item_name", "id", "created_at", "updated_at"]
SortOrder = Literal["asc", "desc"]

#: Text columns sorted without regard to letter case ("a108" between "A107" and "A109").
CASELESS_SORT_FIELDS: frozenset[str] = frozenset({"item_number", "item_name"})

#: Fields that must hold text after trimming, and those that may be cleared (to null).
REQUIRED_TEXT_FIELDS: tuple[str, ...] = ("item_number", "item_name")
OPTIONAL_TEXT_FIELDS: tuple[str, ...] = ("item_name_es", "item_name_zh")

#: Ids are BIGINT: anything outside 1..MAX_ID cannot name an entry.
MAX_ID = 2**63 - 1

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RuleError(ValueError):
    """A value breaks a rule; ``field`` names it for the client."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def is_known_kind(kind: str) -> bool:
    return kind in CATALOG_KINDS


def unknown_kind_message(kind: str) -> str:
    return f"there is no catalog {kind!r}; the catalogs are: {', '.join(CATALOG_KINDS)}"


def possible_id(value: int) -> bool:
    """Whether ``value`` could be an entry's id at all (asked before it reaches the database)."""
    return 1 <= value <= MAX_ID


def clean_text(field: str, value: str | None, *, required: bool) -> str | None:
    """Trim ``value``; a required field must keep some text, an optional one becomes null when blank.

    Codes and names are one line: control characters (line breaks, tabs) are refused.
    """
    if value is None:
        if required:
            raise RuleError(field, "this field is required")
        return None
    cleaned = value.strip()
    if not cleaned:
        if required:
            raise RuleError(field, "must not be blank")
        return None
    if _CONTROL.search(cleaned):
        raise RuleError(field, "must be a single line without control characters")
    return cleaned


def clean_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields with every text field cleaned; fields not given stay absent."""
    cleaned = dict(data)
    for name in REQUIRED_TEXT_FIELDS:
        if name in cleaned:
            cleaned[name] = clean_text(name, cleaned[name], required=True)
    for name in OPTIONAL_TEXT_FIELDS:
        if name in cleaned:
            cleaned[name] = clean_text(name, cleaned[name], required=False)
    return cleaned


def code_key(item_number: str) -> str:
    """What makes two item numbers the same in one catalog: letter case does not count ("a108" is "A108").

    The database compares ``lower(item_number)`` with this key.
    """
    return item_number.strip().lower()


def parse_ids(raw: str | None) -> list[int] | None:
    """``"3, 5,8"`` -> ``[3, 5, 8]``; ``None`` or blank means no id filter."""
    if raw is None or not raw.strip():
        return None
    ids: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isascii() or not part.isdigit():
            raise RuleError("ids", f"{part!r} is not an id: give whole numbers separated by commas")
        value = int(part)
        if not possible_id(value):
            raise RuleError("ids", f"{part} is not an id: ids run from 1 to {MAX_ID}")
        ids.append(value)
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_LOOKUP:
        raise RuleError("ids", f"at most {MAX_LOOKUP} ids at once")
    return unique


def records_word(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"


def in_use_message(count: int) -> str:
    return f"used by {records_word(count)}: deactivate it instead (PATCH is_active=false)"
