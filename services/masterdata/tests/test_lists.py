"""Catalog lists: every entry reachable by paging, a true total, search, filters, order; the overview."""

from litestar.testing import AsyncTestClient

from dmt_shared.contracts import CATALOG_KINDS


async def _all_pages(client: AsyncTestClient, headers, kind: str, **params) -> tuple[list[dict], list[int]]:
    items: list[dict] = []
    totals: list[int] = []
    page = 1
    while True:
        response = await client.get(f"/api/v1/catalogs/{kind}", params={**params, "page": page}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["page"] == page
        totals.append(body["total"])
        if not body["items"]:
            return items, totals
        items.extend(body["items"])
        page += 1


async def test_paging_reaches_every_one_of_250_entries_with_a_true_total(
    client: AsyncTestClient, api, inspector
) -> None:
    await api.add("part-numbers", [{"item_number": f"P-{i:04d}", "item_name": f"Part {i}"} for i in range(250)])
    await api.add("customers", [{"item_number": "A108", "item_name": "Customer A108"}])

    first = (await client.get("/api/v1/catalogs/part-numbers", headers=inspector)).json()
    assert (first["total"], first["page"], first["page_size"], len(first["items"])) == (250, 1, 50, 50)

    items, totals = await _all_pages(client, inspector, "part-numbers", page_size=200)
    assert [len(items), *totals] == [250, 250, 250, 250]
    assert [e["item_number"] for e in items] == [f"P-{i:04d}" for i in range(250)]

    items, _ = await _all_pages(client, inspector, "part-numbers", page_size=7, sort="item_name", order="desc")
    assert len(items) == 250
    assert len({e["id"] for e in items}) == 250

    beyond = (await client.get("/api/v1/catalogs/part-numbers", params={"page": 99}, headers=inspector)).json()
    assert (beyond["items"], beyond["total"]) == ([], 250)


async def test_search_covers_code_and_every_name_ignoring_case(client: AsyncTestClient, api, inspector) -> None:
    await api.create("work-centers", "WC-001", "Wax Pattern", item_name_es="Modelo de cera", item_name_zh="蜡模")
    await api.create("work-centers", "WC-003", "Cast", item_name_es="Vaciado", item_name_zh="浇注")
    await api.create("work-centers", "WC-008", "Welding", item_name_es="Soldadura", item_name_zh="焊接")
    await api.create("work-centers", "WC-100", "Rework 100% sampled", item_name_es="Muestreo_total")
    await api.create("areas", "AR-01", "Wax room")

    async def found(**params) -> tuple[int, list[str]]:
        response = await client.get("/api/v1/catalogs/work-centers", params=params, headers=inspector)
        assert response.status_code == 200, response.text
        return response.json()["total"], [e["item_number"] for e in response.json()["items"]]

    assert await found(q="wax") == (1, ["WC-001"])
    assert await found(q="wc-00") == (3, ["WC-001", "WC-003", "WC-008"])
    assert await found(q="VACIADO") == (1, ["WC-003"])
    assert await found(q="焊") == (1, ["WC-008"])
    assert await found(q="  cast ") == (1, ["WC-003"])
    assert await found(q="100%") == (1, ["WC-100"])
    assert await found(q="o_t") == (1, ["WC-100"])  # "_" is a character, not a wildcard
    assert await found(q="%") == (1, ["WC-100"])
    assert await found(q="nothing like it") == (0, [])
    assert await found(q="") == (4, ["WC-001", "WC-003", "WC-008", "WC-100"])


async def test_active_and_id_filters_combine_with_search(client: AsyncTestClient, api, admin, inspector) -> None:
    a = await api.create("dispositions", "UAI", "Use As Is")
    b = await api.create("dispositions", "RWK", "Rework")
    c = await api.create("dispositions", "SCR", "Scrap")
    other = await api.create("levels", "L1", "Critical")
    await client.patch(f"/api/v1/catalogs/dispositions/{b['id']}", json={"is_active": False}, headers=admin)

    async def numbers(**params) -> tuple[int, list[str]]:
        body = (await client.get("/api/v1/catalogs/dispositions", params=params, headers=inspector)).json()
        return body["total"], [e["item_number"] for e in body["items"]]

    assert await numbers() == (3, ["RWK", "SCR", "UAI"])
    assert await numbers(is_active="true") == (2, ["SCR", "UAI"])
    assert await numbers(is_active="false") == (1, ["RWK"])
    assert await numbers(ids=f"{a['id']},{c['id']}") == (2, ["SCR", "UAI"])
    assert await numbers(ids=f"{a['id']}, {b['id']}", is_active="true") == (1, ["UAI"])
    assert await numbers(ids=str(other["id"])) == (0, [])
    assert await numbers(ids=f"{b['id']}", q="scrap") == (0, [])


async def test_every_sort_column_both_ways(client: AsyncTestClient, api, inspector) -> None:
    for number, name in (("B-200", "anchor"), ("a-100", "Collar"), ("C-300", "Bushing"), ("d-400", "bushing")):
        await api.create("inspection-items", number, name)

    async def order(sort: str, direction: str) -> list[str]:
        params = {"sort": sort, "order": direction}
        response = await client.get("/api/v1/catalogs/inspection-items", params=params, headers=inspector)
        assert response.status_code == 200, response.text
        return [e["item_number"] for e in response.json()["items"]]

    by_number = ["a-100", "B-200", "C-300", "d-400"]
    assert await order("item_number", "asc") == by_number
    assert await order("item_number", "desc") == by_number[::-1]
    # Names equal but for case keep the creation order (ties go by id).
    assert await order("item_name", "asc") == ["B-200", "C-300", "d-400", "a-100"]
    assert await order("item_name", "desc") == ["a-100", "d-400", "C-300", "B-200"]
    created = ["B-200", "a-100", "C-300", "d-400"]
    for column in ("id", "created_at", "updated_at"):
        assert await order(column, "asc") == created, column
        assert await order(column, "desc") == created[::-1], column
    default = (await client.get("/api/v1/catalogs/inspection-items", headers=inspector)).json()["items"]
    assert [e["item_number"] for e in default] == by_number


async def test_the_overview_counts_every_catalog_in_order(client: AsyncTestClient, api, admin, inspector) -> None:
    empty = (await client.get("/api/v1/catalogs", headers=inspector)).json()["items"]
    assert [(c["kind"], c["title"], c["total"], c["active"]) for c in empty] == [
        (kind, title, 0, 0) for kind, title in CATALOG_KINDS.items()
    ]
    await api.add("part-numbers", [{"item_number": f"P{i}", "item_name": "Impeller"} for i in range(12)])
    level = await api.create("levels", "L1", "Critical")
    await api.create("levels", "L2", "Major")
    await client.patch(f"/api/v1/catalogs/levels/{level['id']}", json={"is_active": False}, headers=admin)
    counts = {
        c["kind"]: (c["total"], c["active"])
        for c in (await client.get("/api/v1/catalogs", headers=inspector)).json()["items"]
    }
    assert counts["part-numbers"] == (12, 12)
    assert counts["levels"] == (2, 1)
    assert counts["areas"] == (0, 0)
    assert list(counts) == list(CATALOG_KINDS)
