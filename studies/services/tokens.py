"""Researcher API tokens: created once, stored as a hash, checked per request."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from studies.models import ApiToken

PREFIX = "nse_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, user, name: str = "") -> str:
    """Create a token and return its key; only its hash is stored, so show it once."""
    key = PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=key[:8], key_hash=_hash(key))
    return key


def token_user(key: str | None):
    """The active user a token belongs to, or None."""
    if not key or not key.startswith(PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(key)).first()
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def bearer_key(request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return None
