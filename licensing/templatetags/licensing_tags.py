from django import template

from licensing import selectors

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
