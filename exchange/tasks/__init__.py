"""Background work: the Celery application, its schedule and the service's tasks."""
