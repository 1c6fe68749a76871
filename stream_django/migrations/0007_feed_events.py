"""The feed events of the database transport (docs/realtime.md)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stream_django", "0006_group_actor"),
    ]

    operations = [
        migrations.CreateModel(
            name="FeedEventRecord",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("data", models.TextField()),
            ],
            options={
                "db_table": "stream_django_feed_event",
                "ordering": ["id"],
            },
        ),
    ]
