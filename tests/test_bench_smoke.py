"""`make bench-smoke`: the benchmark starts the real system on SQLite, loads records, runs every
scenario with wrk and writes its report, and no request of any scenario fails.

Needs wrk. Without it the test is skipped, saying so, unless DMT_TEST_REQUIRE_SERVERS=1 (CI,
whose script installs wrk): then the benchmark runs anyway and installs wrk itself or fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("list", "list_filtered", "read", "create", "update", "pareto", "login")


def test_smoke_run_has_every_scenario_without_errors(tmp_path: Path) -> None:
    if shutil.which("wrk") is None and os.environ.get("DMT_TEST_REQUIRE_SERVERS") != "1":
        pytest.skip("wrk is not installed (apt-get install wrk); the benchmark cannot run")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    finished = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--database", "sqlite", "--output", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = f"{finished.stdout}\n{finished.stderr[-6000:]}"
    assert finished.returncode == 0, output

    (report_file,) = tmp_path.glob("*-sqlite-200.json")
    assert report_file.with_suffix(".md").is_file()
    report = json.loads(report_file.read_text())
    assert report["records"] == 200
    for key in SCENARIOS:
        for via in ("gateway", "direct"):
            load = report["results"][key][via]
            assert load["requests"] > 0, f"{key} via {via} made no request\n{output}"
            assert load["errors"] == 0, f"{key} via {via}: {load}"
    export = report["export"]
    assert (export["rows"], export["errors"]) == (200, 0), export
    assert {t["target"] for t in report["targets"]} >= {"List p99 < 100 ms"}
