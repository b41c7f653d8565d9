"""Secrets at rest: the installation key that seals what must not sit in the database in clear.

Channel settings hold SMTP passwords, SMS gateway keys and webhook signing secrets; a copied
database file or a backup must not hand them over. They are stored sealed with the
installation's key (Fernet: AES-128-CBC with an HMAC-SHA256, from `cryptography`), which lives
outside the database: `TRELLIS_SECRET_KEY`, or else `secret.key` in the data folder, created on
first use readable by its owner only. Every process of an installation must see the same key
(several machines on one PostgreSQL: set `TRELLIS_SECRET_KEY` on each).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from trellis.platform.files import write_private

SEALED = "sealed:v1:"  # marks a sealed value; anything else was written before sealing existed
KEY_FILE = "secret.key"


class SecretsError(Exception):
    """The key is missing, malformed or not the one the value was sealed with."""


class SecretBox:
    """Seals and opens text with the installation key."""

    def __init__(self, key: str):
        try:
            self._fernet = Fernet(key.encode("ascii"))
            self._key = key.encode("ascii")
        except (ValueError, binascii.Error, UnicodeEncodeError):
            raise SecretsError("TRELLIS_SECRET_KEY: expected 32 bytes in URL-safe base64 (44 characters); "
                               "make one with `python -c \"from cryptography.fernet import Fernet; "
                               "print(Fernet.generate_key().decode())\"`") from None

    @classmethod
    def for_installation(cls, data_dir: Path, key: str | None) -> SecretBox:
        """The box of the given key, else of the key file in `data_dir` (made on first use)."""
        if key:
            return cls(key)
        path = data_dir / KEY_FILE
        if not path.exists():
            write_private(path, Fernet.generate_key().decode("ascii") + "\n")
        return cls(path.read_text("ascii").strip())

    def derive(self, purpose: str) -> bytes:
        """A key for one purpose (signing session cookies, say), derived from the installation
        key with HMAC-SHA256: the key itself never leaves this box, and purposes do not share keys."""
        return hmac.new(self._key, b"trellis-derive:" + purpose.encode("utf-8"), hashlib.sha256).digest()

    def seal(self, text: str) -> str:
        return SEALED + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The text of a sealed value; a value stored before sealing existed is returned as it is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(SEALED):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretsError("a sealed value does not open with this installation's key: the key changed "
                               "(TRELLIS_SECRET_KEY or secret.key in the data folder); restore the old key") from None


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED)


