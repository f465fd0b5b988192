"""Grants, invitations and tokens end by one rule (accounts.models.Revocable / RevocableQuerySet)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken, Grant, Revocable, RevocableQuerySet
from catalog.tests.factories import MLModelFactory

pytestmark = pytest.mark.django_db


def test_active_rows_and_is_active_agree_for_grants_and_tokens(owner, stranger):
    now = timezone.now()
    ends = {
        "open": (None, None),
        "future": (now + timedelta(days=1), None),
        "expired": (now - timedelta(seconds=1), None),
        "revoked": (None, now),
    }
    grants, tokens = {}, {}
    for label, (expires_at, revoked_at) in ends.items():
        grants[label] = Grant.objects.create(
            model=MLModelFactory(owner=owner),
            user=stranger,
            created_by=owner,
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
        tokens[label] = ApiToken.objects.create(
            user=stranger,
            name=label,
            prefix=f"p-{label}",
            token_hash=label * 3,
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
    for rows, model in ((grants, Grant), (tokens, ApiToken)):
        active = set(model.objects.active().values_list("pk", flat=True))
        assert {label for label, row in rows.items() if row.pk in active} == {"open", "future"}
        assert {label for label, row in rows.items() if row.is_active} == {"open", "future"}


def test_grants_and_tokens_share_the_rule_rather_than_restating_it():
    assert issubclass(Grant, Revocable) and issubclass(ApiToken, Revocable)
    assert isinstance(Grant.objects.all(), RevocableQuerySet) and isinstance(ApiToken.objects.all(), RevocableQuerySet)
