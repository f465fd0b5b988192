"""Read-side queries of the catalogue, always starting from visible_to(user)."""

from django.db.models import QuerySet

from catalog.models import Dataset, MLModel


def catalogue_counts(user) -> dict[str, int]:
    return {
        "models": MLModel.objects.visible_to(user).count(),
        "datasets": Dataset.objects.visible_to(user).count(),
    }


def recently_updated_models(user, limit: int = 8) -> QuerySet[MLModel]:
    return MLModel.objects.visible_to(user).select_related("owner", "license").order_by("-updated_at", "-id")[:limit]


def most_downloaded_models(user, limit: int = 8) -> QuerySet[MLModel]:
    return MLModel.objects.visible_to(user).select_related("owner", "license").order_by("-downloads", "-id")[:limit]


def recently_updated_datasets(user, limit: int = 8) -> QuerySet[Dataset]:
    return Dataset.objects.visible_to(user).select_related("owner", "license").order_by("-updated_at", "-id")[:limit]


def model_detail_queryset(user) -> QuerySet[MLModel]:
    return (
        MLModel.objects.visible_to(user)
        .select_related("owner", "license", "transformer", "cnn", "rnn")
        .prefetch_related("media", "tasks", "authors", "cnn__modules")
    )


def dataset_detail_queryset(user) -> QuerySet[Dataset]:
    return (
        Dataset.objects.visible_to(user)
        .select_related("owner", "license")
        .prefetch_related("media", "tasks", "domains", "authors", "files__columns")
    )
