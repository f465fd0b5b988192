from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0022_write_path")]

    operations = []
