"""Settings read from the environment (and a `.env` file), one typed object per component.

Each component declares a frozen dataclass and builds it with :func:`from_env`. Variables
are named ``<PREFIX>_<FIELD>`` in upper case (``RECORDS_DATABASE_URL``); a few settings are
common to every component and carry the ``DMT_`` prefix (``DMT_ENV``, ``DMT_DATA_DIR``).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from dotenv import load_dotenv

T = TypeVar("T")

_dotenv_loaded = False


class SettingsError(RuntimeError):
    """A setting is missing, malformed or unsafe for the environment."""


def load_env_file() -> None:
    """Load `.env` from the working directory once; real environment variables win."""
    global _dotenv_loaded
    if not _dotenv_loaded:
        load_dotenv(os.environ.get("DMT_ENV_FILE", ".env"), override=False)
        _dotenv_loaded = True


def environment() -> str:
    load_env_file()
    return os.environ.get("DMT_ENV", "development").strip().lower()


def is_production() -> bool:
    return environment() == "production"


def data_dir() -> Path:
    """Folder for the embedded databases and generated development keys."""
    load_env_file()
    return Path(os.environ.get("DMT_DATA_DIR", "data")).resolve()


def default_sqlite_url(name: str) -> str:
    """The zero-configuration database of one component: a SQLite file in the data folder."""
    return f"sqlite+aiosqlite:///{data_dir() / f'{name}.db'}"


#: Where each component is found when ``DMT_<NAME>_URL`` does not say (what ``make run`` uses).
DEFAULT_SERVICE_URLS: dict[str, str] = {
    "auth": "http://127.0.0.1:8001",
    "masterdata": "http://127.0.0.1:8002",
    "records": "http://127.0.0.1:8003",
}


def service_urls_variable(name: str) -> str:
    """The variable that names the addresses of ``name``: ``DMT_<NAME>_URLS`` when set, else
    ``DMT_<NAME>_URL`` (for messages that tell an operator what to fix)."""
    load_env_file()
    plural = f"DMT_{name.upper()}_URLS"
    return plural if os.environ.get(plural) is not None else f"DMT_{name.upper()}_URL"


def service_urls(name: str) -> tuple[str, ...]:
    """The base URLs of another component, common to every component: ``DMT_AUTH_URL``,
    ``DMT_MASTERDATA_URL`` or ``DMT_RECORDS_URL``, each a comma-separated list when the component
    runs as several replicas (``DMT_<NAME>_URLS`` is read as well and wins when set).
    """
    variable = service_urls_variable(name)
    raw = os.environ.get(variable)
    if raw is None:
        return (DEFAULT_SERVICE_URLS[name],)
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not urls:
        raise SettingsError(f"{variable} names no address; give one base URL or a comma-separated list")
    return urls


def service_url(name: str) -> str:
    """The first base URL of another component (see :func:`service_urls`)."""
    return service_urls(name)[0]


def _parse(raw: str, annotation: Any, name: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if raw == "" and len(non_none) != len(args):
            return None
        return _parse(raw, non_none[0], name)
    if annotation is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")
    if annotation is int:
        try:
            return int(raw)
        except ValueError as exc:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from exc
    if annotation is float:
        try:
            return float(raw)
        except ValueError as exc:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from exc
    if origin in (tuple, list):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def from_env(cls: type[T], prefix: str, **overrides: Any) -> T:
    """Build the dataclass ``cls`` from ``<PREFIX>_<FIELD>`` variables; ``overrides`` win."""
    load_env_file()
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in overrides:
            values[field.name] = overrides[field.name]
            continue
        var = f"{prefix}_{field.name}".upper()
        raw = os.environ.get(var)
        if raw is not None:
            values[field.name] = _parse(raw, hints[field.name], var)
    return cls(**values)
