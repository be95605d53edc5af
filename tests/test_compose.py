"""compose.yaml runs the same four components as `make run`, one image build each."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = {
    "auth": ("services/auth", "dmt_auth", "8001"),
    "masterdata": ("services/masterdata", "dmt_masterdata", "8002"),
    "records": ("services/records", "dmt_records", "8003"),
    "gateway": ("gateway", "dmt_gateway", "8000"),
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_each_component_is_built_from_its_own_folder(compose: dict) -> None:
    assert set(compose["services"]) == set(COMPONENTS)
    for name, (folder, module, port) in COMPONENTS.items():
        build = compose["services"][name]["build"]
        dockerfile = ROOT / build["context"] / build["dockerfile"]
        assert dockerfile.is_file()
        assert build["args"] == {"COMPONENT": folder, "MODULE": module, "PORT": port}
        assert (ROOT / folder / "pyproject.toml").is_file()
        assert (ROOT / folder / "src" / module / "asgi.py").is_file()


def test_each_service_keeps_its_own_sqlite_database_in_a_named_volume(compose: dict) -> None:
    for name in ("auth", "masterdata", "records"):
        service = compose["services"][name]
        url = service["environment"][f"{name.upper()}_DATABASE_URL"]
        assert f"/data/{name}.db" in url
        volume = service["volumes"][0].split(":")[0]
        assert volume in compose["volumes"]
    volumes = [compose["services"][n]["volumes"][0] for n in ("auth", "masterdata", "records")]
    assert len(set(volumes)) == 3


def test_only_the_gateway_is_published_and_it_knows_every_service(compose: dict) -> None:
    published = [n for n, s in compose["services"].items() if s.get("ports")]
    assert published == ["gateway"]
    env = compose["services"]["gateway"]["environment"]
    assert env["DMT_RECORDS_URL"] == "http://records:8003"
    assert env["DMT_MASTERDATA_URL"] == "http://masterdata:8002"
    assert env["DMT_AUTH_URL"] == "http://auth:8001"


def test_the_image_copies_only_what_the_component_needs() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "COPY shared /app/shared" in dockerfile
    assert "COPY ${COMPONENT} /app/component" in dockerfile
    assert "USER dmt" in dockerfile


def _compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_accepts_the_file() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed here")
    result = subprocess.run([*command, "config", "--quiet"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_a_stopping_container_gets_time_to_drain_and_finish_its_requests(compose: dict) -> None:
    """SIGTERM first turns readiness false for the drain time, then uvicorn waits for requests in
    flight; a container killed before that would cut them off."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    graceful = int(dockerfile.split("--timeout-graceful-shutdown", 1)[1].split()[0].strip('"]'))
    drain = 2  # DMT_SHUTDOWN_DRAIN_SECONDS' default
    for name, service in compose["services"].items():
        grace = service.get("stop_grace_period", "10s")
        assert grace.endswith("s"), (name, grace)
        assert int(grace[:-1]) > drain + graceful, (name, grace)
