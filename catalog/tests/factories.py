import factory

from accounts.models import User
from catalog.models import Dataset, DatasetFile, FileColumn, MLModel, ModelLineage, Task
from licensing.models import License


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("pass-word-123")


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = License
        django_get_or_create = ["key"]

    key = "apache-2.0"
    spdx_id = "Apache-2.0"
    name = "Apache License 2.0"
    category = License.Category.PERMISSIVE


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"task-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " "))


class MLModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MLModel

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"model-{n}")
    parameter_count = 1_000_000


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"dataset-{n}")


class DatasetFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetFile

    dataset = factory.SubFactory(DatasetFactory)
    path = factory.Sequence(lambda n: f"data/file-{n}.csv")


class FileColumnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FileColumn

    dataset_file = factory.SubFactory(DatasetFileFactory)
    name = factory.Sequence(lambda n: f"col{n}")
    position = factory.Sequence(lambda n: n + 1)


class LineageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelLineage

    model = factory.SubFactory(MLModelFactory)
    base = factory.SubFactory(MLModelFactory)
    relation = ModelLineage.Relation.FINE_TUNE


def evaluation_world(owner, grantee) -> dict:
    """timm/imagenet-r (public) with top1 results of three public models of ``owner`` and of a private
    one (read grant to ``grantee``), and a private dataset of ``owner`` on which resnet scores 95."""
    from accounts import services as sharing
    from catalog.models import EvaluationResult

    imagenet_r = DatasetFactory(owner=UserFactory(username="timm"), name="imagenet-r")
    secret_set = DatasetFactory(owner=owner, name="secret-set", visibility="private")
    models = {name: MLModelFactory(owner=owner, name=name) for name in ("vit", "resnet", "convnext")}
    models["hidden"] = MLModelFactory(owner=owner, name="hidden-model", visibility="private")
    for name, top1 in (("vit", 85.5), ("resnet", 75.0), ("convnext", 82.25), ("hidden", 99.0)):
        EvaluationResult.objects.create(model=models[name], dataset=imagenet_r, metric="top1", value=top1)
    EvaluationResult.objects.create(model=models["resnet"], dataset=secret_set, metric="top1", value=95.0)
    grant = sharing.grant_access(by=owner, asset=models["hidden"], permission="read", user=grantee)
    return {"models": models, "imagenet_r": imagenet_r, "secret_set": secret_set, "grant": grant}
