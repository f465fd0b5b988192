"""The client's address, the one place that decides it (log-in lock-out, audit trail, API throttles).

``OMH_NUM_PROXIES`` says how many reverse proxies the deployment puts in front of the hub. With 0
(the default) the address is ``REMOTE_ADDR`` and ``X-Forwarded-For`` is ignored: any client can
write that header. With n > 0 it is the n-th address from the right of ``X-Forwarded-For``: each
trusted proxy appends the address it received the request from, so the addresses left of those the
proxies wrote are the client's own claims and never chosen. The hub must then be reachable only
through those proxies.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's IP address, or None when there is no request or no valid address."""
    if request is None:
        return None
    remote = _address(request.META.get("REMOTE_ADDR"))
    proxies = settings.OMH_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded.strip():
        return remote
    hops = forwarded.split(",")
    # Fewer hops than proxies: the left-most one was still written by a proxy (DRF's NUM_PROXIES rule).
    # A hop that is not an address means a misconfigured proxy: fall back to the peer, never to a guess.
    return _address(hops[-min(proxies, len(hops))]) or remote
