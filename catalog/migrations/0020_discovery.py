# Issue #20 part 3 (discovery): a MinHash sketch of each profiled column's values, for union/join search.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0019_evaluations")]
    operations = [
        migrations.AddField(
            model_name="filecolumn",
            name="value_sketch",
            field=models.BinaryField(
                blank=True,
                editable=False,
                help_text="MinHash of the column's values from profiling (catalog.profiling.ValueSketch): union/join search.",
                null=True,
            ),
        ),
    ]
