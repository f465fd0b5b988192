"""Likes: a user likes an asset they may see, from its page (a CSRF-checked POST) or the API; liking
twice counts once; the count is shown and sortable; hidden assets cannot be liked or probed."""

import pytest
from django.test import Client

from accounts import services as sharing
from accounts.models import ApiToken, AuditEvent
from catalog.models import Dataset, Like, MLModel
from catalog.tests.factories import DatasetFactory, MLModelFactory
from openmodelhub.testing import api


@pytest.fixture
def assets(owner):
    return {
        "model": MLModelFactory(owner=owner, name="liked-model"),
        "dataset": DatasetFactory(owner=owner, name="liked-data"),
        "private": MLModelFactory(owner=owner, name="secret", visibility="private"),
    }


def likes_of(asset) -> int:
    return type(asset).objects.get(pk=asset.pk).likes


@pytest.mark.parametrize("kind", ["model", "dataset"])
def test_liking_through_the_api_is_idempotent_and_counted(stranger, assets, kind):
    asset = assets[kind]
    url = f"/api/v1/{asset.plural}/{asset.full_name}/like/"
    before = asset.updated_at
    assert api(stranger).get(url).json() == {"liked": False, "likes": 0}
    assert api(stranger).post(url).json() == {"liked": True, "likes": 1}
    assert api(stranger).post(url).json() == {"liked": True, "likes": 1}  # twice is once
    assert Like.objects.filter(user=stranger).count() == 1
    assert api(stranger).get(url).json() == {"liked": True, "likes": 1}
    assert api().get(url).json() == {"liked": False, "likes": 1}
    assert api(stranger).delete(url).json() == {"liked": False, "likes": 0}
    assert api(stranger).delete(url).json() == {"liked": False, "likes": 0}
    assert likes_of(asset) == 0 and type(asset).objects.get(pk=asset.pk).updated_at == before  # not an edit
    actions = list(AuditEvent.objects.filter(action__startswith="asset.").values_list("action", flat=True))
    assert actions.count("asset.like") == 1 and actions.count("asset.unlike") == 1


def test_likes_of_several_users_add_up_and_show_in_lists(owner, stranger, curator, assets):
    url = "/api/v1/models/" + assets["model"].full_name + "/like/"
    for user in (owner, stranger, curator):
        api(user).post(url)
    assert likes_of(assets["model"]) == 3
    rows = api().get("/api/v1/models/", {"sort": "likes"}).json()["results"]
    assert (rows[0]["name"], rows[0]["likes"]) == ("liked-model", 3)


def test_anonymous_visitors_and_read_scope_tokens_cannot_like(stranger, assets):
    url = f"/api/v1/models/{assets['model'].full_name}/like/"
    assert api().post(url).status_code in (401, 403)
    _, secret = sharing.create_api_token(user=stranger, name="read", scope=ApiToken.Scope.READ)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 403
    assert likes_of(assets["model"]) == 0


def test_a_hidden_asset_cannot_be_liked_or_probed(stranger, assets):
    url = f"/api/v1/models/{assets['private'].full_name}/like/"
    assert api(stranger).post(url).status_code == 404
    assert api(stranger).get(url).status_code == 404
    assert api(stranger).get("/api/v1/models/nobody/missing/like/").status_code == 404
    page = Client()
    page.force_login(stranger)
    assert page.post(f"/models/{assets['private'].full_name}/like/", {"liked": "1"}).status_code == 404
    assert likes_of(assets["private"]) == 0


def test_the_page_likes_and_unlikes_with_a_csrf_checked_post(stranger, assets):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(stranger)
    page_url = assets["dataset"].get_absolute_url()
    like_url = f"/datasets/{assets['dataset'].full_name}/like/"
    assert browser.post(like_url, {"liked": "1"}).status_code == 403  # no CSRF token
    page = browser.get(page_url)
    html = page.content.decode()
    assert f'action="{like_url}"' in html and 'name="liked" value="1"' in html
    token = page.cookies["csrftoken"].value
    response = browser.post(like_url, {"liked": "1", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == page_url
    html = browser.get(page_url).content.decode()
    assert 'aria-pressed="true"' in html and 'name="liked" value="0"' in html
    assert '<span class="like-count">1</span>' in html
    browser.post(like_url, {"liked": "1", "csrfmiddlewaretoken": token})
    assert Dataset.objects.get(pk=assets["dataset"].pk).likes == 1
    browser.post(like_url, {"liked": "0", "csrfmiddlewaretoken": token})
    assert Dataset.objects.get(pk=assets["dataset"].pk).likes == 0
    assert browser.post(like_url, {"liked": "yes", "csrfmiddlewaretoken": token}).status_code == 400
    assert browser.get(like_url).status_code == 405  # a read never writes


def test_an_anonymous_visitor_is_sent_to_log_in(client, assets):
    response = client.post(f"/models/{assets['model'].full_name}/like/", {"liked": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert MLModel.objects.get(pk=assets["model"].pk).likes == 0
    html = client.get(assets["model"].get_absolute_url()).content.decode()
    assert 'title="Log in to like"' in html
