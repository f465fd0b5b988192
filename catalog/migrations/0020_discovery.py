# Placeholder reserved for parallel work (issue #20 discovery / #17 uploads / #18 write path); filled in by that work.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0019_evaluations")]
    operations = []
