"""Subscriber tokens: random, shown once, stored only as a hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 24
"""192 bits of randomness: far beyond guessing, and short enough for a URL."""

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """SHA-256 of the token. A high-entropy token needs no slow hash: nobody can guess one."""
    return hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()


def plausible(token: str) -> bool:
    """Whether a path segment could be a token at all (anything else is a 404 at once)."""
    return _TOKEN.match(token) is not None


def same_hash(stored: str, offered_token: str) -> bool:
    """Constant-time comparison of a stored hash with a presented token's hash."""
    return hmac.compare_digest(stored.encode("ascii"), token_hash(offered_token).encode("ascii"))
