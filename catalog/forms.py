from django import forms


class UploadForm(forms.Form):
    file = forms.FileField(help_text="Streamed to the hub, then hashed, inspected and encrypted at rest.")
    path = forms.CharField(
        required=False, max_length=500,
        help_text="Path in the repository, e.g. model.safetensors or data/train.csv. Default: the file's name.",
    )
