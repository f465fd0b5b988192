"""What the model and dataset pages and the lists show: readable labels, links, usage snippets, the
reason a file was rejected, expandable facets."""

import shlex

import pytest
from django.utils.html import escape

from catalog.models import Domain, FileVersion, RepoFile, Task, TransformerDetails
from catalog.templatetags.catalog_ui import linkify, render_markdown
from catalog.tests.factories import DatasetFactory, MLModelFactory


def html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_architecture_reads_once_and_an_empty_details_table_is_hidden(client, owner):
    model = MLModelFactory(
        owner=owner, name="m", architecture_family="transformer", architecture_name="transformer decoder"
    )
    TransformerDetails.objects.create(model=model)  # every size unknown
    page = html(client, model.get_absolute_url())
    assert "<td>Transformer decoder</td>" in page and "Transformer transformer" not in page
    assert "Transformer details" not in page
    TransformerDetails.objects.filter(model=model).update(decoder_count=32)
    other = MLModelFactory(owner=owner, name="n", architecture_family="cnn", architecture_name="ResNet")
    assert "Transformer details" in html(client, model.get_absolute_url())
    assert "<td>CNN · ResNet</td>" in html(client, other.get_absolute_url())


def test_urls_in_cards_and_fields_become_safe_links():
    card = str(render_markdown("See https://example.org/paper and `https://in.code` javascript:alert(1)"))
    assert '<a href="https://example.org/paper" rel="noopener noreferrer nofollow">' in card
    assert "<code>https://in.code</code>" in card and 'href="javascript' not in card
    text = str(linkify('Data from https://x.org/a, and <b>ftp://y.org</b> "javascript:z"'))
    assert text.startswith(
        'Data from <a href="https://x.org/a" rel="nofollow noopener noreferrer">https://x.org/a</a>,'
    )
    assert "&lt;b&gt;ftp://y.org&lt;/b&gt;" in text and 'href="ftp' not in text and 'href="javascript' not in text


def test_dataset_fields_link_their_urls_and_refuse_other_schemes(client, owner):
    dataset = DatasetFactory(
        owner=owner,
        name="d",
        sources="Crawled from https://commoncrawl.org/ in 2023",
        documentation_link="https://docs.example.org/d",
    )
    page = html(client, dataset.get_absolute_url())
    assert '<a href="https://commoncrawl.org/" rel="nofollow noopener noreferrer">' in page
    assert '<a href="https://docs.example.org/d" rel="nofollow noopener noreferrer">documentation</a>' in page


def test_a_rejected_file_shows_why(client, owner):
    model = MLModelFactory(owner=owner, name="m")
    repo_file = RepoFile.objects.create(model=model, path="weights.pkl")
    FileVersion.objects.create(
        file=repo_file, number=1, size=10, status="rejected", reason="Unsafe pickle: it imports os.system."
    )
    page = html(client, model.get_absolute_url())
    assert "Unsafe pickle: it imports os.system." in page and "no ready version yet" not in page
    pending = RepoFile.objects.create(model=model, path="big.safetensors")
    FileVersion.objects.create(file=pending, number=1, size=10, status="pending")
    assert "processing" in html(client, model.get_absolute_url())


def test_usage_snippets_use_this_hubs_hf_endpoint_and_quote_names(client, owner):
    model = MLModelFactory(owner=owner, name="llama's-tune")
    RepoFile.objects.create(model=model, path="config.json")  # no ready version: not offered as an example
    page = html(client, model.get_absolute_url())
    snippets = page.split('id="use-it"')[1].split("</section>")[0]
    assert "export HF_ENDPOINT=http://testserver/hf" in snippets
    assert "snapshot_download(&quot;" in snippets and "llama&#x27;s-tune" in snippets  # repr(), escaped
    url = shlex.quote(f"http://testserver/api/v1/models/{owner.username}/llama's-tune/")
    assert f"-H &#x27;Authorization: Bearer omh_...&#x27; {escape(url)}" in snippets  # one shell word
    assert "hf_hub_download" not in snippets
    dataset = DatasetFactory(owner=owner, name="corpus")
    page = html(client, dataset.get_absolute_url())
    assert "load_dataset(&#x27;" + owner.username + "/corpus&#x27;)" in page


def test_dataset_rows_have_no_stray_separator_and_domains_read_as_words(client, owner):
    DatasetFactory(owner=owner, name="no-year", year=None, instances_number=1200)
    dataset = DatasetFactory(owner=owner, name="web")
    dataset.domains.set([Domain.objects.create(slug="general-web", name="general-web")])
    page = html(client, "/datasets/")
    assert '<span class="meta">1,200 instances</span>' in page and '<span class="meta"> ·' not in page
    assert "<span>General web</span>" in page
    assert ">General web</a>" in html(client, dataset.get_absolute_url())


@pytest.mark.parametrize("count", [15])
def test_long_facet_lists_expand_instead_of_asking_to_search(client, owner, count):
    for i in range(count):
        task = Task.objects.create(slug=f"task-{i:02}", name=f"Task {i:02}")
        MLModelFactory(owner=owner, name=f"m{i}").tasks.set([task])
    page = html(client, "/models/")
    more = page.split('<details class="facet-more">')[1].split("</details>")[0]
    assert "<summary>3 more</summary>" in more and more.count('name="task"') == 3
    assert "search to narrow" not in page
