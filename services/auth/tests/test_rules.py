"""The account rules and the failed-login window, without HTTP or a database."""

from __future__ import annotations

import pytest

from dmt_auth.domain.users import rules
from dmt_auth.ratelimit import LoginThrottle, SlidingWindow
from dmt_shared.testing import Clock


def test_usernames_are_employee_numbers_in_upper_case() -> None:
    assert rules.normalize_username("  ins003 ") == "INS003"
    assert rules.username_is_valid("OPR-12.A_B")
    for bad in ("AB", "X" * 33, "INS 003", "INSÑ01", ""):
        assert not rules.username_is_valid(rules.normalize_username(bad)), bad


def test_emails_names_and_time_zones_are_normalised_or_refused() -> None:
    assert rules.normalize_email("  Wang.Fang@DMT.Example ") == "wang.fang@dmt.example"
    assert rules.normalize_email(None) is None
    assert rules.normalize_full_name("  Luis   Ángel  Sánchez ") == "Luis Ángel Sánchez"
    assert rules.time_zone_is_valid("America/Mexico_City")
    assert rules.time_zone_is_valid("Asia/Shanghai")
    assert not rules.time_zone_is_valid("Mexico City")
    assert not rules.time_zone_is_valid("../../etc/passwd")


def test_who_sees_an_email() -> None:
    assert rules.may_see_email("Admin", 1, 7)
    assert rules.may_see_email("Inspector", 7, 7)
    assert not rules.may_see_email("Quality Engineer", 3, 7)


@pytest.mark.parametrize(
    ("role", "active", "new_role", "new_active", "removes"),
    [
        ("Admin", True, "Inspector", True, True),
        ("Admin", True, "Admin", False, True),
        ("Admin", True, "Admin", True, False),
        ("Admin", False, "Inspector", False, False),
        ("Inspector", True, "Admin", True, False),
        ("Operator", True, "Operator", False, False),
    ],
)
def test_which_changes_take_an_admin_away(
    role: str, active: bool, new_role: str, new_active: bool, removes: bool
) -> None:
    assert (
        rules.removes_an_active_admin(role=role, is_active=active, new_role=new_role, new_active=new_active) is removes
    )


def test_the_window_blocks_at_the_limit_and_says_how_long() -> None:
    clock = Clock()
    window = SlidingWindow(3, 900, clock=clock)
    for step in range(3):
        assert window.retry_after("INS001") == 0
        window.hit("INS001")
        clock.now += 10 * (step + 1)  # failures at 1000, 1010, 1030
    assert window.retry_after("INS001") == 900 - 60  # now 1060; the first failure leaves at 1900
    assert window.retry_after("INS002") == 0
    clock.now = 1900.5
    assert window.retry_after("INS001") == 0  # the oldest failure has left the window
    window.hit("INS001")
    assert window.retry_after("INS001") == 10  # full again until the 1010 failure leaves (1910)


def test_old_failures_are_forgotten_and_memory_stays_bounded() -> None:
    clock = Clock()
    window = SlidingWindow(2, 60, clock=clock, max_keys=100)
    for i in range(100):
        window.hit(f"user{i}")
    clock.now += 61
    window.hit("late")
    assert len(window) == 1  # expired keys were swept when the table was full
    for i in range(500):
        window.hit(f"flood{i}")
    assert len(window) <= 100


def test_the_throttle_counts_usernames_and_clients_separately() -> None:
    clock = Clock()
    throttle = LoginThrottle(user_limit=2, client_limit=3, window=60, clock=clock)
    throttle.failed("INS001", "10.0.0.5")
    throttle.failed("INS001", "10.0.0.6")
    assert throttle.retry_after("INS001", "10.0.0.7") > 0  # the username is locked everywhere
    assert throttle.retry_after("INS002", "10.0.0.5") == 0
    throttle.succeeded("INS001")
    assert throttle.retry_after("INS001", "10.0.0.7") == 0
    throttle.failed("INS003", "10.0.0.5")
    throttle.failed("INS004", "10.0.0.5")
    assert throttle.retry_after("INS005", "10.0.0.5") > 0  # the client is locked for any username
    assert throttle.retry_after("INS005", "10.0.0.8") == 0
