"""DRF's throttles keyed on openmodelhub.network.client_ip, the address the log-in lock-out uses."""

from rest_framework import throttling

from openmodelhub.network import client_ip


class ClientAddressMixin:
    def get_ident(self, request) -> str:
        return client_ip(request) or ""


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    pass
