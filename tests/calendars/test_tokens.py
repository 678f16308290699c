"""Subscriber tokens: long, random, hashed, compared in constant time."""

from __future__ import annotations

import hashlib

from calendars.tokens import new_token, plausible, token_hash


def test_tokens_are_long_random_and_url_safe() -> None:
    """192-bit tokens: 32 URL-safe characters, never the same twice."""
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) == 32 and plausible(t) for t in tokens)


def test_only_the_hash_is_kept_and_it_differs_for_a_one_character_change() -> None:
    """The stored form is SHA-256 of the token; a neighbouring token hashes elsewhere."""
    token = new_token()
    stored = token_hash(token)
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token_hash(token[:-1] + ("A" if token[-1] != "A" else "B")) != stored


def test_implausible_path_segments_are_not_tokens() -> None:
    """Dots, slashes, spaces and short strings are refused before any lookup."""
    assert not any(plausible(s) for s in ("..", "a/b", "short", "x" * 65, "abc def" * 5, "é" * 30))
