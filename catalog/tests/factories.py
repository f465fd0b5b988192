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
