"""Deterministic randomness: SplitMix64 seeded by SHA-256, the same on every Python version."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

MASK64 = (1 << 64) - 1


def mix64(x: int) -> int:
    """SplitMix64 finaliser: a well-spread 64-bit function of x."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def derive_seed(*parts: object) -> int:
    """Derive a 64-bit seed from the parts (SHA-256 of their text)."""
    text = "|".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class Rng:
    """SplitMix64: small, fast and the same on every Python version."""

    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & MASK64

    def next64(self) -> int:
        """Return the next 64-bit value."""
        self._state = (self._state + 0x9E3779B97F4A7C15) & MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """Return a value in 0 .. n-1 (0 when n <= 0)."""
        return self.next64() % n if n > 0 else 0

    def randint(self, low: int, high: int) -> int:
        """Return a value in low .. high (low when high <= low)."""
        return low + self.below(high - low + 1) if high > low else low

    def chance(self, p: float) -> bool:
        """Tell whether an event of probability p happens."""
        return (self.next64() >> 11) < p * (1 << 53)

    def shuffle(self, items: list[Any]) -> None:
        """Shuffle `items` in place (Fisher-Yates)."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def sample(self, items: Sequence[Any], k: int) -> list[Any]:
        """Return `k` of `items` in random order."""
        pool = list(items)
        self.shuffle(pool)
        return pool[:k]
