"""API keys: created and revoked from the CLI, stored hashed (SHA-256) in the data dir's SQLite file.

A key is shown once, at creation. Each carries what it may use (model patterns, endpoints) and its
rate limits; its collections are private to it (see `ApiKey.collection`).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from app.services.documents import RESERVED_PREFIXES
from core.digest import sha256_text
from core.errors import InputError, NotFoundError

__all__ = ["ApiKey", "KeyStore", "Access", "keys_required", "ENDPOINTS", "PREFIX"]

PREFIX = "hearth-"
ENDPOINTS = ("chat", "embeddings", "models", "documents")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL,
    models TEXT NOT NULL, endpoints TEXT NOT NULL, rpm INTEGER NOT NULL, tpm INTEGER NOT NULL,
    created REAL NOT NULL, revoked REAL
)"""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    hint: str  # the key's first characters, to recognise it in a list
    models: tuple[str, ...]  # fnmatch patterns: "hearth", "hearth-rag:*", "*"
    endpoints: tuple[str, ...]
    rpm: int  # requests per minute; 0 = unlimited
    tpm: int  # tokens per minute; 0 = unlimited
    created: float
    revoked: float | None = None

    def allows_model(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model, p) for p in self.models)

    def allows_endpoint(self, endpoint: str) -> bool:
        return "*" in self.endpoints or endpoint in self.endpoints

    def collection(self, name: str) -> str:
        """The Hearth collection behind this key's collection `name`: no other key can reach it."""
        return f"key-{self.id}-{name}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["models"], d["endpoints"] = list(self.models), list(self.endpoints)
        return d


class KeyStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def create(self, name: str, *, models: tuple[str, ...] = ("*",), endpoints: tuple[str, ...] = ENDPOINTS,
               rpm: int = 60, tpm: int = 20000) -> tuple[ApiKey, str]:
        """A new key and its secret (the only time the secret exists outside the caller's hands)."""
        name = (name or "").strip()
        if not name:
            raise InputError("a key needs a name, e.g. `hearth keys create team-wiki`.")
        bad = [e for e in endpoints if e not in ENDPOINTS and e != "*"]
        if bad:
            raise InputError(f"unknown endpoint(s) {', '.join(bad)}; choose from {', '.join(ENDPOINTS)} or '*'.")
        if rpm < 0 or tpm < 0:
            raise InputError("rate limits are 0 (unlimited) or more.")
        secret = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(secrets.token_hex(6), name, secret[:len(PREFIX) + 4], tuple(models), tuple(endpoints), rpm, tpm,
                     time.time())
        try:
            with self._lock, self._db:
                self._db.execute("INSERT INTO api_keys VALUES (?,?,?,?,?,?,?,?,?,NULL)",
                                 (key.id, key.name, sha256_text(secret), key.hint, json.dumps(key.models),
                                  json.dumps(key.endpoints), rpm, tpm, key.created))
        except sqlite3.IntegrityError:
            raise InputError(f"a key named {name!r} exists already; revoke it or choose another name.") from None
        return key, secret

    def list(self, *, include_revoked: bool = False) -> list[ApiKey]:
        sql = "SELECT * FROM api_keys" + ("" if include_revoked else " WHERE revoked IS NULL") + " ORDER BY created"
        with self._lock:
            return [self._key(row) for row in self._db.execute(sql)]

    def revoke(self, id_or_name: str) -> ApiKey:
        with self._lock, self._db:
            row = self._db.execute("SELECT * FROM api_keys WHERE (id=? OR name=?) AND revoked IS NULL",
                                   (id_or_name, id_or_name)).fetchone()
            if row is None:
                raise NotFoundError(f"no active key {id_or_name!r}; see `hearth keys list`.")
            self._db.execute("UPDATE api_keys SET revoked=? WHERE id=?", (time.time(), row[0]))
        return self._key(row)

    def verify(self, secret: str) -> ApiKey | None:
        """The active key with this secret, or None."""
        if not secret or not secret.startswith(PREFIX):
            return None
        with self._lock:
            row = self._db.execute("SELECT * FROM api_keys WHERE hash=? AND revoked IS NULL",
                                   (sha256_text(secret),)).fetchone()
        return self._key(row) if row else None

    def any_active(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM api_keys WHERE revoked IS NULL LIMIT 1").fetchone() is not None

    @staticmethod
    def _key(row) -> ApiKey:
        id_, name, _hash_, hint, models, endpoints, rpm, tpm, created, revoked = row
        return ApiKey(id_, name, hint, tuple(json.loads(models)), tuple(json.loads(endpoints)), rpm, tpm, created,
                      revoked)

    def close(self) -> None:
        self._db.close()


def keys_required(settings) -> bool:
    """auto: required unless the page binds to loopback (desktop use)."""
    if settings.api_keys != "auto":
        return settings.api_keys == "required"
    host = settings.host.strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


@dataclass(frozen=True)
class Access:
    """Who is calling: a key (its limits, its private collections) or the local desktop user."""

    key: ApiKey | None

    def collection(self, name: str) -> str:
        return self.key.collection(name) if self.key else name

    def own(self, internal: str) -> str | None:
        """The caller's name for an internal collection, or None if it is not the caller's."""
        if self.key is None:
            return None if internal.startswith(RESERVED_PREFIXES) else internal  # keys' and visitors' are private
        prefix = self.key.collection("")
        return internal[len(prefix):] if internal.startswith(prefix) else None
