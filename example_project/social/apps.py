from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "example_project.social"
    label = "social"
    verbose_name = "Social (example site)"
    default_auto_field = "django.db.models.BigAutoField"
