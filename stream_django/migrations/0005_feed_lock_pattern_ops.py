"""
Drop the ``..._like`` index PostgreSQL got on the feed lock table's key (see
0003); a migration of its own because Django creates that index at the end
of the migration that creates the table.
"""

from django.db import migrations

from stream_django.migrations import _pattern_ops


def drop_pattern_ops_index(apps, schema_editor):
    _pattern_ops.drop_pattern_ops_indexes(schema_editor, ["stream_django_feed_lock"])


class Migration(migrations.Migration):
    dependencies = [
        ("stream_django", "0004_feed_lock"),
    ]

    operations = [
        migrations.RunPython(drop_pattern_ops_index, migrations.RunPython.noop, elidable=True),
    ]
