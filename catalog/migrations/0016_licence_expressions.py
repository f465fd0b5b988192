from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0015_likes_and_demo")]

    operations = []
