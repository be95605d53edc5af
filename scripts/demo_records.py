"""Load demo DMT records through the public API, so a new installation has something to show.

Runs only when the records list is empty and not in production. It signs in as the demo users
and does what they would do: inspectors create records, operators and the engineer analyse and
decide some of them, the quality engineer closes a few. Records are spread over the demo
catalogs, in English, Spanish and Chinese.

    python scripts/demo_records.py [--gateway http://127.0.0.1:8000] [--count 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys

import httpx

DEFECTS = [
    ("en", "Porosity on the flange face, 2 mm cluster"),
    ("en", "Bore diameter 0.05 mm over the upper limit"),
    ("en", "Crack at the gate area after cut-off"),
    ("es", "Rebaba excesiva en el borde de ataque"),
    ("es", "Inclusión cerámica visible en la superficie"),
    ("es", "Rayón profundo después del granallado"),
    ("zh", "法兰面有气孔，约2毫米"),
    ("zh", "焊缝有咬边缺陷"),
    ("zh", "表面处理后颜色不均匀"),
]
ANALYSES = [
    ("Shell cracked during dewax", "Autoclave pressure ramp too fast"),
    ("Tool wear on the finishing insert", "Insert changed past its tool-life count"),
    ("Metal temperature low at pour", "Furnace thermocouple drifted 15 °C"),
]
OPERATIONS = ["OP-10 wax injection", "OP-20 shell dip", "OP-30 pour", "OP-40 cut-off", "OP-60 grind", "OP-80 machine"]


def login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    response.raise_for_status()
    body = response.json()
    return {"Authorization": f"Bearer {body['access_token']}"}


def entries(client: httpx.Client, headers: dict[str, str], kind: str) -> list[int]:
    response = client.get(f"/api/v1/catalogs/{kind}", params={"is_active": "true", "page_size": 200}, headers=headers)
    response.raise_for_status()
    return [item["id"] for item in response.json()["items"]]


def load(gateway: str, count: int, seed: int = 7) -> int:
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not a secret
    with httpx.Client(base_url=gateway, timeout=30) as client:
        admin = login(client, "ADM001", "admin123")
        existing = client.get("/api/v1/records", params={"page_size": 1}, headers=admin)
        existing.raise_for_status()
        if existing.json()["total"] > 0:
            return 0
        inspectors = [login(client, f"INS{n:03d}", "employee123") for n in range(1, 5)]
        operator = login(client, "OPR001", "employee123")
        engineer = login(client, "ENG001", "engineer123")
        quality = login(client, "QUA001", "quality123")
        kinds = ["part-numbers", "work-centers", "customers", "levels", "areas", "prepared-by",
                 "inspection-items", "process-codes", "dispositions", "failure-codes"]  # fmt: skip
        ids = {kind: entries(client, admin, kind) for kind in kinds}
        today = dt.date.today()
        created = 0
        for n in range(count):
            language, defect = rng.choice(DEFECTS)
            body = {
                "part_number_id": rng.choice(ids["part-numbers"]),
                "work_center_id": rng.choice(ids["work-centers"]),
                "customer_id": rng.choice(ids["customers"]),
                "level_id": rng.choice(ids["levels"]),
                "area_id": rng.choice(ids["areas"]),
                "prepared_by_id": rng.choice(ids["prepared-by"]),
                "operation": rng.choice(OPERATIONS),
                "quantity": rng.randint(1, 25),
                "serial_number": f"SN-{rng.randint(10000, 99999)}",
                "date": (today - dt.timedelta(days=rng.randint(0, 90))).isoformat(),
                "inspection_item_id": rng.choice(ids["inspection-items"]),
                "process_code_id": rng.choice(ids["process-codes"]),
                "defect_description": defect,
                "language": language,
            }
            inspector = inspectors[n % len(inspectors)]
            response = client.post("/api/v1/records", json=body, headers=inspector)
            response.raise_for_status()
            record_id = response.json()["id"]
            created += 1
            stage = n % 4  # a quarter each: open, in analysis, dispositioned, closed
            if stage >= 1:
                process, analysis = rng.choice(ANALYSES)
                texts = {"process_description": process, "analysis": analysis}
                client.patch(f"/api/v1/records/{record_id}", headers=operator, json=texts).raise_for_status()
            if stage >= 2:
                client.patch(f"/api/v1/records/{record_id}", headers=engineer, json={
                    "final_disposition_id": rng.choice(ids["dispositions"]),
                    "failure_code_id": rng.choice(ids["failure-codes"]),
                    "disposition_date": today.isoformat(),
                    "rework_hours": round(rng.uniform(0, 6), 1),
                    "material_scrap_cost": round(rng.uniform(0, 900), 2),
                    "other_cost": round(rng.uniform(0, 120), 2),
                    "responsible_department": rng.choice(["Casting", "Machining", "Finishing"]),
                }).raise_for_status()  # fmt: skip
            if stage == 3:
                client.post(f"/api/v1/records/{record_id}/close", headers=quality, json={
                    "disposition_approval_date": today.isoformat(),
                    "sdr_number": f"SDR-{rng.randint(1000, 9999)}",
                }).raise_for_status()  # fmt: skip
        return created


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    if os.environ.get("DMT_ENV", "development").lower() == "production":
        print("demo records are never loaded in production", file=sys.stderr)
        return 1
    created = load(args.gateway, args.count)
    print(f"demo records: {created} created" if created else "demo records: records exist already, none added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
