"""Every random choice that decides what a judge sees comes from the study's secret.

Lists, queue orders, list assignment, paired sides, practice items and generation seeds are
all drawn from streams derived from a per-study secret made with :mod:`secrets` at creation.
Nothing a judge can see (their token, the spec's seed, the time, the arrival count) is enough
to recompute any of them. The launch record commits to the secret by its SHA-256; the record
published after closing reveals it, so the whole design can then be reproduced.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets


def new_secret() -> str:
    """A fresh study secret: 256 random bits as hex."""
    return secrets.token_hex(32)


def secret_digest(secret: str) -> str:
    """The commitment published at launch."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def derived_key(secret: str, *purpose: object) -> str:
    """A stream key for one purpose, e.g. ``derived_key(secret, "queue", judge_token)``."""
    if not secret:
        raise ValueError("the study has no secret")
    message = ":".join(str(p) for p in purpose).encode("utf-8")
    return hmac.new(secret.encode("ascii"), message, hashlib.sha256).hexdigest()


def derived_rng(secret: str, *purpose: object) -> random.Random:
    return random.Random(derived_key(secret, *purpose))


def derived_int(secret: str, *purpose: object, bits: int = 62) -> int:
    return int(derived_key(secret, *purpose), 16) >> (256 - bits)
