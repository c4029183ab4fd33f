# The Delphi platform: one image for the web server, the Celery worker and Celery beat.
# docker-compose.yml runs it; docs/deploy.md explains the settings.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The source tree wins over the installed copy, so BASE_DIR (templates, static, locale)
    # is /app for gunicorn, celery and manage.py alike.
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=delphi.settings

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; d = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(d['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# .dockerignore keeps out the virtualenv, databases, .env, tests and caches.
COPY . .
RUN pip install --no-deps .
# Spanish translations: compile the .po files with gettext, which the running image does
# not need afterwards.
RUN if [ -d locale ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends gettext \
        && python manage.py compilemessages \
        && apt-get purge -y gettext && apt-get autoremove -y \
        && rm -rf /var/lib/apt/lists/*; \
    fi

# Static files are collected at build time (the image works on a read-only file system) and
# again at start by the entrypoint, which is quick when nothing changed. The build needs a
# throwaway key only because production settings refuse to start without one.
RUN DEBUG=false SECRET_KEY=collectstatic-at-build-time-only ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput --verbosity 0

RUN groupadd --system --gid 10001 delphi \
    && useradd --system --uid 10001 --gid delphi --home-dir /app --shell /usr/sbin/nologin delphi \
    && chown -R delphi:delphi /app/staticfiles \
    && chmod 0755 /app/docker/entrypoint.sh /app/docker/healthcheck.py
USER delphi

EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
