"""Celery tasks. Each is thin: it takes primary keys, loads, and calls one service.

Celery's autodiscovery imports this module, and so does ``DelphiConfig.ready`` (services
enqueue tasks by name through ``delphi.taskqueue``, so every process must have them
registered); the tasks live beside their services.
"""

from delphi.consensus.tasks import consensus_run  # noqa: F401
from delphi.reports.tasks import report_export, report_exports  # noqa: F401
from delphi.services.audit_tasks import audit_seal_due_task  # noqa: F401
from delphi.services.communication_tasks import communication_deliver_task  # noqa: F401
from delphi.services.invitation_tasks import invitation_deliver_task  # noqa: F401
from delphi.services.sweep_tasks import rounds_close_due, sweep_due_task  # noqa: F401
