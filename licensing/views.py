from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from catalog.models import Dataset, MLModel
from licensing import bom, selectors
from licensing.models import License


def license_list(request: HttpRequest) -> HttpResponse:
    """The licences ML people look for first (grouped, with how many visible models and datasets use
    each); ``?show=all`` lists the whole knowledge base (2,000+ ScanCode licences), paginated."""
    category = request.GET.get("category") or None
    if category not in (None, *License.Category.values):
        category = None
    query = (request.GET.get("q") or "").strip()[:100]
    show_all = request.GET.get("show") == "all"
    context = {
        "category": category,
        "query": query,
        "show_all": show_all,
        "categories": License.Category.choices,
        "statistics": selectors.license_statistics(request.user),
    }
    if show_all:
        page = Paginator(selectors.licenses(category=category, query=query), 50).get_page(request.GET.get("page"))
        usage = selectors.license_usage(request.user)
        rows = [{"license": lic, **usage.get(lic.pk, {"models": 0, "datasets": 0})} for lic in page]
        context |= {"page": page, "rows": rows}
    else:
        groups = selectors.ml_licenses(request.user, query=query, category=category)
        shown = sum(len(group["rows"]) for group in groups)
        context |= {
            "groups": groups,
            "others": selectors.licenses(category=category, query=query).count() - shown,
        }
    return render(request, "licensing/license_list.html", context)


def license_detail(request: HttpRequest, key: str) -> HttpResponse:
    lic = get_object_or_404(License.objects.prefetch_related("aliases"), key=key)
    models = MLModel.objects.visible_to(request.user).filter(license=lic).select_related("owner")
    datasets = Dataset.objects.visible_to(request.user).filter(license=lic).select_related("owner")
    return render(
        request,
        "licensing/license_detail.html",
        {
            "license": lic,
            "models": models[:50],
            "model_count": models.count(),
            "datasets": datasets[:50],
            "dataset_count": datasets.count(),
            "aliases": sorted(a.alias for a in lic.aliases.all())[:40],
        },
    )


def model_bom(request: HttpRequest, owner: str, name: str, fmt: str) -> HttpResponse:
    if fmt not in bom.FORMATS:
        raise Http404("unknown BOM format")
    return bom.response(selectors.visible_model(request.user, owner, name), fmt, request.user, attachment=True)
