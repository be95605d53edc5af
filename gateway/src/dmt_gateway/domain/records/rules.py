"""Which record answers get labels, which of their fields point where, and in which language.

Labels are added to the JSON answers a person reads a record from: the list, one record,
and the record as it stands after creating, editing, closing, reopening it or correcting a
translation. Exports and charts are labelled by the records service itself and pass through.
"""

from __future__ import annotations

import enum
import re

from dmt_shared.contracts import RECORD_CATALOG_FIELDS, RECORD_USER_FIELDS, label_field


class View(enum.Enum):
    PAGE = "page"  # {items, total, page, page_size}: every item gets labels
    ONE = "one"  # one record


_ID = "[0-9]+"
_SEGMENT = "[^/]+"

#: (method, path pattern, shape of the answer). Anything else passes through untouched.
LABELLED: tuple[tuple[str, re.Pattern[str], View], ...] = (
    ("GET", re.compile(r"^/api/v1/records/?$"), View.PAGE),
    ("GET", re.compile(rf"^/api/v1/records/{_ID}/?$"), View.ONE),
    ("POST", re.compile(r"^/api/v1/records/?$"), View.ONE),
    ("PATCH", re.compile(rf"^/api/v1/records/{_ID}/?$"), View.ONE),
    ("POST", re.compile(rf"^/api/v1/records/{_ID}/close/?$"), View.ONE),
    ("POST", re.compile(rf"^/api/v1/records/{_ID}/reopen/?$"), View.ONE),
    ("PUT", re.compile(rf"^/api/v1/records/{_ID}/texts/{_SEGMENT}/{_SEGMENT}/?$"), View.ONE),
)

#: Record fields holding a catalog entry id -> the catalog.
CATALOG_FIELDS: dict[str, str] = dict(RECORD_CATALOG_FIELDS)

#: Record fields holding a user id.
USER_FIELDS: tuple[str, ...] = (*RECORD_USER_FIELDS, "updated_by_id", "closed_by_id", "reopened_by_id")

#: id field -> the field its label goes into (``part_number_id`` -> ``part_number``).
LABEL_OF: dict[str, str] = {name: label_field(name) for name in (*CATALOG_FIELDS, *USER_FIELDS)}

#: The languages catalog names are kept in; English is every entry's own name.


def labelled_view(method: str, path: str) -> View | None:
    """The shape of the answer when ``method path`` gets labels, else None."""
    for wanted, pattern, view in LABELLED:
        if method == wanted and pattern.match(path):
            return view
    return None
