"""The languages record texts are kept in: DMT's three, as every component reads them."""

from dmt_shared.languages import DEFAULT_LANGUAGE, LANGUAGES, Language, preferred_language, reader_language

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Language", "preferred_language", "reader_language"]
