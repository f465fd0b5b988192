from django.urls import reverse
from rest_framework import serializers

from agent.models import AgentQuery, EntityType
from agent.services import max_question_chars
from agent.synonyms import ENTITY_CODES
from openmodelhub.params import ascii_int


class EntityTypeField(serializers.ChoiceField):
    """``model``, ``dataset``, ``user``, ``affiliation`` or empty; the seed's integers 0-4 work too."""

    def __init__(self, **kwargs):
        super().__init__(choices=EntityType.choices, **kwargs)

    def to_internal_value(self, data):
        code = data if isinstance(data, int) and not isinstance(data, bool) else ascii_int(data)
        if code is not None:  # "²" or "١" is no code: it fails as an unknown choice below
            if code not in ENTITY_CODES:
                self.fail("invalid_choice", input=data)
            data = ENTITY_CODES[code]
        return super().to_internal_value(data if data is not None else "")


class QuestionSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=max_question_chars(), trim_whitespace=True)
    entity_type = EntityTypeField(required=False, allow_blank=True, default="")


class AgentQuerySerializer(serializers.ModelSerializer):
    error = serializers.CharField(source="get_error_code_display", read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = AgentQuery
        fields = [
            "id",
            "url",
            "question",
            "entity_type",
            "status",
            "error_code",
            "error",
            "message",
            "sql",
            "columns",
            "rows",
            "row_count",
            "duration_ms",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_url(self, obj: AgentQuery) -> str:
        path = reverse("api:agent-query-detail", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path
