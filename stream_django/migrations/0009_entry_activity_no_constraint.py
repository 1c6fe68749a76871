"""The entry tables' reference to the activity table without a foreign-key
constraint in the database (the ``activity_key`` indexes stay): PostgreSQL
checked it at COMMIT with one query per entry, whose plan a connection keeps
from when the table was small (docs/database.md, "Statistics and the
COMMIT"). The write path keeps every entry's activity instead. SQLite
rebuilds both tables, copying their rows.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stream_django", "0008_verbose_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="feedentry",
            name="activity",
            field=models.ForeignKey(
                db_column="activity_key",
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="stream_django.storedactivity",
            ),
        ),
        migrations.AlterField(
            model_name="groupentry",
            name="activity",
            field=models.ForeignKey(
                db_column="activity_key",
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="stream_django.storedactivity",
            ),
        ),
    ]
