#!/bin/sh
# One image, several roles: `web` (migrate, collectstatic, gunicorn), `worker`, `beat`,
# `manage ARGS...` (any manage.py command), or any other command as given.
set -eu

wait_for_database() {
    # The database may still be starting even when compose says it is healthy (first boot
    # runs its init scripts and restarts); retry rather than crash-loop on the first try.
    tries=0
    until python manage.py shell -c "from django.db import connection; connection.ensure_connection()" \
        >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge "${DB_WAIT_TRIES:-30}" ]; then
            echo "entrypoint: the database is not reachable; check DATABASE_URL" >&2
            python manage.py shell -c "from django.db import connection; connection.ensure_connection()"
            exit 1
        fi
        sleep 2
    done
}

role="${1:-web}"
case "$role" in
web)
    wait_for_database
    # Only one web container should migrate: with more replicas, set MIGRATE_ON_START=false
    # on all but one (Django's migrate takes no lock of its own).
    if [ "${MIGRATE_ON_START:-true}" = "true" ]; then
        python manage.py migrate --noinput
    fi
    python manage.py collectstatic --noinput --verbosity 0
    exec gunicorn delphi.wsgi:application \
        --bind "${GUNICORN_BIND:-0.0.0.0:${PORT:-8000}}" \
        --workers "${WEB_CONCURRENCY:-3}" \
        --timeout "${GUNICORN_TIMEOUT:-60}" \
        --max-requests 2000 --max-requests-jitter 200 \
        --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
        --logger-class lib.gunicorn_logging.MaskingLogger \
        --access-logfile - --error-logfile -
    ;;
worker)
    wait_for_database
    exec celery -A delphi worker \
        --loglevel "${LOG_LEVEL:-INFO}" \
        --concurrency "${CELERY_CONCURRENCY:-2}" \
        --hostname "worker@%h"
    ;;
beat)
    wait_for_database
    # The schedule file lives in /tmp: the image's own files belong to root.
    exec celery -A delphi beat --loglevel "${LOG_LEVEL:-INFO}" \
        --schedule "${BEAT_SCHEDULE:-/tmp/celerybeat-schedule}" --pidfile=
    ;;
manage)
    shift
    exec python manage.py "$@"
    ;;
*)
    exec "$@"
    ;;
esac
