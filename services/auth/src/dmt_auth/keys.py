"""The Ed25519 key that signs access tokens.

Given explicitly (``AUTH_SIGNING_KEY`` with the PEM text, or ``AUTH_SIGNING_KEY_FILE``), or, in
development only, generated once into ``<data dir>/auth_signing_key.pem`` (mode 600) and reused
on every later start, so tokens survive a restart. Production refuses to start without one, and
with that generated development key (given by its file or copied into ``AUTH_SIGNING_KEY``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from dmt_auth.config import Settings
from dmt_shared.production import refuse
from dmt_shared.settings import SettingsError, data_dir, is_production
from dmt_shared.tokens import generate_private_key_pem, load_private_key

log = logging.getLogger("dmt.auth.keys")

GENERATED_KEY_NAME = "auth_signing_key.pem"


def _parse(pem: bytes, source: str) -> Ed25519PrivateKey:
    try:
        return load_private_key(pem)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{source} is not an Ed25519 private key in PEM (PKCS#8) form: {exc}") from exc


def _write_new_key(path: Path) -> None:
    """Write a fresh key to ``path`` unless another process got there first (never overwrites)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(generate_private_key_pem())
        os.chmod(temp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _refuse_development_key(key: Ed25519PrivateKey, variable: str) -> None:
    """In production, refuse the key that development generated into the data folder: it was
    made unattended, may sit in backups and copies of that folder, and is not the operator's."""
    generated = data_dir() / GENERATED_KEY_NAME
    try:
        development = load_private_key(generated.read_bytes())
    except (OSError, ValueError, TypeError):
        return
    refuse(
        _public_bytes(key) == _public_bytes(development),
        f"{variable} holds the development key generated into {generated}; make a key for production "
        "(`openssl genpkey -algorithm ed25519 -out auth_signing_key.pem`), keep it outside the data folder, "
        "set AUTH_SIGNING_KEY_FILE to its path (or AUTH_SIGNING_KEY to its text) and delete the generated one",
    )


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    key = _given_key(settings)
    if key is not None:
        if is_production():
            _refuse_development_key(key, "AUTH_SIGNING_KEY" if settings.signing_key else "AUTH_SIGNING_KEY_FILE")
        return key
    if is_production():
        raise SettingsError(
            "DMT_ENV=production: the auth service needs its signing key; set AUTH_SIGNING_KEY "
            "(an Ed25519 private key, PEM PKCS#8) or AUTH_SIGNING_KEY_FILE (a file holding it)"
        )
    path = data_dir() / GENERATED_KEY_NAME
    if not path.exists():
        _write_new_key(path)
        log.warning("generated a development signing key in %s (set AUTH_SIGNING_KEY in production)", path)
    return _parse(path.read_bytes(), str(path))


def _given_key(settings: Settings) -> Ed25519PrivateKey | None:
    """The key named by ``AUTH_SIGNING_KEY`` or ``AUTH_SIGNING_KEY_FILE``, or None if neither is set."""
    if settings.signing_key:
        # A PEM passed through an environment variable sometimes arrives with literal "\n".
        text = settings.signing_key.strip().replace("\\n", "\n")
        return _parse(text.encode(), "AUTH_SIGNING_KEY")
    if settings.signing_key_file:
        path = Path(settings.signing_key_file).expanduser()
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise SettingsError(f"AUTH_SIGNING_KEY_FILE {path} cannot be read: {exc}") from exc
        return _parse(pem, f"AUTH_SIGNING_KEY_FILE {path}")
    return None
