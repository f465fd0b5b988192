"""The licences page: the ML licences first, grouped, with the counts of models and datasets using each
(over what the viewer may see); search; the rest of the knowledge base behind ?show=all."""

import pytest

from licensing.tests.factories import dataset, license_for, model

KEYS = [
    "llama-3-license-2024",
    "bigscience-open-rail-m",
    "cc-by-4.0",
    "cdla-permissive-2.0",
    "apache-2.0",
    "3com-microcode",
]


@pytest.fixture
def knowledge(db, owner):
    for key in KEYS:
        license_for(key)
    model("llama-tune", "llama-3-license-2024", owner=owner)
    model("another-tune", "llama-3-license-2024", owner=owner)
    model("hidden-tune", "llama-3-license-2024", owner=owner, visibility="private")
    model("bloom", "bigscience-open-rail-m", owner=owner)
    dataset("corpus", "cc-by-4.0", owner=owner)


def groups(response) -> dict[str, list[tuple[str, int, int]]]:
    return {
        g["key"]: [(r["license"].key, r["models"], r["datasets"]) for r in g["rows"]]
        for g in response.context["groups"]
    }


def test_ml_licences_come_first_grouped_with_counts_of_what_the_viewer_sees(client, knowledge):
    response = client.get("/licences/")
    assert response.status_code == 200
    found = groups(response)
    assert list(found) == ["model", "rail", "creative_commons", "data", "software"]
    assert found["model"] == [("llama-3-license-2024", 2, 0)]  # the private model is not counted
    assert found["rail"] == [("bigscience-open-rail-m", 1, 0)]
    assert found["creative_commons"] == [("cc-by-4.0", 0, 1)]
    assert found["data"] == [("cdla-permissive-2.0", 0, 0)]
    assert ("apache-2.0", 0, 0) in found["software"]
    assert all(key != "3com-microcode" for rows in found.values() for key, *_ in rows)
    assert response.context["others"] == 1
    page = response.content.decode()
    assert page.index("Model licences and agreements") < page.index("Open-source software licences")
    assert 'href="/models/?license=llama-3-license-2024">2</a>' in page
    assert "?show=all" in page and "1 more licence" in page


def test_the_owner_counts_their_private_model_too(client, knowledge, owner):
    client.force_login(owner)
    assert groups(client.get("/licences/"))["model"] == [("llama-3-license-2024", 3, 0)]


def test_search_narrows_the_ml_list_and_the_whole_base_is_behind_a_filter(client, knowledge):
    found = groups(client.get("/licences/", {"q": "rail"}))
    assert found == {"rail": [("bigscience-open-rail-m", 1, 0)]}
    everything = client.get("/licences/", {"show": "all"})
    keys = [row["license"].key for row in everything.context["rows"]]
    assert keys == sorted(KEYS)  # A to Z, every licence
    assert client.get("/licences/", {"show": "all", "q": "3com"}).context["rows"][0]["license"].key == "3com-microcode"
    assert groups(client.get("/licences/", {"category": "use_restricted"})) == {
        "rail": [("bigscience-open-rail-m", 1, 0)]
    }
