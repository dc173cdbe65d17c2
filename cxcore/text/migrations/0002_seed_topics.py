from django.db import migrations


def topics_seed(apps, schema_editor):
    """A fresh install starts with the seed taxonomy (cxcore/text/data/taxonomy.json)."""
    from cxcore.text.services import topics_seed as seed

    seed(topic_model=apps.get_model("text", "Topic"))


class Migration(migrations.Migration):
    dependencies = [
        ("text", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(topics_seed, migrations.RunPython.noop),
    ]
