"""The catalogs' rules, without HTTP or a database."""

import pytest

from dmt_masterdata.domain.catalogs import rules
from dmt_shared.contracts import CATALOG_KINDS, MAX_LOOKUP


def test_codes_and_names_are_trimmed_and_blank_ones_refused() -> None:
    cleaned = rules.clean_fields({"item_number": "  a108 ", "item_name": "\tCustomer A108 ", "is_active": False})
    assert cleaned == {"item_number": "a108", "item_name": "Customer A108", "is_active": False}
    for blank in ("", "   ", "\t"):
        with pytest.raises(rules.RuleError) as caught:
            rules.clean_fields({"item_number": blank})
        assert caught.value.field == "item_number"
    with pytest.raises(rules.RuleError) as caught:
        rules.clean_fields({"item_name": None})
    assert caught.value.field == "item_name"


def test_translated_names_may_be_cleared_with_null_or_blank() -> None:
    assert rules.clean_fields({"item_name_es": "  ", "item_name_zh": None}) == {
        "item_name_es": None,
        "item_name_zh": None,
    }
    assert rules.clean_fields({"item_name_zh": " 蜡模 "}) == {"item_name_zh": "蜡模"}


def test_a_line_break_inside_a_code_or_name_is_refused() -> None:
    for field in ("item_number", "item_name", "item_name_es"):
        with pytest.raises(rules.RuleError) as caught:
            rules.clean_fields({field: "WC\n001"})
        assert caught.value.field == field


def test_letter_case_does_not_make_a_new_code() -> None:
    assert rules.code_key("a108") == rules.code_key(" A108 ")
    assert rules.code_key("A108") != rules.code_key("A109")


def test_id_lists_are_parsed_deduplicated_and_bounded() -> None:
    assert rules.parse_ids(None) is None
    assert rules.parse_ids("  ") is None
    assert rules.parse_ids("3, 5,3,,8") == [3, 5, 8]
    for bad in ("1,x", "1.5", "-2", "0", str(2**63), "١٢"):
        with pytest.raises(rules.RuleError) as caught:
            rules.parse_ids(bad)
        assert caught.value.field == "ids"
    assert len(rules.parse_ids(",".join(str(i) for i in range(1, MAX_LOOKUP + 1))) or []) == MAX_LOOKUP
    with pytest.raises(rules.RuleError):
        rules.parse_ids(",".join(str(i) for i in range(1, MAX_LOOKUP + 2)))


def test_kinds_and_messages() -> None:
    assert all(rules.is_known_kind(kind) for kind in CATALOG_KINDS)
    assert not rules.is_known_kind("Part-Numbers")
    assert "part-numbers" in rules.unknown_kind_message("parts")
    assert rules.in_use_message(1).startswith("used by 1 record:")
    assert rules.in_use_message(7) == "used by 7 records: deactivate it instead (PATCH is_active=false)"
    assert rules.possible_id(1)
    assert rules.possible_id(rules.MAX_ID)
    assert not rules.possible_id(0)
    assert not rules.possible_id(rules.MAX_ID + 1)
