"""
The feed lock table, used on MySQL/MariaDB to order a feed's follows against
its writes (``FeedLock``; docs/database.md, "Locks").
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("stream_django", "0003_drop_pattern_ops_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="FeedLock",
            fields=[
                ("feed", models.CharField(max_length=320, primary_key=True, serialize=False)),
            ],
            options={
                "db_table": "stream_django_feed_lock",
            },
        ),
    ]
