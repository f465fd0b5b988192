from django import template
from django.urls import reverse

from licensing import selectors
from licensing.selectors import verdict_of

register = template.Library()


@register.simple_tag(takes_context=True)
def model_compliance(context, model) -> dict:
    """The compliance findings of ``model`` as the current user may read them (hidden assets unnamed)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        from django.contrib.auth.models import AnonymousUser

        user = AnonymousUser()
    return selectors.model_compliance(model, user)


VERDICTS = {
    "violation": "Licence violation",
    "warning": "Licence warnings",
    "ok": "Licence OK",
    "unknown": "Licence not analysed",
}


@register.inclusion_tag("licensing/_verdict_badge.html")
def verdict_badge(model) -> dict:
    verdict = verdict_of(model)
    report = getattr(model, "compliance", None) if verdict != "unknown" else None
    number = {"violation": getattr(report, "violation_count", 0), "warning": getattr(report, "warning_count", 0)}
    return {"verdict": verdict, "label": VERDICTS[verdict], "number": number.get(verdict, 0)}


@register.simple_tag
def asset_url(kind: str, full_name: str) -> str:
    """The page of a model or dataset named in a finding's path ("" for anything else)."""
    owner, _, name = full_name.partition("/")
    if kind not in ("model", "dataset") or not owner or not name:
        return ""
    return reverse(f"catalog:{kind}-detail", kwargs={"owner": owner, "name": name})


SEVERITY_ORDER = {"violation": 0, "warning": 1, "obligation": 2, "info": 3}
SUMMARY_SIZE = 3


@register.simple_tag
def top_findings(findings: list[dict]) -> dict:
    """The few findings a page shows at its top: violations, then warnings (obligations and notes stay
    in the full analysis), and how many others there are."""
    ranked = sorted(findings, key=lambda f: SEVERITY_ORDER.get(f["severity"], 9))
    shown = [f for f in ranked if f["severity"] in ("violation", "warning")][:SUMMARY_SIZE]
    return {"shown": shown, "more": len(findings) - len(shown)}


@register.inclusion_tag("licensing/_verdict_badge.html")
def verdict_badge_label(verdict: str) -> dict:
    """The badge of a verdict without a model (a filter's label)."""
    return {"verdict": verdict, "label": VERDICTS[verdict], "number": None, "plain": True}
