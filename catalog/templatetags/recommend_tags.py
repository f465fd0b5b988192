"""``{% models_for_dataset dataset as found %}``: the "Models for this dataset" section of a dataset page
(catalog.recommend), for the purpose in ``?purpose=`` (none: every purpose's answer, nothing left out)."""

from django import template

from catalog import recommend

register = template.Library()

ON_PAGE = 10


@register.simple_tag(takes_context=True)
def models_for_dataset(context, dataset) -> recommend.Recommendation:
    request = context["request"]
    purpose = request.GET.get("purpose") if request.GET.get("purpose") in recommend.PURPOSES else None
    return recommend.recommend(request.user, recommend.profile_of(dataset), k=ON_PAGE, purpose=purpose)


ANSWER_BADGE = {"yes": "ok", "conditional": "warning", "unclear": "warning", "no": "violation"}


@register.inclusion_tag("catalog/_answer_badge.html")
def answer_badge(purpose: str, answer: str) -> dict:
    """A verdict-coloured badge saying what the stored analysis answers for one purpose."""
    label = "not analysed" if answer == recommend.NOT_ANALYSED else answer
    return {"verdict": ANSWER_BADGE.get(answer, "unknown"), "purpose": purpose, "label": label}
