# LoadedRecord: what load_records / load_licenses last wrote, so that reloading keeps curators' edits.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0007_model_release_date'),
    ]

    operations = [
        migrations.CreateModel(
            name='LoadedRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('model', 'Model'), ('dataset', 'Dataset'), ('license', 'License')], max_length=10)),
                ('key', models.CharField(help_text="The record's natural key: owner/name, or a licence key.", max_length=400)),
                ('object_id', models.BigIntegerField(help_text='The row written; a rename or deletion since is an edit too.')),
                ('state', models.JSONField(default=dict, help_text='Part name -> SHA-256 prefix of its value after the load.')),
                ('source_hash', models.CharField(blank=True, help_text='SHA-256 of the input record.', max_length=64)),
                ('loaded_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('kind', 'key'), name='loadedrecord_kind_key_unique')],
            },
        ),
    ]
