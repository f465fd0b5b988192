from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0024_write_path_sqlite")]

    operations = []
