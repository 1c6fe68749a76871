"""The models' names in the admin, marked for translation (no schema change)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("stream_django", "0007_feed_events"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="activitygroup",
            options={"verbose_name": "activity group", "verbose_name_plural": "activity groups"},
        ),
        migrations.AlterModelOptions(
            name="failedoperation",
            options={
                "ordering": ["id"],
                "verbose_name": "failed operation",
                "verbose_name_plural": "failed operations",
            },
        ),
        migrations.AlterModelOptions(
            name="fanoutchunk",
            options={"ordering": ["id"], "verbose_name": "fan-out chunk", "verbose_name_plural": "fan-out chunks"},
        ),
        migrations.AlterModelOptions(
            name="feedentry",
            options={"verbose_name": "feed entry", "verbose_name_plural": "feed entries"},
        ),
        migrations.AlterModelOptions(
            name="feedlock",
            options={"verbose_name": "feed lock", "verbose_name_plural": "feed locks"},
        ),
        migrations.AlterModelOptions(
            name="follow",
            options={"verbose_name": "follow", "verbose_name_plural": "follows"},
        ),
        migrations.AlterModelOptions(
            name="groupentry",
            options={"verbose_name": "group entry", "verbose_name_plural": "group entries"},
        ),
        migrations.AlterModelOptions(
            name="storedactivity",
            options={"verbose_name": "stored activity", "verbose_name_plural": "stored activities"},
        ),
    ]
