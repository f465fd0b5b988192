from django import forms

from agent.models import EntityType
from agent.services import max_question_chars


class QuestionForm(forms.Form):
    question = forms.CharField(
        max_length=max_question_chars(),
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "e.g. Which fine-tuned language models have more than 7B parameters?"}
        ),
        help_text="Asked in plain language; answered by a read-only SQL query over what you may see.",
    )
    entity_type = forms.ChoiceField(
        choices=EntityType.choices,
        required=False,
        label="List",
        help_text="Optionally, what the answer should list.",
    )

    def clean_question(self) -> str:
        question = self.cleaned_data["question"].strip()
        if not question:
            raise forms.ValidationError("Ask a question.")
        return question
