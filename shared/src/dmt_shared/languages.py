"""The languages DMT speaks (en, es, zh), and which one a reader or writer wants.

Every component reads ``Accept-Language`` the same way, so a Spanish reader gets Spanish record
texts from records and Spanish catalog names from the gateway in the same answer.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "es", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "es", "zh")
DEFAULT_LANGUAGE: Language = "en"


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0
    return 1.0


def preferred_language(accept_language: str | None) -> Language | None:
    """The first of en/es/zh an ``Accept-Language`` header asks for (by weight, then order), if any.

    ``es-MX,es;q=0.9,en;q=0.8`` -> ``es``; ``zh-CN`` -> ``zh``; ``fr`` -> ``None``.
    """
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, *params = part.strip().split(";")
        primary = tag.strip().lower().split("-")[0]
        quality = _quality(params)
        if primary and quality > 0:
            ranked.append((-quality, position, primary))
    for _, _, primary in sorted(ranked):
        if primary in LANGUAGES:
            return primary  # type: ignore[return-value]
    return None


def reader_language(accept_language: str | None, preference: str | None) -> Language:
    """The language a person reads or writes in: what the request asks for (Accept-Language),
    else the language chosen in their profile (carried in the token), else English."""
    if (asked := preferred_language(accept_language)) is not None:
        return asked
    if preference in LANGUAGES:
        return preference  # type: ignore[return-value]
    return DEFAULT_LANGUAGE
