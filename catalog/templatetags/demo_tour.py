"""The demo tour on the home page: five things to try, each a link to a demo record.

Only records the visitor may see are shown (``visible_to``), and the tour is left out entirely on a
hub without the demo records (fixtures/demo.json), so it never names an asset it should not.
"""

from django import template
from django.urls import reverse

from catalog.models import Dataset, MLModel

register = template.Library()

# (kind, owner/name or URL name, what to try); the records are in fixtures/demo.json
TOUR = [
    (
        MLModel,
        "eachadea/vicuna-7b-1.1",
        "A licence violation: Vicuna declares Apache-2.0, but it is a fine-tune of LLaMA, whose licence keeps its "
        "own terms. The compliance section explains why and walks the lineage.",
    ),
    (
        MLModel,
        "Salesforce/instructblip-vicuna-7b",
        "Lineage three levels deep: InstructBLIP is built on Vicuna, itself a fine-tune of LLaMA.",
    ),
    (
        MLModel,
        "declare-lab/flan-alpaca-base",
        "Non-commercial training data under a commercial licence: Flan-Alpaca (Apache-2.0) was fine-tuned on "
        "Stanford Alpaca (CC BY-NC 4.0).",
    ),
    (
        Dataset,
        "openml/Titanic",
        "A dataset's files and columns, with the columns holding personal data flagged, and its ethics checklist.",
    ),
    (
        None,
        "insights:page",
        "Insights: the catalogue in figures, from licences and tasks to the longest lineage chains.",
    ),
]


@register.inclusion_tag("catalog/_demo_tour.html", takes_context=True)
def demo_tour(context) -> dict:
    user = context["request"].user
    steps = []
    for kind, ref, text in TOUR:
        if kind is None:
            steps.append({"url": reverse(ref), "label": "Insights", "text": text})
            continue
        asset = kind.objects.visible_to(user).with_name(ref).select_related("owner").first()
        if asset is not None:
            steps.append({"url": asset.get_absolute_url(), "label": ref, "text": text})
    has_demo = any(step["label"] != "Insights" for step in steps)
    return {"steps": steps if has_demo else []}
