"""The encrypted identity store: name, phone, address and medical record number.

Values are serialised to JSON and encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under
`settings.PII_KEY`. The database only ever holds ciphertext; a lost key means lost identities,
never leaked ones.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

IDENTITY_FIELDS = ("name", "phone", "address", "mrn")


@dataclass(frozen=True)
class PersonalData:
    name: str = ""
    phone: str = ""
    address: str = ""
    mrn: str = ""

    @classmethod
    def from_mapping(cls, data) -> PersonalData:
        return cls(**{k: str(data.get(k, "") or "").strip() for k in IDENTITY_FIELDS})


class PIIKeyError(RuntimeError):
    """The stored identity cannot be decrypted with the configured key."""


def _fernet() -> Fernet:
    return Fernet(
        settings.PII_KEY.encode() if isinstance(settings.PII_KEY, str) else settings.PII_KEY
    )


def encrypt(data: PersonalData) -> bytes:
    return _fernet().encrypt(json.dumps(asdict(data), sort_keys=True).encode())


def decrypt(token: bytes) -> PersonalData:
    try:
        raw = _fernet().decrypt(bytes(token))
    except InvalidToken as exc:
        raise PIIKeyError(
            "identity cannot be decrypted: TRIALDESK_PII_KEY is not the key it was written with"
        ) from exc
    return PersonalData.from_mapping(json.loads(raw))


def read_identity(participant) -> PersonalData:
    from trialdesk.participants.models import Identity

    row = Identity.objects.filter(participant=participant).first()
    return decrypt(row.ciphertext) if row else PersonalData()


def encrypt_text(text: str) -> bytes:
    """A free text encrypted under the same key as identities (the portal's private notes)."""
    return _fernet().encrypt(text.encode())


def decrypt_text(token: bytes) -> str:
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except InvalidToken as exc:
        raise PIIKeyError(
            "text cannot be decrypted: TRIALDESK_PII_KEY is not the key it was written with"
        ) from exc
