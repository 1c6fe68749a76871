"""
Drop the ``varchar_pattern_ops`` indexes Django adds on PostgreSQL.

For every indexed character column (a primary key, a foreign key, a
``db_index`` field) Django's PostgreSQL backend creates a second index,
``..._like``, that serves only ``LIKE 'prefix%'`` queries. The database
backend never runs one on these columns, and those indexes cost about 29
bytes per feed entry and 90 per activity, plus their upkeep on every write.
Other databases have no such indexes: nothing to do there. Reversing
creates nothing back (no query needs them).
"""

from django.db import migrations

from stream_django.migrations import _pattern_ops

TABLES = ["stream_django_activity", "stream_django_entry", "stream_django_group_entry"]


def drop_pattern_ops_indexes(apps, schema_editor):
    _pattern_ops.drop_pattern_ops_indexes(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("stream_django", "0002_fanout"),
    ]

    operations = [
        migrations.RunPython(drop_pattern_ops_indexes, migrations.RunPython.noop, elidable=True),
    ]
