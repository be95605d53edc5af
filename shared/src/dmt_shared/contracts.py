"""What components say to each other over HTTP: paths, field maps and message types.

A component never imports another component's code; it imports these contracts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import msgspec

# ---------------------------------------------------------------- catalogs (masterdata)

#: The eleven catalogs: URL kind -> English title.
CATALOG_KINDS: dict[str, str] = {
    "part-numbers": "Part numbers",
    "work-centers": "Work centers",
    "customers": "Customers",
    "levels": "Levels",
    "areas": "Areas",
    "calibrations": "Calibrations",
    "inspection-items": "Inspection items",
    "prepared-by": "Prepared by",
    "process-codes": "Process codes",
    "dispositions": "Dispositions",
    "failure-codes": "Failure codes",
}

#: Record fields that point to a catalog entry -> the catalog kind.
RECORD_CATALOG_FIELDS: dict[str, str] = {
    "part_number_id": "part-numbers",
    "work_center_id": "work-centers",
    "customer_id": "customers",
    "level_id": "levels",
    "area_id": "areas",
    "prepared_by_id": "prepared-by",
    "inspection_item_id": "inspection-items",
    "process_code_id": "process-codes",
    "final_disposition_id": "dispositions",
    "failure_code_id": "failure-codes",
}

#: Record fields that point to a user.
RECORD_USER_FIELDS: tuple[str, ...] = (
    "created_by_id",
    "analysis_by_id",
    "engineer_id",
    "disposition_approved_by_id",
)


def label_field(id_field: str) -> str:
    """``part_number_id`` -> ``part_number``: where an aggregated read puts the label."""
    return id_field.removesuffix("_id")


CATALOG_LOOKUP_PATH = "/api/v1/catalogs/lookup"
#: The catalogs' content version (``ContentVersion``); the look-up answer carries it as its ETag.
CATALOG_VERSION_PATH = "/api/v1/catalogs/version"
MAX_LOOKUP = 1000


#: A look-up carries the content version as its ETag only when asked with this header (any value):
#: the version reads every entry, which a caller that keeps no copy (record validation) should not pay for.
WANT_VERSION_HEADER = "x-dmt-want-version"


class ContentVersion(msgspec.Struct):
    """A version of what look-ups answer (names, numbers, active flags of every entry or user).

    It changes whenever any of that changes, on every replica of the service, so a copy of
    look-up answers stays right for as long as the version it was read at is still current.
    The look-up answers and ``GET .../version`` carry it as ``ETag: "<version>"``; the version
    call answers 304 to an ``If-None-Match`` naming the current one.
    """

    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def answer(self, if_none_match: str | None) -> tuple[ContentVersion | None, int, dict[str, str]]:
        """What ``GET .../version`` answers: (body, status, headers); 304 without a body when
        ``If-None-Match`` names this version."""
        headers = {"ETag": self.etag}
        if self.matches(if_none_match):
            return None, 304, headers
        return self, 200, headers

    def matches(self, if_none_match: str | None) -> bool:
        """Whether an ``If-None-Match`` header names this version (``*`` names any)."""
        if not if_none_match:
            return False
        for tag in if_none_match.split(","):
            tag = tag.strip()
            if tag == "*" or tag.removeprefix("W/") == self.etag:
                return True
        return False

    @classmethod
    def of_rows(cls, rows: Iterable[Sequence[Any]]) -> ContentVersion:
        """The version of a look-up's content: a digest of ``rows``, the looked-up fields of every
        entry or user in id order. Any row added, removed or changed gives another version."""
        digest = hashlib.blake2b(digest_size=16)
        for row in rows:
            digest.update(msgspec.json.encode(list(row)))
            digest.update(b"\n")
        return cls(version=digest.hexdigest())

    @classmethod
    def from_etag(cls, etag: str | None) -> ContentVersion | None:
        """The version an ``ETag`` header names, or None for none (or a malformed one)."""
        tag = (etag or "").strip().removeprefix("W/")
        if len(tag) < 3 or not (tag.startswith('"') and tag.endswith('"')) or '"' in tag[1:-1]:
            return None
        return cls(version=tag[1:-1])


class CatalogRef(msgspec.Struct, frozen=True):
    kind: str
    id: int


class CatalogLookupRequest(msgspec.Struct):
    items: Annotated[list[CatalogRef], msgspec.Meta(max_length=MAX_LOOKUP)]


class CatalogEntrySummary(msgspec.Struct):
    id: int
    kind: str
    item_number: str
    item_name: str
    is_active: bool
    #: The Spanish and Chinese names, when the catalog has them (readers of those languages see them).
    item_name_es: str | None = None
    item_name_zh: str | None = None

    def name_in(self, language: str | None) -> str:
        """The entry's name in ``language`` (en, es, zh) when it has one, else the English name."""
        if language == "es" and self.item_name_es:
            return self.item_name_es
        if language == "zh" and self.item_name_zh:
            return self.item_name_zh
        return self.item_name

    def label_in(self, language: str | None) -> str:
        """``item_number - item_name`` in ``language``, as lists, exports and charts show an entry."""
        return f"{self.item_number} - {self.name_in(language)}"


class CatalogLookupResponse(msgspec.Struct):
    items: list[CatalogEntrySummary]
    missing: list[CatalogRef]


# ---------------------------------------------------------------- users (auth)

USER_LOOKUP_PATH = "/api/v1/users/lookup"
#: The users' content version (``ContentVersion``); the look-up answer carries it as its ETag.
USER_VERSION_PATH = "/api/v1/users/version"
JWKS_PATH = "/api/v1/auth/jwks"


class UserLookupRequest(msgspec.Struct):
    ids: Annotated[list[int], msgspec.Meta(max_length=MAX_LOOKUP)]


class UserSummary(msgspec.Struct):
    id: int
    username: str
    full_name: str
    role: str
    is_active: bool

    @property
    def label(self) -> str:
        """``username - full_name``, as lists and exports show a user."""
        return f"{self.username} - {self.full_name}"


class UserLookupResponse(msgspec.Struct):
    items: list[UserSummary]
    missing: list[int]


#: Re-enter the password to sign (21 CFR 11.200): the caller's token says who, the body proves it.
PASSWORD_CHECK_PATH = "/api/v1/auth/verify-password"


class PasswordCheck(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class SignerIdentity(msgspec.Struct):
    """Who the password was checked for, as a signature records them (the printed name)."""

    id: int
    username: str
    full_name: str
    role: str


# ---------------------------------------------------------------- records

CATALOG_USAGE_PATH = "/api/v1/records/usage"


class CatalogUsage(msgspec.Struct):
    """How many records point to one catalog entry (asked before deleting it)."""

    kind: str
    id: int
    records: int
