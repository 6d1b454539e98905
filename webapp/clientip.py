"""The address a request came from, for rate limits.

``REMOTE_ADDR`` is the peer. Behind a TLS proxy (``BEHIND_TLS_PROXY``) every peer is the
proxy, so the client is the address the proxy appended to ``X-Forwarded-For``: its last
entry. Entries before it were written by the client and prove nothing; without the
setting the header is ignored altogether, so nobody can choose their own address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_TLS_PROXY:
        hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if hops:
            last = _valid(hops[-1])
            if last is not None:
                return last
    return peer
