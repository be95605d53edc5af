"""The web page's words and its code, read as files: every word in three languages, no English
left in the Spanish or Chinese page, every key the code asks for present, and no way for user
text to become markup."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).parents[1] / "src" / "dmt_gateway" / "domain" / "web" / "static"
LANGUAGES = ("en", "es", "zh")
DICTIONARIES = sorted((STATIC / "i18n").glob("*.json"))
SCRIPTS = sorted((STATIC / "js").rglob("*.js"))

#: Key prefixes of the core dictionary that code may compute (``t(`status.${status}`)``).
COMPUTED_PREFIXES = (
    "field.",
    "status.",
    "role.",
    "catalog.",
    "section.",
    "lang.",
    "origin.",
    "state.",
    "signature.",
    "action.",
    "core.error.",
)
#: Core keys outside the ``core.`` namespace: the record's vocabulary every page shares.
CORE_NAMESPACES = (*(prefix for prefix in COMPUTED_PREFIXES if prefix != "core.error."), "core.")

#: Words Spanish writes as English does; anything else equal to the English is a word left untranslated.
SAME_IN_SPANISH = {"API", "CSV", "Excel", "DMT", "SDR", "QR", "No", "Inspector", "—", "PDF", "A4", "Email", "Total"}
#: Text that is only codes, numbers and signs (``DMT-001``, ``CSV``, ``A4``, ``{count}``): the same in every language.
CODE_ONLY = re.compile(r"^[\sA-Z0-9_.:/%()\-–—·,#+×*]*$")
CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
#: Every string in the code that is shaped like a key of a dictionary ("record.save", "field.quantity"):
#: passed to t() directly or through a page's own helper, it must exist.
NAMESPACES = ("core", "dashboard", "record", "print", "admin", *(p.rstrip(".") for p in COMPUTED_PREFIXES[:-1]))
LITERAL_KEY = re.compile(r"[\"']((?:" + "|".join(NAMESPACES) + r")\.[A-Za-z0-9_.\- ]*[A-Za-z0-9_])[\"']")
#: A key built at run time: ``t(`status.${status}`)``; its prefix must be one of the shared vocabulary.
COMPUTED_KEY = re.compile(r"`((?:" + "|".join(NAMESPACES) + r")\.[A-Za-z0-9_.\-]*)\$\{")


def load(path: Path) -> dict[str, dict[str, str]]:
    return json.loads(path.read_text(encoding="utf-8"))


def codes_only(text: str) -> bool:
    return bool(CODE_ONLY.match(PLACEHOLDER.sub("", text)))


def all_keys() -> set[str]:
    return {key for path in DICTIONARIES for key in load(path)["en"]}


def test_there_is_a_dictionary_for_each_part_of_the_page() -> None:
    assert {path.stem for path in DICTIONARIES} >= {"core", "dashboard", "record", "print", "admin"}


@pytest.mark.parametrize("path", DICTIONARIES, ids=lambda p: p.stem)
def test_every_word_exists_in_all_three_languages(path: Path) -> None:
    words = load(path)
    assert set(words) == set(LANGUAGES)
    for language in ("es", "zh"):
        assert set(words[language]) == set(words["en"]), (
            f"{path.name}: {language} lacks {sorted(set(words['en']) - set(words[language]))}, "
            f"has extra {sorted(set(words[language]) - set(words['en']))}"
        )
    for language in LANGUAGES:
        for key, text in words[language].items():
            assert isinstance(text, str), f"{path.name}: {language} {key} is not text"
            assert text.strip(), f"{path.name}: {language} {key} is empty"
            # The same placeholders everywhere: a translation never drops or invents a value.
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(words["en"][key])), (
                f"{path.name}: {language} {key} has other placeholders than the English"
            )


@pytest.mark.parametrize("path", DICTIONARIES, ids=lambda p: p.stem)
def test_keys_are_in_the_namespace_of_their_dictionary(path: Path) -> None:
    allowed = CORE_NAMESPACES if path.stem == "core" else (f"{path.stem}.",)
    strays = [key for key in load(path)["en"] if not key.startswith(allowed)]
    assert not strays, f"{path.name} holds keys of another part: {strays}"


def test_no_key_is_defined_twice() -> None:
    seen: dict[str, str] = {}
    for path in DICTIONARIES:
        for key in load(path)["en"]:
            assert key not in seen, f"{key} is in both {seen[key]} and {path.name}"
            seen[key] = path.name


@pytest.mark.parametrize("path", DICTIONARIES, ids=lambda p: p.stem)
def test_no_english_is_left_in_the_spanish_and_chinese_page(path: Path) -> None:
    words = load(path)
    left_in_spanish = [
        key
        for key, english in words["en"].items()
        if words["es"][key] == english and english not in SAME_IN_SPANISH and not codes_only(english)
    ]
    left_in_chinese = [
        key
        for key, english in words["en"].items()
        if not CJK.search(words["zh"][key]) and not codes_only(words["zh"][key])
    ]
    assert not left_in_spanish, f"{path.name}: Spanish equal to the English: {left_in_spanish}"
    assert not left_in_chinese, f"{path.name}: Chinese without Chinese: {left_in_chinese}"


def test_every_word_the_code_asks_for_exists() -> None:
    keys = all_keys()
    missing: list[str] = []
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        for key in LITERAL_KEY.findall(text):
            if key not in keys:
                missing.append(f"{script.relative_to(STATIC)}: {key}")
        for prefix in COMPUTED_KEY.findall(text):
            if not prefix.startswith(COMPUTED_PREFIXES) and not any(key.startswith(prefix) for key in keys):
                missing.append(f"{script.relative_to(STATIC)}: computed {prefix}...")
    assert not missing, "words asked for but in no dictionary:\n" + "\n".join(missing)


SINKS = re.compile(
    r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function\("
    r"|javascript:|setAttribute\(\s*\"on"
)


def test_user_text_never_becomes_markup() -> None:
    # Every element is built with dom.h()/s() and text goes in as text; these are the ways around that.
    found = [
        f"{script.relative_to(STATIC)}:{number}: {line.strip()}"
        for script in SCRIPTS
        for number, line in enumerate(script.read_text(encoding="utf-8").splitlines(), 1)
        if SINKS.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_page_has_no_inline_script_or_style_for_its_content_security_policy() -> None:
    for page in STATIC.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{page.name}: inline script"
        assert "<style" not in html, f"{page.name}: inline style"
        assert " style=" not in html, f"{page.name}: style attribute"
        assert not re.search(r"\son\w+=", html), f"{page.name}: inline event handler"
    for script in SCRIPTS:
        # h(tag, {style: "width: 3em"}) sets a style attribute, which the policy refuses.
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"\bstyle\s*:\s*[\"'`][^\"'`]*:", text), f"{script.name}: style attribute"
