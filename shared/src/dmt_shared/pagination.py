"""Every list answers ``{items, total, page, page_size}``, in a stated order, with a capped page size."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


def offset(page: int, page_size: int) -> int:
    return (page - 1) * page_size
