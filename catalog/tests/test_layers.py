"""Each piece lives in the app and layer that owns it: the pages, the Hub API and the selectors share
keyset pagination and downloads without importing the REST API or the page views, and the sharing,
user and affiliation endpoints are served by accounts (issue 15, item 2)."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import resolve

from catalog import filters
from catalog.keyset import InvalidCursor, Keyset
from catalog.models import MLModel

ROOT = Path(settings.BASE_DIR)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return names | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}


@pytest.mark.parametrize(
    "module",
    ["catalog/keyset.py", "catalog/downloads.py", "catalog/selectors.py", "hfhub/listing.py", "hfhub/views.py"],
)
def test_shared_modules_import_neither_the_rest_api_nor_the_page_views(module):
    imports = imported_modules(ROOT / module)
    assert not {name for name in imports if name.startswith(("catalog.api", "catalog.views", "rest_framework"))}


def test_the_rest_api_serves_downloads_without_the_page_views():
    assert "catalog.views" not in imported_modules(ROOT / "catalog/api/views.py")


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["not-a-cursor", "W251bGwsMF0", "A" * 2000])
def test_an_invalid_cursor_is_a_value_error_that_each_layer_answers_in_its_own_words(token):
    keyset = Keyset(filters.ordering("updated", False, filters.MODEL_SORTS))
    with pytest.raises(InvalidCursor) as raised:
        keyset.page(MLModel.objects.all(), token, 10)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == "Invalid cursor: use the link the previous page gave."


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/models/owner/name/grants/",
        "/api/v1/datasets/owner/name/grants/7/",
        "/api/v1/models/owner/name/invitations/",
        "/api/v1/datasets/owner/name/invitations/7/",
        "/api/v1/users/",
        "/api/v1/users/someone/",
        "/api/v1/affiliations/",
    ],
)
def test_sharing_users_and_affiliations_are_served_by_accounts(url):
    assert resolve(url).func.view_class.__module__ == "accounts.api.views"
