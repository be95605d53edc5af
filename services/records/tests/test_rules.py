"""The record rules as pure functions: no database, no HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dmt_records.domain.records import rules
from dmt_records.domain.records.languages import preferred_language, reader_language
from dmt_records.domain.records.rules import Status
from dmt_records.domain.records.services import normalize, text_unchanged
from dmt_shared.tokens import Role

# The table of the paper form, written out independently of the rules module.
EXPECTED_SECTIONS = {
    Role.INSPECTOR: {1, 2},
    Role.OPERATOR: {3},
    Role.TECH_ENGINEER: {3, 4},
    Role.QUALITY_ENGINEER: {5},
    Role.ADMIN: {1, 2, 3, 4, 5},
}
FIELD_SECTION = {
    "part_number_id": 1, "work_center_id": 1, "customer_id": 1, "level_id": 1, "area_id": 1,
    "prepared_by_id": 1, "operation": 1, "quantity": 1, "serial_number": 1, "date": 1,
    "inspection_item_id": 1, "process_code_id": 1,
    "defect_description": 2,
    "process_description": 3, "analysis": 3, "analysis_by_id": 3,
    "final_disposition_id": 4, "disposition_date": 4, "engineer_id": 4, "failure_code_id": 4,
    "rework_hours": 4, "responsible_department": 4, "material_scrap_cost": 4, "other_cost": 4,
    "engineering_remarks": 4, "repair_process": 4,
    "disposition_approval_date": 5, "disposition_approved_by_id": 5, "sdr_number": 5,
}  # fmt: skip


def test_the_sections_hold_exactly_the_fields_of_the_form() -> None:
    assert {f: rules.section_of(f) for f in rules.ALL_FIELDS} == FIELD_SECTION
    assert len(rules.ALL_FIELDS) == len(set(rules.ALL_FIELDS))


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("field", list(FIELD_SECTION))
def test_each_role_may_edit_exactly_the_fields_of_its_sections(role: Role, field: str) -> None:
    allowed = FIELD_SECTION[field] in EXPECTED_SECTIONS[role]
    assert (field in rules.editable_fields(role)) is allowed
    assert (rules.forbidden_fields(role, [field]) == [field]) is not allowed


def test_forbidden_fields_names_every_refused_field_in_the_order_given() -> None:
    given = ["sdr_number", "analysis", "quantity", "engineer_id"]
    assert rules.forbidden_fields(Role.OPERATOR, given) == ["sdr_number", "quantity", "engineer_id"]
    assert rules.forbidden_fields(Role.ADMIN, given) == []


def test_who_may_create_close_reopen_and_delete() -> None:
    assert [r for r in Role if rules.may_create(r)] == [Role.ADMIN, Role.INSPECTOR]
    assert [r for r in Role if rules.may_close(r)] == [Role.ADMIN, Role.QUALITY_ENGINEER]
    assert [r for r in Role if rules.may_reopen(r)] == [Role.ADMIN, Role.QUALITY_ENGINEER]
    assert [r for r in Role if rules.may_delete(r)] == [Role.ADMIN]
    assert [r for r in Role if rules.may_give_report_number(r)] == [Role.ADMIN]


COMPLETE = {
    "part_number_id": 1, "work_center_id": 2, "customer_id": 3, "prepared_by_id": 4, "operation": "OP-10",
    "quantity": 1, "date": dt.date(2026, 1, 5), "inspection_item_id": 5, "process_code_id": 6,
    "defect_description": "Crack",
}  # fmt: skip


def test_a_new_record_needs_every_required_field_and_blank_counts_as_missing() -> None:
    assert rules.missing_at_creation(COMPLETE) == []
    assert rules.missing_at_creation({**COMPLETE, "operation": "   ", "defect_description": None}) == [
        "operation",
        "defect_description",
    ]
    assert rules.missing_at_creation({}) == list(rules.REQUIRED_AT_CREATION)


def test_a_change_may_not_empty_a_required_field_but_may_empty_an_optional_one() -> None:
    assert rules.emptied_required({"quantity": None, "serial_number": None, "operation": ""}) == [
        "operation",
        "quantity",
    ]
    assert rules.emptied_required({"level_id": None, "analysis": None}) == []


DECIDED = {"final_disposition_id": 7, "failure_code_id": 8, "engineer_id": 4}


def test_closing_needs_the_decision_and_the_approval_for_everyone() -> None:
    approval = {"disposition_approval_date": dt.date(2026, 2, 1), "disposition_approved_by_id": 5}
    assert rules.missing_to_close({**COMPLETE, **DECIDED, **approval}) == []
    assert rules.missing_to_close(COMPLETE) == list(rules.REQUIRED_TO_CLOSE)
    assert rules.missing_to_close({**COMPLETE, **DECIDED, "disposition_approved_by_id": 5}) == [
        "disposition_approval_date"
    ]
    assert rules.missing_to_close({**DECIDED, **approval, "engineer_id": None}) == ["engineer_id"]


@pytest.mark.parametrize(
    ("values", "is_closed", "status"),
    [
        (COMPLETE, False, Status.OPEN),
        ({**COMPLETE, "analysis": "Cooling too fast"}, False, Status.IN_ANALYSIS),
        ({**COMPLETE, "process_description": "  "}, False, Status.OPEN),
        ({**COMPLETE, "analysis_by_id": 3}, False, Status.IN_ANALYSIS),
        ({**COMPLETE, "rework_hours": Decimal("0.00")}, False, Status.IN_ANALYSIS),
        ({**COMPLETE, "final_disposition_id": 7, "failure_code_id": 8}, False, Status.IN_ANALYSIS),
        ({**COMPLETE, **DECIDED}, False, Status.DISPOSITIONED),
        ({**COMPLETE, "sdr_number": "SDR-1"}, False, Status.OPEN),
        ({**COMPLETE, **DECIDED}, True, Status.CLOSED),
        (COMPLETE, True, Status.CLOSED),
    ],
)
def test_the_status_follows_from_what_is_filled(values: dict, is_closed: bool, status: Status) -> None:
    assert rules.derive_status(values, is_closed=is_closed) is status


@pytest.mark.parametrize("values", [COMPLETE, {**COMPLETE, "analysis": "Cooling"}, {**COMPLETE, **DECIDED}])
def test_a_reopened_record_says_so_whatever_is_filled_until_closed_again(values: dict) -> None:
    assert rules.derive_status(values, is_closed=False, reopened=True) is Status.REOPENED
    assert rules.derive_status(values, is_closed=True, reopened=True) is Status.CLOSED


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("field", rules.TEXT_FIELDS)
def test_a_translation_is_corrected_by_those_who_may_edit_its_text(role: Role, field: str) -> None:
    assert rules.may_correct_text(role, field) is (FIELD_SECTION[field] in EXPECTED_SECTIONS[role])


def test_only_text_fields_have_translations_to_correct() -> None:
    assert not rules.may_correct_text(Role.ADMIN, "operation")
    assert not rules.may_correct_text(Role.ADMIN, "colour")


def test_signatures_say_what_they_mean_in_words() -> None:
    assert rules.meaning_text(rules.MEANING_APPROVED_DISPOSITION) == "Approved disposition"
    assert rules.meaning_text(rules.MEANING_REOPENED) == "Reopened"


def test_an_operator_writing_the_analysis_becomes_the_analyst_unless_someone_is_named() -> None:
    changes = {"analysis": "Shell cracked"}
    assert rules.filled_in_for(Role.OPERATOR, 3, {}, changes) == {"analysis_by_id": 3}
    assert rules.filled_in_for(Role.TECH_ENGINEER, 4, {}, {"process_description": "Dewax"}) == {"analysis_by_id": 4}
    assert rules.filled_in_for(Role.OPERATOR, 3, {"analysis_by_id": 6}, changes) == {}
    assert rules.filled_in_for(Role.OPERATOR, 3, {}, {**changes, "analysis_by_id": None}) == {}
    assert rules.filled_in_for(Role.OPERATOR, 3, {}, {"analysis": None}) == {}
    assert rules.filled_in_for(Role.ADMIN, 1, {}, changes) == {}


def test_a_tech_engineer_setting_the_disposition_becomes_the_engineer_unless_someone_is_named() -> None:
    assert rules.filled_in_for(Role.TECH_ENGINEER, 4, {}, {"final_disposition_id": 7}) == {"engineer_id": 4}
    assert rules.filled_in_for(Role.TECH_ENGINEER, 4, {"engineer_id": 6}, {"final_disposition_id": 7}) == {}
    assert rules.filled_in_for(Role.TECH_ENGINEER, 4, {}, {"final_disposition_id": 7, "engineer_id": 6}) == {}
    assert rules.filled_in_for(Role.TECH_ENGINEER, 4, {}, {"final_disposition_id": None}) == {}
    assert rules.filled_in_for(Role.ADMIN, 1, {}, {"final_disposition_id": 7}) == {}


def test_report_numbers_are_dmt_year_and_five_digits() -> None:
    assert rules.report_number(2026, 42) == "DMT-2026-00042"
    assert rules.report_number(2027, 123456) == "DMT-2027-123456"


def test_the_rules_document_is_the_table_as_data() -> None:
    document = rules.rules_document()
    assert document["create_roles"] == ["Inspector", "Admin"]
    assert document["close_roles"] == ["Quality Engineer", "Admin"]
    assert document["reopen_roles"] == ["Quality Engineer", "Admin"]
    assert document["statuses"] == ["open", "in_analysis", "dispositioned", "closed", "reopened"]
    assert document["delete_roles"] == ["Admin"]
    assert document["role_sections"]["Tech Engineer"] == [3, 4]
    assert document["sections"]["5"] == ["disposition_approval_date", "disposition_approved_by_id", "sdr_number"]
    assert document["editable_fields"]["Operator"] == ["process_description", "analysis", "analysis_by_id"]
    assert set(document["editable_fields"]["Admin"]) == set(FIELD_SECTION)
    assert "defect_description" in document["required_at_creation"]
    assert document["required_to_close"] == list(rules.REQUIRED_TO_CLOSE)


@pytest.mark.parametrize(
    ("header", "preferred"),
    [
        (None, None),
        ("", None),
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("zh-CN", "zh"),
        ("fr-FR,fr;q=0.9,zh;q=0.5,en;q=0.4", "zh"),
        ("en;q=0.2, es;q=0.8", "es"),
        ("de, fr", None),
        ("es;q=0, en", "en"),
        ("ZH-hant-TW", "zh"),
        ("*", None),
    ],
)
def test_the_preferred_language_is_the_first_supported_one_by_weight(header: str | None, preferred: str | None) -> None:
    assert preferred_language(header) == preferred
    assert reader_language(header, None) == (preferred or "en")
    assert reader_language(header, "zh") == (preferred or "zh")


def test_values_are_stripped_blank_strings_clear_and_money_keeps_at_most_cents() -> None:
    values, errors = normalize(
        {"operation": "  OP-30 ", "serial_number": "  ", "rework_hours": 1.5, "other_cost": 0.0, "level_id": None}
    )
    assert values == {
        "operation": "OP-30",
        "serial_number": None,
        "rework_hours": Decimal("1.50"),
        "other_cost": Decimal("0.00"),
        "level_id": None,
    }
    assert errors == []
    _, errors = normalize({"material_scrap_cost": 10.005, "rework_hours": 0.1 + 0.2})
    assert [e["field"] for e in errors] == ["material_scrap_cost", "rework_hours"]


class _Row:
    def __init__(self, language: str, text: str, origin: str = "author") -> None:
        self.language, self.text, self.origin = language, text, origin


def test_a_text_is_unchanged_only_when_the_same_words_are_the_original_in_that_language() -> None:
    assert text_unchanged([], None, "en")
    assert not text_unchanged([_Row("en", "Crack")], None, "en")
    assert text_unchanged([_Row("en", "Crack")], "Crack", "en")
    assert not text_unchanged([_Row("en", "Crack")], "Crack", "es")
    # translations of the same original do not make it a change
    assert text_unchanged([_Row("en", "Crack"), _Row("es", "Grieta", "machine")], "Crack", "en")
    # the same words as a translation are not the original
    assert not text_unchanged([_Row("en", "Crack"), _Row("es", "Grieta", "machine")], "Grieta", "es")
