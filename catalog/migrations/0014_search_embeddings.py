from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0013_file_profiling")]

    operations = []
