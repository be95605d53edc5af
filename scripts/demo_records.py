"""Load demo DMT records through the public API, so a new installation has something to show.

Runs only when the records list is empty and not in production. It signs in as the demo users
and does what they would do: inspectors create records, operators and the engineer analyse and
decide some of them, the quality engineer signs a few closed (re-entering the password, as a
signature needs), reopens some of those with a reason, and the Admin deletes one with a reason.
Every write sends the version it read, as a real client must. Records are spread over the demo
catalogs and written in English, Spanish and Chinese, so the demo shows every status, every
language and a history with signatures.

    python scripts/demo_records.py [--gateway http://127.0.0.1:8000] [--count 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
from dataclasses import dataclass
from typing import Any

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
#: (language, process description, analysis)
ANALYSES = [
    ("en", "Shell cracked during dewax", "Autoclave pressure ramp too fast"),
    ("en", "Tool wear on the finishing insert", "Insert changed past its tool-life count"),
    ("es", "Temperatura del metal baja al vaciar", "El termopar del horno se desvió 15 °C"),
    ("es", "Cascarón agrietado en el descerado", "Rampa de presión del autoclave demasiado rápida"),
    ("zh", "浇注时金属温度偏低", "炉内热电偶漂移了15 °C"),
    ("zh", "精加工刀片磨损", "刀片超过寿命仍在使用"),
]
#: (language, engineering remarks, repair process)
DECISIONS = [
    ("en", "Rework by blending, re-inspect with FPI", "Blend to 0.5 mm, FPI, dimensional check"),
    ("es", "Retrabajo por esmerilado y reinspección", "Esmerilar 0.5 mm, líquidos penetrantes"),
    ("zh", "打磨返工后重新检验", "打磨0.5毫米后做渗透检测"),
]
REOPEN_REASONS = [
    "Customer returned two pieces with the same defect; the disposition is reviewed",
    "La auditoría encontró un número de SDR equivocado",
    "复检发现尺寸仍超差，需要重新评审",
]
OPERATIONS = ["OP-10 wax injection", "OP-20 shell dip", "OP-30 pour", "OP-40 cut-off", "OP-60 grind", "OP-80 machine"]
CATALOG_KINDS = ["part-numbers", "work-centers", "customers", "levels", "areas", "prepared-by",
                 "inspection-items", "process-codes", "dispositions", "failure-codes"]  # fmt: skip


class DemoError(RuntimeError):
    """A call of the demo was refused; the message says which and why (the problem's detail)."""


@dataclass(frozen=True)
class User:
    username: str
    password: str
    headers: dict[str, str]


def call(client: httpx.Client, user: User, method: str, path: str, **kwargs: Any) -> Any:
    """``method path`` as ``user``; the answer's JSON (None when empty), or DemoError naming the refusal."""
    response = client.request(method, path, headers=user.headers, **kwargs)
    if response.is_error:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise DemoError(f"{method} {path} as {user.username}: {response.status_code} {detail}")
    return response.json() if response.content else None


def login(client: httpx.Client, username: str, password: str) -> User:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    response.raise_for_status()
    return User(username, password, {"Authorization": f"Bearer {response.json()['access_token']}"})


def entries(client: httpx.Client, user: User, kind: str) -> list[int]:
    page = call(client, user, "GET", f"/api/v1/catalogs/{kind}", params={"is_active": "true", "page_size": 200})
    return [item["id"] for item in page["items"]]


class Demo:
    """The demo users at work on one gateway; each write sends the version it last read."""

    def __init__(self, client: httpx.Client, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.admin = login(client, "ADM001", "admin123")
        self.inspectors = [login(client, f"INS{n:03d}", "employee123") for n in range(1, 5)]
        self.operator = login(client, "OPR001", "employee123")
        self.engineer = login(client, "ENG001", "engineer123")
        self.quality = login(client, "QUA001", "quality123")
        self.ids = {kind: entries(client, self.admin, kind) for kind in CATALOG_KINDS}
        self.today = dt.date.today()

    def pick(self, kind: str) -> int:
        return self.rng.choice(self.ids[kind])

    def create(self, n: int) -> dict[str, Any]:
        language, defect = self.rng.choice(DEFECTS)
        body = {
            "part_number_id": self.pick("part-numbers"),
            "work_center_id": self.pick("work-centers"),
            "customer_id": self.pick("customers"),
            "level_id": self.pick("levels"),
            "area_id": self.pick("areas"),
            "prepared_by_id": self.pick("prepared-by"),
            "operation": self.rng.choice(OPERATIONS),
            "quantity": self.rng.randint(1, 25),
            "serial_number": f"SN-{self.rng.randint(10000, 99999)}",
            "date": (self.today - dt.timedelta(days=self.rng.randint(0, 90))).isoformat(),
            "inspection_item_id": self.pick("inspection-items"),
            "process_code_id": self.pick("process-codes"),
            "defect_description": defect,
            "language": language,
        }
        inspector = self.inspectors[n % len(self.inspectors)]
        return call(self.client, inspector, "POST", "/api/v1/records", json=body)

    def edit(self, user: User, record: dict[str, Any], **changes: Any) -> dict[str, Any]:
        body = {**changes, "version": record["version"]}
        return call(self.client, user, "PATCH", f"/api/v1/records/{record['id']}", json=body)

    def analyse(self, record: dict[str, Any]) -> dict[str, Any]:
        language, process, analysis = self.rng.choice(ANALYSES)
        return self.edit(self.operator, record, process_description=process, analysis=analysis, language=language)

    def decide(self, record: dict[str, Any]) -> dict[str, Any]:
        language, remarks, repair = self.rng.choice(DECISIONS)
        return self.edit(
            self.engineer,
            record,
            final_disposition_id=self.pick("dispositions"),
            failure_code_id=self.pick("failure-codes"),
            disposition_date=self.today.isoformat(),
            rework_hours=round(self.rng.uniform(0, 6), 1),
            material_scrap_cost=round(self.rng.uniform(0, 900), 2),
            other_cost=round(self.rng.uniform(0, 120), 2),
            responsible_department=self.rng.choice(["Casting", "Machining", "Finishing"]),
            engineering_remarks=remarks,
            repair_process=repair,
            language=language,
        )

    def close(self, record: dict[str, Any]) -> dict[str, Any]:
        body = {
            "password": self.quality.password,  # the signature: the signer's password again
            "disposition_approval_date": self.today.isoformat(),
            "sdr_number": f"SDR-{self.rng.randint(1000, 9999)}",
            "version": record["version"],
        }
        return call(self.client, self.quality, "POST", f"/api/v1/records/{record['id']}/close", json=body)

    def reopen(self, record: dict[str, Any], reason: str) -> dict[str, Any]:
        body = {"password": self.quality.password, "reason": reason, "version": record["version"]}
        return call(self.client, self.quality, "POST", f"/api/v1/records/{record['id']}/reopen", json=body)

    def delete(self, record: dict[str, Any], reason: str) -> None:
        body = {"reason": reason, "version": record["version"]}
        call(self.client, self.admin, "DELETE", f"/api/v1/records/{record['id']}", json=body)


def load(gateway: str, count: int, seed: int = 7) -> int:
    """Create ``count`` records unless there are records already; return how many were created.

    With the default 40: 9 open (a 10th deleted), 10 in analysis, 10 dispositioned, 8 closed, 2 reopened.
    """
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not a secret
    with httpx.Client(base_url=gateway, timeout=30) as client:
        admin = login(client, "ADM001", "admin123")
        if call(client, admin, "GET", "/api/v1/records", params={"page_size": 1})["total"] > 0:
            return 0
        demo = Demo(client, rng)
        by_stage: dict[int, list[dict[str, Any]]] = {0: [], 1: [], 2: [], 3: []}
        for n in range(count):
            record = demo.create(n)
            stage = n % 4  # a quarter each: open, in analysis, dispositioned, closed
            if stage >= 1:
                record = demo.analyse(record)
            if stage >= 2:
                record = demo.decide(record)
            if stage == 3:
                record = demo.close(record)
            by_stage[stage].append(record)

        closed = by_stage[3]
        # Two closed records are reopened and stay so; a third goes round again: reopened,
        # decided anew by the engineer, signed closed again (its history has three signatures).
        for i, record in enumerate(closed[:3]):
            reopened = demo.reopen(record, REOPEN_REASONS[i])
            if i == 2:
                demo.close(demo.decide(reopened))
        # One open record was entered by mistake: the Admin deletes it, saying why.
        if by_stage[0]:
            demo.delete(by_stage[0][-1], "Entered twice by mistake; the same tag is recorded in the first one")
        return count


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
