from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from catalog.models import CNNModule, Dataset, DatasetRole, Domain, Media, MLModel, ModelLineage, Task
from catalog.models.evaluations import metric_validator
from catalog.services import DETAIL_FIELDS


class UploadForm(forms.Form):
    file = forms.FileField(help_text="Streamed to the hub, then hashed, inspected and encrypted at rest.")
    path = forms.CharField(
        required=False,
        max_length=500,
        help_text="Path in the repository, e.g. model.safetensors or data/train.csv. Default: the file's name.",
    )


# --- create and edit ------------------------------------------------------------------------

TEXTAREA = {"rows": 8}


class UsernamesField(forms.CharField):
    """Comma-separated user names -> active users (authors)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "User names, separated by commas.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)) or hasattr(value, "all"):
            users = value.all() if hasattr(value, "all") else value
            return ", ".join(getattr(u, "username", str(u)) for u in users)
        return value

    def clean(self, value):
        names = [n.strip() for n in (super().clean(value) or "").split(",") if n.strip()]
        users = {u.username: u for u in User.objects.filter(username__in=names, is_active=True)}
        missing = [n for n in names if n not in users]
        if missing:
            raise ValidationError(f"No active user named {', '.join(missing)}.")
        return [users[n] for n in dict.fromkeys(names)]


class AssetForm(forms.ModelForm):
    """Fields models and datasets share. ``license_text`` is resolved to a known licence by the
    licensing app; the declared string is kept either way."""

    license_text = forms.CharField(
        required=False,
        max_length=300,
        label="Licence",
        help_text="A licence key, SPDX id or expression (apache-2.0, MIT, Apache-2.0 OR MIT).",
    )
    media = forms.MultipleChoiceField(choices=Media.choices, required=False, widget=forms.CheckboxSelectMultiple)
    tasks = forms.ModelMultipleChoiceField(
        Task.objects.all(),
        required=False,
        to_field_name="slug",
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Hold Ctrl (or ⌘) to choose several.",
    )
    authors = UsernamesField()

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Changing the visibility of an existing asset needs the manage level (accounts.models.Permission).
        self.may_change_visibility = not self.instance.pk or self.instance.is_manageable_by(user)
        if not self.may_change_visibility:
            self.fields["visibility"].help_text = "Only its owner, a manager, an admin or a curator may change this."
        if self.instance.pk:
            self.initial.setdefault(
                "license_text",
                self.instance.license_declared or (self.instance.license.key if self.instance.license else ""),
            )
            self.initial.setdefault("media", list(self.instance.media.values_list("slug", flat=True)))
            self.initial.setdefault("authors", self.instance.authors.all())

    def clean_visibility(self) -> str:
        value = self.cleaned_data["visibility"]
        if not self.may_change_visibility and value != self.instance.visibility:
            raise ValidationError("Only its owner, a manager, an admin or a curator may change the visibility.")
        return value

    def service_data(self) -> dict:
        """The validated data in the shape catalog.services.save_model / save_dataset take."""
        from licensing.services import resolve_license

        data = {name: value for name, value in self.cleaned_data.items() if name in self._meta.fields}
        declared = self.cleaned_data.get("license_text", "").strip()
        data["license_declared"] = declared
        data["license"] = resolve_license(declared)  # the one resolver every door uses
        data["media"] = self.cleaned_data["media"]
        data["tasks"] = list(self.cleaned_data["tasks"])
        data["authors"] = self.cleaned_data["authors"]
        return data

    def _post_clean(self):
        # The model's field validators, so that every error shows at once; the whole-model
        # validation (unique owner/name, constraints) runs in the service, inside its transaction.
        # Not ModelForm's own: it would write the new values into the instance the view still shows.
        for name in self._meta.fields:
            if name in self.cleaned_data:
                try:
                    self.instance._meta.get_field(name).run_validators(self.cleaned_data[name])
                except ValidationError as exc:
                    self.add_error(name, exc)


class ModelForm(AssetForm):
    class Meta:
        model = MLModel
        fields = [
            "name",
            "visibility",
            "training_type",
            "architecture_family",
            "architecture_name",
            "parameter_count",
            "release_date",
            "card",
        ]
        widgets = {"card": forms.Textarea(attrs=TEXTAREA), "release_date": forms.DateInput(attrs={"type": "date"})}
        help_texts = {
            "card": "Markdown. Scripts, event handlers and javascript: links are removed when shown.",
            "architecture_family": "Fill in the matching details below.",
        }
        labels = {"parameter_count": "Parameters", "release_date": "Released"}


class TransformerForm(forms.Form):
    decoder_count = forms.IntegerField(required=False, min_value=0, label="Decoders")
    attention_size = forms.IntegerField(required=False, min_value=0, label="Attention size")
    up_size = forms.IntegerField(required=False, min_value=0, label="Up projection size")
    down_size = forms.IntegerField(required=False, min_value=0, label="Down projection size")
    embedding_size = forms.IntegerField(required=False, min_value=0, label="Embedding size")


class CNNForm(forms.Form):
    module_count = forms.IntegerField(required=False, min_value=0, label="Number of modules")


class CNNModuleForm(forms.Form):
    conv_size = forms.IntegerField(required=False, min_value=1, label="Convolution size")
    pooling_type = forms.ChoiceField(choices=[("", "—"), *CNNModule.Pooling.choices], required=False, label="Pooling")

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("conv_size")) != bool(cleaned.get("pooling_type")):
            raise ValidationError("Give both the convolution size and the pooling, or neither.")
        return cleaned


CNNModuleFormSet = forms.formset_factory(CNNModuleForm, extra=3, max_num=64, validate_max=True)


class RNNForm(forms.Form):
    criterion = forms.CharField(
        required=False, max_length=100, help_text="Training criterion / loss, e.g. cross_entropy"
    )
    batch_size = forms.IntegerField(required=False, min_value=0)
    input_size = forms.IntegerField(required=False, min_value=0)


class ArchitectureForms:
    """The details forms of every family; only the chosen family's form is validated and saved."""

    def __init__(self, data=None, model: MLModel | None = None):
        initial = _architecture_initial(model)
        self.transformer = TransformerForm(data, prefix="transformer", initial=initial.get("transformer"))
        self.cnn = CNNForm(data, prefix="cnn", initial=initial.get("cnn"))
        self.modules = CNNModuleFormSet(data, prefix="module", initial=initial.get("modules"))
        self.rnn = RNNForm(data, prefix="rnn", initial=initial.get("rnn"))

    def is_valid(self, family: str) -> bool:
        if family == "cnn":
            return self.cnn.is_valid() & self.modules.is_valid()
        form = getattr(self, family, None)
        return form.is_valid() if isinstance(form, forms.Form) else True

    def data(self, family: str) -> dict | None:
        if family == "cnn":
            modules = [
                {"conv_size": f.cleaned_data["conv_size"], "pooling_type": f.cleaned_data["pooling_type"]}
                for f in self.modules
                if f.cleaned_data.get("conv_size")
            ]
            return {"family": "cnn", **self.cnn.cleaned_data, "modules": modules}
        if family in DETAIL_FIELDS:
            return {"family": family, **getattr(self, family).cleaned_data}
        return {"family": family}


def _architecture_initial(model: MLModel | None) -> dict:
    if model is None or model.pk is None:
        return {}
    initial = {}
    for family, fields in DETAIL_FIELDS.items():
        details = getattr(model, family, None)
        if details is not None:
            initial[family] = {f: getattr(details, f) for f in fields}
    if initial.get("cnn") is not None:
        initial["modules"] = [
            {"conv_size": m.conv_size, "pooling_type": m.pooling_type} for m in model.cnn.modules.order_by("position")
        ]
    return initial


class DatasetForm(AssetForm):
    domains = forms.ModelMultipleChoiceField(
        Domain.objects.all(), required=False, to_field_name="slug", widget=forms.CheckboxSelectMultiple
    )

    IDENTIFICATION = ["name", "visibility", *Dataset.IDENTIFICATION_FIELDS]
    TECHNICAL = list(Dataset.TECHNICAL_FIELDS)
    ETHICS = [*Dataset.ETHICS_FLAGS, "data_errors_description"]

    class Meta:
        model = Dataset
        fields = [
            "name",
            "visibility",
            *Dataset.IDENTIFICATION_FIELDS,
            *Dataset.TECHNICAL_FIELDS,
            *Dataset.ETHICS_FLAGS,
            "data_errors_description",
            "card",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in [
                "objective",
                "sources",
                "features_description",
                "representativity_description",
                "sample_balance_description",
                "missing_values_description",
                "data_errors_description",
            ]
        } | {"card": forms.Textarea(attrs=TEXTAREA)}
        help_texts = {"card": "Markdown. Scripts, event handlers and javascript: links are removed when shown."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("domains", list(self.instance.domains.all()))

    def service_data(self) -> dict:
        data = super().service_data()
        data["domains"] = list(self.cleaned_data["domains"])
        return data

    def groups(self) -> list[tuple[str, list]]:
        return [
            ("Identification", [self[n] for n in self.IDENTIFICATION]),
            ("Technical characteristics", [self[n] for n in self.TECHNICAL]),
            ("Ethics checklist (unknown, yes or no)", [self[n] for n in self.ETHICS]),
            (
                "Description, classification and licence",
                [self[n] for n in ["card", "license_text", "media", "tasks", "domains", "authors"]],
            ),
        ]


class AssetRefField(forms.CharField):
    """``owner/name`` of an asset the user may see (a hidden one reads as missing)."""

    def __init__(self, model_cls, **kwargs):
        self.model_cls = model_cls
        super().__init__(max_length=401, **kwargs)

    def resolve(self, value: str, user):
        found = self.model_cls.objects.visible_to(user).with_name(value.strip()).first()
        if found is None:
            raise ValidationError(f"There is no {self.model_cls._meta.verbose_name} {value!r} you can see.")
        return found


class BaseModelForm(forms.Form):
    base = AssetRefField(MLModel, label="Base model", help_text="owner/name")
    relation = forms.ChoiceField(choices=ModelLineage.Relation.choices)

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_base(self):
        return self.fields["base"].resolve(self.cleaned_data["base"], self.user)


class DatasetLinkForm(forms.Form):
    dataset = AssetRefField(Dataset, help_text="owner/name")
    role = forms.ChoiceField(choices=DatasetRole.choices)

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_dataset(self):
        return self.fields["dataset"].resolve(self.cleaned_data["dataset"], self.user)


class EvaluationForm(forms.Form):
    """One evaluation result of a model (the model page); saved by catalog.discovery.evaluations."""

    dataset = AssetRefField(Dataset, help_text="owner/name of the dataset evaluated on")
    split = forms.CharField(max_length=64, initial="validation")
    metric = forms.CharField(max_length=64, validators=[metric_validator], help_text="e.g. top1, f1, exact_match")
    value = forms.FloatField()
    higher_is_better = forms.BooleanField(required=False, initial=True, label="Higher is better")
    source_url = forms.URLField(max_length=500, required=False, label="Source URL")
    evaluated_on = forms.DateField(required=False, help_text="YYYY-MM-DD", label="Evaluated on")
    config = forms.JSONField(required=False, help_text='Settings of the run as JSON, e.g. {"img_size": 224}')

    def __init__(self, *args, user=None, result=None, **kwargs):
        self.user = user
        if result is not None:
            kwargs.setdefault(
                "initial", {name: getattr(result, name) for name in self.base_fields if name != "dataset"}
            )
            kwargs["initial"]["dataset"] = result.dataset.full_name
        super().__init__(*args, **kwargs)

    def clean_dataset(self):
        return self.fields["dataset"].resolve(self.cleaned_data["dataset"], self.user)

    def clean_config(self):
        from catalog.discovery.evaluations import validate_config

        config = self.cleaned_data["config"]
        return {} if config in (None, "") else validate_config(config)
