from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Affiliation, ApiToken, Grant, Invitation, User


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


# --- sharing, users, affiliations ----------------------------------------------------------------


PERMISSION_HELP = (
    "read (see, download), write (also edit metadata and files) or manage (also visibility, "
    "deletion, sharing); default read"
)


class GrantSerializer(serializers.ModelSerializer):
    permission = serializers.ChoiceField(
        choices=Grant.Permission.choices, default=Grant.Permission.READ, help_text=PERMISSION_HELP
    )
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    affiliation = serializers.SlugRelatedField(
        slug_field="name", queryset=Affiliation.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Grant
        fields = ["id", "user", "affiliation", "permission", "expires_at", "created_at", "revoked_at"]
        read_only_fields = ["id", "created_at", "revoked_at"]

    def validate(self, attrs):
        if bool(attrs.get("user")) == bool(attrs.get("affiliation")):
            raise serializers.ValidationError({"user": ["Give either a user or an affiliation."]})
        return attrs


class InvitationSerializer(serializers.ModelSerializer):
    permission = serializers.ChoiceField(
        choices=Invitation.Permission.choices, default=Invitation.Permission.READ, help_text=PERMISSION_HELP
    )
    invited_user = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    days = serializers.IntegerField(min_value=1, max_value=365, default=14, write_only=True)
    token = serializers.CharField(read_only=True, help_text="The secret for the accept link; only in this response.")
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "invited_user", "email", "permission", "days", "expires_at", "status", "created_at", "token"]
        read_only_fields = ["id", "expires_at", "created_at"]

    def validate(self, attrs):
        if not attrs.get("invited_user") and not attrs.get("email"):
            raise serializers.ValidationError({"email": ["Give an e-mail address or a registered user."]})
        return attrs


class UserSerializer(serializers.ModelSerializer):
    affiliations = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=Affiliation.objects.all(), required=False
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "role",
            "is_active",
            "affiliations",
            "last_login",
            "date_joined",
        ]
        read_only_fields = ["id", "username", "last_login", "date_joined"]


class AffiliationSerializer(serializers.ModelSerializer):
    members = serializers.IntegerField(read_only=True, source="member_count", default=0)

    class Meta:
        model = Affiliation
        fields = ["id", "name", "description", "members", "created_at"]
        read_only_fields = ["id", "created_at"]
