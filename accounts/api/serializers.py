from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiToken, Grant


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret. Shown only in this response.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    role = serializers.CharField()
    affiliations = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_affiliations(self, user) -> list[str]:
        return [affiliation.name for affiliation in user.affiliations.all()]


class AcceptInvitationSerializer(serializers.Serializer):
    token = serializers.CharField(
        max_length=200, write_only=True, help_text="The secret of the invitation (the last part of its accept link)."
    )


class AcceptedInvitationSerializer(serializers.Serializer):
    asset = serializers.DictField(help_text="kind (model or dataset), id, owner, name")
    permission = serializers.ChoiceField(
        choices=Grant.Permission.choices, help_text="What you may now do: your one grant on the asset."
    )
    expires_at = serializers.DateTimeField(allow_null=True)
