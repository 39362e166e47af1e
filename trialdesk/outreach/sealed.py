"""Identifying data of the public at rest: JSON sealed with Fernet under ``settings.PII_KEY``
(the key and scheme of ``participants.pii``), and keyed hashes for lookups."""

from __future__ import annotations

import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from trialdesk.participants.pii import PIIKeyError


def _fernet() -> Fernet:
    key = settings.PII_KEY
    return Fernet(key.encode() if isinstance(key, str) else key)


def seal(data: dict[str, str]) -> bytes:
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode())


def unseal(token: bytes) -> dict[str, str]:
    try:
        return json.loads(_fernet().decrypt(bytes(token)))
    except InvalidToken as exc:
        raise PIIKeyError(
            "contact data cannot be decrypted: TRIALDESK_PII_KEY is not the key it was written with"
        ) from exc


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under a key derived from the deployment's secret and
    ``purpose``: equal inputs match, and without the secret the hash reveals nothing."""
    key = hashlib.sha256(f"trialdesk.outreach:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()
