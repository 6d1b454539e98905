"""The Celery app. Queues: ``generation`` and ``detection`` for model work, ``default`` for
the rest."""

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("newseval")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (
    Queue("default", Exchange("default"), routing_key="default"),
    Queue("generation", Exchange("generation"), routing_key="generation"),
    Queue("detection", Exchange("detection"), routing_key="detection"),
)
app.autodiscover_tasks()
