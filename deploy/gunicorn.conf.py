"""gunicorn settings for the web tier behind the reverse proxy (workers: -w or WEB_CONCURRENCY)."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Bundle uploads stream through; allow a slow school link to finish one.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))
graceful_timeout = 30
keepalive = 5
# Only the reverse proxy reaches gunicorn, so trust its X-Forwarded-Proto (https).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
accesslog = "-"
errorlog = "-"
# Ids and paths only: the school-to-school API puts no personal data in URLs.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
