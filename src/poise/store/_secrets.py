"""Secrets at rest (broker keys): encrypted with a MultiFernet key ring.

The ring comes from ``POISE_SECRET_KEY`` (comma-separated Fernet keys, newest first), else from
``$POISE_HOME/secret.key`` (one key a line, newest first), which is created with mode 0600 on
first use. New secrets are encrypted with the newest key; every key in the ring decrypts.
:func:`rotate_secrets` re-encrypts every stored secret under the newest key.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from poise._errors import PoiseError
from poise.store._models import BrokerConnection
from poise.store._url import poise_home

__all__ = [
    "SECRET_KEY_FILE",
    "SecretKeyError",
    "decrypt_secret",
    "encrypt_secret",
    "key_file",
    "load_keys",
    "make_ring",
    "rotate_secrets",
    "write_key_file",
]

SECRET_KEY_FILE = "secret.key"


class SecretKeyError(PoiseError):
    """No usable key ring: secrets can be neither stored nor read."""


def key_file(home: Path | None = None) -> Path:
    return (home or poise_home()) / SECRET_KEY_FILE


def _parse_keys(text: str, where: str) -> list[bytes]:
    keys = [k.strip().encode("ascii") for k in text.replace("\n", ",").split(",") if k.strip()]
    if not keys:
        raise SecretKeyError(f"{where} holds no key")
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"{where} holds a value that is not a Fernet key (32 url-safe base64 bytes)"
            ) from None
    return keys


def write_key_file(path: Path, keys: Sequence[bytes]) -> None:
    """Write the ring (newest first) to ``path`` with mode 0600, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("\n".join(k.decode("ascii") for k in keys) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_keys(home: Path | None = None, *, create: bool = True) -> tuple[list[bytes], str]:
    """The key ring, newest first, and where it came from (``POISE_SECRET_KEY`` or the file).

    Raises
    ------
    SecretKeyError
        The variable or file holds no valid key, the file is readable by others, or it is
        missing and cannot be created (``create`` false, or the folder is not writable).
    """
    env = os.environ.get("POISE_SECRET_KEY")
    if env:
        return _parse_keys(env, "POISE_SECRET_KEY"), "POISE_SECRET_KEY"
    path = key_file(home)
    if not path.exists():
        if not create:
            raise SecretKeyError(f"no secret key: set POISE_SECRET_KEY or create {path}")
        try:
            write_key_file(path, [Fernet.generate_key()])
        except OSError as exc:
            raise SecretKeyError(
                f"cannot create the secret key file {path} ({exc.strerror}); "
                "set POISE_SECRET_KEY instead"
            ) from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretKeyError(f"{path} is readable by others (mode {mode:o}); run chmod 600 on it")
    return _parse_keys(path.read_text(encoding="ascii"), str(path)), str(path)


def make_ring(keys: Sequence[bytes]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def encrypt_secret(ring: MultiFernet, values: Mapping[str, str]) -> bytes:
    """Encrypt ``values`` (e.g. ``{"api_key": ..., "api_secret": ...}``) with the newest key."""
    return ring.encrypt(json.dumps(dict(values), sort_keys=True).encode("utf-8"))


def decrypt_secret(ring: MultiFernet, token: bytes) -> dict[str, str]:
    """Decrypt a token made by :func:`encrypt_secret` with any key of the ring.

    Raises
    ------
    SecretKeyError
        No key of the ring opens it (the key it was made with is gone).
    """
    try:
        data = json.loads(ring.decrypt(token).decode("utf-8"))
    except InvalidToken:
        raise SecretKeyError(
            "a stored secret cannot be decrypted with the current key ring"
        ) from None
    return {str(k): str(v) for k, v in data.items()}


def rotate_secrets(session: Session, ring: MultiFernet) -> int:
    """Re-encrypt every broker connection's secret under the ring's newest key; returns how
    many. Run it in the same transaction that records the rotation."""
    count = 0
    for conn in session.scalars(
        select(BrokerConnection).where(BrokerConnection.secret.is_not(None))
    ):
        assert conn.secret is not None
        try:
            conn.secret = ring.rotate(conn.secret)
        except InvalidToken:
            raise SecretKeyError(
                f"the secret of broker connection {conn.id} cannot be decrypted with the "
                "current key ring; restore the key it was made with"
            ) from None
        count += 1
    return count
