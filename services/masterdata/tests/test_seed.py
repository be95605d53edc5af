"""The demo catalogs: plausible, complete, translated, and loaded only once."""

import re
from collections.abc import Callable

from litestar import Litestar
from litestar.testing import AsyncTestClient

from dmt_masterdata.db.models import ITEM_NAME_LENGTH, ITEM_NUMBER_LENGTH
from dmt_masterdata.domain.catalogs import rules, seed
from dmt_shared.contracts import CATALOG_KINDS

TRANSLATED = ("work-centers", "levels", "areas", "dispositions", "failure-codes", "inspection-items", "process-codes")
PLANT_FORMATS = (
    r"\d{7}",  # 9151355
    r"\d{7}-\d{3}",  # 5073135-101
    r"\d{5}[A-Z]-\d{3}",  # 10101B-518
    r"\d{3}-\d{4}-\d{2}",  # 336-0035-01
    r"[A-Z]\d-\d{3}-\d",  # A1-379-1
    r"[A-Z]{4}-\d{6}",  # FONN-863668
    r"\d[A-Z]\d{6}",  # 7A008900
    r"[A-Z]{3}\d{6}",  # HXE102048
)


def test_every_catalog_has_demo_entries_that_fit_the_table() -> None:
    catalogs = seed.demo_catalogs()
    assert list(catalogs) == list(CATALOG_KINDS)
    for kind, rows in catalogs.items():
        assert rows, kind
        keys = [rules.code_key(number) for number, *_ in rows]
        assert len(keys) == len(set(keys)), f"{kind} repeats an item number"
        for number, name, es, zh in rows:
            assert rules.clean_fields({"item_number": number, "item_name": name}) == {
                "item_number": number,
                "item_name": name,
            }
            assert len(number) <= ITEM_NUMBER_LENGTH
            assert all(len(text or "") <= ITEM_NAME_LENGTH for text in (name, es, zh))


def test_the_plant_facts_are_there() -> None:
    catalogs = seed.demo_catalogs()
    work_centers = {number: name for number, name, _, _ in catalogs["work-centers"]}
    assert list(work_centers) == [f"WC-{i:03d}" for i in range(1, 16)]
    assert work_centers["WC-001"] == "Wax Pattern"
    assert work_centers["WC-011"] == "Manual Operation_Machining"
    assert [n for n, *_ in catalogs["customers"]] == ["A108", "A109", "A135", "A146", "A261", "IMMX"]
    assert catalogs["levels"][0][:2] == ("L1", "Critical")
    assert {name for _, name, *_ in catalogs["dispositions"]} == {"Use As Is", "Rework", "Scrap", "Return to Supplier"}
    assert 15 <= len(catalogs["calibrations"]) <= 25
    assert 10 <= len(catalogs["prepared-by"]) <= 15


def test_names_are_translated_where_the_floor_reads_them() -> None:
    catalogs = seed.demo_catalogs()
    for kind in TRANSLATED:
        for number, _name, es, zh in catalogs[kind]:
            assert es, (kind, number)
            assert zh, (kind, number)
            assert re.search(r"[\u4e00-\u9fff]", zh), (kind, number, zh)
    spanish = {name: es for _, name, es, _ in catalogs["dispositions"]}
    assert spanish["Rework"] == "Retrabajo"


def test_about_150_part_numbers_in_the_plant_formats_the_same_on_every_start() -> None:
    parts = seed.part_numbers()
    assert parts == seed.part_numbers()
    assert len(parts) == 150
    numbers = [number for number, *_ in parts]
    assert numbers[: len(seed.KNOWN_PART_NUMBERS)] == list(seed.KNOWN_PART_NUMBERS)
    for number in numbers:
        assert any(re.fullmatch(f, number) for f in PLANT_FORMATS), number
    used_formats = {next(f for f in PLANT_FORMATS if re.fullmatch(f, n)) for n in numbers}
    assert used_formats == set(PLANT_FORMATS)
    assert any(name.startswith("Turbine blade") for _, name, *_ in parts)


async def test_demo_data_is_loaded_into_an_empty_table_once(make_app: Callable[..., Litestar], admin) -> None:
    expected = {kind: len(rows) for kind, rows in seed.demo_catalogs().items()}
    for _start in range(2):
        async with AsyncTestClient(make_app(demo_data=True)) as client:
            overview = (await client.get("/api/v1/catalogs", headers=admin)).json()
            assert {c["kind"]: c["total"] for c in overview["items"]} == expected
    async with AsyncTestClient(make_app(demo_data=True)) as client:
        page = await client.get("/api/v1/catalogs/work-centers", params={"q": "WC-001"}, headers=admin)
        [wax] = page.json()["items"]
        assert (wax["item_name"], wax["item_name_es"], wax["item_name_zh"]) == ("Wax Pattern", "Modelo de cera", "蜡模")
