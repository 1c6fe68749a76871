"""The ASGI application the realtime benchmark serves with uvicorn."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.realtime_settings")
application = get_asgi_application()
