"""Services enqueue Celery tasks by their registered name, never by importing the task module.

A task is thin: it imports its service, loads by primary key and calls it. Were the service to
import the task in turn, the two modules would import each other (even a deferred import inside
a function is still a circle). So a service names the task instead, and Celery's registry finds
it: ``delphi.tasks`` imports every task module, and ``DelphiConfig.ready`` imports it in every
process (the web server, the worker, ``manage.py``).

With no broker configured the tasks run in-process (``task_always_eager``), exactly as when
called through the task object.
"""

from collections.abc import Callable

from celery import current_app
from django.db import transaction


def task_get(name: str):
    """The registered task called ``name``; a KeyError names a task nobody registered."""
    return current_app.tasks[name]


def task_enqueue(name: str, *args, on_error: Callable[[Exception], None] | None = None) -> None:
    """Send ``name(*args)`` to the worker once the current transaction commits, so the worker
    never looks for rows it cannot see yet. ``on_error`` decides what a failed publish (the
    broker down) does; without it the error propagates."""

    def send():
        try:
            task_get(name).delay(*args)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(exc)

    transaction.on_commit(send)
