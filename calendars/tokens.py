"""Subscriber tokens: random, shown once, stored only as a hash.

The server finds a subscriber by the SHA-256 of the presented token, never by the token:
whatever a lookup's timing reveals is about a hash the attacker computed themselves, so
it cannot be used to guess a token byte by byte (the point of a constant-time compare).
"""

from __future__ import annotations

import hashlib
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
