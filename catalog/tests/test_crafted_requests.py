"""Crafted URLs answer 400 or 404, never 500: NUL bytes in paths and query parameters, cursors that no
page gave out. Anonymous, on pages and in the API, on PostgreSQL and SQLite."""

import base64

import pytest
from django.core.cache import cache
from django.test import Client

from catalog.tests.factories import DatasetFactory, MLModelFactory

pytestmark = pytest.mark.django_db


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


GARBAGE = [  # no list gives these out, whatever its order
    "!!!",
    "====",
    "%F0%9F%98%80",
    "A" * 5000,  # not base64, or base64 of bytes that are no JSON
    "a%00b",
    b64('["\\u0000",1]'),
    b64('["x\\u0000y",1]'),  # NUL, raw and inside the JSON
    b64('{"a":1}'),
    b64("[1]"),
    b64("[1,1,2]"),
    b64('["a",1,"x"]'),
    b64("[[1],1]"),
    b64('[{"a":1},1]'),
    b64("[true,1]"),
    b64("[1,true]"),
    b64("[1,1.5]"),
    b64("[1,-5]"),
    b64("[1,0]"),
    b64('[1,"1"]'),  # not an id
    b64("[null," + "9" * 400 + "]"),
    b64("[1e999,1]"),
    b64("[NaN,1]"),
    b64("[Infinity,1]"),
]
WRONG_FOR = {  # values of another type than the order's key, or past what the database holds
    "name": [b64("[12,1]"), b64("[1.5,1]")],
    "downloads": [b64('["x",1]'), b64("[1.5,1]"), b64("[" + "9" * 30 + ",1]"), b64("[-" + "9" * 30 + ",1]")],
    "created": [
        b64('["x",1]'),
        b64("[12,1]"),
        b64('["2020-13-45T00:00:00+00:00",1]'),
        b64('["2020-01-01T00:00:00",1]'),  # naive
        b64('["0001-01-01T00:00:00+14:00",1]'),
        b64('["9999-12-31T23:59:59-14:00",1]'),
    ],  # past UTC's calendar
    "rank": [b64('["x",1]'), b64("[12,1]"), b64('["nan",1]')],
}
ORDERS = {
    "": "created",
    "&sort=name": "name",
    "&sort=downloads": "downloads",
    "&sort=created": "created",
    "&sort=-updated": "created",
    "&search=m0": "rank",
}
WRONG_FOR["created"] += WRONG_FOR["downloads"][2:]


@pytest.fixture
def catalogue(owner):
    for i in range(3):
        MLModelFactory(owner=owner, name=f"m{i}", card="shared words")
        DatasetFactory(owner=owner, name=f"d{i}")


@pytest.mark.parametrize("url", ["/models/", "/datasets/", "/api/v1/models/", "/api/v1/datasets/"])
def test_crafted_cursors_are_a_400_on_every_list_and_order(catalogue, url):
    client = Client()
    for order, key in ORDERS.items():
        for cursor in GARBAGE + WRONG_FOR[key]:
            cache.clear()  # the anonymous API throttle
            response = client.get(f"{url}?cursor={cursor}{order}")
            assert response.status_code == 400, (cursor, order, response.status_code)
            if url.startswith("/api/"):
                assert list(response.json()) == ["cursor"]  # invalid, or (a raw NUL) refused before the view


@pytest.mark.parametrize("query", ["sort=created", "sort=name", "sort=downloads", "search=shared", "sort=-parameters"])
def test_the_cursors_the_lists_give_still_work(catalogue, query):
    first = Client().get(f"/api/v1/models/?limit=1&{query}").json()
    second = Client().get(first["next"]).json()
    assert len(second["results"]) == 1 and second["results"][0]["id"] != first["results"][0]["id"]
    assert Client().get(second["previous"]).json()["results"] == first["results"]
    page = Client().get(f"/models/?{query}")
    assert page.status_code == 200


@pytest.mark.parametrize("query", ["limit=%C2%B2", "limit=" + "1" * 5000, "limit=0"])
def test_a_crafted_page_size_is_a_400(catalogue, query):
    assert Client().get(f"/api/v1/models/?{query}").json() == {"limit": ["Give a whole number from 1 to 200."]}


NUL_PATHS = [
    "/models/%00",
    "/models/a%00/b/",
    "/models/owner/m0%00/",
    "/datasets/owner%00/d0/",
    "/licences/%00/",
    "/models/owner/m0/files/",
    "/models/owner/m0/resolve/a%00.txt",
    "/accounts/%00/",
    "/api/v1/models/%00/",
    "/api/v1/models/a%00/b/",
    "/api/v1/models/owner/m0%00/files/",
    "/api/v1/licenses/%00/",
    "/api/v1/models/owner/m0/resolve/a%00",
    "/api/v1/insights/%00",
]


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_byte_in_a_path_is_a_404(catalogue, path):
    response = Client().get(path)
    if "%00" not in path:  # the control: the same page without the NUL
        assert response.status_code in (200, 302)
        return
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.json() == {"detail": "Not found."}


NUL_QUERIES = [
    "/models/?search=%00",
    "/models/?owner=a%00",
    "/models/?task=%00",
    "/models/?cursor=%00",
    "/datasets/?domain=%00",
    "/search/?q=%00",
    "/?x=%00",
    "/insights/?a%00=1",
    "/accounts/login/?next=%00",
    "/licences/?q=%00",
    "/models/owner/m0/",
    "/models/owner/m0/?version=%00",
]
NUL_API_QUERIES = [
    ("/api/v1/models/?search=%00", "search"),
    ("/api/v1/models/?base_model=a%00/b", "base_model"),
    ("/api/v1/models/facets?owner=%00", "owner"),
    ("/api/v1/datasets/?a%00b=1", "ab"),
    ("/api/v1/licenses/?search=%00", "search"),
    ("/api/v1/models/owner/m0/bom?format=%00", "format"),
    ("/api/v1/insights/models_by_family?format=%00", "format"),
]


@pytest.mark.parametrize("url", NUL_QUERIES)
def test_a_nul_byte_in_a_query_parameter_is_a_400_on_pages(catalogue, url):
    response = Client().get(url)
    if "%00" not in url:  # the control
        assert response.status_code == 200
    else:
        assert response.status_code == 400


@pytest.mark.parametrize(("url", "param"), NUL_API_QUERIES)
def test_a_nul_byte_in_a_query_parameter_is_a_400_naming_it_in_the_api(catalogue, url, param):
    response = Client().get(url)
    assert response.status_code == 400 and response.json() == {param: ["Null characters are not allowed."]}
