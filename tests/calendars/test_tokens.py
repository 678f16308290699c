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


def common_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), len(a))


def test_a_near_miss_token_hashes_nowhere_near_the_stored_hash() -> None:
    """Why a lookup by hash needs no constant-time compare: the server compares the stored
    hash with the hash of what was presented, and a guess that gets the first k characters of
    the token right still shares only a chance prefix with the stored hash. So the time a
    lookup takes says nothing about how much of a guess was right."""
    issued = "Ks3v1Qm8ZpL0xYt7Rb2NcW5hUe9GjAo4"  # fixed, so the test is deterministic
    stored = token_hash(issued)
    shared = []
    for k in range(len(issued)):
        guess = issued[:k] + ("A" if issued[k] != "A" else "B") + issued[k + 1 :]
        shared.append(common_prefix(token_hash(guess), stored))
    assert max(shared) <= 3  # of 64 hex digits; the guesses shared 0-31 leading characters
