from rest_framework import serializers

from licensing.models import License


class LicenseSerializer(serializers.ModelSerializer):
    class Meta:
        model = License
        fields = [
            "key",
            "spdx_id",
            "name",
            "category",
            "url",
            "source",
            "is_agreement",
            "commercial_use",
            "redistribution",
            "relicensing",
            "share_alike",
            "attribution",
            "use_restrictions",
            "terms",
        ]
        read_only_fields = fields
