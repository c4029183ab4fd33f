from django.apps import AppConfig


class DelphiConfig(AppConfig):
    name = "delphi"
    verbose_name = "Delphi studies"

    def ready(self):
        # Register every task in this process: services enqueue them by name
        # (delphi.taskqueue), never by importing the task modules.
        import delphi.tasks  # noqa: F401

        # No broker, no beat: the development server sweeps for due reminders and deadlines.
        from delphi.services.embedded_sweep import embedded_sweep_start, should_start

        if should_start():
            embedded_sweep_start()
