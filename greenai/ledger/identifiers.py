"""Hashing of host and user names with a key that belongs to the ledger."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenai.ledger.ledger import Ledger

HASH_KEY = "hash_key"
HASH_HEX_CHARS = 16


def hash_identifier(ledger: Ledger, value: str) -> str:
    """A stable pseudonym of ``value`` within one ledger.

    HMAC-SHA256 with a random key kept in the ledger (``ledger_meta`` key
    ``hash_key``, created on first use), so the same name hashes alike across runs of
    one ledger but cannot be matched across ledgers or guessed from a list of names
    without the key.

    Args:
        ledger: The ledger that holds the key.
        value: A host name, user name, ...

    Returns:
        The first 16 hex digits of the HMAC.
    """
    return pseudonym(ledger_hash_key(ledger), value)


def ledger_hash_key(ledger: Ledger) -> str:
    """The ledger's hashing key (created on first use)."""
    return ledger.set_meta_default(HASH_KEY, secrets.token_hex(32))


def pseudonym(key: str, value: str) -> str:
    """``value`` hashed with ``key`` as :func:`hash_identifier` does."""
    digest = hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:HASH_HEX_CHARS]
