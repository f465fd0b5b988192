from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.services import can_manage_sharing
from catalog import selectors
from catalog.models import MLModel


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "catalog/home.html",
        {
            "counts": selectors.catalogue_counts(user),
            "recent_models": selectors.recently_updated_models(user),
            "popular_models": selectors.most_downloaded_models(user),
            "recent_datasets": selectors.recently_updated_datasets(user),
        },
    )


def model_detail(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    model = get_object_or_404(selectors.model_detail_queryset(request.user), owner__username=owner, name=name)
    visible = MLModel.objects.visible_to(request.user)
    context = {
        "model": model,
        "base_edges": model.base_edges.filter(base__in=visible).select_related("base__owner"),
        "derivative_edges": model.derivative_edges.filter(model__in=visible).select_related("model__owner"),
        "dataset_links": model.dataset_links.filter(
            dataset__in=selectors.dataset_detail_queryset(request.user)
        ).select_related("dataset__owner"),
        "can_share": can_manage_sharing(request.user, model),
    }
    return render(request, "catalog/model_detail.html", context)


def dataset_detail(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    dataset = get_object_or_404(selectors.dataset_detail_queryset(request.user), owner__username=owner, name=name)
    models_using = (
        MLModel.objects.visible_to(request.user).filter(dataset_links__dataset=dataset).select_related("owner").distinct()
    )
    return render(request, "catalog/dataset_detail.html", {
        "dataset": dataset, "models_using": models_using, "can_share": can_manage_sharing(request.user, dataset),
    })
