"""The Celery app. Queues: ``generation`` for model work, ``default`` for the rest."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("newseval")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("generation"))
app.autodiscover_tasks()
