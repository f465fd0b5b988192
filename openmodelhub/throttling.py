"""DRF's throttles keyed on openmodelhub.network.client_ip, the address the log-in lock-out uses."""

from rest_framework import throttling

from openmodelhub.network import client_ip


class ClientAddressMixin:
    def get_ident(self, request) -> str:
        return client_ip(request) or ""


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    def get_cache_key(self, request, view) -> str | None:
        # Anonymous callers have their own bucket (AnonRateThrottle): a second one keyed on the same
        # address only cost every anonymous request two more cache round trips.
        if not request.user or not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)
