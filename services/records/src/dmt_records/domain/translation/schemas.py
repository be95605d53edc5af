"""What a record's texts and the translator's progress look like in answers."""

from __future__ import annotations

from typing import Literal

import msgspec

Origin = Literal["author", "machine", "human"]
State = Literal["done", "pending", "failed"]


class TextValue(msgspec.Struct):
    """One field in one language."""

    #: None while a machine translation is pending or has failed.
    text: str | None
    #: author (as written), machine (the translator's) or human (a person's correction).
    origin: Origin
    state: State
    #: A human translation of an earlier original: the original has been edited since.
    outdated: bool


class TextSet(msgspec.Struct):
    """One field in every language it has a row in, keyed by language (en, es, zh)."""

    #: The language the author wrote in.
    source_language: str
    values: dict[str, TextValue]


class TranslationStatus(msgspec.Struct):
    """How far the machine translation is, for an operator (texts of deleted records not counted)."""

    #: Whether a translation server is configured (RECORDS_TRANSLATOR_URL).
    configured: bool
    #: Translations waiting for the translator (new, or being retried).
    pending: int
    #: Translations the translator gave up on for now; tried again every max backoff, or at once on retry.
    failed: int
    #: Translations there (the translator's and people's).
    done: int


class RetryResult(msgspec.Struct):
    #: How many failed translations are due again now.
    retried: int
