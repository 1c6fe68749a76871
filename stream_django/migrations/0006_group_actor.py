"""
The actors of each aggregated group (``stream_django_group_actor``), so that
``actor_count`` is kept by whether an actor's row is new rather than by a
look at the group's entries, which concurrent writers do not see (see
docs/database.md, "Locks"). Filled from the stored entries; each group's
``actor_count`` is then set from its rows, which repairs counts that
concurrent writers had inflated.
"""

import django.db.models.deletion
from django.db import migrations, models

FILL = (
    "INSERT INTO stream_django_group_actor (group_id, actor, activity_count) "
    "SELECT g.id, e.actor, COUNT(*) FROM stream_django_group_entry e "
    "JOIN stream_django_group g ON g.feed = e.feed AND g.name = e.group_name GROUP BY g.id, e.actor"
)
RECOUNT = (
    "UPDATE stream_django_group SET actor_count = (SELECT COUNT(*) FROM stream_django_group_actor a "
    "WHERE a.group_id = stream_django_group.id)"
)


def fill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FILL)
        cursor.execute(RECOUNT)


class Migration(migrations.Migration):
    dependencies = [
        ("stream_django", "0005_feed_lock_pattern_ops"),
    ]

    operations = [
        migrations.CreateModel(
            name="GroupActor",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("actor", models.CharField(max_length=191)),
                ("activity_count", models.IntegerField(default=0)),
                (
                    "group",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="stream_django.activitygroup",
                    ),
                ),
            ],
            options={
                "db_table": "stream_django_group_actor",
                "constraints": [models.UniqueConstraint(fields=("group", "actor"), name="stream_gactor_group_actor")],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
