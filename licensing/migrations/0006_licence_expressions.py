from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("licensing", "0005_no_derivatives_category")]

    operations = []
